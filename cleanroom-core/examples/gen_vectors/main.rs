//! Regenerates `protocol-spec/test-vectors.json` (all but the `accounts`
//! section, which `cleanroom-client`'s `gen_account_vectors` example writes).
//!
//! `cargo run -p cleanroom-core --example gen_vectors`
//!
//! Scalars are derived deterministically from labels so anyone can re-derive
//! them. Normalization inputs already in the file are kept, with their
//! outputs recomputed, and the inputs of `normalization_inputs.rs` added.

#[path = "normalization_inputs.rs"]
mod inputs;

use std::path::PathBuf;

use cleanroom_core::blind::BlindedPoint;
use cleanroom_core::disclosure::{INTERVAL_LEVEL, noisy_overlap, sensitivity};
use cleanroom_core::hash_to_group::hash_to_group;
use cleanroom_core::noise::{Mechanism, NoiseSeed, NoiseStream};
use cleanroom_core::overlap::{Cell, Overlap, SideOverlap};
use cleanroom_core::protocol::{HASH_TO_GROUP_DST, NOISE_DST, TOKEN_DST, protocol_version};
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
        (KeyType::Name, "gb:acme"),
        (KeyType::Name, ":société générale"),
        (KeyType::Duns, "150483782"),
        (KeyType::CityName, "gb:milton keynes:smith"),
        (KeyType::PostcodeName, "gb:mk92fz:smith"),
        (KeyType::PhoneName, "+442079460123:smith"),
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
        "noise_dst": NOISE_DST,
        "normalization": normalization_vectors(&existing),
        "accounts": existing.get("accounts").cloned().unwrap_or(json!([])),
        "blinding": blinding,
        "noise": noise_vectors(),
    });
    std::fs::write(&path, serde_json::to_string_pretty(&out)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}

fn outcome(r: Result<String, cleanroom_core::normalize::RejectReason>) -> (Value, Value) {
    match r {
        Ok(k) => (json!(k), Value::Null),
        Err(e) => (Value::Null, json!(e.as_str())),
    }
}

/// One case: `(kind, raw, country column value for names and city-,
/// postcode- and phone-qualified names, city column value for city-qualified
/// names, postal-code column value for postcode-qualified names, telephone
/// column value for phone-qualified names)`.
fn normalization_case(
    kind: &str,
    raw: &str,
    country: Option<&str>,
    city: Option<&str>,
    postcode: Option<&str>,
    phone: Option<&str>,
) -> Value {
    use cleanroom_core::normalize;
    let (key, reason) = outcome(match kind {
        "domain" => normalize::domain(raw).map(|k| k.message().to_owned()),
        "duns" => normalize::duns(raw).map(|k| k.message().to_owned()),
        "country" => normalize::country(raw).map(|c| c.as_str().to_owned()),
        "name" => {
            let c = country.and_then(|c| normalize::country(c).ok());
            normalize::company_name(raw, c).map(|k| k.message().to_owned())
        }
        // The country's reasons first, then the name's, then the city's.
        "city-name" => {
            let (Some(country), Some(city)) = (country, city) else {
                panic!("a city-name case needs a country and a city");
            };
            normalize::country(country)
                .and_then(|c| normalize::city_name(raw, c, city))
                .map(|k| k.message().to_owned())
        }
        // Likewise: the country's, the name's, the postal code's.
        "postcode-name" => {
            let (Some(country), Some(code)) = (country, postcode) else {
                panic!("a postcode-name case needs a country and a postal code");
            };
            normalize::country(country)
                .and_then(|c| normalize::postcode_name(raw, c, code))
                .map(|k| k.message().to_owned())
        }
        // The country is optional, as for a name: none, or one that is
        // rejected, places no national number. So the name's reasons come
        // first, then the number's.
        "phone-name" => {
            let Some(number) = phone else {
                panic!("a phone-name case needs a telephone number");
            };
            let c = country.and_then(|c| normalize::country(c).ok());
            normalize::phone_name(raw, c, number).map(|k| k.message().to_owned())
        }
        other => panic!("unknown vector kind {other}"),
    });
    let mut case = json!({"kind": kind, "raw": raw, "key": key, "reason": reason});
    if kind == "name" || kind == "city-name" || kind == "postcode-name" || kind == "phone-name" {
        case["country"] = json!(country);
    }
    if kind == "city-name" {
        case["city"] = json!(city);
    }
    if kind == "postcode-name" {
        case["postcode"] = json!(postcode);
    }
    if kind == "phone-name" {
        case["phone"] = json!(phone);
    }
    case
}

fn normalization_vectors(existing: &Value) -> Vec<Value> {
    /// `(kind, raw, country, city, postcode, phone)`.
    type Input = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let mut inputs: Vec<Input> = Vec::new();
    for c in existing
        .get("normalization")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |f: &str| c.get(f).and_then(Value::as_str).map(str::to_owned);
        if let (Some(kind), Some(raw)) = (text("kind"), text("raw")) {
            inputs.push((
                kind,
                raw,
                text("country"),
                text("city"),
                text("postcode"),
                text("phone"),
            ));
        }
    }
    let added = inputs::NAMES
        .iter()
        .map(|(n, c)| ("name", *n, Some(*c), None, None, None))
        .chain(
            inputs::COUNTRIES
                .iter()
                .map(|c| ("country", *c, None, None, None, None)),
        )
        .chain(
            inputs::DOMAINS
                .iter()
                .map(|d| ("domain", *d, None, None, None, None)),
        )
        .chain(
            inputs::DUNS
                .iter()
                .map(|d| ("duns", *d, None, None, None, None)),
        )
        .chain(
            inputs::CITY_NAMES
                .iter()
                .map(|(n, c, city)| ("city-name", *n, Some(*c), Some(*city), None, None)),
        )
        .chain(
            inputs::POSTCODE_NAMES
                .iter()
                .map(|(n, c, code)| ("postcode-name", *n, Some(*c), None, Some(*code), None)),
        )
        .chain(
            inputs::PHONE_NAMES
                .iter()
                .map(|(n, c, number)| ("phone-name", *n, *c, None, None, Some(*number))),
        );
    for (kind, raw, country, city, postcode, phone) in added {
        let entry = (
            kind.to_owned(),
            raw.to_owned(),
            country.map(str::to_owned),
            city.map(str::to_owned),
            postcode.map(str::to_owned),
            phone.map(str::to_owned),
        );
        if !inputs.contains(&entry) {
            inputs.push(entry);
        }
    }
    inputs
        .iter()
        .map(|(k, r, c, city, code, phone)| {
            normalization_case(
                k,
                r,
                c.as_deref(),
                city.as_deref(),
                code.as_deref(),
                phone.as_deref(),
            )
        })
        .collect()
}

/// A seed anyone can re-derive: SHA-512 of a label, first 32 bytes.
fn seed(label: &str) -> NoiseSeed {
    let wide: [u8; 64] = Sha512::digest(label.as_bytes()).into();
    let mut b = [0u8; 32];
    b.copy_from_slice(&wide[..32]);
    NoiseSeed::from_bytes(b)
}

fn noise_vectors() -> serde_json::Value {
    let mut uniform = Vec::new();
    for (i, n) in [1u64, 2, 7, 1000, 11_000_000, (1 << 63) + 5]
        .into_iter()
        .enumerate()
    {
        let s = seed(&format!("cleanroom-v2 noise vector uniform {i}"));
        let mut st = NoiseStream::new(&s);
        let values: Vec<String> = (0..8).map(|_| st.uniform_below(n).to_string()).collect();
        uniform
            .push(json!({"seed": hex::encode(s.as_bytes()), "n": n.to_string(), "values": values}));
    }
    let mut laplace = Vec::new();
    for (i, (eps, k, p)) in [
        (1_000_000u64, 3u64, 1u64),
        (500_000, 3, 1),
        (2_000_000, 3, 2),
        (50_000, 3, 1),
        (1_234_567, 10, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let s = seed(&format!("cleanroom-v2 noise vector laplace {i}"));
        let m = Mechanism {
            epsilon_micro: eps,
            sensitivity: sensitivity(k, p),
        };
        let (rs, rt) = m.ratio();
        let mut st = NoiseStream::new(&s);
        let draws: Vec<i64> = (0..32).map(|_| m.sample(&mut st)).collect();
        laplace.push(json!({
            "seed": hex::encode(s.as_bytes()),
            "epsilon_micro": eps,
            "max_keys_per_row": k,
            "max_populations_per_row": p,
            "sensitivity": m.sensitivity,
            "s": rs,
            "t": rt,
            "draws": draws,
            "half_width_95": m.half_width(INTERVAL_LEVEL),
            "difference_half_width_95": m.difference_half_width(INTERVAL_LEVEL),
        }));
    }
    // A whole release: an exact overlap in, the post-processed noisy figures out.
    let side = |totals: Vec<u64>, matched: Vec<u64>| SideOverlap {
        totals,
        matched,
        matched_rows: vec![],
    };
    let o = Overlap {
        vendor: side(vec![8484, 6945, 3483], vec![2511, 2072, 3]),
        partner: side(vec![8554, 60], vec![2561, 0]),
        cells: Cell::grid(vec![
            vec![(1058, 1060), (0, 0)],
            vec![(913, 920), (2, 3)],
            vec![(3, 2), (0, 0)],
        ]),
    };
    let s = seed("cleanroom-v2 noise vector release 0");
    let m = Mechanism {
        epsilon_micro: 1_000_000,
        sensitivity: sensitivity(3, 1),
    };
    let n = noisy_overlap(&o, &m, &s);
    let pairs = |v: &[(u64, u64)]| v.iter().map(|&(a, b)| json!([a, b])).collect::<Vec<_>>();
    let release = json!({
        "seed": hex::encode(s.as_bytes()),
        "epsilon_micro": m.epsilon_micro,
        "sensitivity": m.sensitivity,
        "exact": {
            "vendor": o.vendor.totals.iter().zip(&o.vendor.matched).map(|(t, m)| json!([t, m])).collect::<Vec<_>>(),
            "partner": o.partner.totals.iter().zip(&o.partner.matched).map(|(t, m)| json!([t, m])).collect::<Vec<_>>(),
            "cells": o.cells.iter().map(|l| l.iter().map(|c| json!([c.vendor_accounts, c.partner_accounts])).collect::<Vec<_>>()).collect::<Vec<_>>(),
        },
        "noisy": {
            "vendor": pairs(&n.vendor),
            "partner": pairs(&n.partner),
            "cells": n.cells.iter().map(|l| pairs(l)).collect::<Vec<_>>(),
        },
    });
    json!({
        "uniform_below": uniform,
        "discrete_laplace": laplace,
        "release": [release],
    })
}
