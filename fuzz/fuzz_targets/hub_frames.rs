#![no_main]

// Scripts of connects, frames, drops and waits against the sans-IO hub of
// ably-local; see ably_local::hub::fuzz for the script format.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ably_local::hub::fuzz::hub_frames(data));
