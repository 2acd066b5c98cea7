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
        assert!(
            [
                "domain",
                "name",
                "duns",
                "country",
                "city-name",
                "postcode-name",
                "phone-name"
            ]
            .contains(&kind)
        );
        assert!(
            c["key"].is_string() != c["reason"].is_string(),
            "exactly one of key, reason"
        );
    }
}

#[test]
fn noise_vectors() {
    use cleanroom_core::disclosure::{INTERVAL_LEVEL, noisy_overlap, sensitivity};
    use cleanroom_core::noise::{Mechanism, NoiseSeed, NoiseStream};
    use cleanroom_core::overlap::{Cell, Overlap, SideOverlap};

    let v = vectors();
    assert_eq!(field(&v, "noise_dst"), cleanroom_core::protocol::NOISE_DST);
    let noise = &v["noise"];
    let seed = |c: &Value| NoiseSeed::from_bytes(bytes32(c, "seed"));
    let n = |c: &Value, name: &str| c[name].as_u64().expect("a number");
    for c in noise["uniform_below"].as_array().expect("cases") {
        let mut st = NoiseStream::new(&seed(c));
        let bound: u64 = field(c, "n").parse().expect("decimal");
        for want in c["values"].as_array().expect("values") {
            let want: u64 = want.as_str().expect("decimal").parse().expect("decimal");
            assert_eq!(st.uniform_below(bound), want);
        }
    }
    for c in noise["discrete_laplace"].as_array().expect("cases") {
        let m = Mechanism {
            epsilon_micro: n(c, "epsilon_micro"),
            sensitivity: sensitivity(n(c, "max_keys_per_row"), n(c, "max_populations_per_row")),
        };
        assert_eq!(m.sensitivity, n(c, "sensitivity"));
        assert_eq!(m.ratio(), (n(c, "s"), n(c, "t")));
        let mut st = NoiseStream::new(&seed(c));
        for want in c["draws"].as_array().expect("draws") {
            assert_eq!(m.sample(&mut st), want.as_i64().expect("integer"));
        }
        assert_eq!(m.half_width(INTERVAL_LEVEL), n(c, "half_width_95"));
        assert_eq!(
            m.difference_half_width(INTERVAL_LEVEL),
            n(c, "difference_half_width_95")
        );
    }
    let pairs = |v: &Value| -> Vec<(u64, u64)> {
        v.as_array()
            .expect("pairs")
            .iter()
            .map(|p| (p[0].as_u64().expect("n"), p[1].as_u64().expect("n")))
            .collect()
    };
    for c in noise["release"].as_array().expect("cases") {
        let exact = &c["exact"];
        let side = |v: &Value| {
            let p = pairs(v);
            SideOverlap {
                totals: p.iter().map(|x| x.0).collect(),
                matched: p.iter().map(|x| x.1).collect(),
                matched_rows: vec![],
            }
        };
        let cells = |v: &Value| -> Vec<Vec<(u64, u64)>> {
            v.as_array().expect("rows").iter().map(pairs).collect()
        };
        let o = Overlap {
            vendor: side(&exact["vendor"]),
            partner: side(&exact["partner"]),
            cells: Cell::grid(cells(&exact["cells"])),
        };
        let m = Mechanism {
            epsilon_micro: n(c, "epsilon_micro"),
            sensitivity: n(c, "sensitivity"),
        };
        let got = noisy_overlap(&o, &m, &seed(c));
        let want = &c["noisy"];
        assert_eq!(got.vendor, pairs(&want["vendor"]));
        assert_eq!(got.partner, pairs(&want["partner"]));
        assert_eq!(got.cells, cells(&want["cells"]));
    }
}
