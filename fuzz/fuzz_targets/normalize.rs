#![no_main]
//! CRM fields are arbitrary user text: normalization must never panic and must be idempotent.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for kind in cleanroom_core::KeyType::ALL {
        if let Ok(k) = cleanroom_core::normalize::key(kind, s) {
            let again = cleanroom_core::normalize::key(kind, k.value());
            assert_eq!(again.as_ref().map(|a| a.message()), Ok(k.message()));
        }
    }
});
