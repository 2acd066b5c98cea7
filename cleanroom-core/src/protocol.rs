//! Protocol identifiers and every domain-separation string.
//!
//! Changing any of these changes the protocol: bump [`PROTOCOL_ID`].

/// The protocol identifier. It starts every domain-separation string.
pub const PROTOCOL_ID: &str = "cleanroom-v2";

/// RFC 9380 domain-separation tag for `hash_to_ristretto255`.
///
/// The suffix names the RFC 9380 suite (expand_message_xmd with SHA-512, the
/// ristretto255 map, random-oracle variant).
pub const HASH_TO_GROUP_DST: &str = "cleanroom-v2-ristretto255_XMD:SHA-512_R255MAP_RO_";

/// Prefix hashed before the compressed doubly-blinded point to make a match token.
pub const TOKEN_DST: &str = "cleanroom-v2-match-token";

/// Prefix of every block of a session's noise stream (see [`crate::noise`]).
pub const NOISE_DST: &str = "cleanroom-v2-dp-noise";

/// The full protocol version two parties must agree on: the identifier plus
/// the Public Suffix List snapshot, named by the first 12 hex digits of the
/// SHA-256 of `protocol-spec/data/public_suffix_list.dat`.
///
/// The list decides the registrable domain, so two parties on different lists
/// would silently stop matching some domains; the list is part of the protocol.
pub fn protocol_version() -> String {
    format!(
        "{PROTOCOL_ID}+psl-{}",
        crate::normalize::suffix_list::snapshot_id()
    )
}
