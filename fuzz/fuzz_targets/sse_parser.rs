#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ably_proto::sse::fuzz::check(data));
