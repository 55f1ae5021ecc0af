//! [`ClientOptions`]: the options every adapter shares
//! ([`ably_proto::adapter::Options`]) with this crate's authCallback.

use std::sync::Arc;

use ably_proto::ErrorInfo;
use ably_proto::auth::TokenParams;
use ably_proto::client::AuthResponse;

/// Options of a [`Realtime`](crate::Realtime) or [`Rest`](crate::Rest)
/// client (TO3), built like the other Ably SDKs' options:
///
/// ```
/// use ably_blocking::ClientOptions;
/// let opts = ClientOptions::new("appId.keyId:secret")
///     .endpoint("127.0.0.1")
///     .port(8080)
///     .tls(false)
///     .client_id("alice");
/// assert_eq!(opts.core().client_id.as_deref(), Some("alice"));
/// ```
pub type ClientOptions = ably_proto::adapter::Options<AuthCallback>;

/// The authCallback (RSA8d): given the token params, returns a token
/// string, `TokenDetails` or a signed `TokenRequest`. It runs on a helper
/// thread, so it may block (e.g. on an HTTP call to your auth server).
/// Any such closure converts into it:
///
/// ```
/// use ably_blocking::ClientOptions;
/// use ably_proto::auth::TokenParams;
/// use ably_proto::client::AuthResponse;
/// let opts = ClientOptions::with_auth_callback(|_: &TokenParams| {
///     Ok(AuthResponse::Token("a token from your auth server".into()))
/// });
/// assert!(opts.auth_callback.is_some());
/// ```
#[derive(Clone)]
pub struct AuthCallback(pub Arc<AuthFn>);

/// The closure inside an [`AuthCallback`].
pub type AuthFn = dyn Fn(&TokenParams) -> Result<AuthResponse, ErrorInfo> + Send + Sync + 'static;

impl<F> From<F> for AuthCallback
where
    F: Fn(&TokenParams) -> Result<AuthResponse, ErrorInfo> + Send + Sync + 'static,
{
    fn from(f: F) -> AuthCallback {
        AuthCallback(Arc::new(f))
    }
}
