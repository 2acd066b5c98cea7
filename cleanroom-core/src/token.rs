//! Match tokens: the only form in which a doubly-blinded point leaves a party.

use curve25519_dalek::ristretto::CompressedRistretto;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::TOKEN_DST;

/// Bytes of SHA-256 output kept in a token (128 bits).
pub const TOKEN_LEN: usize = 16;

/// `SHA-256(TOKEN_DST || compressed doubly-blinded point)[..16]`.
///
/// Hashing hides the doubly-blinded point itself from the server, so it cannot
/// be combined with anything else it sees; 128 bits keep accidental
/// collisions negligible at billions of records.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatchToken(pub [u8; TOKEN_LEN]);

impl MatchToken {
    /// Derives the token of a compressed doubly-blinded point.
    pub fn of(double_blinded: &CompressedRistretto) -> Self {
        let mut h = Sha256::new();
        h.update(TOKEN_DST.as_bytes());
        h.update(double_blinded.as_bytes());
        let digest = h.finalize();
        let mut out = [0u8; TOKEN_LEN];
        out.copy_from_slice(&digest[..TOKEN_LEN]);
        MatchToken(out)
    }

    /// The token bytes.
    pub fn as_bytes(&self) -> &[u8; TOKEN_LEN] {
        &self.0
    }

    /// Constant-time equality, for callers comparing against secret-derived tokens.
    pub fn ct_eq(&self, other: &MatchToken) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for MatchToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A token identifies a matched account within one session: keep it out of logs.
        f.write_str("MatchToken(<redacted>)")
    }
}
