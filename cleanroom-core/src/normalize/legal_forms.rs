//! Legal-form suffixes stripped from the end of company names.
//!
//! Entries are written in *normalized token form*: what the name tokenizer
//! produces for them (case folded, `&` as `and`, acronym dots deleted, other
//! punctuation as single spaces). `S.p.A.`, `SpA` and `S.P.A.` all tokenize to
//! `spa`; spaced spellings such as `S. p. A.` tokenize to `s p a` and are
//! listed separately. The table is part of the protocol: adding or removing
//! an entry changes keys, so it only changes with a protocol version.

use std::collections::HashSet;
use std::sync::LazyLock;

/// The legal forms, grouped by jurisdiction for review; order is irrelevant.
const FORMS: &[&str] = &[
    // United States, United Kingdom, Ireland, Commonwealth
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "and co",
    "llc",
    "l l c",
    "limited liability company",
    "ltd",
    "limited",
    "plc",
    "llp",
    "limited liability partnership",
    "lp",
    "limited partnership",
    "lllp",
    "pllc",
    "cic",
    "dac",
    "ulc",
    "teoranta",
    "teo",
    // Australia, New Zealand, South and South-East Asia
    "pty",
    "pty ltd",
    "pte",
    "pte ltd",
    "pvt",
    "pvt ltd",
    "private limited",
    "sdn bhd",
    "bhd",
    "berhad",
    "tbk",
    // Japan
    "kk",
    "k k",
    "kabushiki kaisha",
    "gk",
    "godo kaisha",
    // Germany, Austria, Switzerland
    "gmbh",
    "mbh",
    "gesmbh",
    "ges mbh",
    "ag",
    "kg",
    "kgaa",
    "ohg",
    "gbr",
    "ug",
    "ug haftungsbeschränkt",
    "ug haftungsbeschrankt",
    "ev",
    "e v",
    "ek",
    "e k",
    "eg",
    "co kg",
    "and co kg",
    "und co kg",
    "gmbh and co kg",
    "gmbh und co kg",
    "gmbh u co kg",
    "gmbh co kg",
    "ag and co kg",
    "ag und co kg",
    "se and co kg",
    "gmbh and co kgaa",
    "ag and co kgaa",
    "se and co kgaa",
    "gmbh and co ohg",
    "and co ohg",
    "sagl",
    // France, Belgium, Luxembourg
    "sa",
    "s a",
    "sas",
    "s a s",
    "sasu",
    "sarl",
    "s a r l",
    "eurl",
    "sci",
    "snc",
    "sca",
    "cie",
    "and cie",
    "et cie",
    "sprl",
    "bvba",
    "cvba",
    // Italy, Spain, Portugal, Latin America
    "spa",
    "s p a",
    "srl",
    "s r l",
    "srls",
    "sapa",
    "sl",
    "s l",
    "slu",
    "sau",
    "lda",
    "ltda",
    "eireli",
    "sa de cv",
    "sab de cv",
    "sapi de cv",
    "s de rl",
    "s de rl de cv",
    // Netherlands
    "bv",
    "b v",
    "nv",
    "n v",
    "vof",
    // Nordic countries
    "ab",
    "ab publ",
    "oy",
    "oyj",
    "as",
    "a s",
    "asa",
    "aps",
    "i s",
    "hf",
    "ehf",
    // Central and Eastern Europe, Turkey
    "sp z oo",
    "sp z o o",
    "spzoo",
    "sp k",
    "sp j",
    "ska",
    "sro",
    "s r o",
    "spol s ro",
    "spol s r o",
    "kft",
    "zrt",
    "nyrt",
    "doo",
    "dd",
    "ood",
    "eood",
    "ead",
    "jsc",
    "pjsc",
    "aş",
    "ltd şti",
    "ltd sti",
    "şti",
    // Canada (French)
    "ltée",
    "ltee",
    "limitée",
    "limitee",
    // Europe-wide
    "se",
    "sce",
];

static FORM_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| FORMS.iter().copied().collect());

/// The most tokens in any entry of [`FORMS`] (checked by a test).
const MAX_FORM_TOKENS: usize = 5;

/// Strips legal-form suffixes from the end of `name` (tokens joined by single
/// spaces), repeatedly, always taking the longest matching suffix that still
/// leaves at least one token.
///
/// A name that is nothing but legal forms therefore keeps its first token
/// (`Co Ltd` gives `co`), so the result is never empty, and it is a fixed point:
/// no suffix of it that leaves a token is a legal form.
pub(crate) fn strip_legal_forms(mut name: &str) -> &str {
    'strip: loop {
        // cuts[k - 1] is the space in front of the last k tokens; a cut exists
        // only where at least one token stays in front of it.
        let mut cuts = [0usize; MAX_FORM_TOKENS];
        let mut found = 0;
        for (i, b) in name.bytes().enumerate().rev() {
            if b == b' ' {
                cuts[found] = i;
                found += 1;
                if found == MAX_FORM_TOKENS {
                    break;
                }
            }
        }
        for &cut in cuts[..found].iter().rev() {
            let tail = name.get(cut + 1..).unwrap_or_default();
            if FORM_SET.contains(tail) {
                name = name.get(..cut).unwrap_or_default();
                continue 'strip;
            }
        }
        return name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_form_tokens_is_exact() {
        let max = FORMS.iter().map(|f| f.split(' ').count()).max();
        assert_eq!(max, Some(MAX_FORM_TOKENS));
    }

    #[test]
    fn forms_are_in_normalized_token_form() {
        for form in FORMS {
            assert_eq!(
                super::super::name::tokenize_for_tests(form),
                *form,
                "legal form {form:?} is not in normalized token form"
            );
        }
    }

    #[test]
    fn forms_are_unique() {
        assert_eq!(FORM_SET.len(), FORMS.len());
    }

    #[test]
    fn strips_repeatedly_and_longest_first() {
        assert_eq!(strip_legal_forms("acme holdings co ltd"), "acme holdings");
        assert_eq!(strip_legal_forms("acme gmbh and co kg"), "acme");
        assert_eq!(strip_legal_forms("foo pty ltd"), "foo");
        assert_eq!(strip_legal_forms("bar sa de cv"), "bar");
        assert_eq!(strip_legal_forms("acme"), "acme");
        assert_eq!(
            strip_legal_forms("johnson and johnson"),
            "johnson and johnson"
        );
    }

    #[test]
    fn never_strips_everything() {
        assert_eq!(strip_legal_forms("co ltd"), "co");
        assert_eq!(strip_legal_forms("company"), "company");
        assert_eq!(strip_legal_forms("pty ltd"), "pty");
        assert_eq!(strip_legal_forms("gmbh and co kg"), "gmbh");
        assert_eq!(strip_legal_forms("inc inc inc"), "inc");
    }

    #[test]
    fn result_is_a_fixed_point() {
        for name in [
            "co ltd",
            "gmbh and co kg",
            "acme holdings co ltd",
            "a s a s",
        ] {
            let once = strip_legal_forms(name);
            assert_eq!(strip_legal_forms(once), once);
        }
    }
}
