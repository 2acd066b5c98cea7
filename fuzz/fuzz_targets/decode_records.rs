#![no_main]
//! Blinded-record bodies come straight from the network: decoding must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pops = data.first().map_or(0, |b| usize::from(*b % 70));
    let _ = cleanroom_core::wire::decode_blinded_records(data, 0, pops);
    let _ = cleanroom_core::wire::decode_tokens(data);
    let _ = cleanroom_core::blind::BlindedPoint::decode(data);
});
