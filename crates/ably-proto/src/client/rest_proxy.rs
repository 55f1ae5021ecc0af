//! The realtime client's REST proxy (RTC5, RTC6, RTC9, RTL10, RTL28,
//! RTL31, RTP12, RSA8): [`Command::Rest`](super::Command::Rest) and
//! [`Command::RequestToken`](super::Command::RequestToken) run the plain
//! machinery of [`crate::rest`] with the client's credentials, RNG and
//! clock, and never touch the connection state.
//!
//! Each operation is a [`RestCall`] across hosts (the connection's host
//! first while connected, RTN17e; else a fallback that recently worked,
//! RSC15f; else the primary), each attempt an [`Output::Http`] with a
//! deadline of `http_request_timeout`. A token is obtained first when the
//! client uses token auth and has none, and renewed once when the service
//! rejects it (RSA4b); a token obtained so is kept for the connection too.

use std::collections::BTreeMap;

use rand_core::RngCore;

use crate::ErrorInfo;
use crate::auth::TokenParams;
use crate::error::codes;
use crate::rest::{
    CallStep, REQUEST_ID, RestAuth, RestCall, RestOp, RestResult, TokenFetch, TokenStep,
    decode_payloads, decode_presence_payloads, rest_hosts,
};

use super::time::Instant;
use super::{
    AuthResponse, Client, Completion, ConnectionState, Event, HttpResponse, LogLevel, LogRecord,
    OpId, Output, RequestId,
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

/// One operation.
#[derive(Debug)]
struct Call {
    /// The request across hosts; `None` for `requestToken`.
    call: Option<RestCall>,
    /// A token being obtained.
    token: Option<TokenFetch>,
    /// The driver request awaited and its deadline.
    waiting: Option<(RequestId, Instant)>,
    /// When the first attempt started, for httpMaxRetryDuration (TO3l6).
    started: Instant,
    /// A token was just obtained for this call: use it as it is.
    fresh_token: bool,
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
        self.rest.calls.insert(
            op,
            Call {
                call: Some(RestCall::new(request, hosts)),
                token: None,
                waiting: None,
                started: self.now.instant,
                fresh_token: false,
            },
        );
        self.rest_send(op);
    }

    /// `Command::RequestToken` (RSA8).
    pub(crate) fn on_command_request_token(&mut self, op: OpId, params: Option<TokenParams>) {
        // RSA8e: given params replace the stored ones.
        let params = params.unwrap_or_else(|| self.auth.token_params().clone());
        self.rest.calls.insert(
            op,
            Call {
                call: None,
                token: None,
                waiting: None,
                started: self.now.instant,
                fresh_token: false,
            },
        );
        self.rest_fetch_token(op, params);
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
            return self.rest_fetch_token(op, params);
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

    fn rest_fetch_token(&mut self, op: OpId, params: TokenParams) {
        let mut nonce = [0u8; 8];
        self.rng.fill_bytes(&mut nonce);
        let (fetch, step) = TokenFetch::start(&self.opts, params, self.now.wall_ms, nonce);
        if let Some(entry) = self.rest.calls.get_mut(&op) {
            entry.token = Some(fetch);
        }
        self.rest_token_step(op, step);
    }

    fn rest_token_step(&mut self, op: OpId, step: TokenStep) {
        match step {
            TokenStep::Callback(params) => {
                let request = self.next_request_id();
                self.rest_wait(op, request, self.opts.realtime_request_timeout);
                self.outputs
                    .push_back(Output::FetchToken { request, params });
            }
            TokenStep::Http(http) => {
                let request = self.next_request_id();
                self.rest_wait(op, request, self.opts.http_request_timeout);
                self.outputs.push_back(Output::Http { request, http });
            }
            TokenStep::Done(result) => {
                let Some(entry) = self.rest.calls.get_mut(&op) else {
                    return;
                };
                entry.token = None;
                let explicit = entry.call.is_none();
                match result {
                    Ok(details) if explicit => self.rest_finish(op, Ok(RestResult::Token(details))),
                    Ok(details) => {
                        entry.fresh_token = true;
                        self.auth.adopt_token(details);
                        self.rest_send(op);
                    }
                    Err(e) => self.rest_finish(op, Err(e)),
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
        let Some(fetch) = entry.token.as_mut() else {
            return;
        };
        let step = fetch.on_callback(&self.opts, result);
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
        if let Some(fetch) = entry.token.as_mut() {
            let step = fetch.on_http(&self.opts, result);
            return self.rest_token_step(op, step);
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
                    self.rest_fetch_token(op, params);
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
        let request_id = entry.call.as_ref().and_then(|c| {
            c.request()
                .params
                .iter()
                .find(|(k, _)| k == REQUEST_ID)
                .map(|(_, v)| v.clone())
        });
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
            if let Some(fetch) = entry.token.as_mut() {
                let step = fetch.on_timeout();
                self.rest_token_step(op, step);
            } else {
                let err = ErrorInfo::new(50003, 504, "timed out waiting for the HTTP response");
                self.rest_answer(op, Err(err));
            }
        }
    }
}
