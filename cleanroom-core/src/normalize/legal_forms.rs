//! Legal-form suffixes stripped from the end of company names.
//!
//! The table is `protocol-spec/data/legal-forms.txt`, compiled in: the spec's
//! file is the one source of truth, and its header says how entries are
//! written (normalized token form).

use std::collections::HashSet;
use std::sync::LazyLock;

/// `protocol-spec/data/legal-forms.txt`, the normative table.
const TABLE: &str = include_str!("../../../protocol-spec/data/legal-forms.txt");

fn forms() -> impl Iterator<Item = &'static str> {
    super::table_entries(TABLE)
}

static FORM_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| forms().collect());

/// The most tokens in any entry of the table (checked by a test).
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
        let max = forms().map(|f| f.split(' ').count()).max();
        assert_eq!(max, Some(MAX_FORM_TOKENS));
    }

    #[test]
    fn forms_are_in_normalized_token_form() {
        for form in forms() {
            assert_eq!(
                super::super::name::tokenize_for_tests(form),
                form,
                "legal form {form:?} is not in normalized token form"
            );
        }
    }

    #[test]
    fn forms_are_unique() {
        assert_eq!(FORM_SET.len(), forms().count());
        assert!(FORM_SET.len() >= 150, "the table did not load");
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
