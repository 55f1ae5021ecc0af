//! The configuration of the crate's unit property tests: the project's
//! fixed seed (`0xab1e`, also in `tests/roundtrip.rs`), so that every run
//! tries the same cases; raise `PROPTEST_CASES` to explore more.

use proptest::test_runner::{Config, RngSeed};

/// 512 cases from the fixed seed, no failure files.
pub(crate) fn fixed_seed() -> Config {
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(0xab1e),
        failure_persistence: None,
        ..Config::default()
    }
}
