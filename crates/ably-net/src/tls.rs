//! TLS set-up shared by the adapters: rustls with the ring provider and
//! the webpki roots (through tungstenite's and ureq's rustls features).

/// Installs ring as rustls's process-wide crypto provider, if no provider
/// is installed yet. Safe to call any number of times.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
