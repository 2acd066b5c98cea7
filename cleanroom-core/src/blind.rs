//! Session scalars, first blinding, re-blinding and point decoding.
//!
//! Batch functions run on rayon's pool and never touch an async runtime; call
//! them from `spawn_blocking` or a dedicated thread when inside tokio.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rayon::prelude::*;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::DecodeError;
use crate::hash_to_group::hash_to_group;
use crate::key::AccountKey;
use crate::token::MatchToken;

/// Size of a compressed ristretto255 point on the wire.
pub const POINT_LEN: usize = 32;

/// Points per rayon task: large enough to amortize the batched inversion in
/// `double_and_compress_batch`, small enough to spread over all cores.
const BATCH: usize = 512;

/// A party's per-session blinding scalar `k`.
///
/// Generated from the OS CSPRNG, zeroized on drop, and deliberately without
/// `Display`, `Serialize` or a revealing `Debug`: it must never leave the party.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionSecret {
    k: Scalar,
    // k / 2, so that `double_and_compress_batch(k/2 · P)` yields `compress(k · P)`
    // with one field inversion per batch instead of one per point.
    half_k: Scalar,
}

impl SessionSecret {
    /// Draws a fresh non-zero scalar from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::SysRng;
        loop {
            let k = Scalar::random(&mut rand::rand_core::UnwrapErr(&mut rng));
            if k != Scalar::ZERO {
                return Self::from_scalar(k);
            }
        }
    }

    /// Rebuilds a secret from its 32-byte little-endian canonical encoding.
    ///
    /// For the test vectors and for a client resuming its own interrupted
    /// session from local state. Returns `None` for a non-canonical or zero scalar.
    pub fn from_canonical_bytes(bytes: [u8; 32]) -> Option<Self> {
        let k: Option<Scalar> = Scalar::from_canonical_bytes(bytes).into();
        k.filter(|k| *k != Scalar::ZERO).map(Self::from_scalar)
    }

    /// The 32-byte little-endian encoding, for local persistence only.
    ///
    /// The name is loud on purpose: nothing that reaches the network may call it.
    pub fn expose_secret_bytes(&self) -> [u8; 32] {
        self.k.to_bytes()
    }

    fn from_scalar(k: Scalar) -> Self {
        let half_k = k * Scalar::from(2u8).invert();
        SessionSecret { k, half_k }
    }

    /// `k · H(key)`, compressed: the first blinding of one key.
    pub fn blind(&self, key: &AccountKey) -> CompressedRistretto {
        (hash_to_group(key.message().as_bytes()) * self.k).compress()
    }

    /// `k · P` for a point received from the counterpart.
    pub fn reblind(&self, point: &BlindedPoint) -> CompressedRistretto {
        (point.0 * self.k).compress()
    }

    /// The match token of a counterpart's blinded point: `token(k · P)`.
    pub fn token(&self, point: &BlindedPoint) -> MatchToken {
        MatchToken::of(&self.reblind(point))
    }

    /// Blinds many keys on all cores; output order follows input order.
    pub fn blind_batch(&self, keys: &[AccountKey]) -> Vec<[u8; POINT_LEN]> {
        keys.par_chunks(BATCH)
            .flat_map_iter(|chunk| {
                let pts: Vec<RistrettoPoint> = chunk
                    .iter()
                    .map(|key| hash_to_group(key.message().as_bytes()) * self.half_k)
                    .collect();
                RistrettoPoint::double_and_compress_batch(&pts)
                    .into_iter()
                    .map(|c| c.to_bytes())
            })
            .collect()
    }

    /// Decodes the counterpart's points and returns their match tokens, on all cores.
    ///
    /// `points` is a concatenation of 32-byte encodings. The first invalid point
    /// fails the whole batch, with its index.
    pub fn token_batch(&self, points: &[u8]) -> Result<Vec<MatchToken>, (usize, DecodeError)> {
        if points.len() % POINT_LEN != 0 {
            return Err((
                points.len() / POINT_LEN,
                DecodeError::WrongLength {
                    got: points.len() % POINT_LEN,
                },
            ));
        }
        let per_task = BATCH * POINT_LEN;
        let chunks: Vec<Result<Vec<MatchToken>, (usize, DecodeError)>> = points
            .par_chunks(per_task)
            .enumerate()
            .map(|(c, chunk)| {
                let mut pts = Vec::with_capacity(chunk.len() / POINT_LEN);
                for (i, raw) in chunk.chunks_exact(POINT_LEN).enumerate() {
                    let p = BlindedPoint::decode(raw).map_err(|e| (c * BATCH + i, e))?;
                    pts.push(p.0 * self.half_k);
                }
                Ok(RistrettoPoint::double_and_compress_batch(&pts)
                    .iter()
                    .map(MatchToken::of)
                    .collect())
            })
            .collect();
        let mut out = Vec::with_capacity(points.len() / POINT_LEN);
        for chunk in chunks {
            out.extend(chunk?);
        }
        Ok(out)
    }
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

/// A validated blinded point received from the wire: canonical and not the identity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlindedPoint(RistrettoPoint);

impl BlindedPoint {
    /// Decodes 32 bytes, rejecting wrong lengths, non-canonical encodings and the identity.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let c = CompressedRistretto::from_slice(bytes)
            .map_err(|_| DecodeError::WrongLength { got: bytes.len() })?;
        let p = c.decompress().ok_or(DecodeError::NonCanonical)?;
        if p == RistrettoPoint::identity() {
            return Err(DecodeError::Identity);
        }
        Ok(BlindedPoint(p))
    }

    /// The compressed encoding.
    pub fn compress(&self) -> CompressedRistretto {
        self.0.compress()
    }
}

impl std::fmt::Debug for BlindedPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindedPoint(..)")
    }
}

/// Checks that 32 bytes decode to a valid blinded point, without keeping it.
pub fn validate_point(bytes: &[u8]) -> Result<(), DecodeError> {
    BlindedPoint::decode(bytes).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyType;

    fn keys(n: usize) -> Vec<AccountKey> {
        (0..n)
            .map(|i| AccountKey::from_normalized(KeyType::Domain, &format!("acme{i}.com")))
            .collect()
    }

    #[test]
    fn batch_equals_single() {
        let s = SessionSecret::generate();
        let ks = keys(1100);
        let batch = s.blind_batch(&ks);
        for (k, b) in ks.iter().zip(&batch) {
            assert_eq!(s.blind(k).to_bytes(), *b);
        }
    }

    #[test]
    fn token_batch_equals_single_and_commutes() {
        let a = SessionSecret::generate();
        let b = SessionSecret::generate();
        let ks = keys(700);
        let a_pts: Vec<u8> = a.blind_batch(&ks).concat();
        let b_pts: Vec<u8> = b.blind_batch(&ks).concat();
        let ab = b.token_batch(&a_pts).unwrap();
        let ba = a.token_batch(&b_pts).unwrap();
        assert_eq!(ab, ba);
        let p = BlindedPoint::decode(&a_pts[..32]).unwrap();
        assert_eq!(b.token(&p), ab[0]);
    }

    #[test]
    fn token_batch_reports_bad_index() {
        let a = SessionSecret::generate();
        let mut pts: Vec<u8> = a.blind_batch(&keys(600)).concat();
        pts[530 * 32..531 * 32].fill(0);
        assert_eq!(a.token_batch(&pts), Err((530, DecodeError::Identity)));
        assert!(matches!(
            a.token_batch(&pts[..40]),
            Err((1, DecodeError::WrongLength { got: 8 }))
        ));
    }

    #[test]
    fn decode_rejects_identity_and_noncanonical() {
        assert_eq!(BlindedPoint::decode(&[0u8; 32]), Err(DecodeError::Identity));
        assert_eq!(
            BlindedPoint::decode(&[0xffu8; 32]),
            Err(DecodeError::NonCanonical)
        );
        assert_eq!(
            BlindedPoint::decode(&[1u8; 31]),
            Err(DecodeError::WrongLength { got: 31 })
        );
    }

    #[test]
    fn secret_roundtrip_and_redaction() {
        let s = SessionSecret::generate();
        let t = SessionSecret::from_canonical_bytes(s.expose_secret_bytes()).unwrap();
        let k = AccountKey::from_normalized(KeyType::Name, "acme");
        assert_eq!(s.blind(&k), t.blind(&k));
        assert_eq!(format!("{s:?}"), "SessionSecret(<redacted>)");
        assert!(SessionSecret::from_canonical_bytes([0u8; 32]).is_none());
        assert!(SessionSecret::from_canonical_bytes([0xffu8; 32]).is_none());
    }
}
