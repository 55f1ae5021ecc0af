//! The service over TLS (`Config::tls`): HTTPS reached by a client that
//! trusts the certificate's CA (ureq, as curl with `--cacert`), refused by
//! one that does not, and handshakes that fail or never start holding up
//! no other client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ably_local::server::{BackgroundServer, Config, Server};
use ably_local::tls::{HANDSHAKE_TIMEOUT, TlsIdentity};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A safety net only: every wait below is on an answer.
const LIMIT: Duration = Duration::from_secs(20);

fn tls_server() -> (BackgroundServer, Vec<u8>) {
    let (identity, root) = TlsIdentity::private_ca().expect("a test CA");
    let config = Config {
        tls: Some(identity),
        ..Config::default()
    };
    (
        BackgroundServer::start(config).expect("ably-local starts"),
        root,
    )
}

/// A ureq agent trusting only `roots` (none: the webpki roots).
fn agent(roots: Option<&[u8]>) -> ureq::Agent {
    let roots = match roots {
        Some(der) => RootCerts::Specific(Arc::new(vec![Certificate::from_der(der).to_owned()])),
        None => RootCerts::WebPki,
    };
    ureq::Agent::config_builder()
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .timeout_global(Some(LIMIT))
        .build()
        .into()
}

/// GET `/time` at `host`; the service's time in ms.
fn time(agent: &ureq::Agent, host: &str, port: u16) -> Result<i64, ureq::Error> {
    let mut response = agent
        .get(format!("https://{host}:{port}/time"))
        .header("Accept", "application/json")
        .call()?;
    let body = response.body_mut().read_to_string()?;
    let times: Vec<i64> = serde_json::from_str(&body).expect("a JSON array");
    Ok(times[0])
}

#[test]
fn https_time_with_the_ca_among_the_roots() {
    let (server, root) = tls_server();
    let port = server.addr().port();
    let agent = agent(Some(&root));
    for host in ["localhost", "127.0.0.1"] {
        let t = time(&agent, host, port).expect("HTTPS /time");
        assert!(t > 1_600_000_000_000, "{host}: {t}");
    }
}

#[test]
fn without_the_ca_the_certificate_is_refused() {
    let (server, _root) = tls_server();
    let e = time(&agent(None), "localhost", server.addr().port()).expect_err("refused");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
}

#[test]
fn plain_http_and_a_silent_client_hold_up_no_one() {
    let (server, root) = tls_server();
    let addr = server.addr();
    // Connected, but never says hello: its handshake waits in a task of
    // its own.
    let _silent = TcpStream::connect(addr).expect("connect");
    let since = Instant::now();
    // Plain HTTP to the TLS port: the handshake fails and the connection
    // is closed with no HTTP answer.
    let mut plain = TcpStream::connect(addr).expect("connect");
    plain.set_read_timeout(Some(LIMIT)).expect("timeout");
    plain
        .write_all(b"GET /time HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    let t = time(&agent(Some(&root)), "localhost", addr.port()).expect("HTTPS /time");
    assert!(t > 1_600_000_000_000);
    // Both were served while the silent client's handshake still waited.
    assert!(
        since.elapsed() < HANDSHAKE_TIMEOUT / 2,
        "{:?}",
        since.elapsed()
    );
}

#[tokio::test]
async fn an_unusable_certificate_or_key_stops_the_start() {
    let (good, _root) = TlsIdentity::private_ca().expect("a test CA");
    let (other, _) = TlsIdentity::private_ca().expect("a test CA");
    let cases = [
        (
            TlsIdentity {
                cert_chain_pem: b"no PEM here".to_vec(),
                ..good.clone()
            },
            "no CERTIFICATE",
        ),
        (
            TlsIdentity {
                key_pem: Vec::new(),
                ..good.clone()
            },
            "TLS key",
        ),
        (
            TlsIdentity {
                key_pem: other.key_pem,
                ..good
            },
            "TLS certificate and key",
        ),
    ];
    for (identity, expected) in cases {
        let config = Config {
            tls: Some(identity),
            ..Config::default()
        };
        let e = Server::start(config).await.expect_err("refused");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains(expected), "{e}");
    }
}
