//! `cargo xtask ci`: every check CI runs, in order, stopping at the first
//! failure: format, lints, tests (including the fuzz corpus replay and the
//! conformance map), docs, and the interop suite against the official SDK.

use std::process::Command;
use std::time::Instant;

use crate::{Result, cargo_command, workspace_root};

/// Runs the checks. `--no-interop` skips the node-based interop suite.
pub(crate) fn run(args: &[String]) -> Result {
    let interop = !args.iter().any(|a| a == "--no-interop");
    let started = Instant::now();
    step("format", cargo_cmd(&["fmt", "--all", "--", "--check"]))?;
    step(
        "lints",
        cargo_cmd(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "tests",
        cargo_cmd(&["test", "--workspace", "--all-targets"]),
    )?;
    step("doc tests", cargo_cmd(&["test", "--workspace", "--doc"]))?;
    let mut doc = cargo_cmd(&["doc", "--workspace", "--no-deps"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    step("docs", doc)?;
    if interop && workspace_root().join("xtask/src/interop.rs").exists() {
        step("interop", cargo_cmd(&["xtask", "interop"]))?;
    }
    println!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

fn cargo_cmd(args: &[&str]) -> Command {
    let mut cmd = cargo_command();
    cmd.args(args).current_dir(workspace_root());
    cmd
}

/// Runs one check, timing it; a failure stops CI.
fn step(name: &str, mut cmd: Command) -> Result {
    println!("==> {name}");
    let started = Instant::now();
    let status = cmd.status()?;
    println!(
        "<== {name}: {} in {:.1?}",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})").into())
    }
}
