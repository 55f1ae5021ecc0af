#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ably_proto::fuzz_checks::decode_payload(data));
