//! Fixed-size binary records carried as `application/octet-stream` bodies.
//!
//! All integers are big-endian. Fixed sizes let either side stream a body in
//! pieces of any length and let the server validate a chunk without parsing JSON.

use crate::blind::{POINT_LEN, validate_point};
use crate::error::WireError;
use crate::key::KeyType;
use crate::token::{MatchToken, TOKEN_LEN};

/// Size of a [`BlindedRecord`] on the wire.
pub const BLINDED_RECORD_LEN: usize = 48;
/// Size of a point in the counterpart-points download.
pub const POINT_RECORD_LEN: usize = POINT_LEN;
/// Size of a token record.
pub const TOKEN_RECORD_LEN: usize = TOKEN_LEN;
/// The most populations one side may declare: one bit each in a `u64`.
pub const MAX_POPULATIONS: usize = 64;

/// Domain keys one account (row id) may carry: real accounts have several
/// websites (HubSpot's "Additional Domains", a second website field).
pub const MAX_DOMAIN_KEYS_PER_ROW: u8 = 8;

/// Keys one account (row id) may carry in all: up to
/// [`MAX_DOMAIN_KEYS_PER_ROW`] domains, one name, one city-, one postcode- and
/// one phone-qualified name and one DUNS, but no more than 10 together (an
/// account with all four names and a DUNS carries at most 5 domains). This
/// is the K of the noisy counts' sensitivity bound
/// ([`crate::disclosure::sensitivity`]).
pub const MAX_KEYS_PER_ROW: u64 = MAX_DOMAIN_KEYS_PER_ROW as u64 + 2;

/// Keys of one type one account may carry.
pub const fn max_keys_of(kind: KeyType) -> u8 {
    match kind {
        KeyType::Domain => MAX_DOMAIN_KEYS_PER_ROW,
        KeyType::Name
        | KeyType::Duns
        | KeyType::CityName
        | KeyType::PostcodeName
        | KeyType::PhoneName => 1,
    }
}

/// The keys one row has carried so far, per type, held to [`max_keys_of`]
/// and, in all, to [`MAX_KEYS_PER_ROW`].
///
/// The server checks uploads with it and the overlap computation reads rows
/// with it, so both enforce one limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyCounts([u8; 7]);

impl KeyCounts {
    /// Counts one more key of `kind`; `false`, counting nothing, when the
    /// row already carries [`max_keys_of`]`(kind)` of them or
    /// [`MAX_KEYS_PER_ROW`] keys in all.
    pub fn add(&mut self, kind: KeyType) -> bool {
        let total: u64 = self.0.iter().map(|&n| u64::from(n)).sum();
        let n = &mut self.0[usize::from(kind.to_byte())];
        if *n >= max_keys_of(kind) || total >= MAX_KEYS_PER_ROW {
            return false;
        }
        *n += 1;
        true
    }

    /// Whether the row carries a key of `kind`.
    pub fn has(&self, kind: KeyType) -> bool {
        self.0[usize::from(kind.to_byte())] > 0
    }
}

/// The name of the implicit population of an upload's rows that are in none
/// of its declared populations. Declared names may not take it.
pub const OTHER_POPULATION: &str = "(other)";

/// One blinded key of one account, as uploaded by its owner.
///
/// Layout (48 bytes): `row_id: u32 | populations: u64 | key_type: u8 |
/// reserved: [0; 3] | point: [u8; 32]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlindedRecord {
    /// Opaque row id chosen by the uploader; the same for every key of one account.
    pub row_id: u32,
    /// Bit `i` set when the account is in the uploader's population `i`.
    pub populations: u64,
    /// Which kind of key was blinded.
    pub key_type: KeyType,
    /// The compressed blinded point `k · H(key)`.
    pub point: [u8; POINT_LEN],
}

impl std::fmt::Debug for BlindedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindedRecord")
            .field("row_id", &self.row_id)
            .field("populations", &format_args!("{:#x}", self.populations))
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

impl BlindedRecord {
    /// Appends the 48-byte encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.row_id.to_be_bytes());
        out.extend_from_slice(&self.populations.to_be_bytes());
        out.push(self.key_type.to_byte());
        out.extend_from_slice(&[0u8; 3]);
        out.extend_from_slice(&self.point);
    }

    /// Decodes one record without validating the point (see [`decode_blinded_records`]).
    pub fn decode_unchecked(
        rec: &[u8; BLINDED_RECORD_LEN],
        index: usize,
    ) -> Result<Self, WireError> {
        let key_type = KeyType::from_byte(rec[12]).ok_or(WireError::UnknownKeyType {
            index,
            key_type: rec[12],
        })?;
        if rec[13..16] != [0, 0, 0] {
            return Err(WireError::Reserved { index });
        }
        let mut row = [0u8; 4];
        row.copy_from_slice(&rec[0..4]);
        let mut pops = [0u8; 8];
        pops.copy_from_slice(&rec[4..12]);
        let mut point = [0u8; POINT_LEN];
        point.copy_from_slice(&rec[16..48]);
        Ok(BlindedRecord {
            row_id: u32::from_be_bytes(row),
            populations: u64::from_be_bytes(pops),
            key_type,
            point,
        })
    }
}

/// Decodes and fully validates a body of blinded records.
///
/// `first_index` numbers records in errors when the body is one chunk of a
/// larger upload; `declared_populations` bounds the population bits. Points are
/// checked to be canonical, non-identity ristretto255 encodings.
pub fn decode_blinded_records(
    body: &[u8],
    first_index: usize,
    declared_populations: usize,
) -> Result<Vec<BlindedRecord>, WireError> {
    if body.len() % BLINDED_RECORD_LEN != 0 {
        return Err(WireError::Truncated {
            len: body.len(),
            record: BLINDED_RECORD_LEN,
        });
    }
    let allowed = population_mask(declared_populations);
    let mut out = Vec::with_capacity(body.len() / BLINDED_RECORD_LEN);
    for (i, rec) in body.chunks_exact(BLINDED_RECORD_LEN).enumerate() {
        let index = first_index + i;
        let mut buf = [0u8; BLINDED_RECORD_LEN];
        buf.copy_from_slice(rec);
        let r = BlindedRecord::decode_unchecked(&buf, index)?;
        if r.populations & !allowed != 0 {
            return Err(WireError::UndeclaredPopulation {
                index,
                declared: declared_populations,
            });
        }
        validate_point(&r.point).map_err(|source| WireError::Point { index, source })?;
        out.push(r);
    }
    Ok(out)
}

/// The mask with the low `n` bits set (all 64 when `n >= 64`).
pub fn population_mask(n: usize) -> u64 {
    if n >= MAX_POPULATIONS {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// The number of token records in a body, rejecting a partial record.
///
/// Any 16 bytes are a well-formed token, so counting is all the validation a
/// token body needs; no copy is made.
pub fn count_tokens(body: &[u8]) -> Result<usize, WireError> {
    if body.len() % TOKEN_RECORD_LEN != 0 {
        return Err(WireError::Truncated {
            len: body.len(),
            record: TOKEN_RECORD_LEN,
        });
    }
    Ok(body.len() / TOKEN_RECORD_LEN)
}

/// Splits a body of token records, rejecting a partial record.
pub fn decode_tokens(body: &[u8]) -> Result<Vec<MatchToken>, WireError> {
    count_tokens(body)?;
    Ok(body
        .chunks_exact(TOKEN_RECORD_LEN)
        .map(|c| {
            let mut t = [0u8; TOKEN_LEN];
            t.copy_from_slice(c);
            MatchToken(t)
        })
        .collect())
}

/// Concatenates tokens into a body.
pub fn encode_tokens(tokens: &[MatchToken]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tokens.len() * TOKEN_RECORD_LEN);
    for t in tokens {
        out.extend_from_slice(t.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blind::SessionSecret;
    use crate::key::AccountKey;

    fn rec(row_id: u32, populations: u64) -> BlindedRecord {
        let s = SessionSecret::generate();
        let k = AccountKey::from_normalized(KeyType::Domain, "acme.com");
        BlindedRecord {
            row_id,
            populations,
            key_type: KeyType::Domain,
            point: s.blind(&k).to_bytes(),
        }
    }

    #[test]
    fn roundtrip() {
        let r = rec(0xdead_beef, 0b101);
        let mut body = Vec::new();
        r.encode_into(&mut body);
        assert_eq!(body.len(), BLINDED_RECORD_LEN);
        assert_eq!(&body[0..4], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(decode_blinded_records(&body, 0, 3).unwrap(), vec![r]);
    }

    #[test]
    fn rejects_bad_records() {
        let mut body = Vec::new();
        rec(1, 1).encode_into(&mut body);
        rec(2, 0b100).encode_into(&mut body);
        assert_eq!(
            decode_blinded_records(&body, 10, 2),
            Err(WireError::UndeclaredPopulation {
                index: 11,
                declared: 2
            })
        );
        assert!(matches!(
            decode_blinded_records(&body[..47], 0, 3),
            Err(WireError::Truncated { .. })
        ));
        let mut bad = body.clone();
        bad[12] = 9;
        assert!(matches!(
            decode_blinded_records(&bad, 0, 3),
            Err(WireError::UnknownKeyType {
                index: 0,
                key_type: 9
            })
        ));
        let mut bad = body.clone();
        bad[14] = 1;
        assert_eq!(
            decode_blinded_records(&bad, 0, 3),
            Err(WireError::Reserved { index: 0 })
        );
        let mut bad = body;
        bad[16..48].fill(0);
        assert!(matches!(
            decode_blinded_records(&bad, 0, 3),
            Err(WireError::Point { index: 0, .. })
        ));
    }

    #[test]
    fn masks() {
        assert_eq!(population_mask(0), 0);
        assert_eq!(population_mask(3), 0b111);
        assert_eq!(population_mask(64), u64::MAX);
    }
}
