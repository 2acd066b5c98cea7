//! The Public Suffix List snapshot that defines registrable domains.
//!
//! Two parties on different lists disagree on some eTLD+1 and silently stop
//! matching those domains, so the exact file is part of the protocol:
//! `protocol-spec/data/public_suffix_list.dat`, compiled in, and named in the
//! protocol version by the first 12 hex digits of its SHA-256
//! ([`snapshot_id`]).

use std::sync::LazyLock;

use publicsuffix::{List, Psl, Type};
use sha2::{Digest, Sha256};

/// The snapshot, byte for byte as the spec ships it.
pub const SNAPSHOT: &str = include_str!("../../../protocol-spec/data/public_suffix_list.dat");

static LIST: LazyLock<List> = LazyLock::new(|| {
    // invariant: the snapshot is compiled in, not input, and a test parses it,
    // so a failure here means a broken build, never a peer's or user's data.
    #[allow(clippy::expect_used)]
    SNAPSHOT
        .parse()
        .expect("protocol-spec/data/public_suffix_list.dat parses (checked by a test)")
});

static SNAPSHOT_ID: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(SNAPSHOT.as_bytes());
    hex::encode(&digest[..6])
});

/// The first 12 hex digits of the SHA-256 of [`SNAPSHOT`].
pub fn snapshot_id() -> &'static str {
    &SNAPSHOT_ID
}

/// A registrable domain found in a host name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Registrable<'a> {
    /// The eTLD+1: a tail of the host.
    pub value: &'a str,
    /// Bytes of its public suffix.
    pub suffix_len: usize,
    /// Whether the suffix comes from the list's ICANN section.
    pub icann: bool,
}

/// Why a host has no registrable domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoRegistrable {
    /// The host is itself a public suffix on the list (`co.uk`, `github.io`).
    PublicSuffix,
    /// A single label the list does not know (`localhost`).
    SingleLabel,
    /// A name under a TLD the list does not know (`acme.local`): only the
    /// list's implicit `*` rule would make it registrable.
    UnknownSuffix,
}

/// The registrable domain of a lowercase ASCII host (labels already checked).
pub(crate) fn registrable(host: &str) -> Result<Registrable<'_>, NoRegistrable> {
    let Some(domain) = LIST.domain(host.as_bytes()) else {
        let known = LIST.suffix(host.as_bytes()).is_some_and(|s| s.is_known());
        return Err(if known {
            NoRegistrable::PublicSuffix
        } else {
            NoRegistrable::SingleLabel
        });
    };
    let suffix = domain.suffix();
    let Some(kind) = suffix.typ() else {
        return Err(NoRegistrable::UnknownSuffix);
    };
    // The list returns a tail of its input, which is ASCII, so slicing by
    // length cannot split a character.
    let value = host
        .get(host.len() - domain.as_bytes().len()..)
        .ok_or(NoRegistrable::SingleLabel)?;
    Ok(Registrable {
        value,
        suffix_len: suffix.as_bytes().len(),
        icann: kind == Type::Icann,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_parses_with_both_sections() {
        let list: List = SNAPSHOT.parse().expect("snapshot parses");
        assert!(!list.is_empty());
        assert!(SNAPSHOT.contains("===BEGIN ICANN DOMAINS==="));
        assert!(SNAPSHOT.contains("===BEGIN PRIVATE DOMAINS==="));
    }

    #[test]
    fn snapshot_id_is_twelve_hex_digits() {
        assert_eq!(snapshot_id().len(), 12);
        assert!(snapshot_id().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn rules_of_every_kind() {
        let ok = |h| registrable(h).map(|r| (r.value, r.icann));
        assert_eq!(ok("www.acme.co.uk"), Ok(("acme.co.uk", true)));
        assert_eq!(ok("acme.github.io"), Ok(("acme.github.io", false)));
        // Wildcard `*.ck` and its exception `!www.ck`.
        assert_eq!(ok("a.b.ck"), Ok(("a.b.ck", true)));
        assert_eq!(ok("www.ck"), Ok(("www.ck", true)));
        // An IDN rule (`公司.cn`) matches its punycode form.
        assert_eq!(ok("acme.xn--55qx5d.cn"), Ok(("acme.xn--55qx5d.cn", true)));
        assert_eq!(registrable("co.uk"), Err(NoRegistrable::PublicSuffix));
        assert_eq!(registrable("localhost"), Err(NoRegistrable::SingleLabel));
        assert_eq!(registrable("acme.local"), Err(NoRegistrable::UnknownSuffix));
    }
}
