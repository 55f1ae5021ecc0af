//! `cargo xtask interop`: the official ably-js SDK (npm `ably`, pinned in
//! xtask/js/package.json) against ably-local.
//!
//! Builds and starts `ably-local --listen 127.0.0.1:0` as a child, reads
//! its address from the first line it prints, installs the npm packages if
//! `xtask/js/node_modules` is missing, runs each scenario script in
//! `xtask/js/interop/` with `node` (env `ABLY_LOCAL_PORT`, `ABLY_LOCAL_KEY`,
//! and `ABLY_RUST_PEER`: the path of the `interop_peer` example of
//! ably-blocking, this project's client for the scenarios that pair it
//! with ably-js), and prints `N passed, M failed` last. Exits non-zero
//! when one fails. A second ably-local serves TLS with a CA made for the
//! run (`--tls-dev-ca target/interop-tls`): its port is in
//! `ABLY_LOCAL_TLS_PORT`, its CA in `ABLY_LOCAL_TLS_CA_DER` (for the Rust
//! peer) and in `NODE_EXTRA_CA_CERTS` (PEM, which node reads as it starts).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::service::Service;
use crate::{Result, target_dir, workspace_root};

/// The scenarios, in the order they run; each is `interop/NAME.mjs`.
const SCENARIOS: &[&str] = &[
    "connect",
    "pubsub",
    "burst_publish",
    "echo",
    "presence",
    "presence_sync",
    "abrupt_disconnect",
    "resume",
    "token_auth",
    "capability",
    "rewind",
    "encrypted",
    "encrypted_rust",
    "rest",
    "sse",
    "sse_presence",
    "tls",
];

/// Scripts in interop/ that are not scenarios.
const HELPERS: &[&str] = &["common", "abrupt_child"];

/// The longest a scenario may run.
const SCENARIO_LIMIT: Duration = Duration::from_secs(90);

/// The key the service is started with.
const KEY: &str = "interop.key1:interop-secret-0123456789";

fn run_checked(cmd: &mut Command, what: &str) -> Result {
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})").into());
    }
    Ok(())
}

/// Waits for a child with a time limit; kills it when the limit passes.
fn wait_limited(child: &mut Child, limit: Duration) -> Result<bool> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("  (killed after {} s)", limit.as_secs());
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn check_listed(dir: &Path) -> Result {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "mjs")
            && !SCENARIOS.contains(&stem)
            && !HELPERS.contains(&stem)
        {
            return Err(format!(
                "{} is neither a scenario nor a helper: add it to xtask/src/interop.rs",
                path.display()
            )
            .into());
        }
    }
    Ok(())
}

/// Starts `ably-local --listen 127.0.0.1:0 --key KEY` with `extra`
/// arguments, listening on `scheme`.
fn start_service(extra: &[&str], scheme: &str) -> Result<Service> {
    let bin = target_dir()
        .join("debug")
        .join(format!("ably-local{}", std::env::consts::EXE_SUFFIX));
    let mut args = vec!["--listen", "127.0.0.1:0", "--key", KEY];
    args.extend_from_slice(extra);
    let service = Service::start(&bin, &args, scheme)?;
    eprintln!("interop: ably-local on {scheme}://{}", service.addr());
    Ok(service)
}

/// Runs the interop scenarios; `args` may name a subset.
pub(crate) fn run(args: &[String]) -> Result {
    let root = workspace_root();
    let js = root.join("xtask").join("js");
    let dir = js.join("interop");
    check_listed(&dir)?;
    let chosen: Vec<&str> = if args.is_empty() {
        SCENARIOS.to_vec()
    } else {
        for a in args {
            if !SCENARIOS.contains(&a.as_str()) {
                return Err(
                    format!("unknown scenario `{a}`; known: {}", SCENARIOS.join(", ")).into(),
                );
            }
        }
        SCENARIOS
            .iter()
            .copied()
            .filter(|s| args.iter().any(|a| a == s))
            .collect()
    };

    eprintln!("interop: building ably-local");
    run_checked(
        crate::cargo_command()
            .args([
                "build",
                "--quiet",
                "-p",
                "ably-local",
                "--bin",
                "ably-local",
            ])
            .current_dir(&root),
        "cargo build -p ably-local",
    )?;
    eprintln!("interop: building the Rust peer (ably-blocking example interop_peer)");
    run_checked(
        crate::cargo_command()
            .args([
                "build",
                "--quiet",
                "-p",
                "ably-blocking",
                "--example",
                "interop_peer",
            ])
            .current_dir(&root),
        "cargo build -p ably-blocking --example interop_peer",
    )?;
    let peer = target_dir()
        .join("debug")
        .join("examples")
        .join(format!("interop_peer{}", std::env::consts::EXE_SUFFIX));
    if !js.join("node_modules").join("ably").exists() {
        eprintln!("interop: npm ci in {}", js.display());
        run_checked(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&js),
            "npm ci",
        )?;
    }

    let service = start_service(&[], "http")?;
    // The same service over TLS, with a CA made for the run: ably-js trusts
    // it through NODE_EXTRA_CA_CERTS (read when node starts), the Rust
    // peer through `--tls-ca`.
    let ca_dir = target_dir().join("interop-tls");
    let ca_arg = ca_dir.display().to_string();
    let tls_service = start_service(&["--tls-dev-ca", &ca_arg], "https")?;

    let (mut passed, mut failed) = (0, 0);
    let mut failures = Vec::new();
    for name in chosen {
        let start = Instant::now();
        let mut node = Command::new("node")
            .arg(dir.join(format!("{name}.mjs")))
            .current_dir(&js)
            .env("ABLY_LOCAL_PORT", service.port())
            .env("ABLY_LOCAL_KEY", KEY)
            .env("ABLY_RUST_PEER", &peer)
            .env("ABLY_LOCAL_TLS_PORT", tls_service.port())
            .env("ABLY_LOCAL_TLS_CA_DER", ca_dir.join("ca.der"))
            .env("NODE_EXTRA_CA_CERTS", ca_dir.join("ca.pem"))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run node: {e}"))?;
        let ok = wait_limited(&mut node, SCENARIO_LIMIT)?;
        let secs = start.elapsed().as_secs_f64();
        if ok {
            passed += 1;
            println!("ok   {name} ({secs:.1} s)");
        } else {
            failed += 1;
            failures.push(name);
            println!("FAIL {name} ({secs:.1} s)");
        }
    }
    drop(service);
    drop(tls_service);
    if !failures.is_empty() {
        println!("failed: {}", failures.join(", "));
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        // The summary stays the last line: exit here rather than report an
        // error after it.
        std::process::exit(1);
    }
    Ok(())
}
