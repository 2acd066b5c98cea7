//! DUNS numbers to nine-digit strings.

use super::error::RejectReason;
use crate::key::{AccountKey, KeyType};

/// Length of a DUNS number.
const DUNS_DIGITS: usize = 9;

/// Normalizes a D-U-N-S number into a [`KeyType::Duns`] key.
///
/// Whitespace, hyphens (ASCII and Unicode dashes) and periods are removed;
/// what remains must be exactly nine ASCII digits, kept as text so leading
/// zeros survive (`01-234-5678` gives `012345678`).
///
/// - Whitespace only is [`RejectReason::Empty`].
/// - Any other character (letters, `/`, `#`, full-width digits) or a digit
///   count other than nine is [`RejectReason::InvalidDuns`].
/// - **DUNS+4 is rejected**: a 13-digit value is a location-level extension
///   (or a different identifier altogether), and silently truncating it
///   would guess. Callers holding DUNS+4 data should pass the first nine
///   digits explicitly.
/// - **Placeholders are rejected**: nine identical digits (`000000000`,
///   `999999999`) are what CRMs hold for "unknown", and accepting them would
///   match every such account on both sides.
pub fn duns(raw: &str) -> Result<AccountKey, RejectReason> {
    if raw.trim().is_empty() {
        return Err(RejectReason::Empty);
    }
    let mut digits = [0u8; DUNS_DIGITS];
    let mut count = 0usize;
    for c in raw.chars() {
        if c.is_whitespace() || is_separator(c) {
            continue;
        }
        if !c.is_ascii_digit() || count == DUNS_DIGITS {
            return Err(RejectReason::InvalidDuns);
        }
        digits[count] = c as u8;
        count += 1;
    }
    if count != DUNS_DIGITS || digits.iter().all(|&d| d == digits[0]) {
        return Err(RejectReason::InvalidDuns);
    }
    let value = std::str::from_utf8(&digits).map_err(|_| RejectReason::InvalidDuns)?;
    Ok(AccountKey::from_normalized(KeyType::Duns, value))
}

/// Characters people and spreadsheets put between DUNS digit groups.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '.' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        match duns(raw) {
            Ok(k) => k.value().to_owned(),
            Err(e) => panic!("{raw:?} rejected: {e:?}"),
        }
    }

    #[test]
    fn separators_are_removed() {
        assert_eq!(ok("15-048-3782"), "150483782");
        assert_eq!(ok("150483782"), "150483782");
        assert_eq!(ok(" 15 048 3782 "), "150483782");
        assert_eq!(ok("15.048.3782"), "150483782");
        assert_eq!(ok("15\u{2013}048\u{2013}3782"), "150483782");
        assert_eq!(ok("01-234-5678"), "012345678");
    }

    #[test]
    fn rejections() {
        assert_eq!(duns("").map(|k| k.kind()), Err(RejectReason::Empty));
        assert_eq!(duns(" ").map(|k| k.kind()), Err(RejectReason::Empty));
        for bad in [
            "12345",
            "abc",
            "15-048-378X",
            "1504837820",
            "1504837820001",
            "150483782-0001",
            "---",
            "000000000",
            "99-999-9999",
            "１５０４８３７８２",
            "15/048/3782",
        ] {
            assert_eq!(
                duns(bad).map(|k| k.kind()),
                Err(RejectReason::InvalidDuns),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn output_is_a_fixed_point() {
        let once = ok("01-234-5678");
        assert_eq!(ok(&once), once);
    }
}
