//! TLS set-up shared by the adapters: rustls with the ring provider and
//! the webpki roots (through tungstenite's and ureq's rustls features, and
//! [`client_config`] for the async adapters' WebSockets).

use std::sync::{Arc, OnceLock};

/// Installs ring as rustls's process-wide crypto provider, if no provider
/// is installed yet. Safe to call any number of times.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The rustls client configuration for `wss://` connections: the webpki
/// roots, no client certificate. Built once and shared.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            install_provider();
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            Arc::new(
                rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_config_is_built_once() {
        let a = super::client_config();
        let b = super::client_config();
        assert!(std::sync::Arc::ptr_eq(&a, &b));
    }
}
