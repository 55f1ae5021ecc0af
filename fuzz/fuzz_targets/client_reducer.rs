#![no_main]

// Scripts of commands, server frames, token and HTTP answers and time
// jumps against the sans-IO client core; see
// ably_proto::fuzz_checks::client_reducer for the script format and the
// invariants.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ably_proto::fuzz_checks::client_reducer(data));
