//! Free-mail and consumer mail providers.
//!
//! A registrable domain on this list identifies a mailbox provider, not the
//! account's company, so two unrelated accounts would "match" on it. The list
//! is part of the protocol: both parties must reject exactly the same domains.
//! It holds consumer mail only; a provider of business mail hosting (Zoho,
//! Google Workspace, Microsoft 365) is not listed because its customers' own
//! domains are what we see.

/// Registrable-domain labels whose every ICANN registration is a consumer mail
/// service (`yahoo.co.uk`, `gmx.at`, `hotmail.fr`, `yandex.kz`, ...).
///
/// Matched against the label left of the public suffix, so new country
/// variants need no list change.
const BRAND_LABELS: [&str; 4] = ["gmx", "hotmail", "yahoo", "yandex"];

/// Exact registrable domains of consumer mail services. Sorted, for binary search.
const DOMAINS: &[&str] = &[
    "126.com",
    "139.com",
    "163.com",
    "aim.com",
    "aliyun.com",
    "aol.co.uk",
    "aol.com",
    "aol.de",
    "aol.fr",
    "arcor.de",
    "att.net",
    "bellsouth.net",
    "bigpond.com",
    "bk.ru",
    "bluewin.ch",
    "bol.com.br",
    "btinternet.com",
    "centrum.cz",
    "charter.net",
    "comcast.net",
    "cox.net",
    "daum.net",
    "earthlink.net",
    "email.com",
    "fastmail.com",
    "fastmail.fm",
    "foxmail.com",
    "free.fr",
    "freenet.de",
    "gmail.com",
    "googlemail.com",
    "hanmail.net",
    "hushmail.com",
    "icloud.com",
    "inbox.lv",
    "inbox.ru",
    "interia.pl",
    "juno.com",
    "laposte.net",
    "libero.it",
    "list.ru",
    "live.at",
    "live.be",
    "live.ca",
    "live.co.uk",
    "live.com",
    "live.com.au",
    "live.de",
    "live.dk",
    "live.fr",
    "live.ie",
    "live.it",
    "live.nl",
    "live.no",
    "live.se",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "netzero.net",
    "ntlworld.com",
    "o2.pl",
    "onet.pl",
    "optonline.net",
    "optusnet.com.au",
    "orange.fr",
    "outlook.at",
    "outlook.be",
    "outlook.com",
    "outlook.com.au",
    "outlook.com.br",
    "outlook.de",
    "outlook.dk",
    "outlook.es",
    "outlook.fr",
    "outlook.ie",
    "outlook.it",
    "outlook.jp",
    "pm.me",
    "proton.me",
    "protonmail.ch",
    "protonmail.com",
    "qq.com",
    "rambler.ru",
    "rediffmail.com",
    "rocketmail.com",
    "sbcglobal.net",
    "seznam.cz",
    "shaw.ca",
    "sina.cn",
    "sina.com",
    "sohu.com",
    "t-online.de",
    "terra.com.br",
    "tuta.io",
    "tutanota.com",
    "tutanota.de",
    "uol.com.br",
    "verizon.net",
    "virgilio.it",
    "wanadoo.fr",
    "web.de",
    "windowslive.com",
    "wp.pl",
    "ya.ru",
    "yeah.net",
    "ymail.com",
];

/// Whether `registrable` (a lowercase ASCII eTLD+1 whose public suffix has
/// `suffix_len` bytes) is a free-mail or consumer mail domain.
///
/// `icann` says whether the suffix comes from the ICANN section of the list:
/// brand labels only count under ICANN suffixes, so a private-section
/// registration such as `yahoo.github.io` is somebody's project, not Yahoo Mail.
pub(crate) fn is_free_mail(registrable: &str, suffix_len: usize, icann: bool) -> bool {
    if DOMAINS.binary_search(&registrable).is_ok() {
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
        .is_some_and(|label| BRAND_LABELS.contains(&label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(
            DOMAINS.windows(2).all(|w| w[0] < w[1]),
            "DOMAINS must be sorted and deduplicated"
        );
    }

    #[test]
    fn table_entries_are_registrable_domains() {
        for &d in DOMAINS {
            assert_eq!(psl::domain_str(d), Some(d), "{d} is not an eTLD+1");
            assert!(
                d.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'.'
                    || b == b'-')
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
