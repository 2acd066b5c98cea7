#![no_main]
//! A counterpart's points download is untrusted: tokenizing must reject, never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = cleanroom_core::SessionSecret::generate();
    let _ = s.token_batch(data);
});
