//! Cities, to tell apart same-name companies of one country.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::country::Country;
use super::error::RejectReason;
use super::name::{name_tokens, qualified_key, tokenize};
use super::placeholders::is_placeholder;
use crate::key::{AccountKey, KeyType};

/// Extra passes allowed for non-ASCII cities to reach a fixed point.
const MAX_EXTRA_PASSES: usize = 3;

/// Normalizes a city into lowercase tokens joined by single spaces:
/// `Frankfurt am Main` gives `frankfurt am main`, `Zürich` and `ZURICH` give
/// `zurich`, `St. Gallen` gives `st gallen`.
///
/// 1. Whitespace only is [`RejectReason::Empty`].
/// 2. Unicode NFKC, full default case folding, NFKC again, as for names.
/// 3. Accents on Latin letters are removed: NFD, then every nonspacing mark
///    (General_Category Mn) that follows an ASCII letter, directly or after
///    other such marks, is deleted, then NFC (`zürich` → `zurich`, `são
///    paulo` → `sao paulo`, `hồ chí minh` → `ho chi minh`; `đà nẵng` →
///    `đa nang`, since `đ` is a letter of its own). Unlike company names,
///    where an accent can tell two companies apart, a city's accents are
///    dropped by CRMs and keyboards as often as kept, and two cities of one
///    country that differ only in accents are rare.
/// 4. Tokens as for names (steps 3 and 4 of [`super::company_name`]):
///    letters, marks and numbers form words, apostrophes and ignorables are
///    deleted, `&` is `and`, single-letter period pieces join (`St.` is
///    `st`, `D.C.` is `dc`). No legal forms and no leading `the` are removed.
/// 5. Non-ASCII input repeats steps 2 to 4 until it stops changing.
/// 6. No token left, or a value that is a placeholder
///    (`protocol-spec/data/placeholder-names.txt`: `N/A`, `Unknown`, `TBD`),
///    is [`RejectReason::UnusableCity`].
///
/// No aliases are applied: `Munich` and `München`, or `NYC` and `New York`,
/// stay different cities, so a city-qualified name only matches when both
/// sides spell the city alike (see [`city_name`] for what that costs).
pub fn city(raw: &str) -> Result<String, RejectReason> {
    if raw.trim().is_empty() {
        return Err(RejectReason::Empty);
    }
    let mut value = city_once(raw);
    if !value.is_ascii() {
        for _ in 0..MAX_EXTRA_PASSES {
            let next = city_once(&value);
            if next == value {
                break;
            }
            value = next;
        }
    }
    if value.is_empty() || is_placeholder(&value) {
        return Err(RejectReason::UnusableCity);
    }
    Ok(value)
}

/// One pass of steps 2 to 4.
fn city_once(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    if raw.is_ascii() {
        tokenize(raw.chars(), &mut out);
    } else {
        let folded: String = raw.chars().nfkc().default_case_fold().nfkc().collect();
        tokenize(strip_latin_accents(&folded).chars(), &mut out);
    }
    out
}

/// Step 3: NFD, nonspacing marks after ASCII letters deleted, NFC.
fn strip_latin_accents(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_ascii_letter = false;
    for c in s.nfd() {
        if c.general_category() == GeneralCategory::NonspacingMark {
            if after_ascii_letter {
                continue;
            }
        } else {
            after_ascii_letter = c.is_ascii_alphabetic();
        }
        out.push(c);
    }
    out.nfc().collect()
}

/// A [`KeyType::CityName`] key: the company name (as [`super::company_name`]
/// normalizes it) qualified by its country and its city, with the value
/// `<country>:<city>:<name>` (`gb:milton keynes:smith`). A row uploads it
/// beside its country-qualified name key, and only with a usable country.
///
/// Same-name small businesses of one country (`Smith Consulting`, US) are
/// the commonest reason a country-qualified name is ambiguous on one side
/// or matches another company; the city tells most of them apart. The key
/// works both ways ([`crate::overlap::NameMatching`]): two accounts whose
/// country-qualified names are ambiguous may still match on it, and two
/// accounts that both carry one and differ in it do not match on their
/// country-qualified names.
///
/// Errors: the name's reasons first, then the city's
/// ([`RejectReason::Empty`] for no city).
pub fn city_name(
    raw_name: &str,
    country: Country,
    raw_city: &str,
) -> Result<AccountKey, RejectReason> {
    let name = name_tokens(raw_name)?;
    let city = city(raw_city)?;
    Ok(qualified_key(KeyType::CityName, country, &city, &name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::country;

    fn ok(raw: &str) -> String {
        city(raw).unwrap_or_else(|e| panic!("{raw:?} rejected: {e:?}"))
    }

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(ok("Zürich"), "zurich");
        assert_eq!(ok("ZURICH"), "zurich");
        assert_eq!(ok("São Paulo"), "sao paulo");
        assert_eq!(ok("Saint-Étienne"), "saint etienne");
        assert_eq!(ok("St. Gallen"), "st gallen");
        assert_eq!(ok("Washington, D.C."), "washington dc");
        assert_eq!(ok("'s-Hertogenbosch"), "s hertogenbosch");
        assert_eq!(ok("Ｔｏｋｙｏ"), "tokyo");
        assert_eq!(ok("Hồ Chí Minh"), "ho chi minh");
        assert_eq!(ok("Đà Nẵng"), "đa nang");
        assert_eq!(ok("東京"), "東京");
        assert_eq!(ok("서울"), "서울");
        // Marks after non-Latin letters stay.
        assert_eq!(ok("मुंबई"), "मुंबई");
    }

    #[test]
    fn rejects_empty_and_placeholders() {
        assert_eq!(city("  "), Err(RejectReason::Empty));
        assert_eq!(city("--"), Err(RejectReason::UnusableCity));
        assert_eq!(city("N/A"), Err(RejectReason::UnusableCity));
        assert_eq!(city("unknown"), Err(RejectReason::UnusableCity));
    }

    #[test]
    fn is_a_fixed_point() {
        for raw in [
            "Zürich",
            "Hồ Chí Minh",
            "Đà Nẵng",
            "Frankfurt a.M.",
            "मुंबई",
            "İstanbul",
        ] {
            let once = ok(raw);
            assert_eq!(ok(&once), once, "{raw:?}");
        }
    }

    #[test]
    fn key_carries_country_city_and_name() {
        let gb = country("UK").expect("country");
        let k = city_name("Smith Ltd", gb, "Milton Keynes").expect("key");
        assert_eq!(k.message(), "city-name:gb:milton keynes:smith");
        assert_eq!(city_name("Smith Ltd", gb, ""), Err(RejectReason::Empty));
        assert_eq!(
            city_name("Unknown", gb, "London"),
            Err(RejectReason::PlaceholderName)
        );
    }
}
