//! [`Options`]: the client options of every adapter (TO3), generic over
//! the adapter's authCallback type, with the builder methods users know
//! from the other Ably SDKs.

use std::time::Duration;

use crate::auth::{TokenDetails, TokenParams};
use crate::client::{self, AuthUrl, TokenSource};
use crate::codec::Format;

/// The core's options plus the authCallback, which only a driver can call.
/// `C` is the adapter's callback type: a blocking closure, or one that
/// returns a future. Adapters name it `ClientOptions`:
///
/// ```
/// type ClientOptions = ably_proto::adapter::Options<()>;
/// let opts = ClientOptions::new("appId.keyId:secret")
///     .endpoint("127.0.0.1")
///     .port(8080)
///     .tls(false)
///     .client_id("alice");
/// assert_eq!(opts.core().client_id.as_deref(), Some("alice"));
/// ```
#[derive(Clone)]
pub struct Options<C> {
    /// The core's options.
    pub core: client::ClientOptions,
    /// The authCallback (RSA8d), if any.
    pub auth_callback: Option<C>,
    /// Root certificates (DER) trusted besides the webpki roots; see
    /// [`Options::tls_root_certificates`].
    pub tls_root_certificates: Vec<Vec<u8>>,
    /// How many unread events one subscription holds at most; see
    /// [`Options::subscription_capacity`].
    pub subscription_capacity: usize,
}

/// The default of [`Options::subscription_capacity`].
pub const DEFAULT_SUBSCRIPTION_CAPACITY: usize = 100_000;

impl<C> std::fmt::Debug for Options<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("core", &self.core)
            .field("auth_callback", &self.auth_callback.is_some())
            .field("tls_root_certificates", &self.tls_root_certificates.len())
            .field("subscription_capacity", &self.subscription_capacity)
            .finish()
    }
}

impl<C> Default for Options<C> {
    fn default() -> Self {
        Options::from_core(client::ClientOptions::default())
    }
}

impl<C> Options<C> {
    /// Options with an API key `appId.keyId:secret` (basic auth, or token
    /// auth with tokens signed locally).
    pub fn new(key: impl Into<String>) -> Self {
        Options::from_core(client::ClientOptions::with_key(key))
    }

    /// Options with a token string and no means to renew it (TO3j2).
    pub fn with_token(token: impl Into<String>) -> Self {
        Options::from_core(client::ClientOptions::with_token(token))
    }

    /// Options with only an authCallback (RSA8d): every token comes from
    /// it. See [`Options::auth_callback`].
    pub fn with_auth_callback<F>(callback: F) -> Self
    where
        C: From<F>,
    {
        Options::default().auth_callback(callback)
    }

    /// Wraps the core's options as they are.
    pub fn from_core(core: client::ClientOptions) -> Self {
        Options {
            core,
            auth_callback: None,
            tls_root_certificates: Vec::new(),
            subscription_capacity: DEFAULT_SUBSCRIPTION_CAPACITY,
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

    /// The authCallback (RSA8d); implies token auth. Anything the
    /// adapter's callback type converts from: a closure taking
    /// `&TokenParams` in the blocking adapter, one returning a future in
    /// the async ones (give the closure's parameter type).
    pub fn auth_callback<F>(mut self, callback: F) -> Self
    where
        C: From<F>,
    {
        self.auth_callback = Some(C::from(callback));
        self.core.token_source = TokenSource::Callback;
        self
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

    /// Root certificates, each DER-encoded, that TLS connections (the
    /// `wss://` WebSocket, REST and SSE over `https://`) trust besides the
    /// webpki (Mozilla) roots: a private CA, or the CA of an ably-local
    /// serving TLS. Replaces any given before; a certificate that cannot
    /// be read makes the client constructor fail with 40000. A PEM file
    /// holds the same bytes in base64 between `-----BEGIN CERTIFICATE-----`
    /// lines.
    pub fn tls_root_certificates(mut self, der: Vec<Vec<u8>>) -> Self {
        self.tls_root_certificates = der;
        self
    }

    /// How many events (messages, presence events, state changes) one
    /// subscription holds unread, at most (default
    /// [`DEFAULT_SUBSCRIPTION_CAPACITY`]; 0 counts as 1). An event that
    /// finds its subscription full ends that subscription instead of
    /// growing it without bound: the reader gets every event queued
    /// before, then the end, and the subscription's `error()` is 80020
    /// (continuity lost). The client and its other subscriptions go on.
    /// Subscribe again, with history or rewind to fill the gap.
    pub fn subscription_capacity(mut self, capacity: usize) -> Self {
        self.subscription_capacity = capacity.max(1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_holds_at_least_one_event() {
        let opts = Options::<()>::new("a.b:c");
        assert_eq!(opts.subscription_capacity, DEFAULT_SUBSCRIPTION_CAPACITY);
        assert_eq!(opts.subscription_capacity(0).subscription_capacity, 1);
    }
}
