//! TLS for the service: given a [`TlsIdentity`] (a PEM certificate chain
//! and its key), the one port speaks HTTPS and WSS instead of HTTP and WS;
//! the WebSocket, REST, SSE and event-stream endpoints are the same.
//!
//! `TlsListener` is the listener the HTTP server accepts from: it takes
//! TCP connections and runs each TLS handshake in a task of its own, so a
//! client that is slow to shake hands holds up no other. Handshakes under
//! way are bounded ([`MAX_HANDSHAKES`]; past that no connection is taken
//! until one ends) and each has [`HANDSHAKE_TIMEOUT`] to complete.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// TLS handshakes under way at once, at most.
pub const MAX_HANDSHAKES: usize = 256;
/// How long a client has to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate chain (leaf first) and private key the service
/// presents, both PEM. The key may be PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
#[derive(Clone)]
pub struct TlsIdentity {
    /// `CERTIFICATE` sections, the service's own first.
    pub cert_chain_pem: Vec<u8>,
    /// One `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` section.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_chain_pem", &self.cert_chain_pem.len())
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Reads the certificate chain and the key from PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> io::Result<TlsIdentity> {
        let read = |what: &str, path: &Path| {
            std::fs::read(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{what} {}: {e}", path.display())))
        };
        Ok(TlsIdentity {
            cert_chain_pem: read("TLS certificate", cert)?,
            key_pem: read("TLS key", key)?,
        })
    }

    /// A new private CA and a certificate it signed for `localhost` and
    /// `127.0.0.1`: the identity to serve, and the CA's certificate (DER)
    /// for clients to trust (`tls_root_certificates`). For tests and local
    /// development; the adapters' TLS tests use it.
    pub fn private_ca() -> Result<(TlsIdentity, Vec<u8>), rcgen::Error> {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "ably-local test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate()?)?;
        let key = rcgen::KeyPair::generate()?;
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?
            .signed_by(&key, &ca)?;
        let identity = TlsIdentity {
            cert_chain_pem: leaf.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
        };
        Ok((identity, ca.der().to_vec()))
    }

    /// [`TlsIdentity::private_ca`], with the CA's certificate written to
    /// `dir` (created if needed) as `ca.pem` and `ca.der`, for clients to
    /// trust: `NODE_EXTRA_CA_CERTS=dir/ca.pem` for Node.js (ably-js),
    /// `tls_root_certificates` with `ca.der` for this project's clients,
    /// `curl --cacert dir/ca.pem`. What `ably-local --tls-dev-ca DIR`
    /// serves.
    pub fn private_ca_in(dir: &Path) -> io::Result<TlsIdentity> {
        use base64::Engine as _;
        let (identity, ca_der) = TlsIdentity::private_ca().map_err(io::Error::other)?;
        std::fs::create_dir_all(dir)?;
        let body = base64::engine::general_purpose::STANDARD.encode(&ca_der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).map_err(io::Error::other)?);
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        std::fs::write(dir.join("ca.der"), &ca_der)?;
        std::fs::write(dir.join("ca.pem"), pem)?;
        Ok(identity)
    }

    /// The rustls server configuration (ring, TLS 1.2 and 1.3, HTTP/1.1
    /// by ALPN). Fails with `InvalidInput` naming what cannot be used.
    pub fn server_config(&self) -> io::Result<Arc<ServerConfig>> {
        let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
        let chain = CertificateDer::pem_slice_iter(&self.cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("TLS certificate: {e}")))?;
        if chain.is_empty() {
            return Err(invalid("TLS certificate: no CERTIFICATE in the PEM".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| invalid(format!("TLS key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(format!("TLS certificate and key: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The outcome of one handshake: the stream and the peer, or nothing
/// (it failed or timed out; the client sees its connection close).
type Handshake = Option<(TlsStream<TcpStream>, SocketAddr)>;

/// TCP connections in, TLS streams out (see the module docs).
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Handshake>,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let room = self.handshakes.len() < MAX_HANDSHAKES;
            tokio::select! {
                // Retries by itself after errors, as for plain TCP.
                (tcp, peer) = Listener::accept(&mut self.tcp), if room => {
                    // Small frames go out at once (no Nagle delay).
                    let _ = tcp.set_nodelay(true);
                    let handshake = self.acceptor.accept(tcp);
                    self.handshakes.spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                            Ok(Ok(stream)) => Some((stream, peer)),
                            _ => None,
                        }
                    });
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(accepted)) = done {
                        return accepted;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}
