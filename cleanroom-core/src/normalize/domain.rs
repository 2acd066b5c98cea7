//! Website, domain and e-mail columns to a registrable domain (eTLD+1).

use std::net::{Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::error::RejectReason;
use super::freemail::is_free_mail;
use super::suffix_list::{NoRegistrable, registrable};
use crate::key::{AccountKey, KeyType};

/// Normalizes a website, domain or e-mail value into a [`KeyType::Domain`] key.
///
/// The value becomes the registrable domain (eTLD+1) in lowercase ASCII, IDNs
/// in punycode: `HTTPS://WWW.Acme.COM/` and `jane@shop.acme.co.uk` give
/// `acme.com` and `acme.co.uk`. Step by step:
///
/// 1. Trim surrounding whitespace; nothing left is [`RejectReason::Empty`].
/// 2. Drop a URL scheme with its slashes (`https://`, `HTTP:\\`), a `mailto:`
///    prefix or a leading `//`.
/// 3. Cut at the first `/`, `\`, `?` or `#` (path, query, fragment), then
///    keep what follows the last `@` (URL userinfo, or the mailbox of an
///    e-mail address).
/// 4. A bracketed host (`[::1]:443`) or one with two or more colons is an IPv6
///    address ([`RejectReason::IpAddress`]) or garbage
///    ([`RejectReason::InvalidDomain`]); otherwise `:port` is removed, and a
///    port that is not all digits is [`RejectReason::InvalidDomain`].
/// 5. Drop one trailing root dot (`acme.com.`).
/// 6. UTS #46 ToASCII (the `idna` crate) with STD3 rules, no leading or
///    trailing hyphen in a label, and DNS length limits: this lowercases,
///    maps full-width forms, and punycodes IDNs (`münchen-gmbh.de` gives
///    `xn--mnchen-gmbh-thb.de`). Anything else that is not a letter, digit,
///    hyphen or dot, an empty label, a label over 63 bytes or a name over 253
///    is [`RejectReason::InvalidDomain`].
/// 7. A dotted quad, or any name made only of numeric labels (`10.1`), is
///    [`RejectReason::IpAddress`]: no TLD is numeric.
/// 8. Reduce to the registrable domain with the Public Suffix List snapshot
///    of the protocol ([`super::suffix_list`]). A name that is itself a
///    known public suffix is [`RejectReason::PublicSuffix`]; a single unknown
///    label (`localhost`) is [`RejectReason::InvalidDomain`]; a name under a
///    TLD the list does not know (`acme.local`, `acme.example`, `acme.con`) is
///    [`RejectReason::UnknownSuffix`], because the list's implicit `*` rule
///    would otherwise turn every typo and intranet name into a "registrable"
///    domain.
/// 9. A registrable domain of a free-mail or consumer mail provider
///    (`gmail.com`, `yahoo.co.uk`, ...) is [`RejectReason::FreeMail`].
///
/// **Private section.** The lookup applies the ICANN *and* the private
/// section of the Public Suffix List, and so does this function:
/// `acme.github.io`, `shop.blogspot.com` and `bucket.s3.amazonaws.com` stay
/// whole (each is a separate registrant's space), and `github.io` alone is
/// [`RejectReason::PublicSuffix`]. This keeps two unrelated tenants of a
/// hosting platform from matching each other.
///
/// The result is a fixed point: normalizing the returned value again yields
/// the same key.
pub fn domain(raw: &str) -> Result<AccountKey, RejectReason> {
    let host = extract_host(raw)?;
    let ascii = Uts46::new()
        .to_ascii(
            host.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .map_err(|_| RejectReason::InvalidDomain)?;
    if is_ip_v4_like(&ascii) {
        return Err(RejectReason::IpAddress);
    }
    let r = registrable(&ascii).map_err(|e| match e {
        NoRegistrable::PublicSuffix => RejectReason::PublicSuffix,
        NoRegistrable::SingleLabel => RejectReason::InvalidDomain,
        NoRegistrable::UnknownSuffix => RejectReason::UnknownSuffix,
    })?;
    if is_free_mail(r.value, r.suffix_len, r.icann) {
        return Err(RejectReason::FreeMail);
    }
    let value = r.value;
    Ok(AccountKey::from_normalized(KeyType::Domain, value))
}

/// Peels scheme, userinfo, path, query, fragment, port and root dot off a raw
/// value, leaving the host exactly as typed (case and Unicode untouched).
fn extract_host(raw: &str) -> Result<&str, RejectReason> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(RejectReason::Empty);
    }
    let s = strip_scheme(s);
    let authority = s.split(['/', '\\', '?', '#']).next().unwrap_or(s);
    // The last `@` wins: a password may itself contain `@`, a host cannot.
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = strip_port(host_port)?;
    let host = host
        .strip_suffix(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'])
        .unwrap_or(host);
    if host.is_empty() {
        return Err(RejectReason::InvalidDomain);
    }
    Ok(host)
}

/// Removes `scheme:` plus any slashes after it, `mailto:`, or leading slashes.
///
/// A `name:` without slashes is kept (except `mailto:`) because `acme.com:8080`
/// and `user:pw@acme.com` have the same shape as a scheme.
fn strip_scheme(s: &str) -> &str {
    if let Some((scheme, rest)) = s.split_once(':') {
        let is_scheme = scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if is_scheme {
            let after = rest.trim_start_matches(['/', '\\']);
            if after.len() < rest.len() || scheme.eq_ignore_ascii_case("mailto") {
                return after;
            }
        }
    }
    s.trim_start_matches(['/', '\\'])
}

/// Splits off `:port`, classifying IPv6 literals before a colon can be misread.
fn strip_port(host_port: &str) -> Result<&str, RejectReason> {
    if let Some(bracketed) = host_port.strip_prefix('[') {
        let inner = bracketed.split(']').next().unwrap_or(bracketed);
        return Err(if is_ip_v6(inner) {
            RejectReason::IpAddress
        } else {
            RejectReason::InvalidDomain
        });
    }
    let Some((host, port)) = host_port.split_once(':') else {
        return Ok(host_port);
    };
    if port.contains(':') {
        return Err(if is_ip_v6(host_port) {
            RejectReason::IpAddress
        } else {
            RejectReason::InvalidDomain
        });
    }
    if port.bytes().all(|b| b.is_ascii_digit()) {
        Ok(host)
    } else {
        Err(RejectReason::InvalidDomain)
    }
}

/// IPv6 text, with an optional `%zone` suffix.
fn is_ip_v6(s: &str) -> bool {
    let addr = s.split('%').next().unwrap_or(s);
    addr.parse::<Ipv6Addr>().is_ok()
}

/// A dotted quad, or only numeric labels (`10.1`, which browsers read as IPv4).
fn is_ip_v4_like(ascii: &str) -> bool {
    ascii.parse::<Ipv4Addr>().is_ok()
        || ascii
            .split('.')
            .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        match domain(raw) {
            Ok(k) => k.value().to_owned(),
            Err(e) => panic!("{raw:?} rejected: {e:?}"),
        }
    }

    fn err(raw: &str) -> RejectReason {
        match domain(raw) {
            Ok(k) => panic!("{raw:?} accepted as {:?}", k.value()),
            Err(e) => e,
        }
    }

    #[test]
    fn urls_reduce_to_registrable_domain() {
        assert_eq!(ok("HTTPS://WWW.Acme.COM/"), "acme.com");
        assert_eq!(ok("http://user:pw@acme.com:8080/path?q#f"), "acme.com");
        assert_eq!(ok("https://shop.acme.co.uk/x"), "acme.co.uk");
        assert_eq!(ok("acme.com."), "acme.com");
        assert_eq!(ok("  acme.io  "), "acme.io");
        assert_eq!(ok("//cdn.acme.com/lib.js"), "acme.com");
        assert_eq!(ok("http:\\\\acme.com\\x"), "acme.com");
        assert_eq!(ok("acme.com?ref=a@b.com"), "acme.com");
        assert_eq!(ok("ftp://files.acme.de"), "acme.de");
        assert_eq!(ok("acme.com:"), "acme.com");
    }

    #[test]
    fn emails_give_their_domain() {
        assert_eq!(ok("jane@acme.com"), "acme.com");
        assert_eq!(ok("MAILTO:Jane.Doe@Sales.Acme.COM"), "acme.com");
        assert_eq!(ok("user:p@ss@acme.com"), "acme.com");
    }

    #[test]
    fn idn_becomes_punycode() {
        assert_eq!(ok("münchen-gmbh.de"), "xn--mnchen-gmbh-thb.de");
        assert_eq!(ok("XN--MNCHEN-3YA.DE"), "xn--mnchen-3ya.de");
        assert_eq!(ok("ａｃｍｅ．ｃｏｍ"), "acme.com");
        assert_eq!(ok("acme。com"), "acme.com");
    }

    #[test]
    fn private_section_suffixes_count() {
        assert_eq!(ok("https://acme.github.io/docs"), "acme.github.io");
        assert_eq!(ok("news.acme.blogspot.com"), "acme.blogspot.com");
        assert_eq!(err("github.io"), RejectReason::PublicSuffix);
    }

    #[test]
    fn rejections() {
        assert_eq!(err(""), RejectReason::Empty);
        assert_eq!(err(" \t "), RejectReason::Empty);
        assert_eq!(err("192.168.0.1"), RejectReason::IpAddress);
        assert_eq!(err("http://10.0.0.1:8080/"), RejectReason::IpAddress);
        assert_eq!(err("10.1"), RejectReason::IpAddress);
        assert_eq!(err("[::1]"), RejectReason::IpAddress);
        assert_eq!(err("http://[2001:db8::1]:443/"), RejectReason::IpAddress);
        assert_eq!(err("fe80::1%eth0"), RejectReason::IpAddress);
        assert_eq!(err("[acme.com]"), RejectReason::InvalidDomain);
        assert_eq!(err("co.uk"), RejectReason::PublicSuffix);
        assert_eq!(err("com"), RejectReason::PublicSuffix);
        assert_eq!(err("localhost"), RejectReason::InvalidDomain);
        assert_eq!(err("acme.local"), RejectReason::UnknownSuffix);
        assert_eq!(err("not a domain"), RejectReason::InvalidDomain);
        assert_eq!(err("acme..com"), RejectReason::InvalidDomain);
        assert_eq!(err("-acme.com"), RejectReason::InvalidDomain);
        assert_eq!(err("acme_corp.com"), RejectReason::InvalidDomain);
        assert_eq!(err("acme.com:http"), RejectReason::InvalidDomain);
        assert_eq!(err("https://"), RejectReason::InvalidDomain);
        assert_eq!(err("jane@"), RejectReason::InvalidDomain);
        assert_eq!(err("gmail.com"), RejectReason::FreeMail);
        assert_eq!(err("Jane@GoogleMail.com"), RejectReason::FreeMail);
        assert_eq!(err("mail.yahoo.co.uk"), RejectReason::FreeMail);
        assert_eq!(err("yahoo.fr"), RejectReason::FreeMail);
        assert_eq!(err("gmx.ch"), RejectReason::FreeMail);
    }

    #[test]
    fn output_is_a_fixed_point() {
        for raw in [
            "HTTPS://WWW.Acme.COM/",
            "münchen-gmbh.de",
            "shop.acme.co.uk",
            "a.b.ck",
        ] {
            let once = ok(raw);
            assert_eq!(ok(&once), once);
        }
    }
}
