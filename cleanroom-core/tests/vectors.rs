//! `protocol-spec/test-vectors.json`: constants and blinding vectors.
//!
//! The normalization cases in the same file are checked by `normalization.rs`.

use cleanroom_core::blind::BlindedPoint;
use cleanroom_core::hash_to_group::hash_to_group;
use cleanroom_core::protocol::{HASH_TO_GROUP_DST, TOKEN_DST, protocol_version};
use cleanroom_core::{KeyType, MatchToken, SessionSecret};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol-spec/test-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("protocol-spec/test-vectors.json exists");
    serde_json::from_str(&text).expect("test-vectors.json is JSON")
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is a string"))
}

fn bytes32(v: &Value, name: &str) -> [u8; 32] {
    hex::decode(field(v, name))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

#[test]
fn constants_match_the_implementation() {
    let v = vectors();
    assert_eq!(field(&v, "protocol"), protocol_version());
    assert_eq!(field(&v, "hash_to_group_dst"), HASH_TO_GROUP_DST);
    assert_eq!(field(&v, "token_dst"), TOKEN_DST);
}

#[test]
fn blinding_vectors() {
    let v = vectors();
    let cases = v["blinding"].as_array().expect("blinding is an array");
    assert!(cases.len() >= 5);
    for c in cases {
        let key = field(c, "key");
        let point = hash_to_group(key.as_bytes()).compress();
        assert_eq!(point.to_bytes(), bytes32(c, "point"), "H({key})");

        let vs = SessionSecret::from_canonical_bytes(bytes32(c, "vendor_scalar")).expect("scalar");
        let ps = SessionSecret::from_canonical_bytes(bytes32(c, "partner_scalar")).expect("scalar");
        let kind = KeyType::ALL
            .into_iter()
            .find(|k| key.starts_with(k.prefix()))
            .expect("key has a type prefix");
        let account =
            cleanroom_core::AccountKey::from_normalized(kind, &key[kind.prefix().len()..]);
        assert_eq!(account.message(), key);

        let vb = vs.blind(&account);
        let pb = ps.blind(&account);
        assert_eq!(vb.to_bytes(), bytes32(c, "vendor_blinded"));
        assert_eq!(pb.to_bytes(), bytes32(c, "partner_blinded"));
        let d1 = vs.reblind(&BlindedPoint::decode(pb.as_bytes()).expect("valid"));
        let d2 = ps.reblind(&BlindedPoint::decode(vb.as_bytes()).expect("valid"));
        assert_eq!(d1, d2);
        assert_eq!(d1.to_bytes(), bytes32(c, "double_blinded"));
        let token = MatchToken::of(&d1);
        assert_eq!(hex::encode(token.as_bytes()), field(c, "token"));
        assert_eq!(token.as_bytes().len(), 16);
    }
}

#[test]
fn normalization_section_is_well_formed() {
    let v = vectors();
    let cases = v["normalization"]
        .as_array()
        .expect("normalization is an array");
    for c in cases {
        let kind = field(c, "kind");
        assert!(["domain", "name", "duns"].contains(&kind));
        assert!(
            c["key"].is_string() != c["reason"].is_string(),
            "exactly one of key, reason"
        );
    }
}
