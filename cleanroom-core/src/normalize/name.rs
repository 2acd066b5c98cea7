//! Company names to comparable token strings.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use super::country::Country;
use super::error::RejectReason;
use super::legal_forms::strip_legal_forms;
use super::placeholders::is_placeholder;
use crate::key::{AccountKey, KeyType};

/// Extra passes allowed for non-ASCII names to reach a fixed point; real
/// names settle in one, this only bounds pathological mark sequences.
const MAX_EXTRA_PASSES: usize = 3;

/// Normalizes a company name, qualified by the account's country, into a
/// [`KeyType::Name`] key.
///
/// The key's value is `<country>:<name>`: the ISO 3166-1 alpha-2 code in
/// lowercase (see [`super::country`]), or nothing for an unqualified name
/// (`gb:acme holdings`, `:acme holdings`). The country sits inside the hashed
/// key, so the server never learns it, and an unqualified name only ever
/// matches another unqualified one. A same-name company in another country
/// is the commonest false match of name keys; the country stops it.
///
/// The name part is a sequence of lowercase tokens joined by single spaces:
/// `O'Reilly Media, Inc.` gives `oreilly media`, `Acme GmbH & Co. KG` gives
/// `acme`. Step by step:
///
/// 1. Whitespace only is [`RejectReason::Empty`].
/// 2. Unicode NFKC, full default case folding, NFKC again (full-width letters
///    become ASCII, `ß` becomes `ss`, ligatures split). Pure-ASCII input takes
///    an equivalent fast path (ASCII lowercase).
/// 3. Tokenize: characters of General_Category L (letters), M (marks) or N
///    (numbers) form words; apostrophes
///    (`'`, `’`, `‘`, `ʼ`, `` ` ``, `′`) and default-ignorable code points (soft
///    hyphen, zero-width space and joiners, variation selectors, BOM) are
///    deleted without splitting a word, so `O'Reilly` is `oreilly`; `&` is the
///    word `and`; every other character (whitespace, punctuation, symbols,
///    controls) separates words.
/// 4. Periods: within a word, if every period-separated piece is a single
///    letter or digit (`S.p.A.`, `U.S.`, `e.V.`, `o.o.`), the pieces join into
///    one token (`spa`, `us`, `ev`, `oo`); otherwise a period separates like
///    other punctuation (`Co.KG` is `co kg`, `Dr.Oetker` is `dr oetker`).
/// 5. Leading `the` tokens are dropped while another token follows.
/// 6. Legal-form suffixes are stripped from the end, repeatedly, longest first
///    (`Acme Holdings Co., Ltd.` gives `acme holdings`), but never the last
///    remaining token: a name made only of legal forms keeps its first token
///    (`The Company` gives `company`, which step 9 rejects; `Co. Ltd.` gives
///    `co`). Legal forms are only recognized at the end, never as a prefix
///    (`OOO Romashka`, `PT Acme`).
/// 7. No token left is [`RejectReason::NoNameLeft`] (`!!!`); so is a name that
///    is only `the`.
/// 8. Non-ASCII names repeat steps 2 to 7 until they stop changing.
/// 9. A name that as a whole is a placeholder (`Unknown`, `Test Account`,
///    `N/A`, `DO NOT USE`, `Sample Company`: an entry of
///    `protocol-spec/data/placeholder-names.txt`) is
///    [`RejectReason::PlaceholderName`]: such a row is no company, and the
///    other side's placeholders would match it.
///
/// **Diacritics are kept**: `Société Générale` gives `société générale`, not
/// `societe generale`. Stripping them would merge names that differ only in
/// accents in languages where the accent is meaningful, and the two parties'
/// CRMs usually spell a company the same way; both sides apply the same rule.
///
/// The name part is a fixed point: normalizing it again yields itself.
pub fn company_name(raw: &str, country: Option<Country>) -> Result<AccountKey, RejectReason> {
    let name = name_tokens(raw)?;
    let cc = country.as_ref().map(Country::as_str).unwrap_or_default();
    let mut value = String::with_capacity(cc.len() + 1 + name.len());
    value.push_str(cc);
    value.push(':');
    value.push_str(&name);
    Ok(AccountKey::from_normalized(KeyType::Name, &value))
}

/// A name key qualified beyond its country (a city, a postal code): the
/// value `<country>:<qualifier>:<name>` of an already-normalized qualifier
/// and name.
pub(super) fn qualified_key(
    kind: KeyType,
    country: Country,
    qualifier: &str,
    name: &str,
) -> AccountKey {
    let cc = country.as_str();
    let mut value = String::with_capacity(cc.len() + qualifier.len() + name.len() + 2);
    value.push_str(cc);
    value.push(':');
    value.push_str(qualifier);
    value.push(':');
    value.push_str(name);
    AccountKey::from_normalized(kind, &value)
}

/// The name part of [`company_name`]'s key: steps 1 to 7, repeated to a
/// fixed point, then the placeholder check (step 9).
pub fn name_tokens(raw: &str) -> Result<String, RejectReason> {
    let value = tokens_before_placeholders(raw)?;
    // Checked once, on the finished name: entries are ASCII, and an ASCII
    // name is already a fixed point, so no earlier pass could have given
    // a placeholder that a later one changes.
    if is_placeholder(&value) {
        return Err(RejectReason::PlaceholderName);
    }
    Ok(value)
}

/// Steps 1 to 8: the name before the placeholder check.
pub(super) fn tokens_before_placeholders(raw: &str) -> Result<String, RejectReason> {
    if raw.trim().is_empty() {
        return Err(RejectReason::Empty);
    }
    let mut value = normalize_once(raw)?;
    if !value.is_ascii() {
        // Deleting an apostrophe or ignorable between a letter and a combining
        // mark lets NFKC compose them on the next pass, so one pass is not always
        // a fixed point. ASCII output always is: it has no marks to compose.
        for _ in 0..MAX_EXTRA_PASSES {
            let next = normalize_once(&value)?;
            if next == value {
                break;
            }
            value = next;
        }
    }
    Ok(value)
}

/// One pass of steps 2 to 7.
fn normalize_once(raw: &str) -> Result<String, RejectReason> {
    let mut tokens = String::with_capacity(raw.len());
    if raw.is_ascii() {
        tokenize(raw.chars(), &mut tokens);
    } else {
        tokenize(raw.chars().nfkc().default_case_fold().nfkc(), &mut tokens);
    }
    let mut rest = tokens.as_str();
    // `tokens` never has a trailing space, so "the " implies a following token.
    while let Some(after) = rest.strip_prefix("the ") {
        rest = after;
    }
    let value = strip_legal_forms(rest);
    if value.is_empty() || value == "the" {
        return Err(RejectReason::NoNameLeft);
    }
    if value.len() == tokens.len() {
        return Ok(tokens);
    }
    Ok(value.to_owned())
}

/// Appends the tokens of `chars` to `out`, joined by single spaces.
pub(super) fn tokenize(chars: impl Iterator<Item = char>, out: &mut String) {
    // The current word with its periods, until a separator decides how the
    // periods are read.
    let mut word = String::new();
    for c in chars {
        // Case folding has already run on non-ASCII input; this lowercases the
        // ASCII fast path and is a no-op otherwise.
        let c = c.to_ascii_lowercase();
        if is_apostrophe(c) || is_default_ignorable(c) {
            continue;
        }
        if c == '.' || is_word_char(c) {
            word.push(c);
            continue;
        }
        flush_word(&mut word, out);
        if c == '&' {
            push_token(out, "and");
        }
    }
    flush_word(&mut word, out);
}

/// Letters, marks and numbers by General_Category, so that an implementation
/// with only a category table (Python's `unicodedata`) splits words alike.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Mark | GeneralCategoryGroup::Number
    )
}

fn flush_word(word: &mut String, out: &mut String) {
    if word.is_empty() {
        return;
    }
    if is_acronym(word) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|&c| c != '.'));
    } else {
        for piece in word.split('.').filter(|p| !p.is_empty()) {
            push_token(out, piece);
        }
    }
    word.clear();
}

fn push_token(out: &mut String, token: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(token);
}

/// At least two period-separated pieces, each a single base character (plus
/// any combining marks on it): `s.p.a.`, `u.s`, `a.ş.`.
fn is_acronym(word: &str) -> bool {
    let mut pieces = 0usize;
    for piece in word.split('.').filter(|p| !p.is_empty()) {
        if piece.chars().filter(|&c| !is_combining_mark(c)).count() != 1 {
            return false;
        }
        pieces += 1;
    }
    pieces >= 2
}

/// Characters used as apostrophes in names; deleted so `O'Reilly`, `O’Reilly`
/// and `OReilly` agree.
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}'
    )
}

/// Unicode `Default_Ignorable_Code_Point`: invisible characters that
/// NFKC_Casefold removes and that must not split or distinguish names.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Steps 2 to 4 only, so the legal-form table can check its own spelling.
#[cfg(test)]
pub(super) fn tokenize_for_tests(raw: &str) -> String {
    let mut out = String::new();
    tokenize(raw.chars().nfkc().default_case_fold().nfkc(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        match name_tokens(raw) {
            Ok(k) => k,
            Err(e) => panic!("{raw:?} rejected: {e:?}"),
        }
    }

    fn err(raw: &str) -> RejectReason {
        match name_tokens(raw) {
            Ok(k) => panic!("{raw:?} accepted as {k:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn legal_forms_and_punctuation() {
        assert_eq!(ok("Acme, Inc."), "acme");
        assert_eq!(ok("ACME INCORPORATED"), "acme");
        assert_eq!(ok("The Acme Company"), "acme");
        assert_eq!(ok("Acme GmbH & Co. KG"), "acme");
        assert_eq!(ok("Acme Holdings Co., Ltd."), "acme holdings");
        assert_eq!(ok("Foo Pty Ltd"), "foo");
        assert_eq!(ok("Bar S.p.A."), "bar");
        assert_eq!(ok("Bar S. p. A."), "bar");
        assert_eq!(ok("Nokia Oyj"), "nokia");
        assert_eq!(ok("Volvo AB"), "volvo");
        assert_eq!(ok("Maersk A/S"), "maersk");
        assert_eq!(ok("Grupo Bimbo, S.A.B. de C.V."), "grupo bimbo");
        assert_eq!(ok("Acme Sp. z o.o."), "acme");
        assert_eq!(ok("Acme Co.KG"), "acme");
    }

    #[test]
    fn apostrophes_ampersands_and_acronyms() {
        assert_eq!(ok("O'Reilly Media, Inc."), "oreilly media");
        assert_eq!(ok("O’Reilly Media"), "oreilly media");
        assert_eq!(ok("Johnson & Johnson"), "johnson and johnson");
        assert_eq!(ok("AT&T Inc."), "at and t");
        assert_eq!(ok("J.P. Morgan"), "jp morgan");
        assert_eq!(ok("Dr.Oetker"), "dr oetker");
        assert_eq!(ok("Ac\u{200B}me"), "acme");
    }

    #[test]
    fn unicode_folding() {
        assert_eq!(ok("Ｆｕｌｌｗｉｄｔｈ Corp"), "fullwidth");
        assert_eq!(ok("Straße AG"), "strasse");
        assert_eq!(ok("Société Générale S.A."), "société générale");
        assert_eq!(
            ok("Socie\u{301}te\u{301} Ge\u{301}ne\u{301}rale"),
            "société générale"
        );
        assert_eq!(ok("ＡＣＭＥ　ＬＴＤ"), "acme");
    }

    #[test]
    fn leading_the() {
        assert_eq!(ok("The The Beatles"), "beatles");
        // `company`, which step 6 leaves, is a placeholder (step 9).
        assert_eq!(
            tokens_before_placeholders("The Company").as_deref(),
            Ok("company")
        );
        assert_eq!(ok("Theodor GmbH"), "theodor");
        assert_eq!(err("The"), RejectReason::NoNameLeft);
        assert_eq!(ok("The The Inc"), "inc");
    }

    #[test]
    fn rejections() {
        assert_eq!(err(""), RejectReason::Empty);
        assert_eq!(err("  \t\n"), RejectReason::Empty);
        assert_eq!(err("!!!"), RejectReason::NoNameLeft);
        assert_eq!(err("'"), RejectReason::NoNameLeft);
        assert_eq!(err("\u{200B}"), RejectReason::NoNameLeft);
    }

    #[test]
    fn placeholders_are_rejected() {
        for raw in [
            "Test Account",
            "TEST",
            "Unknown",
            "unknown ltd",
            "Sample Company",
            "Test Company Inc.",
            "Individual",
            "DO NOT USE",
            "Don't use",
            "N/A",
            "n.a.",
            "[not provided]",
            "Self-Employed",
            "The Company",
            "Company Ltd",
            "Ｔｅｓｔ",
        ] {
            assert_eq!(err(raw), RejectReason::PlaceholderName, "{raw:?}");
        }
        // Only the whole name: a placeholder word in a company's name, or a
        // tag on a real row, leaves the name alone.
        assert_eq!(ok("Acme Test"), "acme test");
        assert_eq!(ok("Test Accounting Ltd"), "test accounting");
        assert_eq!(ok("Do Not Use - Duplicate"), "do not use duplicate");
        assert_eq!(ok("Acme Ltd - DO NOT USE"), "acme ltd do not use");
        assert_eq!(ok("Unknown Worlds"), "unknown worlds");
        assert_eq!(ok("Freelancer Limited"), "freelancer");
        // Rejections of earlier steps come first.
        assert_eq!(err("  "), RejectReason::Empty);
        assert_eq!(err("The"), RejectReason::NoNameLeft);
        // A country does not rescue a placeholder.
        let us = super::super::country::country("US").ok();
        assert_eq!(
            company_name("Unknown", us).map(|k| k.message().to_owned()),
            Err(RejectReason::PlaceholderName)
        );
    }

    #[test]
    fn the_country_qualifies_the_key() {
        let gb = super::super::country::country("United Kingdom").ok();
        let key = company_name("Acme Holdings Ltd", gb).map(|k| k.message().to_owned());
        assert_eq!(key.as_deref(), Ok("name:gb:acme holdings"));
        let bare = company_name("Acme Holdings Ltd", None).map(|k| k.message().to_owned());
        assert_eq!(bare.as_deref(), Ok("name::acme holdings"));
    }

    #[test]
    fn output_is_a_fixed_point() {
        for raw in [
            "Acme Holdings Co., Ltd.",
            "Société Générale",
            "e'\u{301}",
            "Co Ltd",
        ] {
            let once = ok(raw);
            assert_eq!(ok(&once), once, "{raw:?}");
        }
    }
}
