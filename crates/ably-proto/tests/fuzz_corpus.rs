//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! checks the fuzz targets run, so that plain `cargo test` on stable Rust
//! guards every seed and every input a fuzzer kept, with no fuzzer.

use std::path::{Path, PathBuf};

use ably_proto::fuzz_checks;

/// The stack each input is replayed on: 2 MiB, the default of a test
/// thread and a tokio worker. The codec limits nesting to 128 levels, so
/// even the `deep_*` seeds fit in a debug build.
const REPLAY_STACK: usize = 2 << 20;

/// Runs `check` on every file of `fuzz/corpus/<target>/`; fails if the
/// directory is missing or empty, or if any input breaks an invariant
/// (naming every such file).
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus directory {} is missing: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "corpus directory {} is empty",
        dir.display()
    );

    let mut failures = Vec::new();
    for file in &files {
        let bytes =
            std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let replayed = std::thread::Builder::new()
            .name(file.display().to_string())
            .stack_size(REPLAY_STACK)
            .spawn(move || check(&bytes))
            .expect("a replay thread starts")
            .join();
        if replayed.is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {target} corpus inputs broke an invariant (panic messages above):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn decode_frame_json_corpus() {
    replay("decode_frame_json", fuzz_checks::decode_frame_json);
}

#[test]
fn decode_frame_msgpack_corpus() {
    replay("decode_frame_msgpack", fuzz_checks::decode_frame_msgpack);
}

#[test]
fn decode_payload_corpus() {
    replay("decode_payload", fuzz_checks::decode_payload);
}

#[test]
fn client_reducer_corpus() {
    replay("client_reducer", fuzz_checks::client_reducer);
}

#[test]
fn sse_parser_corpus() {
    replay("sse_parser", ably_proto::sse::fuzz::check);
}
