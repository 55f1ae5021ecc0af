//! TLS set-up shared by the adapters: rustls with the ring provider,
//! trusting the webpki roots and a client's extra roots
//! (`ClientOptions::tls_root_certificates`). A [`Trust`] gives both the
//! rustls configuration of the `wss://` WebSockets and the roots of the
//! ureq agents (REST and SSE over `https://`), so that every connection of
//! a client trusts the same certificates.

use std::sync::{Arc, Mutex, OnceLock};

use ably_proto::ErrorInfo;
use rustls::pki_types::CertificateDer;
use ureq::tls::{Certificate, RootCerts};

/// rustls's client configuration, as [`Trust::client_config`] gives it.
pub use rustls::ClientConfig;

/// Sets of extra roots kept built; beyond that the oldest is dropped.
const CACHED_SETS: usize = 8;

/// Installs ring as rustls's process-wide crypto provider, if no provider
/// is installed yet. Safe to call any number of times.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The certificates in a file's bytes, DER-encoded, for
/// `tls_root_certificates`: every `CERTIFICATE` of a PEM file, or the
/// bytes themselves when they are not PEM (one DER certificate). PEM with
/// no certificate, or that cannot be read, is a 40000 error.
pub fn certificates_from_file(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ErrorInfo> {
    use rustls::pki_types::pem::PemObject as _;
    let bad = |what: String| ErrorInfo::new(40000, 400, what);
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(vec![bytes.to_vec()]);
    }
    let certs = CertificateDer::pem_slice_iter(bytes)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no CERTIFICATE in the PEM file".into()));
    }
    Ok(certs)
}

/// The roots a client's TLS connections trust: the webpki (Mozilla) roots
/// plus the extra ones of its options. Cheap to clone; the webpki-only
/// trust is built once per process, and clients with the same extra roots
/// share theirs.
#[derive(Clone)]
pub struct Trust {
    config: Arc<ClientConfig>,
    http: RootCerts,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roots = match &self.http {
            RootCerts::Specific(certs) => certs.len(),
            _ => webpki_roots::TLS_SERVER_ROOTS.len(),
        };
        f.debug_struct("Trust").field("roots", &roots).finish()
    }
}

impl Trust {
    /// The webpki roots only.
    pub fn webpki() -> Trust {
        static WEBPKI: OnceLock<Trust> = OnceLock::new();
        WEBPKI
            .get_or_init(|| Trust {
                config: config_with(webpki_store()),
                http: RootCerts::WebPki,
            })
            .clone()
    }

    /// The webpki roots plus `extra` (DER certificates); the webpki roots
    /// only when `extra` is empty. A certificate that cannot be read is a
    /// 40000 error naming its index.
    pub fn with_extra_roots(extra: &[Vec<u8>]) -> Result<Trust, ErrorInfo> {
        if extra.is_empty() {
            return Ok(Trust::webpki());
        }
        static CACHE: Mutex<Cache> = Mutex::new(Cache { sets: Vec::new() });
        CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(extra)
    }

    fn build(extra: &[Vec<u8>]) -> Result<Trust, ErrorInfo> {
        let mut store = webpki_store();
        for (i, der) in extra.iter().enumerate() {
            store
                .add(CertificateDer::from(der.as_slice()))
                .map_err(|e| {
                    ErrorInfo::new(
                        40000,
                        400,
                        format!("tls_root_certificates[{i}] is not a usable DER certificate: {e}"),
                    )
                })?;
        }
        // ureq takes whole certificates, not trust anchors: the same
        // Mozilla set in that form, then the extra ones.
        let certs = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()))
            .chain(
                extra
                    .iter()
                    .map(|der| Certificate::from_der(der).to_owned()),
            )
            .collect::<Vec<_>>();
        Ok(Trust {
            config: config_with(store),
            http: RootCerts::Specific(Arc::new(certs)),
        })
    }

    /// The rustls client configuration for `wss://` connections: these
    /// roots, no client certificate.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// The roots of a ureq agent.
    pub(crate) fn http_roots(&self) -> RootCerts {
        self.http.clone()
    }
}

/// The built sets of extra roots, the oldest first.
struct Cache {
    sets: Vec<(Vec<Vec<u8>>, Trust)>,
}

impl Cache {
    /// The trust of `extra`, built if it is not kept.
    fn get(&mut self, extra: &[Vec<u8>]) -> Result<Trust, ErrorInfo> {
        if let Some((_, trust)) = self.sets.iter().find(|(set, _)| set.as_slice() == extra) {
            return Ok(trust.clone());
        }
        let trust = Trust::build(extra)?;
        if self.sets.len() == CACHED_SETS {
            self.sets.remove(0);
        }
        self.sets.push((extra.to_vec(), trust.clone()));
        Ok(trust)
    }
}

/// The webpki roots as a rustls store.
fn webpki_store() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn config_with(roots: rustls::RootCertStore) -> Arc<ClientConfig> {
    install_provider();
    Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// The rustls client configuration with the webpki roots only, built once
/// and shared (that of [`Trust::webpki`]).
pub fn client_config() -> Arc<ClientConfig> {
    Trust::webpki().client_config()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_come_from_pem_or_der_files() {
        use base64::Engine as _;
        let a = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].to_vec();
        let b = webpki_root_certs::TLS_SERVER_ROOT_CERTS[1].to_vec();
        let pem = |der: &[u8]| {
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            let lines: Vec<&str> = body
                .as_bytes()
                .chunks(64)
                .map(|l| std::str::from_utf8(l).expect("base64"))
                .collect();
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                lines.join("\n")
            )
        };
        let both = format!("{}{}", pem(&a), pem(&b));
        assert_eq!(
            certificates_from_file(both.as_bytes()).expect("PEM"),
            vec![a.clone(), b]
        );
        assert_eq!(certificates_from_file(&a).expect("DER"), vec![a]);
        let none = certificates_from_file(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .expect_err("no certificate");
        assert_eq!(none.code, 40000);
    }

    #[test]
    fn the_webpki_config_is_built_once() {
        let a = client_config();
        let b = Trust::with_extra_roots(&[])
            .expect("no extra roots")
            .client_config();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_set_of_extra_roots_is_built_once_and_adds_to_the_webpki_roots() {
        // A webpki root in certificate form stands in for a private CA.
        let extra = vec![webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].to_vec()];
        let a = Trust::with_extra_roots(&extra).expect("a usable root");
        let b = Trust::with_extra_roots(&extra).expect("a usable root");
        assert!(Arc::ptr_eq(&a.client_config(), &b.client_config()));
        assert!(!Arc::ptr_eq(&a.client_config(), &client_config()));
        match a.http_roots() {
            RootCerts::Specific(certs) => {
                assert_eq!(
                    certs.len(),
                    webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() + 1
                );
                assert_eq!(certs.last().map(|c| c.der()), Some(extra[0].as_slice()));
            }
            other => panic!("expected specific roots, got {other:?}"),
        }
        assert!(matches!(Trust::webpki().http_roots(), RootCerts::WebPki));
    }

    #[test]
    fn an_unreadable_root_is_a_40000_error_naming_it() {
        let good = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].to_vec();
        let e = Trust::with_extra_roots(&[good, b"not DER".to_vec()]).expect_err("refused");
        assert_eq!(e.code, 40000);
        assert!(e.message.contains("tls_root_certificates[1]"), "{e}");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        let mut cache = Cache { sets: Vec::new() };
        let first = vec![roots[1].to_vec()];
        let kept = cache.get(&first).expect("usable");
        let same = cache.get(&first).expect("usable");
        assert!(Arc::ptr_eq(&kept.client_config(), &same.client_config()));
        for c in roots.iter().skip(2).take(CACHED_SETS) {
            cache.get(&[c.to_vec()]).expect("usable");
        }
        assert_eq!(cache.sets.len(), CACHED_SETS);
        let again = cache.get(&first).expect("usable");
        assert!(
            !Arc::ptr_eq(&kept.client_config(), &again.client_config()),
            "the oldest set was dropped and built anew"
        );
    }
}
