//! Replays the committed corpus of the `hub_frames` fuzz target
//! (fuzz/corpus/hub_frames), so that plain `cargo test` guards every input
//! the fuzzer has kept.

use std::path::Path;

#[test]
fn hub_frames_corpus_replays_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/hub_frames");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "the corpus is empty");
    for path in entries {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        ably_local::hub::fuzz::hub_frames(&data);
    }
}
