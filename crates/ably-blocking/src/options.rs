//! [`ClientOptions`]: the core's options plus what only a driver holds
//! (the authCallback closure).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ably_proto::ErrorInfo;
use ably_proto::auth::{TokenDetails, TokenParams};
use ably_proto::client::{self, AuthResponse, AuthUrl, TokenSource};
use ably_proto::codec::Format;

/// The authCallback (RSA8d): given the token params, returns a token
/// string, [`TokenDetails`] or a signed `TokenRequest`. It runs on a helper
/// thread, so it may block (e.g. on an HTTP call to your auth server).
pub type AuthCallback =
    Arc<dyn Fn(&TokenParams) -> Result<AuthResponse, ErrorInfo> + Send + Sync + 'static>;

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
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) core: client::ClientOptions,
    pub(crate) auth_callback: Option<AuthCallback>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("core", &self.core)
            .field("auth_callback", &self.auth_callback.is_some())
            .finish()
    }
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions::from_core(client::ClientOptions::default())
    }
}

impl ClientOptions {
    /// Options with an API key `appId.keyId:secret` (basic auth, or token
    /// auth with tokens signed locally).
    pub fn new(key: impl Into<String>) -> ClientOptions {
        ClientOptions::from_core(client::ClientOptions::with_key(key))
    }

    /// Options with a token string and no means to renew it (TO3j2).
    pub fn with_token(token: impl Into<String>) -> ClientOptions {
        ClientOptions::from_core(client::ClientOptions::with_token(token))
    }

    /// Options with only an authCallback (RSA8d): every token comes from it.
    pub fn with_auth_callback<F>(callback: F) -> ClientOptions
    where
        F: Fn(&TokenParams) -> Result<AuthResponse, ErrorInfo> + Send + Sync + 'static,
    {
        ClientOptions::default().auth_callback(callback)
    }

    /// Wraps the core's options as they are.
    pub fn from_core(core: client::ClientOptions) -> ClientOptions {
        ClientOptions {
            core,
            auth_callback: None,
        }
    }

    /// The core's options.
    pub fn core(&self) -> &client::ClientOptions {
        &self.core
    }

    /// The core's options, for settings without a builder method here.
    pub fn core_mut(&mut self) -> &mut client::ClientOptions {
        &mut self.core
    }

    /// `main` (the default), another routing policy, or a host name such
    /// as `127.0.0.1` for a local service (REC1).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.core.endpoint = endpoint.into();
        self
    }

    /// The port (default 443 with TLS, 80 without).
    pub fn port(mut self, port: u16) -> Self {
        self.core.port = Some(port);
        self
    }

    /// Whether to use TLS (default true).
    pub fn tls(mut self, tls: bool) -> Self {
        self.core.tls = tls;
        self
    }

    /// The clientId of this client (TO3a).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.core.client_id = Some(client_id.into());
        self
    }

    /// The wire format: MessagePack (default) or JSON.
    pub fn format(mut self, format: Format) -> Self {
        self.core.format = format;
        self
    }

    /// The authCallback (RSA8d); implies token auth.
    pub fn auth_callback<F>(mut self, callback: F) -> Self
    where
        F: Fn(&TokenParams) -> Result<AuthResponse, ErrorInfo> + Send + Sync + 'static,
    {
        self.auth_callback = Some(Arc::new(callback));
        self.core.token_source = TokenSource::Callback;
        self
    }

    /// An authUrl to GET tokens from (RSA8c); implies token auth.
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.core.token_source = TokenSource::Url(AuthUrl {
            url: url.into(),
            ..AuthUrl::default()
        });
        self
    }

    /// A token to start with (TO3j3).
    pub fn token_details(mut self, details: TokenDetails) -> Self {
        self.core.token_details = Some(details);
        self
    }

    /// Use token auth even with a key (TO3j4).
    pub fn use_token_auth(mut self, yes: bool) -> Self {
        self.core.use_token_auth = yes;
        self
    }

    /// Token params for the tokens the client obtains (TO3j11).
    pub fn default_token_params(mut self, params: TokenParams) -> Self {
        self.core.default_token_params = params;
        self
    }

    /// Whether this connection's own messages come back to it (default true).
    pub fn echo_messages(mut self, yes: bool) -> Self {
        self.core.echo_messages = yes;
        self
    }

    /// Connect as soon as the client is created (default true).
    pub fn auto_connect(mut self, yes: bool) -> Self {
        self.core.auto_connect = yes;
        self
    }

    /// Queue messages while not connected (default true).
    pub fn queue_messages(mut self, yes: bool) -> Self {
        self.core.queue_messages = yes;
        self
    }

    /// A recovery key from `create_recovery_key` (RTN16).
    pub fn recover(mut self, key: impl Into<String>) -> Self {
        self.core.recover = Some(key.into());
        self
    }

    /// Fallback hosts (REC2); an empty list disables fallback.
    pub fn fallback_hosts(mut self, hosts: Vec<String>) -> Self {
        self.core.fallback_hosts = Some(hosts);
        self
    }

    /// Retry delay while disconnected (default 15 s).
    pub fn disconnected_retry_timeout(mut self, d: Duration) -> Self {
        self.core.disconnected_retry_timeout = d;
        self
    }

    /// Timeout of realtime requests such as attach (default 10 s).
    pub fn realtime_request_timeout(mut self, d: Duration) -> Self {
        self.core.realtime_request_timeout = d;
        self
    }

    /// Timeout of HTTP requests (default 10 s).
    pub fn http_request_timeout(mut self, d: Duration) -> Self {
        self.core.http_request_timeout = d;
        self
    }

    /// Give REST-published messages library-generated ids (default true).
    pub fn idempotent_rest_publishing(mut self, yes: bool) -> Self {
        self.core.idempotent_rest_publishing = yes;
        self
    }
}
