//! `ably local`: ably-local in the foreground, on its library.

use ably_local::server::{Config, Server};
use ably_local::tls::TlsIdentity;
use ably_proto::ErrorInfo;
use serde_json::json;

use super::{Ctx, Outcome};
use crate::args::LocalArgs;
use crate::target::DEFAULT_LOCAL_KEY;

/// Starts the service with the global `--key` or [`DEFAULT_LOCAL_KEY`],
/// prints its address and key, and serves until
/// Ctrl-C or SIGTERM, then tells clients DISCONNECTED and stops.
pub fn run(ctx: &Ctx, args: LocalArgs) -> Outcome {
    let out = ctx.out;
    let given = ctx.global.key.clone().filter(|k| !k.is_empty());
    let default_key = given.is_none();
    let keys = vec![given.unwrap_or_else(|| DEFAULT_LOCAL_KEY.to_owned())];
    if default_key && !args.listen.ip().is_loopback() {
        out.warn(&format!(
            "{} is reachable from other machines, and the default key is public; \
             give --key for your own",
            args.listen
        ));
    }
    let tls = match &args.tls_dev_ca {
        None => None,
        Some(dir) => Some(TlsIdentity::private_ca_in(dir).map_err(|e| {
            ErrorInfo::new(50000, 500, format!("--tls-dev-ca {}: {e}", dir.display()))
        })?),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let config = Config {
        listen: args.listen,
        keys,
        data_dir: args.data_dir,
        tls,
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ErrorInfo::new(50000, 500, format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let stop = crate::stop::signals()
            .map_err(|e| ErrorInfo::new(50000, 500, format!("cannot handle signals: {e}")))?;
        let server = Server::start(config)
            .await
            .map_err(|e| ErrorInfo::new(50000, 500, format!("cannot start ably-local: {e}")))?;
        let addr = server.addr();
        // User keys show only their name; the default key is public.
        let shown: Vec<String> = server
            .keys()
            .iter()
            .map(|k| match k.split_once(':') {
                Some((name, _)) if !default_key => format!("{name}:…"),
                _ => k.clone(),
            })
            .collect();
        if out.json {
            out.object(&json!({
                "listening": format!("{scheme}://{addr}"),
                "address": addr.to_string(),
                "keys": shown,
            }));
        } else {
            println!("ably-local listening on {scheme}://{addr}");
            for key in &shown {
                println!("key: {key}");
            }
        }
        let hint = if let Some(dir) = &args.tls_dev_ca {
            format!(
                "`ably --endpoint localhost --port {} --tls --tls-ca {}` uses it",
                addr.port(),
                dir.join("ca.pem").display()
            )
        } else if default_key && addr.port() == crate::target::DEFAULT_LOCAL_PORT {
            "other `ably` commands use it with no options".to_owned()
        } else {
            format!(
                "`ably --endpoint {} --port {}` uses it",
                addr.ip(),
                addr.port()
            )
        };
        out.note(&format!(
            "SDKs: endpoint {}, port {}, tls {}, the key above; {hint}; Ctrl-C stops it",
            addr.ip(),
            addr.port(),
            args.tls_dev_ca.is_some()
        ));
        stop.await;
        out.note("ably-local: shutting down");
        server.shutdown().await;
        Ok(())
    })
}
