//! Regenerates the blinding section of `protocol-spec/test-vectors.json`.
//!
//! `cargo run -p cleanroom-core --example gen_vectors`
//!
//! Scalars are derived deterministically from labels so anyone can re-derive
//! them; the normalization cases already in the file are kept as they are.

use std::path::PathBuf;

use cleanroom_core::blind::BlindedPoint;
use cleanroom_core::hash_to_group::hash_to_group;
use cleanroom_core::protocol::{HASH_TO_GROUP_DST, TOKEN_DST, protocol_version};
use cleanroom_core::{AccountKey, KeyType, MatchToken, SessionSecret};
use curve25519_dalek::scalar::Scalar;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

fn scalar(label: &str) -> SessionSecret {
    let wide: [u8; 64] = Sha512::digest(label.as_bytes()).into();
    let s = Scalar::from_bytes_mod_order_wide(&wide);
    SessionSecret::from_canonical_bytes(s.to_bytes()).expect("a hash is never the zero scalar")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec/test-vectors.json");
    let existing: Value = match std::fs::read_to_string(&path) {
        Ok(s) => serde_json::from_str(&s)?,
        Err(_) => json!({}),
    };
    let keys = [
        (KeyType::Domain, "acme.com"),
        (KeyType::Domain, "acme.co.uk"),
        (KeyType::Domain, "xn--mnchen-3ya.de"),
        (KeyType::Name, "acme"),
        (KeyType::Name, "société générale"),
        (KeyType::Duns, "150483782"),
    ];
    let mut blinding = Vec::new();
    for (i, (kind, value)) in keys.iter().enumerate() {
        let key = AccountKey::from_normalized(*kind, value);
        let v = scalar(&format!("cleanroom-v1 test vector {i} vendor"));
        let p = scalar(&format!("cleanroom-v1 test vector {i} partner"));
        let point = hash_to_group(key.message().as_bytes()).compress();
        let vb = v.blind(&key);
        let pb = p.blind(&key);
        let vb_dec = BlindedPoint::decode(vb.as_bytes())?;
        let pb_dec = BlindedPoint::decode(pb.as_bytes())?;
        let double = v.reblind(&pb_dec);
        assert_eq!(double, p.reblind(&vb_dec), "blinding commutes");
        let token = MatchToken::of(&double);
        blinding.push(json!({
            "key": key.message(),
            "point": hex::encode(point.as_bytes()),
            "vendor_scalar": hex::encode(v.expose_secret_bytes()),
            "partner_scalar": hex::encode(p.expose_secret_bytes()),
            "vendor_blinded": hex::encode(vb.as_bytes()),
            "partner_blinded": hex::encode(pb.as_bytes()),
            "double_blinded": hex::encode(double.as_bytes()),
            "token": hex::encode(token.as_bytes()),
        }));
    }
    let out = json!({
        "protocol": protocol_version(),
        "hash_to_group_dst": HASH_TO_GROUP_DST,
        "token_dst": TOKEN_DST,
        "normalization": existing.get("normalization").cloned().unwrap_or(json!([])),
        "blinding": blinding,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&out)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}
