//! `ably-local`: an Ably-compatible realtime service on one port.

use std::net::SocketAddr;
use std::process::ExitCode;

use ably_local::hub::HubConfig;
use ably_local::server::{Config, Server};
use ably_local::tls::TlsIdentity;

const USAGE: &str = "\
usage: ably-local [--listen ADDR] [--key APPID.KEYID:SECRET]... [--data-dir DIR]
                  [--tls-cert PEM --tls-key PEM | --tls-dev-ca DIR]
                  [LIMIT FLAGS]

An Ably-compatible realtime service (WebSocket protocol v2-v6, JSON and
MessagePack) for development and tests.

options:
  --listen ADDR   address to listen on [env ABLY_LOCAL_LISTEN]
                  (default 127.0.0.1:8080; port 0 picks a free port)
  --key KEY       a full-access key APPID.KEYID:SECRET; repeat for more
                  keys or apps [env ABLY_LOCAL_KEY, keys separated by
                  commas or spaces]; with none, app `local` gets a new key
                  that is printed (kept in --data-dir if given)
  --data-dir DIR  keep history, channel serials, apps and keys in
                  DIR/ably-local.redb so that they survive a restart
                  [env ABLY_LOCAL_DATA_DIR] (default: memory only)
  --tls-cert PEM  serve HTTPS and WSS with the certificate chain in this
                  PEM file (the service's certificate first)
                  [env ABLY_LOCAL_TLS_CERT]; needs --tls-key
  --tls-key PEM   the private key of --tls-cert, PEM (PKCS#8, RSA or EC)
                  [env ABLY_LOCAL_TLS_KEY]
  --tls-dev-ca DIR
                  serve HTTPS and WSS with a certificate for localhost and
                  127.0.0.1 from a new private CA, whose certificate is
                  written to DIR/ca.pem and DIR/ca.der for clients to trust
                  (NODE_EXTRA_CA_CERTS, curl --cacert, tls_root_certificates)
                  [env ABLY_LOCAL_TLS_DEV_CA]; for development and tests
  -h, --help      this text
  -V, --version   the version

limits (DUR: ms, or with a unit: 500ms, 30s, 2m, 72h; BYTES: a number,
or with KiB or MiB; each also read from the env var named, a flag wins):
  --connection-state-ttl DUR    how long a dropped connection can resume
                                [ABLY_LOCAL_CONNECTION_STATE_TTL] (2m)
  --heartbeat-interval DUR      heartbeats and maxIdleInterval
                                [ABLY_LOCAL_HEARTBEAT_INTERVAL] (15s)
  --remain-present-for DUR      members of a dropped connection stay
                                [ABLY_LOCAL_REMAIN_PRESENT_FOR] (15s)
  --max-message-size BYTES      maxMessageSize [ABLY_LOCAL_MAX_MESSAGE_SIZE]
                                (65536)
  --max-frame-size BYTES        maxFrameSize [ABLY_LOCAL_MAX_FRAME_SIZE]
                                (524288)
  --max-inbound-rate N          frames/s per connection
                                [ABLY_LOCAL_MAX_INBOUND_RATE] (1000)
  --max-presence-members N      members per channel
                                [ABLY_LOCAL_MAX_PRESENCE_MEMBERS] (2000)
  --history-ttl DUR             history kept per channel
                                [ABLY_LOCAL_HISTORY_TTL] (2m)
  --history-max-messages N      [ABLY_LOCAL_HISTORY_MAX_MESSAGES] (1000)
  --history-max-bytes BYTES     [ABLY_LOCAL_HISTORY_MAX_BYTES] (8MiB)
  --persisted-history-ttl DUR   the same in persisted namespaces
                                [ABLY_LOCAL_PERSISTED_HISTORY_TTL] (72h)
  --persisted-history-max-messages N
                                [ABLY_LOCAL_PERSISTED_HISTORY_MAX_MESSAGES]
                                (10000)
  --persisted-history-max-bytes BYTES
                                [ABLY_LOCAL_PERSISTED_HISTORY_MAX_BYTES]
                                (64MiB)

The first line printed is `ably-local listening on http://ADDR`
(`https://ADDR` with --tls-cert or --tls-dev-ca).
Ctrl-C or SIGTERM tells every client DISCONNECTED and stops.";

/// How a limit's value is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// ms, or a number with `ms`, `s`, `m` or `h`.
    Duration,
    /// bytes, or a number with `KiB` or `MiB`.
    Bytes,
    /// A plain count.
    Count,
}

/// A limit of [`HubConfig`] settable by a flag and an env var.
struct Limit {
    flag: &'static str,
    env: &'static str,
    unit: Unit,
    /// Whether 0 is allowed.
    zero: bool,
    set: fn(&mut HubConfig, u64),
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn count(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

const LIMITS: &[Limit] = &[
    Limit {
        flag: "--connection-state-ttl",
        env: "ABLY_LOCAL_CONNECTION_STATE_TTL",
        unit: Unit::Duration,
        zero: false,
        set: |c, v| c.connection_state_ttl_ms = v,
    },
    Limit {
        flag: "--heartbeat-interval",
        env: "ABLY_LOCAL_HEARTBEAT_INTERVAL",
        unit: Unit::Duration,
        zero: false,
        set: |c, v| c.heartbeat_interval_ms = v,
    },
    Limit {
        flag: "--remain-present-for",
        env: "ABLY_LOCAL_REMAIN_PRESENT_FOR",
        unit: Unit::Duration,
        zero: true,
        set: |c, v| c.remain_present_for_ms = v,
    },
    Limit {
        flag: "--max-message-size",
        env: "ABLY_LOCAL_MAX_MESSAGE_SIZE",
        unit: Unit::Bytes,
        zero: false,
        set: |c, v| c.max_message_size = count(v),
    },
    Limit {
        flag: "--max-frame-size",
        env: "ABLY_LOCAL_MAX_FRAME_SIZE",
        unit: Unit::Bytes,
        zero: false,
        set: |c, v| c.max_frame_size = count(v),
    },
    Limit {
        flag: "--max-inbound-rate",
        env: "ABLY_LOCAL_MAX_INBOUND_RATE",
        unit: Unit::Count,
        zero: false,
        set: |c, v| c.max_inbound_rate = u32::try_from(v).unwrap_or(u32::MAX),
    },
    Limit {
        flag: "--max-presence-members",
        env: "ABLY_LOCAL_MAX_PRESENCE_MEMBERS",
        unit: Unit::Count,
        zero: true,
        set: |c, v| c.max_presence_members = count(v),
    },
    Limit {
        flag: "--history-ttl",
        env: "ABLY_LOCAL_HISTORY_TTL",
        unit: Unit::Duration,
        zero: false,
        set: |c, v| c.retention.max_age_ms = ms(v),
    },
    Limit {
        flag: "--history-max-messages",
        env: "ABLY_LOCAL_HISTORY_MAX_MESSAGES",
        unit: Unit::Count,
        zero: true,
        set: |c, v| c.retention.max_messages = count(v),
    },
    Limit {
        flag: "--history-max-bytes",
        env: "ABLY_LOCAL_HISTORY_MAX_BYTES",
        unit: Unit::Bytes,
        zero: true,
        set: |c, v| c.retention.max_bytes = count(v),
    },
    Limit {
        flag: "--persisted-history-ttl",
        env: "ABLY_LOCAL_PERSISTED_HISTORY_TTL",
        unit: Unit::Duration,
        zero: false,
        set: |c, v| c.retention.persisted_max_age_ms = ms(v),
    },
    Limit {
        flag: "--persisted-history-max-messages",
        env: "ABLY_LOCAL_PERSISTED_HISTORY_MAX_MESSAGES",
        unit: Unit::Count,
        zero: true,
        set: |c, v| c.retention.persisted_max_messages = count(v),
    },
    Limit {
        flag: "--persisted-history-max-bytes",
        env: "ABLY_LOCAL_PERSISTED_HISTORY_MAX_BYTES",
        unit: Unit::Bytes,
        zero: true,
        set: |c, v| c.retention.persisted_max_bytes = count(v),
    },
];

/// Reads a limit's value: a number, with a unit where the limit has one.
fn parse_value(limit: &Limit, text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let scale: u64 = match (limit.unit, unit.trim()) {
        (_, "") => 1,
        (Unit::Duration, "ms") => 1,
        (Unit::Duration, "s") => 1000,
        (Unit::Duration, "m") => 60_000,
        (Unit::Duration, "h") => 3_600_000,
        (Unit::Bytes, "KiB") => 1 << 10,
        (Unit::Bytes, "MiB") => 1 << 20,
        _ => 0,
    };
    let value = digits
        .parse::<u64>()
        .ok()
        .filter(|_| scale > 0)
        .and_then(|n| n.checked_mul(scale))
        .filter(|v| limit.zero || *v > 0);
    value.ok_or_else(|| {
        let what = match limit.unit {
            Unit::Duration => "a duration (ms, or 500ms, 30s, 2m, 72h)",
            Unit::Bytes => "a size in bytes (or with KiB, MiB)",
            Unit::Count => "a whole number",
        };
        let zero = if limit.zero { "" } else { " above 0" };
        format!("{} {text}: expected {what}{zero}", limit.flag)
    })
}

/// Reads the command line (without the program name) and the environment.
fn parse_args(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Config>, String> {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        ..Config::default()
    };
    if let Some(listen) = env("ABLY_LOCAL_LISTEN") {
        config.listen = listen
            .parse()
            .map_err(|e| format!("ABLY_LOCAL_LISTEN={listen}: {e}"))?;
    }
    if let Some(keys) = env("ABLY_LOCAL_KEY") {
        config.keys = keys
            .split([',', ' '])
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(dir) = env("ABLY_LOCAL_DATA_DIR") {
        if !dir.is_empty() {
            config.data_dir = Some(dir.into());
        }
    }
    let mut tls_cert = env("ABLY_LOCAL_TLS_CERT").filter(|p| !p.is_empty());
    let mut tls_key = env("ABLY_LOCAL_TLS_KEY").filter(|p| !p.is_empty());
    let mut tls_dev_ca = env("ABLY_LOCAL_TLS_DEV_CA").filter(|p| !p.is_empty());
    for limit in LIMITS {
        if let Some(text) = env(limit.env).filter(|t| !t.is_empty()) {
            let v = parse_value(limit, &text).map_err(|e| format!("{}: {e}", limit.env))?;
            (limit.set)(&mut config.hub, v);
        }
    }
    let mut cli_keys = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                config.listen = v.parse().map_err(|e| format!("--listen {v}: {e}"))?;
            }
            "--key" => cli_keys.push(value("--key")?),
            "--data-dir" => config.data_dir = Some(value("--data-dir")?.into()),
            "--tls-cert" => tls_cert = Some(value("--tls-cert")?),
            "--tls-key" => tls_key = Some(value("--tls-key")?),
            "--tls-dev-ca" => tls_dev_ca = Some(value("--tls-dev-ca")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("ably-local {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            other => match LIMITS.iter().find(|l| l.flag == other) {
                Some(limit) => {
                    let v = parse_value(limit, &value(limit.flag)?)?;
                    (limit.set)(&mut config.hub, v);
                }
                None => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
            },
        }
    }
    if !cli_keys.is_empty() {
        config.keys = cli_keys;
    }
    if let Some(dir) = tls_dev_ca {
        if tls_cert.is_some() || tls_key.is_some() {
            return Err(
                "--tls-dev-ca serves a certificate of its own: drop --tls-cert and --tls-key"
                    .into(),
            );
        }
        let tls = TlsIdentity::private_ca_in(dir.as_ref())
            .map_err(|e| format!("--tls-dev-ca {dir}: {e}"))?;
        config.tls = Some(tls);
        return Ok(Some(config));
    }
    config.tls = match (tls_cert, tls_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            let tls =
                TlsIdentity::from_files(cert.as_ref(), key.as_ref()).map_err(|e| e.to_string())?;
            // A certificate or key that cannot be used stops the service
            // here, with the flag's name, rather than at the first client.
            tls.server_config()
                .map_err(|e| format!("--tls-cert {cert} --tls-key {key}: {e}"))?;
            Some(tls)
        }
        (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
        (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
    };
    Ok(Some(config))
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, so
/// call it before telling anyone the service is up.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(Some(c)) => c,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ably-local: {e}");
            return ExitCode::from(2);
        }
    };
    let generated = config.keys.is_empty();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ably-local: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let stop = match stop_signal() {
            Ok(stop) => stop,
            Err(e) => {
                eprintln!("ably-local: cannot handle signals: {e}");
                return ExitCode::FAILURE;
            }
        };
        let server = match Server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ably-local: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("ably-local listening on {scheme}://{}", server.addr());
        for key in server.keys() {
            if generated {
                println!("key: {key}");
            } else {
                let name = key.split_once(':').map_or(key.as_str(), |(n, _)| n);
                println!("key: {name}:…");
            }
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        stop.await;
        eprintln!("ably-local: shutting down");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse_args(args.iter().map(|a| (*a).to_owned()), |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .map(|c| c.expect("a config"))
    }

    #[test]
    fn limits_come_from_flags_and_env_vars_and_a_flag_wins() {
        let c = parse(
            &[
                "--connection-state-ttl",
                "30s",
                "--max-message-size=1KiB",
                "--history-ttl",
                "5m",
                "--persisted-history-max-bytes",
                "2MiB",
                "--remain-present-for",
                "0",
            ],
            &[
                ("ABLY_LOCAL_CONNECTION_STATE_TTL", "1h"),
                ("ABLY_LOCAL_HEARTBEAT_INTERVAL", "1500"),
                ("ABLY_LOCAL_MAX_INBOUND_RATE", "50"),
                ("ABLY_LOCAL_HISTORY_MAX_MESSAGES", "7"),
            ],
        )
        .expect("config");
        let h = &c.hub;
        assert_eq!(h.connection_state_ttl_ms, 30_000, "the flag wins");
        assert_eq!(h.heartbeat_interval_ms, 1500);
        assert_eq!(h.remain_present_for_ms, 0);
        assert_eq!(h.max_message_size, 1024);
        assert_eq!(h.max_inbound_rate, 50);
        assert_eq!(h.retention.max_age_ms, 300_000);
        assert_eq!(h.retention.max_messages, 7);
        assert_eq!(h.retention.persisted_max_bytes, 2 << 20);
        // Untouched limits keep the defaults.
        let d = HubConfig::default();
        assert_eq!(h.max_frame_size, d.max_frame_size);
        assert_eq!(
            h.retention.persisted_max_age_ms,
            d.retention.persisted_max_age_ms
        );
        assert_eq!(
            parse(&[], &[]).expect("config").hub.max_message_size,
            65_536
        );
    }

    #[test]
    fn bad_limit_values_are_refused_with_the_flag_named() {
        for (args, env) in [
            (vec!["--connection-state-ttl", "0"], vec![]),
            (vec!["--heartbeat-interval", "soon"], vec![]),
            (vec!["--max-message-size", "10s"], vec![]),
            (vec!["--max-inbound-rate", "1KiB"], vec![]),
            (vec!["--history-ttl", "-5"], vec![]),
            (vec!["--max-frame-size"], vec![]),
            (vec![], vec![("ABLY_LOCAL_MAX_MESSAGE_SIZE", "big")]),
        ] {
            let e = parse(&args, &env).expect_err("refused");
            assert!(
                e.contains("--") || e.contains("ABLY_LOCAL_"),
                "{args:?} {env:?}: {e}"
            );
        }
    }

    /// A directory of its own under the system's temp dir, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("ably-local-main-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }

        fn file(&self, name: &str, contents: &[u8]) -> String {
            let path = self.0.join(name);
            std::fs::write(&path, contents).expect("write");
            path.display().to_string()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn tls_comes_from_flags_or_env_vars_and_needs_both_files() {
        let dir = TempDir::new("tls-flags");
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let cert_path = dir.file("cert.pem", cert.pem().as_bytes());
        let key_path = dir.file("key.pem", key.serialize_pem().as_bytes());
        let garbage = dir.file("garbage.pem", b"not a PEM file");

        assert!(parse(&[], &[]).expect("config").tls.is_none());
        let by_flags = parse(&["--tls-cert", &cert_path, "--tls-key", &key_path], &[])
            .expect("config")
            .tls
            .expect("tls");
        assert_eq!(by_flags.cert_chain_pem, cert.pem().as_bytes());
        assert_eq!(by_flags.key_pem, key.serialize_pem().as_bytes());
        let by_env = parse(
            &[],
            &[
                ("ABLY_LOCAL_TLS_CERT", &cert_path),
                ("ABLY_LOCAL_TLS_KEY", &key_path),
            ],
        )
        .expect("config");
        assert!(by_env.tls.is_some());

        let refused = |args: &[&str]| parse(args, &[]).expect_err("refused");
        assert!(refused(&["--tls-cert", &cert_path]).contains("needs --tls-key"));
        assert!(refused(&["--tls-key", &key_path]).contains("needs --tls-cert"));
        let missing = dir.0.join("missing.pem").display().to_string();
        let e = refused(&["--tls-cert", &missing, "--tls-key", &key_path]);
        assert!(e.contains("missing.pem"), "{e}");
        let e = refused(&["--tls-cert", &garbage, "--tls-key", &key_path]);
        assert!(
            e.contains("--tls-cert") && e.contains("no CERTIFICATE"),
            "{e}"
        );
        // The key of another certificate does not match this one.
        let other = rcgen::KeyPair::generate().expect("key");
        let other_path = dir.file("other.pem", other.serialize_pem().as_bytes());
        let e = refused(&["--tls-cert", &cert_path, "--tls-key", &other_path]);
        assert!(e.contains("TLS certificate and key"), "{e}");
    }

    #[test]
    fn tls_dev_ca_writes_the_ca_that_signed_the_served_certificate() {
        let dir = TempDir::new("tls-dev-ca");
        let ca_dir = dir.0.join("ca").display().to_string();
        let tls = parse(&["--tls-dev-ca", &ca_dir], &[])
            .expect("config")
            .tls
            .expect("tls");
        tls.server_config().expect("usable");
        let der = std::fs::read(dir.0.join("ca").join("ca.der")).expect("ca.der");
        let pem = std::fs::read(dir.0.join("ca").join("ca.pem")).expect("ca.pem");
        use rustls::client::danger::ServerCertVerifier as _;
        use rustls::pki_types::pem::PemObject as _;
        let from_pem: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .expect("PEM");
        assert_eq!(from_pem.len(), 1);
        assert_eq!(from_pem[0].as_ref(), der.as_slice());
        // The served certificate chains to that CA.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der.into()).expect("a CA certificate");
        let leaf = rustls::pki_types::CertificateDer::pem_slice_iter(&tls.cert_chain_pem)
            .next()
            .expect("a certificate")
            .expect("PEM");
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .expect("verifier");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        verifier
            .verify_server_cert(&leaf, &[], &name, &[], rustls::pki_types::UnixTime::now())
            .expect("signed by the written CA");

        let e = parse(
            &[
                "--tls-dev-ca",
                &ca_dir,
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
            ],
            &[],
        )
        .expect_err("refused");
        assert!(e.contains("--tls-dev-ca"), "{e}");
        let by_env = parse(&[], &[("ABLY_LOCAL_TLS_DEV_CA", &ca_dir)]).expect("config");
        assert!(by_env.tls.is_some());
    }

    #[test]
    fn every_limit_is_in_the_usage_text() {
        for limit in LIMITS {
            assert!(USAGE.contains(limit.flag), "{}", limit.flag);
            assert!(USAGE.contains(limit.env), "{}", limit.env);
        }
        for text in [
            "--tls-cert",
            "--tls-key",
            "ABLY_LOCAL_TLS_CERT",
            "ABLY_LOCAL_TLS_KEY",
            "--tls-dev-ca",
            "ABLY_LOCAL_TLS_DEV_CA",
        ] {
            assert!(USAGE.contains(text), "{text}");
        }
    }
}
