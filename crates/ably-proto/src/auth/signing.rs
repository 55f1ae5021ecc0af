//! API keys and TokenRequest signing (RSA9) and verification.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::capability::canonical_capability;
use super::token::{TokenParams, TokenRequest};
use crate::ErrorInfo;
use crate::error::codes;

/// An API key `appId.keyId:secret`, split into its name and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    name: String,
    secret: String,
}

impl ApiKey {
    /// Parses `appId.keyId:secret`; a malformed key is 40101.
    pub fn parse(key: &str) -> Result<ApiKey, ErrorInfo> {
        let invalid = || {
            ErrorInfo::new(
                codes::INVALID_CREDENTIALS,
                401,
                "invalid key: expected appId.keyId:secret",
            )
        };
        let (name, secret) = key.split_once(':').ok_or_else(invalid)?;
        let (app, key_id) = name.split_once('.').ok_or_else(invalid)?;
        if app.is_empty() || key_id.is_empty() || secret.is_empty() {
            return Err(invalid());
        }
        Ok(ApiKey {
            name: name.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// `appId.keyId`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        self.name
            .split_once('.')
            .map_or(&self.name[..], |(app, _)| app)
    }

    /// The secret.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The full key text `appId.keyId:secret`.
    pub fn to_key_string(&self) -> String {
        format!("{}:{}", self.name, self.secret)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(f, "ApiKey({}:…)", self.name)
    }
}

/// The text a TokenRequest mac covers (RSA9g): keyName, ttl, capability,
/// clientId, timestamp and nonce, each followed by a newline, absent fields
/// empty.
pub fn signing_text(req: &TokenRequest) -> String {
    let ttl = req.ttl.map(|t| t.to_string()).unwrap_or_default();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n",
        req.key_name,
        ttl,
        req.capability.as_deref().unwrap_or(""),
        req.client_id.as_deref().unwrap_or(""),
        req.timestamp,
        req.nonce
    )
}

fn mac_of(secret: &str, text: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(text.as_bytes());
    mac
}

/// Builds and signs a TokenRequest (RSA9): the capability is canonicalised,
/// `timestamp` defaults to `now_ms`, and `nonce` to the one given (which the
/// caller draws from its RNG, RSA9c).
pub fn create_token_request(
    key: &ApiKey,
    params: &TokenParams,
    now_ms: i64,
    nonce: String,
) -> TokenRequest {
    let mut req = TokenRequest {
        key_name: key.name().to_owned(),
        ttl: params.ttl,
        capability: params.capability.as_deref().map(canonical_capability),
        client_id: params.client_id.clone(),
        timestamp: params.timestamp.unwrap_or(now_ms),
        nonce: params.nonce.clone().unwrap_or(nonce),
        mac: String::new(),
    };
    sign_token_request(&mut req, key.secret());
    req
}

/// Sets `mac` from the other fields and the key secret (RSA9g).
pub fn sign_token_request(req: &mut TokenRequest, secret: &str) {
    let mac = mac_of(secret, &signing_text(req)).finalize().into_bytes();
    req.mac = BASE64.encode(mac);
}

/// Whether `mac` matches the other fields for this secret, compared in
/// constant time.
pub fn verify_token_request(req: &TokenRequest, secret: &str) -> bool {
    let Ok(given) = BASE64.decode(req.mac.as_bytes()) else {
        return false;
    };
    mac_of(secret, &signing_text(req))
        .verify_slice(&given)
        .is_ok()
}

/// A nonce of 16 hex characters from 8 random bytes (RSA9c).
pub fn nonce_from_bytes(bytes: [u8; 8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::parse("app1.key1:s3cret").expect("key")
    }

    #[test]
    fn keys_parse_and_hide_the_secret() {
        let k = key();
        assert_eq!(
            (k.name(), k.app_id(), k.secret()),
            ("app1.key1", "app1", "s3cret")
        );
        assert_eq!(format!("{k:?}"), "ApiKey(app1.key1:…)");
        for bad in ["", "app1.key1", "app1:secret", ".k:s", "a.k:"] {
            assert_eq!(ApiKey::parse(bad).unwrap_err().code, 40101, "{bad}");
        }
    }

    #[test]
    fn signing_text_has_every_field_and_empty_ones_rsa9g() {
        let params = TokenParams {
            ttl: Some(3_600_000),
            capability: Some(r#"{ "b":["subscribe","publish"], "a":["*"] }"#.into()),
            client_id: None,
            ..TokenParams::default()
        };
        let req = create_token_request(
            &key(),
            &params,
            1_700_000_000_000,
            "0123456789abcdef".into(),
        );
        assert_eq!(
            signing_text(&req),
            "app1.key1\n3600000\n{\"a\":[\"*\"],\"b\":[\"publish\",\"subscribe\"]}\n\n1700000000000\n0123456789abcdef\n"
        );
        assert!(verify_token_request(&req, "s3cret"));
        assert!(!verify_token_request(&req, "other"));
    }

    #[test]
    fn mac_matches_an_independent_hmac() {
        // The widely published HMAC-SHA256 example value for this key and text.
        let mac = mac_of("key", "The quick brown fox jumps over the lazy dog")
            .finalize()
            .into_bytes();
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let req = create_token_request(&key(), &TokenParams::default(), 5, "n".repeat(16));
        for tamper in [
            |r: &mut TokenRequest| r.ttl = Some(1),
            |r: &mut TokenRequest| r.capability = Some("{}".into()),
            |r: &mut TokenRequest| r.client_id = Some("x".into()),
            |r: &mut TokenRequest| r.timestamp += 1,
            |r: &mut TokenRequest| r.nonce.push('x'),
            |r: &mut TokenRequest| r.mac = "not base64!".into(),
        ] {
            let mut r = req.clone();
            tamper(&mut r);
            assert!(!verify_token_request(&r, "s3cret"));
        }
    }
}
