//! Apps, keys, tokens and capability checks.
//!
//! Tokens are self-contained: `base64url(claims) "." base64url(mac)`, the
//! mac an HMAC-SHA256 of the claims text with the secret of the key that
//! issued them. So the hub keeps no token table, a token stays valid for as
//! long as its key exists, and any hub with the same keys accepts it.

use std::collections::BTreeMap;

use ably_proto::auth::{ApiKey, Capability, TokenDetails, TokenRequest, verify_token_request};
use ably_proto::error::codes;
use ably_proto::{ErrorInfo, Flags};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::limits::AppLimits;

/// Default token lifetime (TK2a): 60 minutes.
pub const DEFAULT_TOKEN_TTL_MS: u64 = 60 * 60 * 1000;
/// Longest token lifetime granted: 24 hours.
pub const MAX_TOKEN_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// How far a TokenRequest timestamp may be from the hub's clock.
pub const TOKEN_REQUEST_WINDOW_MS: i64 = 2 * 60 * 1000;
/// How long used nonces are remembered (longer than the window, both ways).
pub const NONCE_MEMORY_MS: i64 = 2 * TOKEN_REQUEST_WINDOW_MS + 60_000;

/// An app: an id, its keys and its limits. Channels live in the hub,
/// keyed by app.
#[derive(Clone, Debug)]
pub struct App {
    /// The app id, the part of a key name before the dot.
    pub id: String,
    /// Limits over the hub-wide ones (from `POST /apps`).
    pub limits: AppLimits,
    keys: BTreeMap<String, AppKey>,
}

#[derive(Clone, Debug)]
struct AppKey {
    key: ApiKey,
    capability: Capability,
}

impl App {
    /// An app with no keys.
    pub fn new(id: impl Into<String>) -> App {
        App {
            id: id.into(),
            limits: AppLimits::default(),
            keys: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a key with a capability.
    pub fn add_key(&mut self, key: ApiKey, capability: Capability) {
        self.keys
            .insert(key.name().to_owned(), AppKey { key, capability });
    }

    /// The keys, in name order.
    pub fn keys(&self) -> impl Iterator<Item = (&ApiKey, &Capability)> {
        self.keys.values().map(|k| (&k.key, &k.capability))
    }
}

/// What a set of credentials allows: the app, the capability and the
/// clientId a token is bound to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Grant {
    pub app: String,
    pub key_name: String,
    pub capability: Capability,
    /// The token's clientId: `None` anonymous, `Some("*")` any.
    pub token_client_id: Option<String>,
    /// Basic (key) auth: the client may use any clientId.
    pub basic: bool,
    /// Token expiry, ms since the epoch.
    pub expires: Option<i64>,
}

/// Who a connection acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The connection's clientId; never `*`.
    pub client_id: Option<String>,
    /// Whether messages may carry any clientId (key auth, wildcard token).
    pub any_client: bool,
    /// The clientId reported in connectionDetails (`*` for a wildcard
    /// token without one).
    pub reported: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    /// keyName
    k: String,
    /// issued
    i: i64,
    /// expires
    x: i64,
    /// capability (canonical JSON)
    c: String,
    /// clientId
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<String>,
}

fn mac(secret: &str, text: &str) -> Vec<u8> {
    let mut m = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    m.update(text.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn invalid_credentials(why: &str) -> ErrorInfo {
    ErrorInfo::new(codes::INVALID_CREDENTIALS, 401, why)
}

/// The channel modes that a set of allowed operations permits.
pub(crate) fn modes_allowed(ops: &std::collections::BTreeSet<&str>) -> Flags {
    let has = |op: &str| ops.contains("*") || ops.contains(op);
    let mut modes = Flags::NONE;
    if has("publish") {
        modes |= Flags::PUBLISH;
    }
    if has("subscribe") {
        modes |= Flags::SUBSCRIBE;
    }
    if has("presence") {
        modes |= Flags::PRESENCE;
    }
    if has("presence") || has("subscribe") {
        modes |= Flags::PRESENCE_SUBSCRIBE;
    }
    if has("annotation-publish") {
        modes |= Flags::ANNOTATION_PUBLISH;
    }
    if has("annotation-subscribe") {
        modes |= Flags::ANNOTATION_SUBSCRIBE;
    }
    if has("object-subscribe") {
        modes |= Flags::OBJECT_SUBSCRIBE;
    }
    if has("object-publish") {
        modes |= Flags::OBJECT_PUBLISH;
    }
    modes
}

/// The 40160 error for an operation on a channel.
pub(crate) fn denied(operation: &str, channel: &str) -> ErrorInfo {
    ErrorInfo::new(
        codes::CAPABILITY_DENIED,
        401,
        format!("operation '{operation}' not permitted on channel '{channel}' by the capability"),
    )
}

/// The part of `requested` that `granted` covers: every requested resource
/// that one of the granted resources matches keeps the operations both
/// allow. Resources the key does not cover are dropped.
pub(crate) fn intersect(granted: &Capability, requested: &Capability) -> Capability {
    let mut out = Capability::default();
    for (resource, ops) in requested.entries() {
        let ops: Vec<&str> = ops.collect();
        for (g_resource, g_ops) in granted.entries() {
            if !(g_resource == resource || Capability::resource_matches(g_resource, resource)) {
                continue;
            }
            let g_ops: Vec<&str> = g_ops.collect();
            let keep: Vec<&str> = if g_ops.contains(&"*") {
                ops.clone()
            } else if ops.contains(&"*") {
                g_ops.clone()
            } else {
                ops.iter().copied().filter(|o| g_ops.contains(o)).collect()
            };
            for op in keep {
                out.allow(resource, op);
            }
        }
    }
    out
}

/// The apps of a hub and the nonces their keys have signed.
#[derive(Debug, Default)]
pub(crate) struct Auth {
    pub apps: BTreeMap<String, App>,
    nonces: BTreeMap<(String, String), i64>,
}

impl Auth {
    fn find_key(&self, key_name: &str) -> Option<(&App, &AppKey)> {
        let app_id = key_name.split_once('.').map_or(key_name, |(a, _)| a);
        let app = self.apps.get(app_id)?;
        app.keys.get(key_name).map(|k| (app, k))
    }

    /// Checks a key (`appId.keyId:secret`).
    pub fn authenticate_key(&self, key: &str) -> Result<Grant, ErrorInfo> {
        let key = ApiKey::parse(key)?;
        let (app, entry) = self
            .find_key(key.name())
            .ok_or_else(|| invalid_credentials("invalid credentials: unknown key"))?;
        if entry.key.secret() != key.secret() {
            return Err(invalid_credentials("invalid credentials: wrong key secret"));
        }
        Ok(Grant {
            app: app.id.clone(),
            key_name: key.name().to_owned(),
            capability: entry.capability.clone(),
            token_client_id: None,
            basic: true,
            expires: None,
        })
    }

    /// Checks a token issued by [`Auth::issue_token`].
    pub fn authenticate_token(&self, token: &str, now_wall: i64) -> Result<Grant, ErrorInfo> {
        let not_accepted =
            |why: &str| ErrorInfo::new(40140, 401, format!("token not accepted: {why}"));
        let (payload, sig) = token
            .split_once('.')
            .ok_or_else(|| not_accepted("not a token issued by this service"))?;
        let claims: Claims = B64URL
            .decode(payload.as_bytes())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| not_accepted("not a token issued by this service"))?;
        let (app, entry) = self
            .find_key(&claims.k)
            .ok_or_else(|| not_accepted("the key that issued it does not exist here"))?;
        let sig = B64URL
            .decode(sig.as_bytes())
            .map_err(|_| not_accepted("bad signature"))?;
        if sig != mac(entry.key.secret(), payload) {
            return Err(not_accepted("bad signature"));
        }
        if claims.x <= now_wall {
            return Err(ErrorInfo::new(codes::TOKEN_EXPIRED, 401, "token expired"));
        }
        let capability =
            Capability::parse(&claims.c).map_err(|_| not_accepted("bad capability"))?;
        Ok(Grant {
            app: app.id.clone(),
            key_name: claims.k,
            capability,
            token_client_id: claims.u,
            basic: false,
            expires: Some(claims.x),
        })
    }

    /// Issues a token for a key that the caller has already checked.
    pub fn issue_token(
        &self,
        key_name: &str,
        now_wall: i64,
        ttl: Option<u64>,
        capability: Option<&str>,
        client_id: Option<String>,
    ) -> Result<TokenDetails, ErrorInfo> {
        let (_, entry) = self
            .find_key(key_name)
            .ok_or_else(|| invalid_credentials("invalid credentials: unknown key"))?;
        let ttl = ttl.unwrap_or(DEFAULT_TOKEN_TTL_MS);
        if ttl == 0 || ttl > MAX_TOKEN_TTL_MS {
            return Err(ErrorInfo::new(
                40003,
                400,
                format!("invalid ttl {ttl}: must be 1 to {MAX_TOKEN_TTL_MS} ms"),
            ));
        }
        let capability = match capability {
            None => entry.capability.clone(),
            Some(text) => {
                let requested = Capability::parse(text)?;
                let c = intersect(&entry.capability, &requested);
                if c.entries().next().is_none() {
                    return Err(ErrorInfo::new(
                        codes::CAPABILITY_DENIED,
                        401,
                        "the requested capability is not a subset of the key's capability",
                    ));
                }
                c
            }
        };
        if client_id.as_deref() == Some("") {
            return Err(ErrorInfo::new(
                codes::INVALID_CLIENT_ID,
                400,
                "empty clientId",
            ));
        }
        let claims = Claims {
            k: key_name.to_owned(),
            i: now_wall,
            x: now_wall.saturating_add(ttl as i64),
            c: capability.to_canonical_json(),
            u: client_id.clone(),
        };
        let payload = B64URL.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let sig = B64URL.encode(mac(entry.key.secret(), &payload));
        Ok(TokenDetails {
            token: format!("{payload}.{sig}"),
            expires: Some(claims.x),
            issued: Some(claims.i),
            capability: Some(claims.c),
            client_id,
            key_name: Some(key_name.to_owned()),
        })
    }

    /// Exchanges a signed TokenRequest for a token (RSA9):
    /// `POST /keys/{key_name}/requestToken`.
    pub fn request_token(
        &mut self,
        path_key_name: &str,
        req: &TokenRequest,
        now_wall: i64,
    ) -> Result<TokenDetails, ErrorInfo> {
        if req.key_name != path_key_name {
            return Err(ErrorInfo::new(
                40000,
                400,
                "keyName in the TokenRequest differs from the one in the path",
            ));
        }
        let (_, entry) = self
            .find_key(&req.key_name)
            .ok_or_else(|| invalid_credentials("invalid credentials: unknown key"))?;
        if !verify_token_request(req, entry.key.secret()) {
            return Err(invalid_credentials("invalid TokenRequest: bad mac"));
        }
        if req.timestamp.abs_diff(now_wall) > TOKEN_REQUEST_WINDOW_MS.unsigned_abs() {
            return Err(ErrorInfo::new(
                codes::TOKEN_REQUEST_TIMESTAMP_INVALID,
                401,
                "TokenRequest timestamp outside the permitted window",
            ));
        }
        self.nonces.retain(|_, t| *t > now_wall - NONCE_MEMORY_MS);
        let nonce_key = (req.key_name.clone(), req.nonce.clone());
        if self.nonces.contains_key(&nonce_key) {
            return Err(ErrorInfo::new(
                codes::NONCE_REPLAYED,
                401,
                "nonce value replayed",
            ));
        }
        let details = self.issue_token(
            &req.key_name,
            now_wall,
            req.ttl,
            req.capability.as_deref(),
            req.client_id.clone(),
        )?;
        self.nonces.insert(nonce_key, now_wall);
        Ok(details)
    }
}

/// Who a connection acts as, from its grant and the `clientId` it asked for
/// (RSA7, RSA12): 40012 when they conflict.
pub(crate) fn identity(grant: &Grant, requested: Option<&str>) -> Result<Identity, ErrorInfo> {
    let conflict = |why: String| ErrorInfo::new(codes::INVALID_CLIENT_ID, 400, why);
    if requested == Some("*") {
        return Err(conflict(
            "'*' is not a valid clientId for a connection".into(),
        ));
    }
    let requested = requested.map(str::to_owned);
    if grant.basic {
        return Ok(Identity {
            reported: requested.clone(),
            client_id: requested,
            any_client: true,
        });
    }
    match grant.token_client_id.as_deref() {
        Some("*") => Ok(Identity {
            reported: requested.clone().or_else(|| Some("*".into())),
            client_id: requested,
            any_client: true,
        }),
        Some(bound) => match requested {
            Some(r) if r != bound => Err(conflict(format!(
                "clientId '{r}' differs from the token's clientId '{bound}'"
            ))),
            _ => Ok(Identity {
                client_id: Some(bound.to_owned()),
                any_client: false,
                reported: Some(bound.to_owned()),
            }),
        },
        None => match requested {
            Some(r) => Err(conflict(format!(
                "clientId '{r}' given, but the token has no clientId"
            ))),
            None => Ok(Identity {
                client_id: None,
                any_client: false,
                reported: None,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ably_proto::auth::{TokenParams, create_token_request};

    fn auth() -> Auth {
        let mut a = Auth::default();
        let mut app = App::new("app");
        app.add_key(
            ApiKey::parse("app.full:secret").expect("key"),
            Capability::all(),
        );
        app.add_key(
            ApiKey::parse("app.sub:secret2").expect("key"),
            Capability::parse(r#"{"chat:*":["subscribe"]}"#).expect("cap"),
        );
        a.apps.insert("app".into(), app);
        a
    }

    #[test]
    fn keys_are_checked() {
        let a = auth();
        assert!(a.authenticate_key("app.full:secret").is_ok());
        for bad in [
            "app.full:wrong",
            "app.none:secret",
            "other.full:secret",
            "garbage",
        ] {
            assert_eq!(
                a.authenticate_key(bad).expect_err("an error").code,
                40101,
                "{bad}"
            );
        }
    }

    #[test]
    fn token_requests_give_tokens_that_expire() {
        let mut a = auth();
        let key = ApiKey::parse("app.full:secret").expect("key");
        let params = TokenParams {
            ttl: Some(10_000),
            client_id: Some("bob".into()),
            capability: Some(r#"{"x":["publish"]}"#.into()),
            ..TokenParams::default()
        };
        let req = create_token_request(&key, &params, 1_000_000, "0123456789abcdef".into());
        let td = a.request_token("app.full", &req, 1_000_500).expect("token");
        assert_eq!(td.expires, Some(1_010_500));
        let grant = a.authenticate_token(&td.token, 1_005_000).expect("grant");
        assert_eq!(grant.token_client_id.as_deref(), Some("bob"));
        assert!(grant.capability.allows("x", "publish"));
        assert!(!grant.capability.allows("x", "subscribe"));
        assert_eq!(
            a.authenticate_token(&td.token, 1_010_500)
                .expect_err("an error")
                .code,
            40142
        );
        // The nonce is spent; a stale timestamp and a tampered token fail.
        assert_eq!(
            a.request_token("app.full", &req, 1_000_600)
                .expect_err("an error")
                .code,
            40105
        );
        let old = create_token_request(&key, &params, 0, "fedcba9876543210".into());
        assert_eq!(
            a.request_token("app.full", &old, 1_000_600)
                .expect_err("an error")
                .code,
            40104
        );
        let mut forged = td.token.clone();
        forged.insert(3, 'x');
        assert_eq!(
            a.authenticate_token(&forged, 1_005_000)
                .expect_err("an error")
                .code,
            40140
        );
    }

    #[test]
    fn token_capability_is_limited_by_the_key() {
        let a = auth();
        let td = a
            .issue_token(
                "app.sub",
                0,
                None,
                Some(r#"{"chat:a":["subscribe","publish"]}"#),
                None,
            )
            .expect("token");
        assert_eq!(
            td.capability.as_deref(),
            Some(r#"{"chat:a":["subscribe"]}"#)
        );
        let err = a
            .issue_token("app.sub", 0, None, Some(r#"{"other":["*"]}"#), None)
            .expect_err("an error");
        assert_eq!(err.code, 40160);
    }

    #[test]
    fn identities_follow_rsa7() {
        let a = auth();
        let basic = a.authenticate_key("app.full:secret").expect("grant");
        assert_eq!(
            identity(&basic, Some("x"))
                .expect("id")
                .client_id
                .as_deref(),
            Some("x")
        );
        let mut token = basic.clone();
        token.basic = false;
        token.token_client_id = Some("bob".into());
        assert_eq!(
            identity(&token, Some("alice")).expect_err("an error").code,
            40012
        );
        assert!(identity(&token, Some("bob")).is_ok());
        token.token_client_id = Some("*".into());
        let id = identity(&token, None).expect("id");
        assert_eq!((id.reported.as_deref(), id.any_client), (Some("*"), true));
        token.token_client_id = None;
        assert_eq!(
            identity(&token, Some("x")).expect_err("an error").code,
            40012
        );
    }
}
