//! Project tasks, run as `cargo xtask <task> [args...]` (the alias is in
//! `.cargo/config.toml`).
//!
//! Every task is a function that takes the arguments after its name and
//! returns [`Result`]. To add a task, add a module and an arm to the `match`
//! in [`main`], and a line to [`USAGE`].

mod bench;
mod ci;
mod interop;
mod service;
mod wake_probe;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// What a task returns: `Err` means the task could not run; its message is
/// printed and xtask exits with status 1.
pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The help text.
const USAGE: &str = "\
usage: cargo xtask <task> [args...]

tasks:
  ci [--no-interop]
      Every CI check: format, clippy -D warnings, tests (with the fuzz
      corpus replay and the conformance map), docs, interop.
  bench codec [--filter REGEX] [--js-min-ms MS] [-- CRITERION_ARGS...]
      Criterion benches of the ably-proto codec, compared in the same run
      with the ably-js receive path; writes target/bench-codec.md.
  bench fanout
      ably-local fan-out (1/10/100 subscribers, JSON and msgpack) against a
      raw WebSocket broadcast, and idle connections; prints a markdown table.
  bench client [--count N] [--window W] [--rate R] [--seconds S] [--rate-window W]
      Our clients (one example binary per adapter) against ably-js through
      an ably-local: messages/s at saturation, latency at a fixed rate, CPU
      and context switches per message of each client process, a floor
      with no client library, and what a wake-up costs on the machine;
      writes target/bench-client.md.
  interop [SCENARIO...]
      The official ably-js SDK against ably-local: every scenario in
      xtask/js/interop (or those named); prints `N passed, M failed`.
  help
      This text.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "bench" => bench::run(rest),
        "interop" => interop::run(rest),
        "ci" => ci::run(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of the xtask crate).
pub(crate) fn workspace_root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (relative to the workspace
/// root if relative), else `<root>/target`.
pub(crate) fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The cargo that runs xtask (`$CARGO`), or `cargo` from `PATH`.
pub(crate) fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A command running [`cargo()`] without the variables `cargo run` set for
/// xtask itself.
///
/// Those (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...) describe the xtask
/// package; left in place they leak into the build scripts of a nested
/// build, and a build script that tracks one (ring tracks
/// `CARGO_MANIFEST_DIR`) is rebuilt, with everything above it, every time
/// the build alternates between `cargo xtask` and plain `cargo`.
pub(crate) fn cargo_command() -> Command {
    const RUN_VARS: [&str; 8] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    let mut cmd = Command::new(cargo());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_") || RUN_VARS.contains(&name.as_ref()) {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}
