//! End to end: the built `ably` binary against an `ably local` it spawns
//! on a free port. Every wait is for a line the process prints (or its
//! exit), bounded by `WAIT`; nothing sleeps.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The most any one wait takes before the test fails.
const WAIT: Duration = Duration::from_secs(60);

/// Every `--runtime`: the end-to-end tests run each on all of them.
const RUNTIMES: [&str; 3] = ["blocking", "tokio", "async-std"];

/// The key `ably local` serves by default (crates/ably-cli/src/target.rs).
const DEFAULT_LOCAL_KEY: &str = "local.dev:ably-local-development-key";

/// A line from a child, or the end of one of its streams.
enum Line {
    Out(String),
    Err(String),
    OutEnd,
    ErrEnd,
}

/// A running `ably` process whose output is read line by line.
struct Proc {
    child: Child,
    lines: Receiver<Line>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    open: u8,
    what: String,
}

/// `ably` with no inherited ABLY_* settings and no colour.
fn ably(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ably"));
    cmd.args(args)
        .env_remove("ABLY_KEY")
        .env_remove("ABLY_ENDPOINT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn pump(stream: impl Read + Send + 'static, tx: mpsc::Sender<Line>, out: bool) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(if out {
                Line::Out(line)
            } else {
                Line::Err(line)
            });
        }
        let _ = tx.send(if out { Line::OutEnd } else { Line::ErrEnd });
    });
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = ably(args).spawn().expect("ably starts");
        let (tx, lines) = mpsc::channel();
        pump(child.stdout.take().expect("stdout"), tx.clone(), true);
        pump(child.stderr.take().expect("stderr"), tx, false);
        Proc {
            child,
            lines,
            stdout: Vec::new(),
            stderr: Vec::new(),
            open: 2,
            what: args.join(" "),
        }
    }

    /// Takes one line (or end of stream); false at the deadline.
    fn take(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(Line::Out(l)) => self.stdout.push(l),
            Ok(Line::Err(l)) => self.stderr.push(l),
            Ok(Line::OutEnd | Line::ErrEnd) => self.open -= 1,
            Err(_) => return false,
        }
        true
    }

    /// Waits for a stderr line containing `text`.
    fn wait_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.stderr.iter().any(|l| l.contains(text)) {
            assert!(
                self.open > 0 && self.take(deadline),
                "`ably {}` never printed {text:?} on stderr; stderr: {:?}",
                self.what,
                self.stderr
            );
        }
    }

    /// Waits for `n` stdout lines.
    fn wait_stdout_lines(&mut self, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.stdout.len() < n {
            assert!(
                self.open > 0 && self.take(deadline),
                "`ably {}` printed {} of {n} lines; stderr: {:?}",
                self.what,
                self.stdout.len(),
                self.stderr
            );
        }
    }

    /// Waits for the process to end.
    fn finish(mut self) -> Done {
        let deadline = Instant::now() + WAIT;
        while self.open > 0 {
            if !self.take(deadline) {
                let _ = self.child.kill();
                panic!(
                    "`ably {}` did not finish; stdout {:?}; stderr {:?}",
                    self.what, self.stdout, self.stderr
                );
            }
        }
        let status = self.child.wait().expect("wait");
        Done {
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr: std::mem::take(&mut self.stderr),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A finished process.
#[derive(Debug)]
struct Done {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl Done {
    fn ok(self) -> Done {
        assert!(self.status.success(), "failed: {self:?}");
        self
    }

    fn json(&self) -> Vec<Value> {
        self.stdout
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }

    fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }
}

/// `ably local` on a free port: its process, port and key.
struct Local {
    _proc: Proc,
    port: String,
    key: String,
}

impl Local {
    fn start() -> Local {
        let mut proc = Proc::spawn(&["local", "--listen", "127.0.0.1:0"]);
        proc.wait_stdout_lines(2);
        let addr = proc.stdout[0]
            .strip_prefix("ably-local listening on http://")
            .expect("the address line")
            .to_owned();
        let key = proc.stdout[1].strip_prefix("key: ").expect("the key line");
        let port = addr.rsplit_once(':').expect("host:port").1.to_owned();
        Local {
            key: key.to_owned(),
            port,
            _proc: proc,
        }
    }

    /// Arguments that point at this service, with no key: the CLI uses
    /// the default local key for a loopback endpoint.
    fn args<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["--endpoint", "127.0.0.1", "--port", &self.port];
        args.extend_from_slice(rest);
        args
    }

    fn spawn(&self, rest: &[&str]) -> Proc {
        Proc::spawn(&self.args(rest))
    }

    fn run(&self, rest: &[&str]) -> Done {
        self.spawn(rest).finish()
    }

    /// The same service, with commands on `runtime`.
    fn on(&self, runtime: &'static str) -> On<'_> {
        On {
            local: self,
            runtime,
        }
    }
}

/// Commands against a [`Local`] on one `--runtime`.
struct On<'a> {
    local: &'a Local,
    runtime: &'static str,
}

impl On<'_> {
    fn spawn(&self, rest: &[&str]) -> Proc {
        let mut args = vec!["--runtime", self.runtime];
        args.extend_from_slice(rest);
        self.local.spawn(&args)
    }

    fn run(&self, rest: &[&str]) -> Done {
        self.spawn(rest).finish()
    }
}

#[test]
fn local_serves_the_default_key_that_other_commands_use() {
    let local = Local::start();
    assert_eq!(local.key, DEFAULT_LOCAL_KEY);
    let done = local.run(&["connections", "test"]).ok();
    assert!(
        done.stderr_text().contains("default key"),
        "says so on stderr: {:?}",
        done.stderr
    );
}

#[test]
fn demo_runs_the_tour_and_exits_0_on_every_runtime() {
    for runtime in RUNTIMES {
        let done = Proc::spawn(&["--runtime", runtime, "demo"]).finish().ok();
        let text = done.stdout.join("\n");
        for expected in [
            "== 1. Connecting ==",
            "alice: connected",
            "bob received  text   \"hello Bob\" from alice",
            "bob (has the key) reads: \"the cake is in the oven\"",
            "eve (no key) sees",
            "members now: alice (\"reading\"), bob (\"writing\")",
            "(3 messages, newest first)",
            "bob received \"message 5\"",
            "bob kept his connection (same id): true",
            "alice is closed, bob is closed",
        ] {
            assert!(
                text.contains(expected),
                "{runtime}: {expected:?} in:\n{text}"
            );
        }
    }
}

#[test]
fn publish_and_subscribe_in_two_processes_on_every_runtime() {
    let service = Local::start();
    for (n, runtime) in RUNTIMES.into_iter().enumerate() {
        let local = service.on(runtime);
        // The publisher runs on the next runtime.
        let publisher = service.on(RUNTIMES[(n + 1) % RUNTIMES.len()]);
        for protocol in ["json", "msgpack"] {
            let channel = format!("pubsub-{protocol}");
            let mut sub = local.spawn(&[
                "--protocol",
                protocol,
                "--json",
                "channels",
                "subscribe",
                &channel,
                "--count",
                "3",
            ]);
            sub.wait_stderr("attached to");
            publisher
                .run(&[
                    "--protocol",
                    protocol,
                    "--client-id",
                    "pat",
                    "channels",
                    "publish",
                    &channel,
                    "greeting",
                    "hello {{.Count}}",
                    "--count",
                    "3",
                ])
                .ok();
            let done = sub.finish().ok();
            let messages = done.json();
            assert_eq!(messages.len(), 3, "{messages:?}");
            for (i, m) in messages.iter().enumerate() {
                assert_eq!(m["channel"], channel.as_str());
                assert_eq!(m["name"], "greeting");
                assert_eq!(m["data"], format!("hello {}", i + 1).as_str());
                assert_eq!(m["encoding"], Value::Null);
                assert_eq!(m["clientId"], "pat");
                for field in ["id", "connectionId", "timestamp"] {
                    assert!(!m[field].is_null(), "{field} in {m}");
                }
            }
        }
    }
}

#[test]
fn json_and_binary_data_keep_their_kind_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        let mut sub = local.spawn(&["--json", "channels", "subscribe", "kinds", "--count", "2"]);
        sub.wait_stderr("attached to");
        local
            .run(&[
                "channels",
                "publish",
                "kinds",
                r#"{"n":1}"#,
                "--encoding",
                "json",
            ])
            .ok();
        local
            .run(&[
                "channels",
                "publish",
                "kinds",
                "AQID",
                "--encoding",
                "binary",
            ])
            .ok();
        let messages = sub.finish().ok().json();
        assert_eq!(messages[0]["data"], serde_json::json!({"n": 1}));
        assert_eq!(messages[0]["name"], Value::Null);
        assert_eq!(messages[1]["data"], "AQID");
        assert_eq!(messages[1]["encoding"], "base64");
    }
}

#[test]
fn an_encrypted_message_is_read_with_the_cipher_key_only_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        // 32 bytes 0..31, base64.
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let mut with_key = local.spawn(&[
            "--json",
            "channels",
            "subscribe",
            "secret",
            "--count",
            "1",
            "--cipher-key",
            key,
        ]);
        with_key.wait_stderr("attached to");
        let mut without =
            local.spawn(&["--json", "channels", "subscribe", "secret", "--count", "1"]);
        without.wait_stderr("attached to");
        local
            .run(&[
                "channels",
                "publish",
                "secret",
                "whisper",
                "the cake",
                "--cipher-key",
                key,
            ])
            .ok();
        let read = with_key.finish().ok().json();
        assert_eq!(read[0]["data"], "the cake");
        assert_eq!(read[0]["encoding"], Value::Null);
        let unread = without.finish().ok().json();
        assert_ne!(unread[0]["data"], "the cake");
        assert_eq!(unread[0]["encoding"], "utf-8/cipher+aes-256-cbc/base64");
    }
}

#[test]
fn subscribe_with_rewind_replays_earlier_messages_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        local
            .run(&[
                "channels",
                "publish",
                "rewound",
                "before {{.Count}}",
                "--count",
                "3",
            ])
            .ok();
        let done = local
            .run(&[
                "--json",
                "channels",
                "subscribe",
                "rewound",
                "--rewind",
                "2",
                "--count",
                "2",
            ])
            .ok();
        let data: Vec<Value> = done.json().iter().map(|m| m["data"].clone()).collect();
        assert_eq!(data, vec!["before 2", "before 3"]);
    }
}

#[test]
fn history_in_both_directions_with_a_limit_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        local
            .run(&[
                "channels",
                "publish",
                "past",
                "n",
                "{{.Count}}",
                "--count",
                "3",
            ])
            .ok();
        let data = |direction: &str| -> Vec<Value> {
            local
                .run(&[
                    "--json",
                    "channels",
                    "history",
                    "past",
                    "--limit",
                    "2",
                    "--direction",
                    direction,
                ])
                .ok()
                .json()
                .iter()
                .map(|m| m["data"].clone())
                .collect()
        };
        assert_eq!(data("forwards"), vec!["1", "2"]);
        assert_eq!(data("backwards"), vec!["3", "2"]);
    }
}

#[test]
fn local_over_tls_with_a_dev_ca_that_tls_ca_trusts_on_every_runtime() {
    let dir = std::env::temp_dir().join(format!("ably-cli-tls-{}", std::process::id()));
    let dir_arg = dir.display().to_string();
    let mut local = Proc::spawn(&["local", "--listen", "127.0.0.1:0", "--tls-dev-ca", &dir_arg]);
    local.wait_stdout_lines(2);
    let addr = local.stdout[0]
        .strip_prefix("ably-local listening on https://")
        .expect("an https address line")
        .to_owned();
    let port = addr.rsplit_once(':').expect("host:port").1.to_owned();
    let ca = dir.join("ca.pem").display().to_string();
    let over_tls = |runtime: &'static str, trust: bool, rest: &[&str]| -> Done {
        let mut args = vec!["--runtime", runtime, "--endpoint", "localhost"];
        args.extend_from_slice(&["--port", &port, "--tls"]);
        if trust {
            args.extend_from_slice(&["--tls-ca", &ca]);
        }
        args.extend_from_slice(rest);
        Proc::spawn(&args).finish()
    };
    for runtime in RUNTIMES {
        let channel = format!("tls-{runtime}");
        over_tls(
            runtime,
            true,
            &["channels", "publish", &channel, "over tls"],
        )
        .ok();
        let got: Vec<Value> = over_tls(runtime, true, &["--json", "channels", "history", &channel])
            .ok()
            .json()
            .iter()
            .map(|m| m["data"].clone())
            .collect();
        assert_eq!(got, vec!["over tls"], "{runtime}");
        // Without the CA the handshake fails: unknown issuer.
        let refused = over_tls(runtime, false, &["channels", "publish", &channel, "x"]);
        assert!(!refused.status.success(), "{runtime}: {refused:?}");
        let text = refused.stderr.join("\n");
        assert!(
            text.contains("80000") || text.contains("certificate"),
            "{runtime}: {text}"
        );
    }
    drop(local);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn presence_enter_get_and_subscribe_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        let mut watch = local.spawn(&[
            "--json",
            "channels",
            "presence",
            "subscribe",
            "room",
            "--count",
            "2",
        ]);
        watch.wait_stderr("attached to");
        let mut enter = local.spawn(&[
            "--client-id",
            "carol",
            "channels",
            "presence",
            "enter",
            "room",
            "--data",
            r#"{"mood":"ok"}"#,
            "--duration",
            "1",
        ]);
        enter.wait_stderr("entered room as carol");
        let members = local
            .run(&["--json", "channels", "presence", "get", "room"])
            .ok()
            .json();
        assert_eq!(members.len(), 1, "{members:?}");
        assert_eq!(members[0]["clientId"], "carol");
        assert_eq!(members[0]["action"], "present");
        assert_eq!(members[0]["data"], serde_json::json!({"mood": "ok"}));
        // After --duration the member leaves and the process exits 0.
        enter.finish().ok();
        let events = watch.finish().ok().json();
        let actions: Vec<(&Value, &Value)> = events
            .iter()
            .map(|e| (&e["action"], &e["clientId"]))
            .collect();
        assert_eq!(
            actions,
            vec![
                (&Value::from("enter"), &Value::from("carol")),
                (&Value::from("leave"), &Value::from("carol"))
            ]
        );
    }
}

/// Ctrl-C or SIGTERM makes `presence enter` leave and `subscribe` close,
/// and both exit 0.
#[cfg(unix)]
#[test]
fn a_stop_signal_leaves_presence_and_exits_0_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        let mut watch = local.spawn(&[
            "--json",
            "channels",
            "presence",
            "subscribe",
            "lobby",
            "--count",
            "2",
        ]);
        watch.wait_stderr("attached to");
        let mut sub = local.spawn(&["channels", "subscribe", "lobby"]);
        sub.wait_stderr("attached to");
        let mut enter = local.spawn(&[
            "--client-id",
            "ed",
            "channels",
            "presence",
            "enter",
            "lobby",
        ]);
        enter.wait_stderr("entered lobby as ed");
        for proc in [&enter, &sub] {
            let pid = proc.child.id().to_string();
            let sent = Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("kill runs");
            assert!(sent.success());
        }
        let done = enter.finish().ok();
        assert_eq!(done.stdout.last().map(String::as_str), Some("left lobby"));
        sub.finish().ok();
        let actions: Vec<Value> = watch
            .finish()
            .ok()
            .json()
            .iter()
            .map(|e| e["action"].clone())
            .collect();
        assert_eq!(actions, vec!["enter", "leave"]);
    }
}

#[test]
fn connections_test_reports_states_ping_and_details_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        let lines = local.run(&["--json", "connections", "test"]).ok().json();
        let states: Vec<&Value> = lines
            .iter()
            .filter(|l| l["event"] == "state")
            .map(|l| &l["state"])
            .collect();
        assert_eq!(states, vec!["connecting", "connected", "closed"]);
        let ping = lines.iter().find(|l| l["event"] == "ping").expect("ping");
        assert!(ping["rttMs"].as_f64().is_some_and(|ms| ms >= 0.0));
        let details = lines
            .iter()
            .find(|l| l["event"] == "connection")
            .expect("details");
        assert!(details["id"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(details["port"].to_string(), local.local.port);
        assert_eq!(details["tls"], false);
    }
}

#[test]
fn auth_issue_token_with_ttl_client_id_and_capability_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        let lines = local
            .run(&[
                "--json",
                "--client-id",
                "zed",
                "auth",
                "issue-token",
                "--ttl",
                "60",
                "--capability",
                r#"{"chat":["subscribe"]}"#,
            ])
            .ok()
            .json();
        let token = &lines[0];
        assert!(token["token"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(token["clientId"], "zed");
        assert_eq!(token["capability"], r#"{"chat":["subscribe"]}"#);
        let ttl =
            token["expires"].as_i64().expect("expires") - token["issued"].as_i64().expect("issued");
        assert_eq!(ttl, 60_000);
        // Text mode prints the bare token on stdout.
        let done = local.run(&["auth", "issue-token"]).ok();
        assert_eq!(done.stdout.len(), 1);
    }
}

#[test]
fn bench_pubsub_small_run_reports_nothing_lost_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        let lines = local
            .run(&[
                "--json",
                "bench",
                "pubsub",
                "--publishers",
                "2",
                "--subscribers",
                "2",
                "--messages",
                "200",
                "--rate",
                "0",
                "--size",
                "64",
            ])
            .ok()
            .json();
        let r = &lines[0];
        assert_eq!(r["sent"], 400);
        assert_eq!(r["delivered"], 800);
        assert_eq!(r["lost"], 0);
        assert_eq!(r["duplicated"], 0);
        assert_eq!(r["outOfOrder"], 0);
        let l = &r["latencyMs"];
        for q in ["p50", "p95", "p99", "max"] {
            assert!(l[q].as_f64().is_some_and(|ms| ms > 0.0), "{q} in {l}");
        }
        assert!(l["p50"].as_f64() <= l["max"].as_f64());
    }
}

#[test]
fn a_wrong_key_prints_the_code_and_help_link_and_exits_1_on_every_runtime() {
    let service = Local::start();
    for runtime in RUNTIMES {
        let local = service.on(runtime);
        let done = local.run(&[
            "--key",
            "local.nope:secret",
            "--json",
            "connections",
            "test",
        ]);
        assert_eq!(done.status.code(), Some(1), "{done:?}");
        let text = done.stderr_text();
        assert!(text.contains("code 40101"), "{text}");
        assert!(text.contains("https://help.ably.io/error/40101"), "{text}");
        let error = done
            .json()
            .into_iter()
            .find(|l| l.get("error").is_some())
            .expect("a JSON error line");
        assert_eq!(error["error"]["code"], 40101);
    }
}

#[test]
fn bad_input_fails_before_connecting() {
    // No service is needed: these fail on their arguments.
    let done = Proc::spawn(&["channels", "publish", "c", "{", "--encoding", "json"]).finish();
    assert_eq!(done.status.code(), Some(1));
    assert!(done.stderr_text().contains("code 40000"), "{done:?}");
    let done = Proc::spawn(&["channels", "subscribe", "c", "--cipher-key", "c2hvcnQ="]).finish();
    assert_eq!(done.status.code(), Some(1));
    assert!(done.stderr_text().contains("128 or 256 bits"), "{done:?}");
    let done = Proc::spawn(&["--runtime", "go", "connections", "test"]).finish();
    assert_eq!(
        done.status.code(),
        Some(2),
        "an unknown runtime is a usage error"
    );
    let done = Proc::spawn(&["channels", "publish"]).finish();
    assert_eq!(done.status.code(), Some(2), "usage errors exit 2");
}

/// Every command's help works, and every flag it lists is in docs/cli.md.
#[test]
fn help_is_complete_and_docs_cli_md_lists_every_flag() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/cli.md"))
        .expect("docs/cli.md");
    let commands: &[&[&str]] = &[
        &[],
        &["local"],
        &["demo"],
        &["channels"],
        &["channels", "publish"],
        &["channels", "subscribe"],
        &["channels", "history"],
        &["channels", "presence"],
        &["channels", "presence", "enter"],
        &["channels", "presence", "get"],
        &["channels", "presence", "subscribe"],
        &["connections"],
        &["connections", "test"],
        &["auth"],
        &["auth", "issue-token"],
        &["bench"],
        &["bench", "pubsub"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let done = Proc::spawn(&args).finish().ok();
        let help = done.stdout.join("\n");
        assert!(help.contains("Usage: ably"), "{args:?}: {help}");
        if !command.is_empty() {
            let heading = format!("`ably {}", command.join(" "));
            assert!(doc.contains(&heading), "docs/cli.md has no {heading}`");
        }
        for word in help.split_whitespace() {
            let flag = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
            if flag.starts_with("--") && flag.len() > 2 {
                assert!(
                    doc.contains(&format!("`{flag}")),
                    "docs/cli.md does not describe {flag} of {args:?}"
                );
            }
        }
    }
}
