//! Normalization against the protocol's test vectors, plus properties that
//! must hold for every input: no panics, and idempotence of each normalizer.

use std::path::{Path, PathBuf};

use cleanroom_core::KeyType;
use cleanroom_core::normalize::{self, RejectReason};
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// `domain`, `name`, `duns`, `country`, `city-name`, `postcode-name` or
    /// `phone-name`.
    kind: String,
    /// The value; for a city-, postcode- or phone-qualified name, the company
    /// name.
    raw: String,
    /// For names and city-, postcode- and phone-qualified names: the raw
    /// value of the account's country column (a name's or a phone-qualified
    /// name's may be null: the account has none).
    #[serde(default)]
    country: Option<String>,
    /// For city-qualified names: the raw value of the account's city column.
    #[serde(default)]
    city: Option<String>,
    /// For postcode-qualified names: the raw value of the account's
    /// postal-code column.
    #[serde(default)]
    postcode: Option<String>,
    /// For phone-qualified names: the raw value of the account's telephone
    /// column.
    #[serde(default)]
    phone: Option<String>,
    /// The key message, or for a country its alpha-2 code.
    key: Option<String>,
    reason: Option<RejectReason>,
}

impl Case {
    fn run(&self) -> Result<String, RejectReason> {
        match self.kind.as_str() {
            "country" => normalize::country(&self.raw).map(|c| c.as_str().to_owned()),
            "name" => {
                let country = self
                    .country
                    .as_deref()
                    .and_then(|c| normalize::country(c).ok());
                normalize::company_name(&self.raw, country).map(|k| k.message().to_owned())
            }
            // The country's reasons first, then the name's, then the city's.
            "city-name" => {
                let country = self
                    .country
                    .as_deref()
                    .expect("a city-name case has a country");
                let city = self.city.as_deref().expect("a city-name case has a city");
                normalize::country(country)
                    .and_then(|c| normalize::city_name(&self.raw, c, city))
                    .map(|k| k.message().to_owned())
            }
            // Likewise: the country's, the name's, the postal code's.
            "postcode-name" => {
                let country = self
                    .country
                    .as_deref()
                    .expect("a postcode-name case has a country");
                let code = self
                    .postcode
                    .as_deref()
                    .expect("a postcode-name case has a postal code");
                normalize::country(country)
                    .and_then(|c| normalize::postcode_name(&self.raw, c, code))
                    .map(|k| k.message().to_owned())
            }
            // The country is optional: none, or a rejected one, places no
            // national number. The name's reasons first, then the number's.
            "phone-name" => {
                let country = self
                    .country
                    .as_deref()
                    .and_then(|c| normalize::country(c).ok());
                let number = self
                    .phone
                    .as_deref()
                    .expect("a phone-name case has a telephone number");
                normalize::phone_name(&self.raw, country, number).map(|k| k.message().to_owned())
            }
            kind => {
                let kind: KeyType = serde_json::from_value(serde_json::json!(kind))
                    .unwrap_or_else(|_| panic!("unknown vector kind {kind}"));
                normalize::key(kind, &self.raw).map(|k| k.message().to_owned())
            }
        }
    }
}

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec")
}

/// The `normalization` array of `protocol-spec/test-vectors.json`.
fn load_cases() -> Vec<Case> {
    let path = spec_dir().join("test-vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).expect("test-vectors.json is JSON");
    let cases = doc
        .get_mut("normalization")
        .map(serde_json::Value::take)
        .expect("test-vectors.json has a normalization section");
    serde_json::from_value(cases).expect("normalization vectors have the documented shape")
}

#[test]
fn test_vectors() {
    let cases = load_cases();
    assert!(
        cases.len() >= 200,
        "only {} normalization vectors",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        assert!(
            case.key.is_some() != case.reason.is_some(),
            "vector {:?} must have exactly one of key and reason",
            case.raw
        );
        let got = case.run();
        let ok = match (&got, &case.key, &case.reason) {
            (Ok(k), Some(want), None) => k == want,
            (Err(e), None, Some(want)) => e == want,
            _ => false,
        };
        if !ok {
            let got = got.as_ref().map_err(|e| e.as_str());
            failures.push(format!(
                "{} {:?}: want key={:?} reason={:?}, got {got:?}",
                case.kind,
                case.raw,
                case.key,
                case.reason.map(|r| r.as_str())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_every_kind_and_reason() {
    let cases = load_cases();
    for kind in [
        "domain",
        "name",
        "duns",
        "country",
        "city-name",
        "postcode-name",
        "phone-name",
    ] {
        assert!(
            cases.iter().any(|c| c.kind == kind && c.key.is_some()),
            "no accepted {kind} vector"
        );
    }
    for c in &cases {
        // A name's and a phone-qualified name's may be null (no country
        // column value).
        assert!(
            match c.kind.as_str() {
                "name" | "phone-name" => true,
                "city-name" | "postcode-name" => c.country.is_some(),
                _ => c.country.is_none(),
            },
            "{} {:?}: only names and city-, postcode- and phone-qualified names have a country",
            c.kind,
            c.raw
        );
        assert_eq!(
            c.city.is_some(),
            c.kind == "city-name",
            "{} {:?}: only city-qualified names have a city",
            c.kind,
            c.raw
        );
        assert_eq!(
            c.postcode.is_some(),
            c.kind == "postcode-name",
            "{} {:?}: only postcode-qualified names have a postal code",
            c.kind,
            c.raw
        );
        assert_eq!(
            c.phone.is_some(),
            c.kind == "phone-name",
            "{} {:?}: only phone-qualified names have a telephone number",
            c.kind,
            c.raw
        );
    }
    assert!(
        cases
            .iter()
            .any(|c| c.kind == "name" && c.key.as_deref().is_some_and(|k| k.starts_with("name::"))),
        "no unqualified name vector"
    );
    for reason in RejectReason::ALL {
        assert!(
            cases.iter().any(|c| c.reason == Some(reason)),
            "no vector for {}",
            reason.as_str()
        );
    }
}

#[test]
fn protocol_version_names_the_psl_snapshot_file() {
    use sha2::{Digest, Sha256};
    let file = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec/data/public_suffix_list.dat"),
    )
    .expect("the PSL snapshot");
    let hash = hex::encode(Sha256::digest(&file));
    assert_eq!(
        cleanroom_core::protocol::protocol_version(),
        format!("cleanroom-v2+psl-{}", &hash[..12])
    );
    let spec = std::fs::read_to_string(spec_dir().join("PROTOCOL.md")).expect("PROTOCOL.md");
    assert!(
        spec.contains(&format!(
            "`{}`",
            cleanroom_core::protocol::protocol_version()
        )),
        "PROTOCOL.md section 2 must name the version string of the shipped snapshot"
    );
}

#[test]
fn rejection_display_never_echoes_input() {
    let secret = "zz-secret-acme-7319";
    for kind in KeyType::ALL {
        for raw in [format!("{secret} !!"), format!("[{secret}]"), String::new()] {
            if let Err(e) = normalize::key(kind, &raw) {
                assert!(!e.to_string().contains("secret"));
                assert!(!format!("{e:?}").contains("secret"));
            }
        }
    }
}

/// Characters that exercise every branch of the name and domain rules.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        3 => proptest::sample::select(vec![
            ' ', '.', ',', '&', '\'', '’', '`', '-', '/', ':', '@', '[', ']', '?', '#', '!', '(', ')',
            '\t', '\u{3000}', '\u{00A0}', '。', '．', '＆', 'ß', 'ẞ', 'İ', 'ı', 'ǰ', 'é', 'Ş', 'Ø', 'æ',
            'Ｆ', 'ｕ', 'ﬁ', '½', '㈱', 'Å', 'ǅ', 'ς', 'Σ', '\u{0301}', '\u{0307}', '\u{0345}',
            '\u{0327}', '\u{200B}', '\u{200D}', '\u{00AD}', '\u{FE0F}', '\u{FEFF}', '\u{FFA0}',
            '\u{115F}', 'ü', 'ö', '中', '株', 'я', 'Ω', 'ꭰ', 'Ꭰ',
        ]),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(tricky_char(), 0..24).prop_map(|cs| cs.into_iter().collect())
}

/// Company-name-like strings built from words that trigger legal-form,
/// acronym and leading-`the` handling.
fn name_like() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        proptest::sample::select(vec![
            "The",
            "the",
            "THE",
            "Acme",
            "Co.",
            "Co",
            "Ltd.",
            "Inc",
            "GmbH",
            "&",
            "KG",
            "S.p.A.",
            "S.",
            "p.",
            "A.",
            "A/S",
            "Sp.",
            "z",
            "o.o.",
            "de",
            "C.V.",
            "S.A.B.",
            "Pty",
            "AB",
            "(publ)",
            "e.V.",
            "O'Reilly",
            "Straße",
            "Société",
            "A.Ş.",
            "U.S.",
            "Co.KG",
            "u.",
            "und",
            "and",
            "Holdings",
            "İ",
            "e\u{301}",
            "'\u{301}",
        ])
        .prop_map(str::to_owned),
        tricky_string(),
    ];
    proptest::collection::vec(word, 0..7).prop_map(|ws| ws.join(" "))
}

/// Website-like strings built from URL parts.
fn domain_like() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        proptest::sample::select(vec![
            "https://",
            "HTTP://",
            "mailto:",
            "//",
            "www.",
            "user:pw@",
            "jane@",
            "acme",
            "ACME",
            "shop.",
            ".",
            "co.uk",
            "com",
            "github.io",
            ".de",
            "münchen",
            "xn--mnchen-3ya",
            ":8080",
            "/path",
            "?q",
            "#f",
            "[::1]",
            "192.168.0.1",
            "gmail.com",
            "yahoo.",
            "-",
            "ck",
            "www.ck",
            "ａｃｍｅ",
            "。",
        ])
        .prop_map(str::to_owned),
        tricky_string(),
    ];
    proptest::collection::vec(part, 0..6).prop_map(|ps| ps.concat())
}

fn check_idempotent(kind: KeyType, raw: &str) -> Result<(), TestCaseError> {
    if let Ok(first) = normalize::key(kind, raw) {
        let second = normalize::key(kind, first.value());
        prop_assert_eq!(
            second.as_ref().map(|k| k.message()),
            Ok(first.message()),
            "{} not idempotent for {:?}",
            kind,
            raw
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_unicode(raw in any::<String>()) {
        for kind in KeyType::ALL {
            let _ = normalize::key(kind, &raw);
        }
    }

    #[test]
    fn name_is_idempotent_on_arbitrary_unicode(raw in any::<String>()) {
        check_idempotent(KeyType::Name, &raw)?;
    }

    #[test]
    fn domain_is_idempotent_on_arbitrary_unicode(raw in any::<String>()) {
        check_idempotent(KeyType::Domain, &raw)?;
    }

    #[test]
    fn name_is_idempotent_on_tricky_input(raw in name_like()) {
        check_idempotent(KeyType::Name, &raw)?;
    }

    #[test]
    fn domain_is_idempotent_on_tricky_input(raw in domain_like()) {
        check_idempotent(KeyType::Domain, &raw)?;
    }

    #[test]
    fn duns_is_idempotent(raw in "[0-9 .-]{0,16}|[0-9]{9}") {
        check_idempotent(KeyType::Duns, &raw)?;
    }

    #[test]
    fn name_output_is_clean(raw in name_like()) {
        if let Ok(v) = normalize::name_tokens(&raw) {
            let v = v.as_str();
            prop_assert!(!v.is_empty());
            prop_assert!(!v.starts_with(' ') && !v.ends_with(' ') && !v.contains("  "));
            prop_assert!(v != "the" && !v.starts_with("the "));
            prop_assert!(!v.contains(['.', '\'', '&']));
        }
    }

    #[test]
    fn domain_output_is_lowercase_ldh(raw in domain_like()) {
        if let Ok(k) = normalize::domain(&raw) {
            let v = k.value();
            prop_assert!(v.contains('.'));
            prop_assert!(v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
        }
    }
}
