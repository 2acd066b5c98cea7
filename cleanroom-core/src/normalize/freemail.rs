//! Free-mail and consumer mail providers.
//!
//! A registrable domain on this list identifies a mailbox provider, not the
//! account's company, so two unrelated accounts would "match" on it. The list
//! is part of the protocol: both parties must reject exactly the same domains,
//! so it is `protocol-spec/data/free-mail.txt`, compiled in.
//! It holds consumer mail only; a provider of business mail hosting (Zoho,
//! Google Workspace, Microsoft 365) is not listed because its customers' own
//! domains are what we see.

use std::collections::HashSet;
use std::sync::LazyLock;

/// `protocol-spec/data/free-mail.txt`, the normative table.
const TABLE: &str = include_str!("../../../protocol-spec/data/free-mail.txt");

/// The table's `brand` labels and exact `domain`s.
struct FreeMail {
    /// Registrable-domain labels whose every ICANN registration is a consumer
    /// mail service, matched against the label left of the public suffix so
    /// new country variants need no list change.
    brands: HashSet<&'static str>,
    domains: HashSet<&'static str>,
}

fn entries() -> impl Iterator<Item = (&'static str, &'static str)> {
    super::table_entries(TABLE).map(|l| l.split_once(' ').unwrap_or((l, "")))
}

static FREE_MAIL: LazyLock<FreeMail> = LazyLock::new(|| {
    let mut t = FreeMail {
        brands: HashSet::new(),
        domains: HashSet::new(),
    };
    for (kind, value) in entries() {
        // A line of another kind is caught by a test; ignoring it here keeps
        // a table typo from ever matching a real domain.
        match kind {
            "brand" => t.brands.insert(value),
            "domain" => t.domains.insert(value),
            _ => false,
        };
    }
    t
});

/// Whether `registrable` (a lowercase ASCII eTLD+1 whose public suffix has
/// `suffix_len` bytes) is a free-mail or consumer mail domain.
///
/// `icann` says whether the suffix comes from the ICANN section of the list:
/// brand labels only count under ICANN suffixes, so a private-section
/// registration such as `yahoo.github.io` is somebody's project, not Yahoo Mail.
pub(crate) fn is_free_mail(registrable: &str, suffix_len: usize, icann: bool) -> bool {
    if FREE_MAIL.domains.contains(registrable) {
        return true;
    }
    if !icann {
        return false;
    }
    // The registrable domain is exactly `label.suffix`, so the label is everything
    // before the dot that precedes the suffix.
    let label_len = registrable.len().saturating_sub(suffix_len + 1);
    registrable
        .get(..label_len)
        .is_some_and(|label| FREE_MAIL.brands.contains(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_are_well_formed_sorted_and_unique() {
        let mut last: Option<(&str, &str)> = None;
        for (kind, value) in entries() {
            assert!(matches!(kind, "brand" | "domain"), "line kind {kind:?}");
            assert!(
                !value.is_empty()
                    && value.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'.'
                        || b == b'-'),
                "{value:?}"
            );
            if let Some(prev) = last {
                assert!(prev < (kind, value), "{value:?} out of order");
            }
            last = Some((kind, value));
        }
        assert!(FREE_MAIL.domains.len() >= 100 && FREE_MAIL.brands.len() >= 4);
    }

    #[test]
    fn table_entries_are_registrable_domains() {
        for d in &FREE_MAIL.domains {
            let reduced = crate::normalize::domain(d);
            assert_eq!(
                reduced.as_ref().err(),
                Some(&crate::normalize::RejectReason::FreeMail),
                "{d} does not reduce to itself and count as free mail"
            );
            assert!(
                crate::normalize::suffix_list::registrable(d).is_ok_and(|r| r.value == *d),
                "{d} is not an eTLD+1"
            );
        }
    }

    #[test]
    fn exact_and_brand_matches() {
        assert!(is_free_mail("gmail.com", 3, true));
        assert!(is_free_mail("yahoo.co.uk", 5, true));
        assert!(is_free_mail("yahoo.fr", 2, true));
        assert!(is_free_mail("gmx.net", 3, true));
        assert!(is_free_mail("hotmail.com.br", 6, true));
        assert!(!is_free_mail("yahoo.github.io", 9, false));
        assert!(!is_free_mail("acme.com", 3, true));
        assert!(!is_free_mail("google.com", 3, true));
        assert!(!is_free_mail("zoho.com", 3, true));
        assert!(!is_free_mail("myyahoo.com", 3, true));
    }
}
