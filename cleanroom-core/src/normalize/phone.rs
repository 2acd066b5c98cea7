//! Telephone numbers, to tell apart same-name businesses wherever they are.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

use super::country::Country;
use super::error::RejectReason;
use super::name::name_tokens;
use crate::key::{AccountKey, KeyType};

/// `protocol-spec/data/phone-codes.tsv`, the normative table.
const TABLE: &str = include_str!("../../../protocol-spec/data/phone-codes.tsv");

/// A country's codes: calling code, national (trunk) prefix, international
/// call prefix; the prefixes empty where the table says `-`.
struct Codes {
    calling: &'static str,
    national: &'static str,
    international: &'static str,
}

static CODES: LazyLock<HashMap<&'static str, Codes>> = LazyLock::new(|| {
    let dash = |s: &'static str| if s == "-" { "" } else { s };
    super::table_entries(TABLE)
        .filter_map(|line| {
            let mut f = line.split('\t');
            let (cc, calling, national, international) =
                (f.next()?, f.next()?, f.next()?, f.next()?);
            Some((
                cc,
                Codes {
                    calling,
                    national: dash(national),
                    international: dash(international),
                },
            ))
        })
        .collect()
});

/// The calling code, national (trunk) prefix and international call prefix
/// of a country (lowercase alpha-2) from `protocol-spec/data/phone-codes.tsv`,
/// the prefixes empty where it has none; `None` for a country the table lacks.
pub fn phone_codes(country: &str) -> Option<(&'static str, &'static str, &'static str)> {
    CODES
        .get(country)
        .map(|c| (c.calling, c.national, c.international))
}

/// Calling codes whose every country has the national prefix `0`: in their
/// international numbers a `0` after the calling code is a trunk prefix
/// written by mistake (`+44 020…`). The codes are prefix-free (E.164).
static TRUNK_ZERO_CODES: LazyLock<HashMap<&'static str, bool>> = LazyLock::new(|| {
    let mut all_zero: HashMap<&'static str, bool> = HashMap::new();
    for c in CODES.values() {
        *all_zero.entry(c.calling).or_insert(true) &= c.national == "0";
    }
    all_zero
});

/// Digits an international number has at least and at most (E.164 allows
/// 15; the shortest numbers in use, with their calling code, have 7).
const DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

/// Normalizes a telephone number into international form, `+` and digits:
/// `(415) 555-0134` (US) and `+1 415.555.0134` give `+14155550134`,
/// `020 7946 0123` (GB), `+44 (0)20 7946 0123` and `0044 20 7946 0123` give
/// `+442079460123`.
///
/// 1. Whitespace only is [`RejectReason::Empty`].
/// 2. Unicode NFKC (full-width digits and `＋` become ASCII).
/// 3. An extension is cut off: everything from the first character after a
///    digit that is an ASCII letter, `#`, `;` or `,` (`x22`, `ext. 5`,
///    `;ext=5`). Letters before the first digit (`Tel:`) are dropped in
///    step 5.
/// 4. Every `(0)` is deleted, with any White_Space inside the parentheses
///    (`( 0 )`): the trunk prefix written inside an international number
///    (`+44 (0)20`).
/// 5. The number is *international* when the first character of it that is
///    an ASCII digit or `+` is `+`. Then every character but ASCII digits is
///    deleted.
/// 6. Not international, with a `country` whose line in
///    `protocol-spec/data/phone-codes.tsv` has an international call prefix
///    (`00`, `011` in the US): digits that start with it are international,
///    without it (`0044 20…` in GB, `011 44 20…` in the US). Then, in an
///    international number whose calling code (the table's codes are
///    prefix-free) belongs only to countries with the national prefix `0`,
///    every `0` right after the calling code is deleted: `+44 020 7946 0123`
///    is `+442079460123`; `+39 06…` keeps its `0` (Italy has no national
///    prefix).
/// 7. Still not international: without a `country`, or with one the table
///    lacks, [`RejectReason::UnusablePhone`]. Otherwise its national prefix
///    is removed once from the front when there (`0` in GB, `1` in the US)
///    and its calling code put in front (`44`, `1`).
/// 8. The digits must number 7 to 15, start with no `0`, and their last 7
///    must not all be one digit (`000-0000`); otherwise
///    [`RejectReason::UnusablePhone`].
///
/// No per-country pattern is checked: a number that is wrong in both CRMs
/// alike still names one company's line, and one that differs matches
/// nothing.
pub fn phone(raw: &str, country: Option<Country>) -> Result<String, RejectReason> {
    if raw.trim().is_empty() {
        return Err(RejectReason::Empty);
    }
    let text: String = raw.nfkc().collect();
    let mut cut = text.len();
    let mut seen_digit = false;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            seen_digit = true;
        } else if seen_digit && (c.is_ascii_alphabetic() || matches!(c, '#' | ';' | ',')) {
            cut = i;
            break;
        }
    }
    let number = without_trunk_zero(&text[..cut]);
    let mut international = number.chars().find(|c| c.is_ascii_digit() || *c == '+') == Some('+');
    let mut digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let codes = country.as_ref().and_then(|c| CODES.get(c.as_str()));
    if !international {
        if let Some(rest) = codes
            .filter(|c| !c.international.is_empty())
            .and_then(|c| digits.strip_prefix(c.international))
        {
            digits = rest.to_owned();
            international = true;
        }
    }
    if international {
        let calling = (1..=3)
            .filter_map(|n| digits.get(..n))
            .find(|c| TRUNK_ZERO_CODES.get(c).copied() == Some(true));
        if let Some(calling) = calling {
            let n = calling.len();
            let zeros = digits[n..].bytes().take_while(|&b| b == b'0').count();
            digits.replace_range(n..n + zeros, "");
        }
    } else {
        let codes = codes.ok_or(RejectReason::UnusablePhone)?;
        let national = match digits.strip_prefix(codes.national) {
            Some(rest) if !codes.national.is_empty() => rest,
            _ => digits.as_str(),
        };
        digits = format!("{}{national}", codes.calling);
    }
    let last7 = &digits.as_bytes()[digits.len().saturating_sub(7)..];
    let usable = DIGITS.contains(&digits.len())
        && !digits.starts_with('0')
        && last7.iter().any(|&b| b != last7[0]);
    if !usable {
        return Err(RejectReason::UnusablePhone);
    }
    digits.insert(0, '+');
    Ok(digits)
}

/// Step 4 of [`phone`]: every `(`, White_Space, `0`, White_Space, `)` (any
/// amount of White_Space, none included) deleted, left to right, in one
/// pass.
fn without_trunk_zero(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('(') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let closed = after
            .trim_start_matches(char::is_whitespace)
            .strip_prefix('0')
            .and_then(|t| t.trim_start_matches(char::is_whitespace).strip_prefix(')'));
        match closed {
            Some(tail) => rest = tail,
            None => {
                out.push('(');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A [`KeyType::PhoneName`] key: the company name (as
/// [`super::company_name`] normalizes it) qualified by a telephone number
/// ([`phone`]); the value is `<phone>:<name>`, as in
/// `phone-name:+442079460123:smith`.
///
/// Same-name small businesses of one country, even of one city, are told
/// apart by their number, which both CRMs usually copy from one source. The
/// number carries its country, so a row without a usable country still has
/// this key when its number is written internationally. The key only adds
/// matches: two CRMs often hold different numbers of one company (a main
/// line, a person's direct line).
pub fn phone_name(
    raw_name: &str,
    country: Option<Country>,
    raw_phone: &str,
) -> Result<AccountKey, RejectReason> {
    let name = name_tokens(raw_name)?;
    let number = phone(raw_phone, country)?;
    let mut value = String::with_capacity(number.len() + 1 + name.len());
    value.push_str(&number);
    value.push(':');
    value.push_str(&name);
    Ok(AccountKey::from_normalized(KeyType::PhoneName, &value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::country;

    fn num(raw: &str, cc: &str) -> Result<String, RejectReason> {
        phone(raw, Some(country(cc).expect("country")))
    }

    #[test]
    fn national_numbers_get_their_calling_code() {
        for raw in [
            "(415) 555-0134",
            "415.555.0134",
            "1-415-555-0134",
            "+1 415 555 0134",
        ] {
            assert_eq!(num(raw, "us").as_deref(), Ok("+14155550134"), "{raw}");
        }
        for raw in [
            "020 7946 0123",
            "+44 (0)20 7946 0123",
            "0044 20 7946 0123",
            "+44 20 7946 0123",
            "Tel: 020 7946 0123",
            "+44 ( 0 ) 20 7946 0123",
            "+44(0)2079460123",
        ] {
            assert_eq!(num(raw, "gb").as_deref(), Ok("+442079460123"), "{raw}");
        }
        assert_eq!(
            num("011 44 20 7946 0123", "us").as_deref(),
            Ok("+442079460123")
        );
        // A trunk zero after the calling code, without parentheses.
        assert_eq!(
            num("+44 020 7946 0123", "us").as_deref(),
            Ok("+442079460123")
        );
        assert_eq!(
            num("0044 020 7946 0123", "gb").as_deref(),
            Ok("+442079460123")
        );
        assert_eq!(
            phone("+49 030 1234567", None).as_deref(),
            Ok("+49301234567")
        );
        assert_eq!(
            phone("+39 06 6982 1234", None).as_deref(),
            Ok("+390669821234")
        );
        assert_eq!(
            phone("+1 415 555 0134", None).as_deref(),
            Ok("+14155550134")
        );
        // Italy keeps its leading 0: it has no trunk prefix.
        assert_eq!(num("06 6982 1234", "it").as_deref(), Ok("+390669821234"));
        assert_eq!(
            num("０３－１２３４－５６７８", "jp").as_deref(),
            Ok("+81312345678")
        );
    }

    #[test]
    fn extensions_are_cut() {
        for raw in [
            "(415) 555-0134 x22",
            "415-555-0134 ext. 5",
            "4155550134;ext=5",
            "415 555 0134 #3",
        ] {
            assert_eq!(num(raw, "us").as_deref(), Ok("+14155550134"), "{raw}");
        }
    }

    #[test]
    fn a_national_number_needs_a_country() {
        assert_eq!(
            phone("020 7946 0123", None),
            Err(RejectReason::UnusablePhone)
        );
        assert_eq!(
            phone("+44 20 7946 0123", None).as_deref(),
            Ok("+442079460123")
        );
    }

    #[test]
    fn junk_is_unusable() {
        for raw in [
            "n/a",
            "000-000-0000",
            "555-5555555",
            "123",
            "+0 123 4567 890",
            "+1234567890123456",
        ] {
            assert_eq!(num(raw, "us"), Err(RejectReason::UnusablePhone), "{raw}");
        }
        assert_eq!(num("   ", "us"), Err(RejectReason::Empty));
    }

    #[test]
    fn the_key_is_idempotent() {
        let gb = country("gb").ok();
        let k = phone_name("Smith Ltd", gb, "020 7946 0123").expect("key");
        assert_eq!(k.message(), "phone-name:+442079460123:smith");
        let again = crate::normalize::key(KeyType::PhoneName, k.value()).expect("again");
        assert_eq!(again, k);
    }

    #[test]
    fn every_table_line_parses() {
        let lines = super::super::table_entries(TABLE).count();
        assert_eq!(CODES.len(), lines);
        assert!(CODES.len() >= 240, "the table did not load");
        for (cc, c) in CODES.iter() {
            assert_eq!(cc.len(), 2);
            for digits in [c.calling, c.national, c.international] {
                assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{cc}");
            }
            assert!(!c.calling.is_empty() && !c.calling.starts_with('0'), "{cc}");
        }
    }
}
