//! Writes the `accounts` section of `protocol-spec/test-vectors.json`.
//!
//! `cargo run -p cleanroom-client --example gen_account_vectors`

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec/test-vectors.json");
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    doc["accounts"] = serde_json::to_value(cleanroom_client::account_vectors::cases()?)?;
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}
