//! Property tests: blinding commutes, decoding never panics, records round-trip.

use cleanroom_core::blind::BlindedPoint;
use cleanroom_core::wire::{
    BLINDED_RECORD_LEN, BlindedRecord, decode_blinded_records, decode_tokens,
};
use cleanroom_core::{AccountKey, KeyType, MatchToken, SessionSecret};
use proptest::prelude::*;

fn key_type() -> impl Strategy<Value = KeyType> {
    prop::sample::select(KeyType::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn blinding_commutes(value in ".{0,40}", kind in key_type()) {
        let key = AccountKey::from_normalized(kind, &value);
        let a = SessionSecret::generate();
        let b = SessionSecret::generate();
        let ab = b.reblind(&BlindedPoint::decode(a.blind(&key).as_bytes()).unwrap());
        let ba = a.reblind(&BlindedPoint::decode(b.blind(&key).as_bytes()).unwrap());
        prop_assert_eq!(ab, ba);
        prop_assert_eq!(MatchToken::of(&ab), MatchToken::of(&ba));
    }

    #[test]
    fn different_keys_never_share_tokens(x in "[a-z]{1,12}", y in "[a-z]{1,12}") {
        prop_assume!(x != y);
        let a = SessionSecret::generate();
        let b = SessionSecret::generate();
        let t = |k: &AccountKey| b.token(&BlindedPoint::decode(a.blind(k).as_bytes()).unwrap());
        prop_assert_ne!(t(&AccountKey::from_normalized(KeyType::Name, &x)), t(&AccountKey::from_normalized(KeyType::Name, &y)));
        // Domain separation: the same value under two types never matches.
        prop_assert_ne!(t(&AccountKey::from_normalized(KeyType::Name, &x)), t(&AccountKey::from_normalized(KeyType::Domain, &x)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn point_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..70)) {
        let _ = BlindedPoint::decode(&bytes);
    }

    #[test]
    fn record_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), pops in 0usize..70) {
        let _ = decode_blinded_records(&bytes, 0, pops);
        let _ = decode_tokens(&bytes);
    }

    #[test]
    fn token_batch_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..130)) {
        let s = SessionSecret::generate();
        let _ = s.token_batch(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn records_roundtrip(row_id in any::<u32>(), pops in 0u64..(1 << 20), kind in key_type(), v in "[a-z]{1,10}") {
        let s = SessionSecret::generate();
        let r = BlindedRecord {
            row_id,
            populations: pops,
            key_type: kind,
            point: s.blind(&AccountKey::from_normalized(kind, &v)).to_bytes(),
        };
        let mut body = Vec::new();
        r.encode_into(&mut body);
        prop_assert_eq!(body.len(), BLINDED_RECORD_LEN);
        prop_assert_eq!(decode_blinded_records(&body, 0, 20).unwrap(), vec![r]);
    }
}
