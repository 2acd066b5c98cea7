//! RFC 9380 `hash_to_ristretto255` under the protocol's DST.

use curve25519_dalek::RistrettoPoint;
use hash2curve::{ExpandMsg, ExpandMsgXmd, Expander};
use sha2::Sha512;
use sha2::digest::consts::U32;
use std::num::NonZero;

use crate::protocol::HASH_TO_GROUP_DST;

const UNIFORM_LEN: NonZero<u16> = match NonZero::new(64) {
    Some(n) => n,
    None => unreachable!(),
};

/// RFC 9380 section 5.3.1 `expand_message_xmd` with SHA-512, producing 64 bytes.
///
/// Exposed so the RFC's own vectors can be checked against it.
pub fn expand_message_xmd_sha512(msg: &[u8], dst: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    // The only failures are a DST over 255 bytes (the long-DST rule hashes it
    // instead, so it cannot fail either) or an output over 255 blocks; 64
    // bytes with SHA-512 is one block.
    let dsts = [dst];
    let mut expander =
        <ExpandMsgXmd<Sha512> as ExpandMsg<U32>>::expand_message(&[msg], &dsts, UNIFORM_LEN)
            .expect("invariant: 64-byte xmd output with SHA-512 is always in range");
    expander
        .fill_bytes(&mut out)
        .expect("invariant: the expander was sized for exactly 64 bytes");
    out
}

/// `hash_to_ristretto255(msg)` per RFC 9380 appendix B with an explicit DST.
pub fn hash_to_ristretto255_with_dst(msg: &[u8], dst: &[u8]) -> RistrettoPoint {
    let uniform = expand_message_xmd_sha512(msg, dst);
    RistrettoPoint::from_uniform_bytes(&uniform)
}

/// `hash_to_ristretto255(msg)` under [`HASH_TO_GROUP_DST`]: the protocol's `H`.
pub fn hash_to_group(msg: &[u8]) -> RistrettoPoint {
    hash_to_ristretto255_with_dst(msg, HASH_TO_GROUP_DST.as_bytes())
}
