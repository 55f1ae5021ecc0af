//! Which service a command talks to, and with what key: the global
//! options turned into the core's `ClientOptions`.

use std::net::IpAddr;

use ably_proto::ErrorInfo;
use ably_proto::client::ClientOptions;
use ably_proto::codec::Format;

use crate::args::{Global, Protocol};

/// The key `ably local` serves when given none, and the key every other
/// command uses when given no key and no endpoint (or a loopback
/// endpoint). It is public: it only ever guards a service on this machine.
pub const DEFAULT_LOCAL_KEY: &str = "local.dev:ably-local-development-key";

/// The port of the local default target, and of `ably local`.
pub const DEFAULT_LOCAL_PORT: u16 = 8080;

/// The resolved target.
#[derive(Clone, Debug)]
pub struct Target {
    /// Options for the core, without a clientId.
    pub options: ClientOptions,
    /// Set when the default local key is used: a note for stderr.
    pub local_default: Option<String>,
    /// DER certificates to trust besides the webpki roots (`--tls-ca`).
    pub tls_roots: Vec<Vec<u8>>,
}

impl Target {
    /// `host:port` as the client will dial it.
    pub fn address(&self) -> String {
        format!(
            "{}:{}",
            self.options.primary_host(),
            self.options.effective_port()
        )
    }
}

/// Whether a host is this machine.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Resolves the global options:
/// - a key and no endpoint: Ably's main endpoint, TLS;
/// - no key and no endpoint: 127.0.0.1:8080 without TLS and
///   [`DEFAULT_LOCAL_KEY`];
/// - no key and a loopback endpoint: that endpoint with the default key;
/// - no key and another endpoint: error 40101.
///
/// TLS is on except for loopback hosts unless `--tls`/`--no-tls` says.
pub fn resolve(global: &Global) -> Result<Target, ErrorInfo> {
    let key = global.key.clone().filter(|k| !k.is_empty());
    let endpoint = global.endpoint.clone().filter(|e| !e.is_empty());
    let mut options = ClientOptions::default();
    let mut local_default = None;
    match (&key, &endpoint) {
        (Some(key), _) => options.key = Some(key.clone()),
        (None, None) => {
            options.key = Some(DEFAULT_LOCAL_KEY.to_owned());
            options.endpoint = "127.0.0.1".to_owned();
            options.port = Some(DEFAULT_LOCAL_PORT);
            local_default = Some(
                "no --key or --endpoint (nor ABLY_KEY, ABLY_ENDPOINT): using `ably local` \
                 at 127.0.0.1 with its default key"
                    .to_owned(),
            );
        }
        (None, Some(host)) if is_loopback(host) => {
            options.key = Some(DEFAULT_LOCAL_KEY.to_owned());
            local_default = Some(format!(
                "no --key (nor ABLY_KEY): using the default key of `ably local` on {host}"
            ));
        }
        (None, Some(host)) => {
            return Err(ErrorInfo::new(
                40101,
                401,
                format!("no key for {host}: give --key or set ABLY_KEY"),
            ));
        }
    }
    if let Some(endpoint) = endpoint {
        options.endpoint = endpoint;
    }
    if let Some(port) = global.port {
        options.port = Some(port);
    }
    options.tls = if global.tls {
        true
    } else if global.no_tls {
        false
    } else {
        !is_loopback(&options.endpoint)
    };
    options.client_id = global.client_id.clone();
    options.format = match global.protocol {
        Protocol::Json => Format::Json,
        Protocol::Msgpack => Format::MsgPack,
    };
    let tls_roots = match &global.tls_ca {
        None => Vec::new(),
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                ErrorInfo::new(40000, 400, format!("--tls-ca {}: {e}", path.display()))
            })?;
            ably_net::tls::certificates_from_file(&bytes).map_err(|e| {
                ErrorInfo::new(
                    40000,
                    400,
                    format!("--tls-ca {}: {}", path.display(), e.message),
                )
            })?
        }
    };
    Ok(Target {
        options,
        local_default,
        tls_roots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Runtime;

    fn global(key: Option<&str>, endpoint: Option<&str>) -> Global {
        Global {
            key: key.map(Into::into),
            endpoint: endpoint.map(Into::into),
            port: None,
            tls: false,
            no_tls: false,
            tls_ca: None,
            client_id: None,
            protocol: Protocol::Msgpack,
            runtime: Runtime::Blocking,
            json: false,
        }
    }

    #[test]
    fn nothing_given_means_the_local_default() {
        let t = resolve(&global(None, None)).expect("resolves");
        assert_eq!(t.options.key.as_deref(), Some(DEFAULT_LOCAL_KEY));
        assert_eq!(t.address(), "127.0.0.1:8080");
        assert!(!t.options.tls);
        assert!(t.local_default.is_some());
    }

    #[test]
    fn a_key_alone_means_ably_with_tls() {
        let t = resolve(&global(Some("a.b:c"), None)).expect("resolves");
        assert_eq!(t.address(), "main.realtime.ably.net:443");
        assert!(t.options.tls);
        assert!(t.local_default.is_none());
    }

    #[test]
    fn a_loopback_endpoint_without_key_uses_the_default_key_and_no_tls() {
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            let mut g = global(None, Some(host));
            g.port = Some(9000);
            let t = resolve(&g).expect("resolves");
            assert_eq!(t.options.key.as_deref(), Some(DEFAULT_LOCAL_KEY), "{host}");
            assert_eq!(t.options.effective_port(), 9000);
            assert!(!t.options.tls, "{host}");
        }
    }

    #[test]
    fn a_remote_endpoint_needs_a_key() {
        let e = resolve(&global(None, Some("realtime.example.com"))).expect_err("no key");
        assert_eq!(e.code, 40101);
    }

    #[test]
    fn tls_flags_win() {
        let mut g = global(None, None);
        g.tls = true;
        assert!(resolve(&g).expect("resolves").options.tls);
        let mut g = global(Some("a.b:c"), Some("realtime.example.com"));
        g.no_tls = true;
        assert!(!resolve(&g).expect("resolves").options.tls);
    }
}
