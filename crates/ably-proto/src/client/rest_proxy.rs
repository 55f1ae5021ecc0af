//! The realtime client's REST proxy (RTC5, RTC6, RTC9, RTL10, RTL28,
//! RTL31, RTP12, RSA8): [`Command::Rest`](super::Command::Rest),
//! [`Command::RequestToken`](super::Command::RequestToken) and the
//! `authorize()` of a REST client (RSA10) run the plain machinery of
//! [`crate::rest`] with the client's credentials, RNG and clock, and never
//! touch the connection state.
//!
//! Each operation is a [`RestCall`] across hosts (the connection's host
//! first while connected, RTN17e; else a fallback that recently worked,
//! RSC15f; else the primary), each attempt an [`Output::Http`] with a
//! deadline of `http_request_timeout`. A token is obtained first when the
//! client uses token auth and has none, and renewed once when the service
//! rejects it (RSA4b); a token obtained so is kept for the connection too.
//! A TokenRequest signed with queryTime waits for `GET /time` first, once
//! per client (RSA9d, RSA10k).

use std::collections::BTreeMap;

use rand_core::RngCore;

use crate::ErrorInfo;
use crate::auth::{TokenDetails, TokenParams};
use crate::error::codes;
use crate::rest::{
    CallStep, REQUEST_ID, RestAuth, RestCall, RestOp, RestResult, TokenFetch, TokenStep,
    decode_payloads, decode_presence_payloads, rest_hosts,
};

use super::time::Instant;
use super::{
    AuthOptions, AuthResponse, Client, ClientOptions, Completion, ConnectionState, Event,
    HttpResponse, LogLevel, LogRecord, OpId, Output, RequestId, TokenSource,
};

/// REST operations in progress.
#[derive(Debug, Default)]
pub(crate) struct RestProxy {
    calls: BTreeMap<OpId, Call>,
    /// Driver requests (HTTP or authCallback) awaited, by id.
    requests: BTreeMap<RequestId, OpId>,
    /// A fallback host that answered, and until when it goes first (RSC15f).
    fallback: Option<(String, Instant)>,
}

/// What an operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A REST request (`Command::Rest`).
    Rest,
    /// `requestToken()` (RSA8): the token is only returned.
    RequestToken,
    /// `authorize()` of a REST client (RSA10): the token is stored.
    Authorize,
}

/// One operation.
#[derive(Debug)]
struct Call {
    kind: Kind,
    /// The request across hosts; `None` for `requestToken` and `authorize`.
    call: Option<RestCall>,
    /// A token being obtained.
    token: Option<TokenFetch>,
    /// `GET /time` across hosts before signing, and the params to sign
    /// with (RSA9d, RSA10k).
    time: Option<(RestCall, TokenParams)>,
    /// Options with the AuthOptions of this call in place of the client's
    /// (RSA8e); `None` uses the client's.
    opts: Option<Box<ClientOptions>>,
    /// The driver request awaited and its deadline.
    waiting: Option<(RequestId, Instant)>,
    /// When the first attempt started, for httpMaxRetryDuration (TO3l6).
    started: Instant,
    /// A token was just obtained for this call: use it as it is.
    fresh_token: bool,
}

impl Call {
    fn new(kind: Kind, call: Option<RestCall>, started: Instant) -> Call {
        Call {
            kind,
            call,
            token: None,
            time: None,
            opts: None,
            waiting: None,
            started,
            fresh_token: false,
        }
    }
}

/// The options a call runs with: its own AuthOptions applied, or the
/// client's.
fn opts_of<'a>(
    calls: &'a BTreeMap<OpId, Call>,
    op: OpId,
    client: &'a ClientOptions,
) -> &'a ClientOptions {
    calls
        .get(&op)
        .and_then(|c| c.opts.as_deref())
        .unwrap_or(client)
}

impl RestProxy {
    /// Whether a driver request belongs to a REST operation.
    pub(crate) fn owns(&self, request: RequestId) -> bool {
        self.requests.contains_key(&request)
    }

    /// The earliest deadline of the requests awaited.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|c| c.waiting.map(|(_, at)| at))
            .min()
    }
}

impl Client {
    /// `Command::Rest`.
    pub(crate) fn on_command_rest(&mut self, op: OpId, mut rest: RestOp) {
        if let RestOp::History { channel, params } = &mut rest {
            if params.until_attach {
                // RTL10b: bounded by the attachSerial; attached channels only.
                match self
                    .until_attach_serial(channel)
                    .map(|s| s.map(str::to_owned))
                {
                    Ok(serial) => {
                        params.from_serial = serial;
                        params.until_attach = false;
                    }
                    Err(e) => return self.complete(op, Err(e)),
                }
            }
        }
        let request = match rest.prepare(&self.opts, &mut self.rng) {
            Ok(r) => r,
            Err(e) => return self.complete(op, Err(e)),
        };
        let preferred = self.rest_preferred_host();
        let hosts = rest_hosts(&self.opts, preferred.as_deref(), &mut self.rng);
        let call = Call::new(
            Kind::Rest,
            Some(RestCall::new(request, hosts)),
            self.now.instant,
        );
        self.rest.calls.insert(op, call);
        self.rest_send(op);
    }

    /// `Command::RequestToken` and `Command::RequestTokenWith` (RSA8).
    pub(crate) fn on_command_request_token(
        &mut self,
        op: OpId,
        params: Option<TokenParams>,
        options: Option<AuthOptions>,
    ) {
        // RSA8e: given params and options replace the stored ones, for
        // this token only.
        let params = params.unwrap_or_else(|| self.auth.token_params().clone());
        let mut call = Call::new(Kind::RequestToken, None, self.now.instant);
        call.opts = options.map(|o| {
            let mut opts = o.apply(&self.opts);
            opts.query_time = o.query_time;
            Box::new(opts)
        });
        self.rest.calls.insert(op, call);
        self.rest_fetch_token(op, params, false);
    }

    /// `authorize()` of a REST client (RSA10), once its params and
    /// options are stored: a token given in the options is used as it is
    /// (RSA10e); otherwise a new one is obtained by the stored means
    /// (RSA10a, RSA10j) and then used for every request (RSA16c, RSA7). A
    /// switch to basic auth (`basic`) completes at once.
    pub(crate) fn rest_authorize(
        &mut self,
        op: OpId,
        given: Option<TokenDetails>,
        basic: bool,
        query_time: bool,
    ) {
        if basic {
            return self.complete(op, Ok(Completion::Done));
        }
        if let Some(details) = given {
            self.use_authorized_token(details.clone());
            return self.complete(op, Ok(Completion::Authorized(Box::new(details))));
        }
        let params = self.auth.token_params().clone();
        let call = Call::new(Kind::Authorize, None, self.now.instant);
        self.rest.calls.insert(op, call);
        self.rest_fetch_token(op, params, query_time);
    }

    /// Uses a token from `authorize()` from now on (RSA10a, RSA16c).
    fn use_authorized_token(&mut self, details: TokenDetails) {
        self.opts.use_token_auth = true;
        self.auth.adopt_token(details);
    }

    /// RTN17e: the connection's host while connected; else RSC15f: a
    /// fallback that answered within fallbackRetryTimeout.
    fn rest_preferred_host(&mut self) -> Option<String> {
        if self.state == ConnectionState::Connected {
            if let Some(host) = self.hosts.get(self.host_index) {
                return Some(host.clone());
            }
        }
        match &self.rest.fallback {
            Some((host, until)) if *until > self.now.instant => Some(host.clone()),
            Some(_) => {
                self.rest.fallback = None;
                None
            }
            None => None,
        }
    }

    /// Sends the current attempt of a call, obtaining a token first if
    /// the client uses token auth and has no usable one.
    fn rest_send(&mut self, op: OpId) {
        let Some(entry) = self.rest.calls.get(&op) else {
            return;
        };
        let Some(call) = &entry.call else { return };
        let authenticated = call.request().authenticated;
        let token_auth = self.auth.uses_token();
        if authenticated
            && token_auth
            && !entry.fresh_token
            && self.auth.needs_token(self.now.wall_ms)
        {
            let params = self.auth.token_params().clone();
            return self.rest_fetch_token(op, params, false);
        }
        if authenticated
            && token_auth
            && !self.auth.can_renew()
            && self.auth.token_expired(self.now.wall_ms)
        {
            // RSA4a2: known expired and not renewable; nothing is sent.
            let err = ErrorInfo::new(
                codes::NO_MEANS_TO_RENEW,
                401,
                "the token has expired and there is no means to renew it (RSA4a2)",
            );
            return self.rest_finish(op, Err(err));
        }
        let key = self.auth.key_string();
        let token = self.auth.token_string();
        let auth = match (token_auth, token, key.as_deref()) {
            (true, Some(t), _) => RestAuth::Bearer(t),
            (_, _, Some(k)) => RestAuth::Basic(k),
            (_, Some(t), None) => RestAuth::Bearer(t),
            (_, None, None) => RestAuth::None,
        };
        let http = call.http(&self.opts, auth);
        let request = self.next_request_id();
        self.rest_wait(op, request, self.opts.http_request_timeout);
        self.outputs.push_back(Output::Http { request, http });
    }

    fn rest_wait(&mut self, op: OpId, request: RequestId, timeout: std::time::Duration) {
        if let Some(entry) = self.rest.calls.get_mut(&op) {
            entry.waiting = Some((request, self.now.instant + timeout));
            self.rest.requests.insert(request, op);
        }
    }

    /// Obtains a token for a call; a TokenRequest to sign with the key
    /// under queryTime (the call's options, or `query_once`) waits for the
    /// service time first, unless its offset is known (RSA9d, RSA10k).
    fn rest_fetch_token(&mut self, op: OpId, params: TokenParams, query_once: bool) {
        let preferred = self.rest_preferred_host();
        let opts = opts_of(&self.rest.calls, op, &self.opts);
        let signs = opts.token_source == TokenSource::None && opts.key.is_some();
        if !(signs && self.auth.must_query_time(opts.query_time || query_once)) {
            return self.rest_start_fetch(op, params);
        }
        let request = match RestOp::Time.prepare(opts, &mut self.rng) {
            Ok(r) => r,
            Err(e) => return self.rest_finish(op, Err(e)),
        };
        let hosts = rest_hosts(opts, preferred.as_deref(), &mut self.rng);
        if let Some(entry) = self.rest.calls.get_mut(&op) {
            entry.time = Some((RestCall::new(request, hosts), params));
        }
        self.rest_send_time(op);
    }

    /// Starts the token pipeline of a call, signing at the service's time
    /// as far as known (RSA10k).
    fn rest_start_fetch(&mut self, op: OpId, params: TokenParams) {
        let mut nonce = [0u8; 8];
        self.rng.fill_bytes(&mut nonce);
        let now = self.auth.server_now(self.now.wall_ms);
        let opts = opts_of(&self.rest.calls, op, &self.opts);
        let (fetch, step) = TokenFetch::start(opts, params, now, nonce);
        if let Some(entry) = self.rest.calls.get_mut(&op) {
            entry.token = Some(fetch);
        }
        self.rest_token_step(op, step);
    }

    /// Sends the current attempt of a call's `GET /time`.
    fn rest_send_time(&mut self, op: OpId) {
        let Some(entry) = self.rest.calls.get(&op) else {
            return;
        };
        let Some((call, _)) = &entry.time else { return };
        let http = call.http(entry.opts.as_deref().unwrap_or(&self.opts), RestAuth::None);
        let request = self.next_request_id();
        self.rest_wait(op, request, self.opts.http_request_timeout);
        self.outputs.push_back(Output::Http { request, http });
    }

    /// The answer to `GET /time`: another host, or the offset kept and
    /// the token pipeline started (RSA10k); a failure fails the call.
    fn rest_time_answer(&mut self, op: OpId, result: Result<HttpResponse, ErrorInfo>) {
        let Some(entry) = self.rest.calls.get_mut(&op) else {
            return;
        };
        let elapsed = self.now.instant.saturating_since(entry.started);
        let opts = entry.opts.as_deref().unwrap_or(&self.opts);
        let Some((call, _)) = entry.time.as_mut() else {
            return;
        };
        let time = match call.on_response(result, elapsed, opts) {
            CallStep::Retry => return self.rest_send_time(op),
            CallStep::TokenError(e) => Err(e),
            CallStep::Done(result) => result.and_then(|r| call.request().decode(&r)),
        };
        let params = entry.time.take().map(|(_, p)| p).unwrap_or_default();
        match time {
            Ok(RestResult::Time(ms)) => {
                self.auth.set_server_time(ms, self.now.wall_ms);
                self.rest_start_fetch(op, params);
            }
            Ok(_) => {
                let err = ErrorInfo::new(codes::INTERNAL, 500, "the time response holds no time");
                self.rest_finish(op, Err(err));
            }
            Err(e) => self.rest_finish(op, Err(e)),
        }
    }

    fn rest_token_step(&mut self, op: OpId, step: TokenStep) {
        match step {
            TokenStep::Callback(params) => {
                let request = self.next_request_id();
                self.rest_wait(op, request, self.opts.realtime_request_timeout);
                self.outputs
                    .push_back(Output::FetchToken { request, params });
            }
            TokenStep::Http(mut http) => {
                let exchange = self
                    .rest
                    .calls
                    .get(&op)
                    .and_then(|c| c.token.as_ref())
                    .is_some_and(TokenFetch::awaits_exchange);
                if exchange && self.opts.add_request_ids {
                    // RSC7c: the token request is a REST request to Ably too.
                    let sep = if http.url.contains('?') { '&' } else { '?' };
                    let id = crate::rest::id_base(&mut self.rng);
                    http.url = format!("{}{sep}{REQUEST_ID}={id}", http.url);
                }
                let request = self.next_request_id();
                self.rest_wait(op, request, self.opts.http_request_timeout);
                self.outputs.push_back(Output::Http { request, http });
            }
            TokenStep::Done(result) => {
                let Some(entry) = self.rest.calls.get_mut(&op) else {
                    return;
                };
                entry.token = None;
                match (entry.kind, result) {
                    (Kind::Rest, Ok(details)) => {
                        entry.fresh_token = true;
                        self.auth.adopt_token(details);
                        self.rest_send(op);
                    }
                    (Kind::RequestToken, Ok(details)) => {
                        self.rest_finish(op, Ok(RestResult::Token(details)))
                    }
                    (Kind::Authorize, Ok(details)) => {
                        self.use_authorized_token(details.clone());
                        self.rest_finish(op, Ok(RestResult::Token(details)));
                    }
                    // RSA10l: a refused token request fails with its own error.
                    (_, Err(e)) => self.rest_finish(op, Err(e)),
                }
            }
        }
    }

    /// The authCallback answered a token request of a REST operation.
    pub(crate) fn on_rest_token(
        &mut self,
        request: RequestId,
        result: Result<AuthResponse, ErrorInfo>,
    ) {
        // A token answer to a plain HTTP request is the driver's mistake:
        // ignore it and keep waiting, so that the request's deadline still
        // completes the operation.
        if let Some(op) = self.rest.requests.get(&request) {
            if self.rest.calls.get(op).is_some_and(|e| e.token.is_none()) {
                return;
            }
        }
        let Some(op) = self.rest.requests.remove(&request) else {
            return;
        };
        let Some(entry) = self.rest.calls.get_mut(&op) else {
            return;
        };
        if entry.waiting.map(|(r, _)| r) != Some(request) {
            return;
        }
        entry.waiting = None;
        let opts = entry.opts.as_deref().unwrap_or(&self.opts);
        let Some(fetch) = entry.token.as_mut() else {
            return;
        };
        let step = fetch.on_callback(opts, result);
        self.rest_token_step(op, step);
    }

    /// An HTTP answer for a REST operation or its token.
    pub(crate) fn on_rest_http(
        &mut self,
        request: RequestId,
        result: Result<HttpResponse, ErrorInfo>,
    ) {
        let Some(op) = self.rest.requests.remove(&request) else {
            return;
        };
        let Some(entry) = self.rest.calls.get_mut(&op) else {
            return;
        };
        if entry.waiting.map(|(r, _)| r) != Some(request) {
            return;
        }
        entry.waiting = None;
        let opts = entry.opts.as_deref().unwrap_or(&self.opts);
        if let Some(fetch) = entry.token.as_mut() {
            let step = fetch.on_http(opts, result);
            return self.rest_token_step(op, step);
        }
        if entry.time.is_some() {
            return self.rest_time_answer(op, result);
        }
        self.rest_answer(op, result);
    }

    /// The answer to an attempt: another host, a token renewal, or done.
    fn rest_answer(&mut self, op: OpId, result: Result<HttpResponse, ErrorInfo>) {
        let Some(entry) = self.rest.calls.get_mut(&op) else {
            return;
        };
        let elapsed = self.now.instant.saturating_since(entry.started);
        let Some(call) = entry.call.as_mut() else {
            return;
        };
        let host = call.host().map(str::to_owned);
        let on_fallback = call.attempt() > 0;
        let failed = crate::rest::qualifies_for_fallback(&result);
        let step = call.on_response(result, elapsed, &self.opts);
        // RSC15f: a stored fallback that fails is forgotten.
        if failed && self.rest.fallback.as_ref().map(|(h, _)| h) == host.as_ref() {
            self.rest.fallback = None;
        }
        match step {
            CallStep::Retry => self.rest_send(op),
            CallStep::TokenError(error) => {
                if !self.auth.uses_token() {
                    self.rest_finish(op, Err(error));
                } else if !self.auth.can_renew() {
                    // RSA4a2
                    let err = ErrorInfo::new(
                        codes::NO_MEANS_TO_RENEW,
                        401,
                        "the token was rejected and there is no means to renew it (RSA4a2)",
                    )
                    .with_cause(error);
                    self.rest_finish(op, Err(err));
                } else {
                    // RSA4b, RSC10: one renewal, then the same request again.
                    entry.fresh_token = false;
                    self.auth.discard_token();
                    let params = self.auth.token_params().clone();
                    self.rest_fetch_token(op, params, false);
                }
            }
            CallStep::Done(result) => {
                let ok = matches!(&result, Ok(r) if (200..300).contains(&r.status));
                if let (true, true, Some(host)) = (ok, on_fallback, host) {
                    if host != self.opts.primary_host() {
                        let until = self.now.instant + self.opts.fallback_retry_timeout;
                        self.rest.fallback = Some((host, until));
                    }
                }
                let decoded = result.and_then(|r| call.request().decode(&r));
                self.rest_finish(op, decoded);
            }
        }
    }

    /// Completes an operation, payloads decoded with the channel's cipher.
    fn rest_finish(&mut self, op: OpId, result: Result<RestResult, ErrorInfo>) {
        let Some(entry) = self.rest.calls.remove(&op) else {
            return;
        };
        if let Some((request, _)) = entry.waiting {
            self.rest.requests.remove(&request);
        }
        // RSC7c: a failure names its request id.
        let request_id = entry
            .call
            .as_ref()
            .and_then(|c| c.request().param(REQUEST_ID).map(str::to_owned));
        let result = result.map_err(|mut e| {
            if let Some(id) = request_id {
                e.message = format!("{} (request_id {id})", e.message);
            }
            e
        });
        let channel = entry
            .call
            .as_ref()
            .and_then(|c| c.request().expect.channel());
        let cipher = channel
            .and_then(|name| self.channels.get(name))
            .and_then(|c| c.options.cipher.clone());
        let result = result.map(|mut r| {
            if let (Kind::Authorize, RestResult::Token(details)) = (entry.kind, &r) {
                return Completion::Authorized(Box::new(details.clone()));
            }
            let errors = match &mut r {
                RestResult::Messages(page) => decode_payloads(&mut page.items, cipher.as_ref()),
                RestResult::Message(m) => decode_payloads(std::slice::from_mut(m), cipher.as_ref()),
                RestResult::Presence(page) => {
                    decode_presence_payloads(&mut page.items, cipher.as_ref())
                }
                _ => Vec::new(),
            };
            for error in errors {
                // RSL6b: the message keeps the rest of its encoding.
                self.emit(Event::Log(LogRecord {
                    level: LogLevel::Error,
                    message: format!(
                        "could not decode a payload from {}: {error}",
                        channel.unwrap_or_default()
                    ),
                    error: Some(error),
                }));
            }
            Completion::Rest(Box::new(r))
        });
        self.complete(op, result);
    }

    /// Gives up on requests that got no answer in time: the next host for
    /// an HTTP attempt (a timeout qualifies, RSC15l2), 40170 for a token
    /// (RSA4e).
    pub(crate) fn run_rest_timers(&mut self) {
        let now = self.now.instant;
        if self.rest.calls.is_empty() {
            return; // the common case, checked for every input
        }
        let due: Vec<OpId> = self
            .rest
            .calls
            .iter()
            .filter(|(_, c)| c.waiting.is_some_and(|(_, at)| at <= now))
            .map(|(op, _)| *op)
            .collect();
        for op in due {
            let Some(entry) = self.rest.calls.get_mut(&op) else {
                continue;
            };
            let Some((request, _)) = entry.waiting.take() else {
                continue;
            };
            self.rest.requests.remove(&request);
            let err = ErrorInfo::new(50003, 504, "timed out waiting for the HTTP response");
            if let Some(fetch) = entry.token.as_mut() {
                let step = fetch.on_timeout();
                self.rest_token_step(op, step);
            } else if entry.time.is_some() {
                self.rest_time_answer(op, Err(err));
            } else {
                self.rest_answer(op, Err(err));
            }
        }
    }
}
