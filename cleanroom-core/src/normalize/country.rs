//! Free-text CRM country values to ISO 3166-1 alpha-2 codes.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::error::RejectReason;

/// The alias table, `protocol-spec/data/countries.tsv`: `#` comment lines,
/// then one `<alias in normal form>\t<alpha-2>` line per alias, sorted by
/// alias. The reference checker reads the same file.
const TABLE: &str = include_str!("../../../protocol-spec/data/countries.tsv");

static ALIASES: LazyLock<HashMap<&'static str, Country>> =
    LazyLock::new(|| data_lines().filter_map(parse_line).collect());

/// A country as its lowercase ISO 3166-1 alpha-2 code (`gb`, `us`, `de`).
///
/// The only code outside ISO 3166-1 is `xk` (Kosovo), the user-assigned code
/// that CRMs use. A `Country` always holds two ASCII lowercase letters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

impl Country {
    /// The lowercase alpha-2 code, such as `"gb"`.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII lowercase letters (checked in `from_code`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The country of a table code: exactly two ASCII lowercase letters.
    fn from_code(code: &str) -> Option<Country> {
        match code.as_bytes() {
            &[a, b] if a.is_ascii_lowercase() && b.is_ascii_lowercase() => Some(Country([a, b])),
            _ => None,
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

/// Normalizes a free-text country value (Salesforce `Billing Country`,
/// HubSpot `Country/Region`) to its ISO 3166-1 alpha-2 code.
///
/// `United Kingdom`, `UK`, `GB`, `GBR`, `England` and `Großbritannien` all
/// give `gb`; `U.S.A.` and `United States of America` give `us`;
/// `Österreich` gives `at`, `日本` gives `jp`. The rule is normative, and
/// `protocol-spec/data/countries.tsv` (whose header states it too) and the
/// reference `protocol-spec/reference/country.py` implement the same:
///
/// 1. A value with no words after step 3 (empty, whitespace only, or only
///    punctuation such as `-` or `..`) is [`RejectReason::Empty`].
/// 2. Unicode NFKC, full default case folding, NFD, delete every combining
///    mark (General_Category M), NFC. So `Österreich` is `osterreich`,
///    `México` is `mexico`, `ＵＳＡ` is `usa`, `Straße` is `strasse`. The
///    final NFC only recomposes Hangul syllables, as no marks are left.
/// 3. Delete apostrophes (`'`, `’`, `‘`, `ʼ`, `` ` ``) and periods (`.`), so
///    `U.S.A.` is `usa` and `Côte d'Ivoire` is `cote divoire`; `&` is the
///    word `and`; every other character that is not a letter or digit
///    (General_Category L or N) separates words; words are joined by single
///    spaces.
/// 4. A leading word `the` is dropped when another word follows: `The
///    Netherlands` is `netherlands`.
/// 5. The result is looked up in the alias table; a value that is not there
///    (`Atlantis`, `Unknown`, `N/A`) is [`RejectReason::UnknownCountry`].
///
/// Pure-ASCII input takes an equivalent fast path (ASCII lowercase).
pub fn country(raw: &str) -> Result<Country, RejectReason> {
    let alias = normal_form(raw);
    if alias.is_empty() {
        return Err(RejectReason::Empty);
    }
    ALIASES
        .get(alias.as_str())
        .copied()
        .ok_or(RejectReason::UnknownCountry)
}

/// Steps 2 to 4: the form in which the table stores aliases; empty if no
/// word is left.
fn normal_form(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    if raw.is_ascii() {
        // NFKC, NFD and NFC leave ASCII alone, it has no marks, and its case
        // folding is ASCII lowercasing.
        words(raw.chars().map(|c| c.to_ascii_lowercase()), &mut out);
    } else {
        words(
            raw.nfkc()
                .default_case_fold()
                .nfd()
                .filter(|&c| !is_combining_mark(c))
                .nfc(),
            &mut out,
        );
    }
    match out.strip_prefix("the ") {
        // `out` never ends in a space, so another word follows.
        Some(rest) => rest.to_owned(),
        None => out,
    }
}

/// Step 3: appends the words of `chars` to `out`, joined by single spaces.
fn words(chars: impl Iterator<Item = char>, out: &mut String) {
    let mut in_word = false;
    for c in chars {
        if is_apostrophe(c) || c == '.' {
            continue;
        }
        if is_letter_or_digit(c) {
            if !in_word && !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            in_word = true;
            continue;
        }
        in_word = false;
        if c == '&' {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("and");
        }
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`')
}

/// General_Category L or N, for a character that is not a mark.
///
/// `char::is_alphanumeric` is the Alphabetic or Numeric property: beyond L
/// and N, Alphabetic has marks (deleted before this runs) and the circled
/// and squared Latin letters, which are symbols (So). NFKC maps the circled
/// `Ⓐ` and squared `🄰` to plain letters, but the negative circled and
/// squared `🅐` and `🅰` (U+1F150..U+1F189) have no decomposition and stay
/// symbols, so they separate words here as in the reference.
fn is_letter_or_digit(c: char) -> bool {
    c.is_alphanumeric() && !matches!(c, '\u{24B6}'..='\u{24E9}' | '\u{1F130}'..='\u{1F189}')
}

/// The non-comment lines of the table.
fn data_lines() -> impl Iterator<Item = &'static str> {
    TABLE.lines().filter(|line| !line.starts_with('#'))
}

/// One table line, `<alias>\t<code>`; `None` if malformed (a unit test
/// checks that no line is).
fn parse_line(line: &'static str) -> Option<(&'static str, Country)> {
    let (alias, code) = line.split_once('\t')?;
    let country = Country::from_code(code)?;
    (!alias.is_empty()).then_some((alias, country))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        match country(raw) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => panic!("{raw:?} rejected: {e:?}"),
        }
    }

    fn err(raw: &str) -> RejectReason {
        match country(raw) {
            Ok(c) => panic!("{raw:?} accepted as {c}"),
            Err(e) => e,
        }
    }

    #[test]
    fn table_is_well_formed() {
        let mut previous: Option<&str> = None;
        let mut lines = 0usize;
        for line in data_lines() {
            let Some((alias, _)) = parse_line(line) else {
                panic!("malformed table line {line:?}");
            };
            if let Some(p) = previous {
                assert!(p < alias, "not sorted or not unique: {p:?} then {alias:?}");
            }
            previous = Some(alias);
            lines += 1;
        }
        assert!(TABLE.ends_with('\n') && !TABLE.ends_with("\n\n"));
        assert!(!TABLE.contains('\r'));
        assert_eq!(ALIASES.len(), lines);
        assert!(lines > 4000, "only {lines} aliases");
    }

    #[test]
    fn aliases_are_in_normal_form() {
        for (alias, code) in ALIASES.iter() {
            assert_eq!(&normal_form(alias), alias, "alias of {code}");
            assert_eq!(country(alias), Ok(*code));
        }
    }

    #[test]
    fn every_iso_code_is_its_own_alias() {
        let codes: std::collections::BTreeSet<Country> = ALIASES.values().copied().collect();
        // The 249 ISO 3166-1 entries and Kosovo's user-assigned `xk`.
        assert_eq!(codes.len(), 250);
        for code in codes {
            assert_eq!(country(code.as_str()), Ok(code));
            assert_eq!(country(&code.as_str().to_uppercase()), Ok(code));
        }
    }

    #[test]
    fn crm_spellings() {
        for (raw, code) in [
            ("United Kingdom", "gb"),
            ("UK", "gb"),
            ("GB", "gb"),
            ("GBR", "gb"),
            ("Great Britain", "gb"),
            ("England", "gb"),
            ("Scotland", "gb"),
            ("Wales", "gb"),
            ("Northern Ireland", "gb"),
            ("Deutschland", "de"),
            ("Germany", "de"),
            ("DE", "de"),
            ("U.S.A.", "us"),
            ("U.S.", "us"),
            ("USA", "us"),
            ("US", "us"),
            ("America", "us"),
            ("United States of America", "us"),
            ("United States", "us"),
            ("España", "es"),
            ("Österreich", "at"),
            ("Schweiz", "ch"),
            ("Suisse", "ch"),
            ("Nederland", "nl"),
            ("The Netherlands", "nl"),
            ("Holland", "nl"),
            ("Brasil", "br"),
            ("México", "mx"),
            ("日本", "jp"),
            ("中国", "cn"),
            ("Россия", "ru"),
            ("Russia", "ru"),
            ("Türkiye", "tr"),
            ("Turkey", "tr"),
            ("Korea, Republic of", "kr"),
            ("South Korea", "kr"),
            ("Korea", "kr"),
            ("대한민국", "kr"),
            ("North Korea", "kp"),
            ("Côte d'Ivoire", "ci"),
            ("Ivory Coast", "ci"),
            ("UAE", "ae"),
            ("Emirates", "ae"),
            ("KSA", "sa"),
            ("Viet Nam", "vn"),
            ("Vietnam", "vn"),
            ("Czechia", "cz"),
            ("Czech Republic", "cz"),
            ("Iran", "ir"),
            ("Syria", "sy"),
            ("Laos", "la"),
            ("Bolivia", "bo"),
            ("Venezuela", "ve"),
            ("Tanzania", "tz"),
            ("Moldova", "md"),
            ("Macedonia", "mk"),
            ("North Macedonia", "mk"),
            ("Hong Kong (SAR)", "hk"),
            ("Hong Kong SAR, China", "hk"),
            ("Macau", "mo"),
            ("Macao", "mo"),
            ("Taiwan", "tw"),
            ("Palestine", "ps"),
            ("Vatican", "va"),
            ("Burma", "mm"),
            ("Myanmar", "mm"),
            ("Swaziland", "sz"),
            ("Eswatini", "sz"),
            ("Cape Verde", "cv"),
            ("Cabo Verde", "cv"),
            ("Congo-Brazzaville", "cg"),
            ("DR Congo", "cd"),
            ("Kosovo", "xk"),
            ("NA", "na"),
        ] {
            assert_eq!(ok(raw), code, "{raw:?}");
        }
    }

    #[test]
    fn diacritics_case_and_width() {
        assert_eq!(ok("OSTERREICH"), "at");
        assert_eq!(ok("österreich"), "at");
        assert_eq!(ok("O\u{308}sterreich"), "at");
        assert_eq!(ok("MEXICO"), "mx");
        assert_eq!(ok("mÉxIcO"), "mx");
        assert_eq!(ok("Cote d’Ivoire"), "ci");
        assert_eq!(ok("CÔTE D'IVOIRE"), "ci");
        assert_eq!(ok("Großbritannien"), "gb");
        assert_eq!(ok("GROSSBRITANNIEN"), "gb");
        assert_eq!(ok("ＵＳＡ"), "us");
        assert_eq!(ok("Ｇｅｒｍａｎｙ"), "de");
        assert_eq!(ok("ﾄﾞｲﾂ"), "de");
        assert_eq!(ok("TÜRKİYE"), "tr");
        assert_eq!(ok("Việt Nam"), "vn");
        assert_eq!(ok("РОССИЯ"), "ru");
        assert_eq!(ok("ΕΛΛΆΔΑ"), "gr");
    }

    #[test]
    fn punctuation_and_spacing() {
        assert_eq!(ok("  United   Kingdom \t"), "gb");
        assert_eq!(ok("united-kingdom"), "gb");
        assert_eq!(ok("UNITED_STATES"), "us");
        assert_eq!(ok("U. S. A."), "us");
        assert_eq!(ok("u.s.a"), "us");
        assert_eq!(ok("Trinidad & Tobago"), "tt");
        assert_eq!(ok("Trinidad&Tobago"), "tt");
        assert_eq!(ok("Bosnia and Herzegovina"), "ba");
        assert_eq!(ok("Korea (South)"), "kr");
        assert_eq!(ok("\"Germany\""), "de");
        assert_eq!(ok("Germany."), "de");
        assert_eq!(ok("THE UNITED STATES"), "us");
        assert_eq!(ok("St. Lucia"), "lc");
        assert_eq!(ok("Saint Kitts & Nevis"), "kn");
        assert_eq!(ok("Guinea-Bissau"), "gw");
        assert_eq!(ok("Timor-Leste"), "tl");
    }

    #[test]
    fn normal_form_steps() {
        assert_eq!(normal_form("U.S.A."), "usa");
        assert_eq!(normal_form("Côte d'Ivoire"), "cote divoire");
        assert_eq!(normal_form("The Netherlands"), "netherlands");
        assert_eq!(normal_form("The"), "the");
        assert_eq!(normal_form("the the"), "the");
        assert_eq!(normal_form("Theland"), "theland");
        assert_eq!(normal_form("A&B"), "a and b");
        assert_eq!(normal_form(" -- "), "");
        assert_eq!(normal_form("대한민국"), "대한민국");
        assert_eq!(normal_form("ドイツ"), "トイツ");
        assert_eq!(normal_form("Ⓤⓚ"), "uk");
        assert_eq!(normal_form("\u{1F150}\u{1F151}"), "");
        assert_eq!(normal_form("Straße"), "strasse");
    }

    #[test]
    fn rejections() {
        assert_eq!(err(""), RejectReason::Empty);
        assert_eq!(err("   \t"), RejectReason::Empty);
        assert_eq!(err("-"), RejectReason::Empty);
        assert_eq!(err(".."), RejectReason::Empty);
        assert_eq!(err("'"), RejectReason::Empty);
        assert_eq!(err("—"), RejectReason::Empty);
        assert_eq!(err("Atlantis"), RejectReason::UnknownCountry);
        assert_eq!(err("N/A"), RejectReason::UnknownCountry);
        assert_eq!(err("Unknown"), RejectReason::UnknownCountry);
        assert_eq!(err("none"), RejectReason::UnknownCountry);
        assert_eq!(err("The"), RejectReason::UnknownCountry);
        assert_eq!(err("Congo"), RejectReason::UnknownCountry);
        assert_eq!(err("Virgin Islands"), RejectReason::UnknownCountry);
        assert_eq!(err("Europe"), RejectReason::UnknownCountry);
        assert_eq!(err("EU"), RejectReason::UnknownCountry);
        assert_eq!(err("London"), RejectReason::UnknownCountry);
        assert_eq!(err("12345"), RejectReason::UnknownCountry);
    }

    #[test]
    fn country_prints_its_code() {
        let c = country("Germany").expect("known");
        assert_eq!(c.to_string(), "de");
        assert_eq!(format!("{c:?}"), "Country(de)");
        assert_eq!(Country::from_code("DE"), None);
        assert_eq!(Country::from_code("deu"), None);
    }
}
