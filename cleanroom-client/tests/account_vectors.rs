//! The `accounts` vectors of `protocol-spec/test-vectors.json` are what this
//! client uploads for their CSVs.

use cleanroom_client::account_vectors::{AccountCase, cases, compute};

fn load() -> Vec<AccountCase> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec/test-vectors.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("JSON");
    serde_json::from_value(doc["accounts"].clone()).expect("accounts vectors have their shape")
}

#[test]
fn client_reproduces_every_account_vector() {
    let vectors = load();
    assert!(
        vectors.len() >= 10,
        "only {} account vectors",
        vectors.len()
    );
    for case in &vectors {
        let got = compute(&case.csv, &case.columns, case.names_without_country).expect("prepares");
        assert_eq!(got, case.accounts, "case {:?}", case.name);
    }
}

#[test]
fn vectors_file_is_up_to_date_with_the_cases() {
    assert_eq!(
        load(),
        cases().expect("cases prepare"),
        "run `cargo run -p cleanroom-client --example gen_account_vectors`"
    );
}
