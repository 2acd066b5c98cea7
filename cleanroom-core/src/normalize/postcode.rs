//! Postal codes, to tell apart same-name businesses of one city.

use unicode_normalization::UnicodeNormalization;

use super::country::Country;
use super::error::RejectReason;
use super::name::{name_tokens, qualified_key};
use crate::key::{AccountKey, KeyType};

/// Letters and digits a postal code keeps, at least and at most: the
/// shortest codes in use have 3 or 4 digits, the longest (with a country
/// prefix or a ZIP+4) about 10.
const LEN: std::ops::RangeInclusive<usize> = 2..=10;

/// Normalizes a postal code of `country` into lowercase ASCII letters and
/// digits: `SW1A 1AA` and `sw1a1aa` give `sw1a1aa`, `123-4567` gives
/// `1234567`, `02139-4307` (US) gives `02139`.
///
/// 1. Whitespace only is [`RejectReason::Empty`].
/// 2. Unicode NFKC (full-width digits become ASCII), then every White_Space
///    character and every `-` is deleted and ASCII letters are lowercased.
/// 3. What is left must be 2 to 10 ASCII letters and digits, not all one
///    character (`00000`, `xxxx`); otherwise [`RejectReason::UnusablePostcode`]
///    (`N/A`, `n.a.`, `12345678901`, `—`).
/// 4. United States only (`country` is `us`): a ZIP+4 (9 digits) keeps its
///    first 5, and 4 digits get a leading `0`, which spreadsheets drop from
///    New England's ZIP codes (`2139` is `02139`). Other countries' codes are
///    kept as they are: no other country's format is padded or cut. A US
///    result that is then all one character (`00000-1234`) is
///    [`RejectReason::UnusablePostcode`] too.
pub fn postcode(raw: &str, country: Country) -> Result<String, RejectReason> {
    if raw.trim().is_empty() {
        return Err(RejectReason::Empty);
    }
    let mut value: String = raw
        .nfkc()
        .filter(|&c| !c.is_whitespace() && c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let usable = LEN.contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric())
        && value.bytes().any(|b| b != value.as_bytes()[0]);
    if !usable {
        return Err(RejectReason::UnusablePostcode);
    }
    if country.as_str() == "us" && value.bytes().all(|b| b.is_ascii_digit()) {
        match value.len() {
            9 => value.truncate(5),
            4 => value.insert(0, '0'),
            _ => {}
        }
        // A junk ZIP+4 (`00000-1234`) is as unusable as its ZIP.
        if value.bytes().all(|b| b == value.as_bytes()[0]) {
            return Err(RejectReason::UnusablePostcode);
        }
    }
    Ok(value)
}

/// A [`KeyType::PostcodeName`] key: the company name (as
/// [`super::company_name`] normalizes it) qualified by its country and its
/// postal code, with the value `<country>:<postal code>:<name>`
/// (`gb:mk92fz:smith`). A row uploads it beside its country-qualified name
/// key, and only with a usable country.
///
/// Same-name small businesses of one city (`Smith Plumbing`, London) share
/// their city key; their postal codes rarely agree. Unlike the city, a
/// postal code never stops a match: two CRMs record one company's code in
/// too many forms (a billing box, a ZIP+4, a dropped zero) for a difference
/// to prove two companies.
///
/// Errors: the name's reasons first, then the postal code's
/// ([`RejectReason::Empty`] for no code).
pub fn postcode_name(
    raw_name: &str,
    country: Country,
    raw_postcode: &str,
) -> Result<AccountKey, RejectReason> {
    let name = name_tokens(raw_name)?;
    let code = postcode(raw_postcode, country)?;
    Ok(qualified_key(KeyType::PostcodeName, country, &code, &name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::country;

    fn code(raw: &str, cc: &str) -> Result<String, RejectReason> {
        postcode(raw, country(cc).expect("country"))
    }

    #[test]
    fn removes_spaces_and_hyphens_and_lowercases() {
        assert_eq!(code("SW1A 1AA", "gb").as_deref(), Ok("sw1a1aa"));
        assert_eq!(code("sw1a1aa", "gb").as_deref(), Ok("sw1a1aa"));
        assert_eq!(code("123-4567", "jp").as_deref(), Ok("1234567"));
        assert_eq!(code("１２３－４５６７", "jp").as_deref(), Ok("1234567"));
        assert_eq!(code("1234 AB", "nl").as_deref(), Ok("1234ab"));
        assert_eq!(code("K1A 0B1", "ca").as_deref(), Ok("k1a0b1"));
        assert_eq!(code("01067", "de").as_deref(), Ok("01067"));
        // Only US codes are padded or cut.
        assert_eq!(code("1067", "de").as_deref(), Ok("1067"));
        assert_eq!(code("02139-4307", "us").as_deref(), Ok("02139"));
        assert_eq!(code("021394307", "us").as_deref(), Ok("02139"));
        assert_eq!(code("2139", "us").as_deref(), Ok("02139"));
        assert_eq!(code("94105", "us").as_deref(), Ok("94105"));
        assert_eq!(
            code("00000-1234", "us"),
            Err(RejectReason::UnusablePostcode)
        );
        assert_eq!(code("1111", "us"), Err(RejectReason::UnusablePostcode));
    }

    #[test]
    fn rejects_empty_junk_and_placeholders() {
        assert_eq!(code(" ", "us"), Err(RejectReason::Empty));
        for junk in ["N/A", "n.a.", "00000", "xxxx", "1", "12345678901", "—", "-"] {
            assert_eq!(
                code(junk, "us"),
                Err(RejectReason::UnusablePostcode),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn key_carries_country_code_and_name() {
        let gb = country("UK").expect("country");
        let k = postcode_name("Smith Ltd", gb, "MK9 2FZ").expect("key");
        assert_eq!(k.message(), "postcode-name:gb:mk92fz:smith");
        let again = crate::normalize::key(KeyType::PostcodeName, k.value()).expect("again");
        assert_eq!(again.message(), k.message());
    }
}
