//! [`ClientOptions`]: the options every adapter shares
//! ([`ably_proto::adapter::Options`]) with the async authCallback.

use std::future::Future;
use std::sync::Arc;

use ably_proto::ErrorInfo;
use ably_proto::auth::TokenParams;
use ably_proto::client::AuthResponse;

use crate::runtime::BoxFuture;

/// Options of a realtime or REST client (TO3), built like the other Ably
/// SDKs' options:
///
/// ```
/// use ably_async::ClientOptions;
/// let opts = ClientOptions::new("appId.keyId:secret")
///     .endpoint("127.0.0.1")
///     .port(8080)
///     .tls(false)
///     .client_id("alice");
/// assert_eq!(opts.core().client_id.as_deref(), Some("alice"));
/// ```
pub type ClientOptions = ably_proto::adapter::Options<AuthCallback>;

/// The authCallback (RSA8d): given the token params, a future of a token
/// string, `TokenDetails` or a signed `TokenRequest`. It runs in a task of
/// its own, never on the driver. Any closure returning such a future
/// converts into it:
///
/// ```
/// use ably_async::{AuthResponse, ClientOptions, TokenParams};
/// let opts = ClientOptions::with_auth_callback(|_: TokenParams| async {
///     Ok(AuthResponse::Token("a token from your auth server".into()))
/// });
/// assert!(opts.auth_callback.is_some());
/// ```
#[derive(Clone)]
pub struct AuthCallback(pub Arc<AuthFn>);

/// The closure inside an [`AuthCallback`].
pub type AuthFn =
    dyn Fn(TokenParams) -> BoxFuture<Result<AuthResponse, ErrorInfo>> + Send + Sync + 'static;

impl<F, Fut> From<F> for AuthCallback
where
    F: Fn(TokenParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AuthResponse, ErrorInfo>> + Send + 'static,
{
    fn from(f: F) -> AuthCallback {
        AuthCallback(Arc::new(move |params| Box::pin(f(params))))
    }
}
