//! `ably-local`: an Ably-compatible realtime service on one port.

use std::net::SocketAddr;
use std::process::ExitCode;

use ably_local::server::{Config, Server};

const USAGE: &str = "\
usage: ably-local [--listen ADDR] [--key APPID.KEYID:SECRET]... [--data-dir DIR]

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
  -h, --help      this text
  -V, --version   the version

The first line printed is `ably-local listening on http://ADDR`.
Ctrl-C or SIGTERM tells every client DISCONNECTED and stops.";

fn parse_args() -> Result<Option<Config>, String> {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        ..Config::default()
    };
    if let Ok(listen) = std::env::var("ABLY_LOCAL_LISTEN") {
        config.listen = listen
            .parse()
            .map_err(|e| format!("ABLY_LOCAL_LISTEN={listen}: {e}"))?;
    }
    if let Ok(keys) = std::env::var("ABLY_LOCAL_KEY") {
        config.keys = keys
            .split([',', ' '])
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Ok(dir) = std::env::var("ABLY_LOCAL_DATA_DIR") {
        if !dir.is_empty() {
            config.data_dir = Some(dir.into());
        }
    }
    let mut cli_keys = Vec::new();
    let mut args = std::env::args().skip(1);
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
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("ably-local {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    if !cli_keys.is_empty() {
        config.keys = cli_keys;
    }
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
    let config = match parse_args() {
        Ok(Some(c)) => c,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ably-local: {e}");
            return ExitCode::from(2);
        }
    };
    let generated = config.keys.is_empty();
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
        println!("ably-local listening on http://{}", server.addr());
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
