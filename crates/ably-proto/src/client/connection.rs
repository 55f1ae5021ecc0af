//! The connection state machine (RTN): every transition lives in
//! [`Client::step`], a table of (state, event) -> (state, actions).
//!
//! ```text
//!                 connect                CONNECTED
//!  initialized ─────────────► connecting ─────────► connected ◄─┐
//!                              ▲  │  │                │  │  │   │ UPDATE (RTN24)
//!       retry / connect        │  │  │ fatal ERROR    │  │  └───┘
//!   ┌──────────────────────────┘  │  └──► failed ◄────┘  │ drop / DISCONNECTED:
//!   │                             │ attempt fails        │ reconnect at once (RTN15a)
//!  disconnected ◄─────────────────┘◄─────────────────────┘
//!   │  after connectionStateTtl (RTN14e)
//!   ▼
//!  suspended ──retry──► connecting (fresh connection)
//!
//!  connected ─close─► closing ─CLOSED / drop / timeout─► closed
//!  disconnected, suspended ─close─► closed (RTN12d)
//!  closed, failed ─connect─► connecting (RTN11d)
//! ```

use std::time::Duration;

use rand_core::RngCore;

use crate::error::codes;
use crate::{Action, AuthDetails, ErrorInfo, ProtocolMessage};

use super::auth::{TokenError, TokenOutcome};
use super::auth_options::AuthOptions;
use super::io::{
    Completion, ConnectionState, ConnectionStateChange, Event, Generation, OpId, Output, TimerKind,
};
use super::url::{UrlAuth, connection_url};
use super::{Authorize, Client, Ping, Transport};

/// Inputs of the connection state machine.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// `connect()` (RTN11).
    Connect,
    /// `close()` (RTN12).
    Close,
    /// A token for connecting arrived.
    TokenObtained,
    /// Obtaining a token failed (RSA4c, RSA4d).
    TokenFailed(TokenError),
    /// CONNECTED arrived.
    Connected(Box<ProtocolMessage>),
    /// DISCONNECTED arrived (RTN15h).
    DisconnectedMessage(Option<ErrorInfo>),
    /// ERROR without a channel arrived (RTN14g, RTN15j).
    ErrorMessage(ErrorInfo),
    /// CLOSED arrived.
    ClosedMessage,
    /// The transport closed, failed, went idle or sent garbage.
    TransportLost(Option<ErrorInfo>),
    /// The connection attempt took too long (RTN14c).
    ConnectTimeout,
    /// Time to retry (RTN14d, RTN14e).
    RetryDue,
    /// The OS reports the network gone (RTN20a).
    NetworkDown,
    /// The OS reports the network back (RTN20b, RTN20c).
    NetworkUp,
    /// Disconnected for connectionStateTtl (RTN14e).
    SuspendDue,
    /// CLOSED never came (RTN12b).
    CloseTimeout,
}

use ConnectionState as S;

impl Client {
    /// The transition table of the connection.
    pub(crate) fn step(&mut self, event: ConnEvent) {
        match (self.state, event) {
            // RTN11: connect
            (S::Connecting | S::Connected, ConnEvent::Connect) => {} // RTN11e
            (S::Closing, ConnEvent::Connect) => {
                // RTN11b: a new transport; the old one is forgotten.
                self.close_transport();
                self.start_connecting();
            }
            (S::Initialized | S::Disconnected | S::Suspended, ConnEvent::Connect) => {
                self.start_connecting() // RTN11c
            }
            (S::Closed | S::Failed, ConnEvent::Connect) => {
                // RTN11d: a clean start.
                self.error_reason = None;
                self.clear_connection();
                self.publish.msg_serial = 0;
                self.reset_channels();
                self.start_connecting();
            }

            // RTN12: close
            (S::Closing | S::Closed | S::Failed, ConnEvent::Close) => {}
            (S::Initialized | S::Disconnected | S::Suspended, ConnEvent::Close) => {
                self.enter(S::Closed, None, None) // RTN12d
            }
            (S::Connecting, ConnEvent::Close) => {
                // RTN12f: CLOSING; CONNECTED then gets a CLOSE, anything else closes.
                self.auth.cancel();
                if self.transport.is_some() {
                    self.timers.cancel(TimerKind::ConnectTimeout);
                    self.timers.set(
                        TimerKind::CloseTimeout,
                        self.now.instant + self.opts.realtime_request_timeout,
                    );
                    self.enter(S::Closing, None, None);
                } else {
                    self.enter(S::Closed, None, None);
                }
            }
            (S::Connected, ConnEvent::Close) => {
                // RTN12a
                self.send(&ProtocolMessage::new(Action::Close));
                self.timers.set(
                    TimerKind::CloseTimeout,
                    self.now.instant + self.opts.realtime_request_timeout,
                );
                self.enter(S::Closing, None, None);
            }

            // Tokens while connecting
            (S::Connecting, ConnEvent::TokenObtained) => self.open_transport(),
            (S::Connecting, ConnEvent::TokenFailed(e)) if e.fatal => {
                self.enter(S::Failed, Some(e.error), None)
            }
            (S::Connecting, ConnEvent::TokenFailed(e)) => self.attempt_failed(e.error, false), // RSA4c2

            // CONNECTED
            (S::Connecting, ConnEvent::Connected(pm)) => self.become_connected(*pm),
            (S::Connected, ConnEvent::Connected(pm)) => self.update_connected(*pm), // RTN24
            (S::Closing, ConnEvent::Connected(_)) => {
                // RTN12f: connected after all; close properly (RTN12a).
                self.send(&ProtocolMessage::new(Action::Close));
            }

            // DISCONNECTED from the service
            (S::Connecting, ConnEvent::DisconnectedMessage(e)) => match e {
                Some(err) if is_token_error(&err) => self.on_connect_token_error(err),
                err => {
                    let fallback = err
                        .as_ref()
                        .and_then(|e| e.status_code)
                        .is_some_and(|s| (500..=504).contains(&s));
                    self.attempt_failed(err.unwrap_or_else(disconnected_error), fallback) // RTN14d, RTN17f1
                }
            },
            (S::Connected, ConnEvent::DisconnectedMessage(e)) => match e {
                Some(err) if is_token_error(&err) => {
                    self.close_transport();
                    if self.auth.can_renew() {
                        // RTN15h2: back to connecting with a new token, briefly
                        // through DISCONNECTED (RTN15h2i, RTN22a) as for RTN15h3.
                        self.auth.discard_token();
                        self.drop_connected(err);
                    } else {
                        // RTN15h1
                        self.enter(S::Failed, Some(no_renewal_error(err)), None);
                    }
                }
                err => self.drop_connected(err.unwrap_or_else(disconnected_error)), // RTN15h3
            },

            // ERROR without a channel
            (S::Connecting, ConnEvent::ErrorMessage(err)) if is_token_error(&err) => {
                self.on_connect_token_error(err) // RTN14b, RTN15c5
            }
            (S::Connecting | S::Connected, ConnEvent::ErrorMessage(err)) => {
                self.enter(S::Failed, Some(err), None) // RTN14g, RTN15j, RTN15c4, RTC8a2
            }
            (S::Closing, ConnEvent::ErrorMessage(err)) => self.enter(S::Closed, Some(err), None),

            // CLOSED and drops
            (
                S::Closing,
                ConnEvent::ClosedMessage | ConnEvent::TransportLost(_) | ConnEvent::CloseTimeout,
            ) => {
                self.enter(S::Closed, None, None) // RTN12b, RTN12c
            }
            (S::Connected | S::Connecting, ConnEvent::ClosedMessage) => {
                self.enter(S::Closed, None, None)
            }
            (S::Connecting, ConnEvent::TransportLost(Some(err)))
                if err.status_code == Some(401) =>
            {
                // A handshake refused with 401 is a credentials failure, as
                // ERROR 40101 would be: renew a token once (RTN14b), else
                // FAILED (RTN14a) rather than endless retries.
                if is_token_error(&err) {
                    self.on_connect_token_error(err)
                } else {
                    self.enter(S::Failed, Some(err), None)
                }
            }
            (S::Connecting, ConnEvent::TransportLost(e)) => {
                self.attempt_failed(e.unwrap_or_else(disconnected_error), true)
            }
            (S::Connected, ConnEvent::TransportLost(e)) => {
                self.drop_connected(e.unwrap_or_else(disconnected_error)) // RTN15a
            }
            (S::Connecting, ConnEvent::ConnectTimeout) => {
                let err = ErrorInfo::new(
                    80014,
                    408,
                    "connection timeout: not connected within realtimeRequestTimeout (RTN14c)",
                );
                self.attempt_failed(err, true)
            }

            // Retries and suspension
            (S::Disconnected | S::Suspended, ConnEvent::RetryDue) => self.start_connecting(),
            (S::Disconnected, ConnEvent::SuspendDue) => {
                let reason = self.error_reason.clone();
                self.enter(
                    S::Suspended,
                    reason.or_else(|| Some(suspended_error())),
                    None,
                )
            }

            // RTN20: network changes reported by the OS.
            (S::Connected | S::Connecting, ConnEvent::NetworkDown) => {
                let err = ErrorInfo::new(80003, 400, "the network is unavailable (RTN20a)");
                // DISCONNECTED, then a new attempt at once, as for a drop (RTN15a).
                if self.state == S::Connecting {
                    self.timers.cancel(TimerKind::ConnectTimeout);
                    self.auth.cancel();
                }
                self.drop_connected(err);
            }
            (S::Disconnected | S::Suspended, ConnEvent::NetworkUp) => self.start_connecting(), // RTN20b
            (S::Connecting, ConnEvent::NetworkUp) => {
                // RTN20c: restart the pending attempt.
                if !self.auth.is_pending() {
                    self.open_transport();
                }
            }

            // Everything else is not meaningful in that state.
            (_, _) => {}
        }
    }

    // ---- entry points from Client ---------------------------------------

    pub(crate) fn on_command_connect(&mut self) {
        self.step(ConnEvent::Connect);
    }

    pub(crate) fn on_network_changed(&mut self, online: bool) {
        self.step(if online {
            ConnEvent::NetworkUp
        } else {
            ConnEvent::NetworkDown
        });
    }

    pub(crate) fn on_command_close(&mut self) {
        self.step(ConnEvent::Close);
    }

    pub(crate) fn on_connected(&mut self, pm: ProtocolMessage) {
        self.step(ConnEvent::Connected(Box::new(pm)));
    }

    pub(crate) fn on_disconnected_message(&mut self, error: Option<ErrorInfo>) {
        self.step(ConnEvent::DisconnectedMessage(error));
    }

    pub(crate) fn on_error_message(&mut self, error: ErrorInfo) {
        if self.state == S::Connected && self.authorize.as_ref().is_some_and(|a| a.awaiting_service)
        {
            // RTC8a2: the token change failed.
            self.finish_authorize(Err(error.clone()));
        }
        self.step(ConnEvent::ErrorMessage(error));
    }

    pub(crate) fn on_closed_message(&mut self) {
        self.step(ConnEvent::ClosedMessage);
    }

    pub(crate) fn transport_failed(&mut self, error: Option<ErrorInfo>) {
        self.close_transport();
        self.step(ConnEvent::TransportLost(error));
    }

    pub(crate) fn on_timer(&mut self, kind: TimerKind) {
        match kind {
            TimerKind::ConnectTimeout => {
                self.close_transport();
                self.step(ConnEvent::ConnectTimeout);
            }
            TimerKind::Retry => self.step(ConnEvent::RetryDue),
            TimerKind::Suspend => self.step(ConnEvent::SuspendDue),
            TimerKind::Idle => {
                // RTN23a
                let err = ErrorInfo::new(
                    80003,
                    408,
                    "no activity from the service within maxIdleInterval (RTN23a)",
                );
                self.transport_failed(Some(err));
            }
            TimerKind::CloseTimeout => {
                self.close_transport();
                self.step(ConnEvent::CloseTimeout);
            }
            TimerKind::Ping => self.expire_pings(),
            TimerKind::Auth => {
                if let Some(outcome) = self.auth.on_timeout() {
                    self.on_token_outcome(outcome);
                }
            }
            TimerKind::Channel => self.run_channel_timers(),
            TimerKind::Rest => self.run_rest_timers(),
            TimerKind::Reauth => {
                let err = ErrorInfo::new(
                    50003,
                    504,
                    "the service did not answer AUTH in time (RTC8a3)",
                );
                self.finish_authorize(Err(err));
            }
        }
    }

    // ---- connecting -----------------------------------------------------

    fn start_connecting(&mut self) {
        self.start_connecting_with_reason(None);
    }

    /// Enters CONNECTING and begins an attempt: token first if needed, then
    /// the transport to the primary host (RTN17i).
    fn start_connecting_with_reason(&mut self, reason: Option<ErrorInfo>) {
        self.timers.cancel(TimerKind::Retry);
        self.close_transport();
        self.hosts = vec![self.opts.primary_host()];
        let mut fallbacks = self.opts.fallback_hosts();
        shuffle(&mut fallbacks, &mut self.rng);
        self.hosts.extend(fallbacks);
        self.host_index = 0;
        self.renewed_in_attempt = false;
        self.connectivity_check = None;
        self.enter(S::Connecting, reason, None);
        if self.auth.is_pending() {
            return; // an authorize() is already fetching the token
        }
        if self.auth.needs_token(self.now.wall_ms) {
            self.request_token();
        } else {
            self.open_transport();
        }
    }

    /// Asks the driver for a token (RSA8), with a timeout (RSA4c).
    fn request_token(&mut self) {
        let request = self.next_request_id();
        let mut nonce = [0u8; 8];
        self.rng.fill_bytes(&mut nonce);
        let mut out = Vec::new();
        let outcome = self
            .auth
            .start(&self.opts, request, self.now.wall_ms, nonce, &mut out);
        self.outputs.extend(out);
        match outcome {
            Some(outcome) => self.on_token_outcome(outcome),
            None => self.timers.set(
                TimerKind::Auth,
                self.now.instant + self.opts.realtime_request_timeout,
            ),
        }
    }

    fn open_transport(&mut self) {
        self.close_transport();
        self.next_generation += 1;
        let generation = Generation(self.next_generation);
        let host = self
            .hosts
            .get(self.host_index)
            .cloned()
            .unwrap_or_else(|| self.opts.primary_host());
        let key = self.auth.key_string();
        let token = self.auth.token_string().map(str::to_owned);
        let auth = match (self.auth.uses_token(), &token, &key) {
            (true, Some(t), _) => UrlAuth::Token(t),
            (_, _, Some(k)) => UrlAuth::Key(k),
            (_, Some(t), None) => UrlAuth::Token(t),
            (_, None, None) => UrlAuth::Key(""),
        };
        let recover = self.recover.as_ref().map(|r| r.connection_key.clone());
        let resume = if recover.is_some() {
            None
        } else {
            self.connection_key.clone()
        };
        let url = connection_url(
            &self.opts,
            &host,
            auth,
            resume.as_deref(),
            recover.as_deref(),
        );
        self.transport = Some(Transport {
            generation,
            opened: false,
        });
        self.outputs
            .push_back(Output::OpenTransport { generation, url });
        self.timers.set(
            TimerKind::ConnectTimeout,
            self.now.instant + self.opts.realtime_request_timeout,
        );
    }

    /// RTN14b: one renewal per attempt, then give up to DISCONNECTED; with
    /// no means to renew, FAILED with 40171 (RSA4a2).
    fn on_connect_token_error(&mut self, err: ErrorInfo) {
        self.close_transport();
        self.timers.cancel(TimerKind::ConnectTimeout);
        if !self.auth.can_renew() {
            self.enter(S::Failed, Some(no_renewal_error(err)), None);
        } else if !self.renewed_in_attempt {
            self.renewed_in_attempt = true;
            self.auth.discard_token();
            self.error_reason = Some(err);
            self.request_token();
        } else {
            self.attempt_failed(err, false);
        }
    }

    /// An attempt failed. A fallback host is tried when the failure
    /// qualifies and the connectivity check passes (RTN17f, RTN17j);
    /// otherwise DISCONNECTED, or SUSPENDED once connectionStateTtl has
    /// passed (RTN14d, RTN14e).
    fn attempt_failed(&mut self, err: ErrorInfo, may_fall_back: bool) {
        self.close_transport();
        self.timers.cancel(TimerKind::ConnectTimeout);
        if may_fall_back && self.host_index + 1 < self.hosts.len() {
            let request = self.next_request_id();
            self.connectivity_check = Some(request);
            self.error_reason = Some(err);
            self.outputs.push_back(Output::Http {
                request,
                http: super::HttpRequest {
                    method: "GET",
                    url: self.opts.connectivity_check_url().to_owned(),
                    headers: Vec::new(),
                    body: None,
                },
            });
            return;
        }
        self.retry_count += 1;
        let since = *self.disconnected_since.get_or_insert(self.now.instant);
        if self.now.instant.saturating_since(since) >= self.connection_state_ttl() {
            self.enter(S::Suspended, Some(err), None);
        } else {
            self.enter(S::Disconnected, Some(err), None);
        }
    }

    /// The answer to the connectivity check before a fallback (RTN17j).
    pub(crate) fn on_connectivity_checked(&mut self, up: bool) {
        if self.state != S::Connecting {
            return;
        }
        let err = self.error_reason.clone().unwrap_or_else(disconnected_error);
        if up {
            self.host_index += 1;
            self.open_transport();
        } else {
            self.attempt_failed(err, false);
        }
    }

    // ---- connected ------------------------------------------------------

    fn become_connected(&mut self, pm: ProtocolMessage) {
        self.timers.cancel(TimerKind::ConnectTimeout);
        self.timers.cancel(TimerKind::Retry);
        self.timers.cancel(TimerKind::Suspend);
        let details = pm.connection_details.clone().unwrap_or_default();
        // RSA15a: the service must agree with the configured clientId.
        if let (Some(mine), Some(theirs)) = (&self.opts.client_id, &details.client_id) {
            if theirs != "*" && theirs != mine {
                let err = ErrorInfo::new(
                    codes::INVALID_CLIENT_ID,
                    400,
                    format!(
                        "the service connected as clientId '{theirs}', but this client is '{mine}'"
                    ),
                );
                self.close_transport();
                self.enter(S::Failed, Some(err), None);
                return;
            }
        }
        let resumed = self.connection_id.is_some() && self.connection_id == pm.connection_id;
        let recovered = self.recover.take().is_some() && pm.error.is_none();
        self.connection_id = pm.connection_id.clone();
        if let Some(key) = &details.connection_key {
            self.connection_key = Some(key.clone()); // RTN15e
        }
        self.auth.confirm_client_id(details.client_id.clone());
        self.details = details;
        self.retry_count = 0;
        self.disconnected_since = None;
        self.error_reason = pm.error.clone();
        // RTL3d, RTL3d1: channels reattach before CONNECTED is emitted.
        let previous = self.state;
        self.state = S::Connected;
        self.channels_on_connection(S::Connected, None);
        self.state = previous;
        // RTN19a, RTN15c6, RTN15c7: resend what awaits an ACK, then the queue.
        for frame in self.publish.frames_for_new_transport(resumed || recovered) {
            self.send(&frame);
        }
        self.enter(S::Connected, pm.error, None);
        self.arm_idle_timer();
        self.send_deferred_pings();
        if self.authorize.is_some() {
            let token = self.auth.token_details().cloned().unwrap_or_default();
            self.finish_authorize(Ok(token)); // RTC8b1, RTC8c
        }
    }

    /// RTN24: CONNECTED while connected: new details, an UPDATE event.
    fn update_connected(&mut self, pm: ProtocolMessage) {
        if let Some(details) = pm.connection_details.clone() {
            if let Some(key) = &details.connection_key {
                self.connection_key = Some(key.clone());
            }
            self.auth.confirm_client_id(details.client_id.clone());
            self.details = details;
        }
        if let Some(id) = &pm.connection_id {
            self.connection_id = Some(id.clone());
        }
        if pm.error.is_some() {
            self.error_reason = pm.error.clone();
        }
        self.arm_idle_timer();
        self.emit(Event::Connection(ConnectionStateChange {
            previous: S::Connected,
            current: S::Connected,
            update: true,
            reason: pm.error,
            retry_in: None,
        }));
        if self.authorize.as_ref().is_some_and(|a| a.awaiting_service) {
            let token = self.auth.token_details().cloned().unwrap_or_default();
            self.finish_authorize(Ok(token)); // RTC8a1, RTC8a3
        }
    }

    /// Connected and the transport went away: DISCONNECTED, then at once a
    /// resume attempt (RTN15a, RTN15h3).
    fn drop_connected(&mut self, err: ErrorInfo) {
        self.close_transport();
        self.disconnected_since.get_or_insert(self.now.instant);
        self.enter(S::Disconnected, Some(err.clone()), Some(Duration::ZERO));
        self.start_connecting_with_reason(Some(err));
    }

    // ---- state entry ------------------------------------------------------

    /// Enters a state: emits the change (never for the same state, RTN4h),
    /// records the reason (RTN25) and runs the state's entry actions.
    fn enter(
        &mut self,
        next: ConnectionState,
        reason: Option<ErrorInfo>,
        retry_in: Option<Duration>,
    ) {
        let previous = self.state;
        if reason.is_some() {
            self.error_reason = reason.clone();
        }
        let retry_in = match next {
            S::Disconnected => Some(retry_in.unwrap_or_else(|| self.disconnected_retry_delay())),
            S::Suspended => Some(self.opts.suspended_retry_timeout),
            _ => None,
        };
        self.state = next;
        match next {
            S::Disconnected => {
                if let Some(delay) = retry_in.filter(|d| !d.is_zero()) {
                    self.timers.set(TimerKind::Retry, self.now.instant + delay);
                }
                let since = *self.disconnected_since.get_or_insert(self.now.instant);
                self.timers
                    .set(TimerKind::Suspend, since + self.connection_state_ttl());
                if !self.opts.queue_messages {
                    let err = reason.clone().unwrap_or_else(disconnected_error);
                    self.fail_messages(err); // RTN7d
                }
            }
            S::Suspended => {
                self.close_transport();
                self.timers.cancel(TimerKind::Suspend);
                self.timers.set(
                    TimerKind::Retry,
                    self.now.instant + self.opts.suspended_retry_timeout,
                );
                // RTN15g: after connectionStateTtl the next connection is fresh.
                self.clear_connection();
                let err = self.state_error(S::Suspended);
                self.fail_messages(err.clone()); // RTN7e
                self.fail_pings(err.clone()); // RTN13b
                self.fail_authorize(err); // RTC8b1
            }
            S::Closing => {
                let err = self.state_error(S::Closing);
                self.fail_pings(err);
            }
            S::Closed | S::Failed => {
                self.close_transport();
                self.auth.cancel();
                for kind in [
                    TimerKind::ConnectTimeout,
                    TimerKind::Retry,
                    TimerKind::Suspend,
                    TimerKind::Idle,
                    TimerKind::CloseTimeout,
                    TimerKind::Auth,
                    TimerKind::Reauth,
                ] {
                    self.timers.cancel(kind);
                }
                // RTN8d, RTN9d
                self.connection_id = None;
                self.connection_key = None;
                let err = self.state_error(next);
                // RTN7e: awaiting messages fail with the reason for the
                // state change, when there is one.
                self.fail_messages(reason.clone().unwrap_or_else(|| err.clone()));
                self.fail_pings(err.clone());
                // RTC8b1: authorize() fails with the error that ended the
                // connection, when there is one.
                self.fail_authorize(reason.clone().unwrap_or(err));
            }
            _ => {}
        }
        if previous != next {
            self.emit(Event::Connection(ConnectionStateChange {
                previous,
                current: next,
                update: false,
                reason: reason.clone(),
                retry_in,
            }));
            if next != S::Connected {
                self.channels_on_connection(next, reason); // RTL3
            }
        }
    }

    /// RTB1: disconnectedRetryTimeout x min((n+2)/3, 2) x jitter in [0.8, 1].
    fn disconnected_retry_delay(&mut self) -> Duration {
        let backoff = backoff_coefficient(self.retry_count);
        let jitter = jitter_coefficient(&mut self.rng);
        self.opts
            .disconnected_retry_timeout
            .mul_f64(backoff * jitter)
    }

    fn clear_connection(&mut self) {
        self.connection_id = None;
        self.connection_key = None;
        self.details = Default::default();
    }

    fn fail_messages(&mut self, err: ErrorInfo) {
        for op in self.publish.drain_all() {
            self.complete(op, Err(err.clone()));
        }
    }

    // ---- tokens and authorize() (RTC8, RTN22) -----------------------------

    /// `authorize()` (RSA10, RTC8), with auth options if given.
    pub(crate) fn on_command_authorize(
        &mut self,
        op: OpId,
        params: Option<crate::auth::TokenParams>,
        options: Option<AuthOptions>,
    ) {
        let basic = options.as_ref().is_some_and(AuthOptions::is_basic);
        if basic && !self.opts.rest_client {
            let err = ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                "authorize() can switch only a REST client to basic auth; a realtime connection keeps token auth (RSA10a)",
            );
            return self.complete(op, Err(err));
        }
        if let Some(o) = &options {
            if let Err(e) = self.store_auth_options(o) {
                return self.complete(op, Err(e));
            }
        }
        if let Some(params) = params {
            self.auth.set_token_params(params);
        }
        let query_time = options.as_ref().is_some_and(|o| o.query_time);
        let given = options.as_ref().and_then(AuthOptions::given_token);
        if self.opts.rest_client {
            return self.rest_authorize(op, given, basic, query_time);
        }
        if query_time {
            self.auth.query_time_once();
        }
        match &mut self.authorize {
            Some(a) => a.ops.push(op),
            None => {
                self.authorize = Some(Authorize {
                    ops: vec![op],
                    awaiting_service: false,
                })
            }
        }
        if self.auth.is_pending() && given.is_none() {
            return;
        }
        if self.state == S::Connecting {
            // RTC8b: halt the attempt; reconnect once the token is here.
            self.close_transport();
            self.timers.cancel(TimerKind::ConnectTimeout);
        }
        match given {
            Some(details) => {
                // RSA10e: a given token is used as it is.
                self.auth.cancel();
                self.auth.adopt_token(details.clone());
                self.on_token_outcome(Ok(details));
            }
            None => self.request_token(),
        }
    }

    /// Stores the AuthOptions of `authorize()` in place of the client's
    /// (RSA10g, RSA10h), keeping the key when they have none (RSA10i); on
    /// a switch to basic auth the token is forgotten (RSA16d).
    fn store_auth_options(&mut self, options: &AuthOptions) -> Result<(), ErrorInfo> {
        let key = options
            .key
            .as_deref()
            .map(crate::auth::ApiKey::parse)
            .transpose()?;
        self.opts = options.apply(&self.opts);
        self.auth.replace_means(
            key,
            self.opts.token_source.clone(),
            self.opts.use_token_auth,
        );
        if options.is_basic() {
            self.auth.discard_token();
        }
        Ok(())
    }

    /// RTN22: the service asks for re-authentication.
    pub(crate) fn on_auth_requested(&mut self) {
        if self.state != S::Connected || self.auth.is_pending() {
            return;
        }
        if self.authorize.is_none() {
            self.authorize = Some(Authorize {
                ops: Vec::new(),
                awaiting_service: false,
            });
        }
        self.request_token();
    }

    pub(crate) fn on_token_outcome(&mut self, outcome: TokenOutcome) {
        self.timers.cancel(TimerKind::Auth);
        let authorizing = self.authorize.is_some();
        match outcome {
            Ok(details) => match self.state {
                S::Connected if authorizing => {
                    // RTC8a: send the new token in band.
                    let mut pm = ProtocolMessage::new(Action::Auth);
                    pm.auth = Some(AuthDetails {
                        access_token: details.token.clone(),
                    });
                    self.send(&pm);
                    if let Some(a) = &mut self.authorize {
                        a.awaiting_service = true;
                    }
                    self.timers.set(
                        TimerKind::Reauth,
                        self.now.instant + self.opts.realtime_request_timeout,
                    );
                }
                S::Connecting => self.step(ConnEvent::TokenObtained),
                S::Connected => {}
                _ if authorizing => self.start_connecting(), // RTC8c
                _ => {}
            },
            Err(e) => {
                if authorizing {
                    self.finish_authorize(Err(e.error.clone()));
                }
                match self.state {
                    S::Connecting => self.step(ConnEvent::TokenFailed(e)),
                    _ if e.fatal => self.enter(S::Failed, Some(e.error), None), // RSA4d
                    S::Connected => {
                        // RSA4c3: stay connected.
                        self.error_reason = Some(e.error);
                    }
                    _ => {}
                }
            }
        }
    }

    fn finish_authorize(&mut self, result: Result<crate::auth::TokenDetails, ErrorInfo>) {
        self.timers.cancel(TimerKind::Reauth);
        if let Some(a) = self.authorize.take() {
            for op in a.ops {
                self.complete(
                    op,
                    result.clone().map(|t| Completion::Authorized(Box::new(t))),
                );
            }
        }
    }

    fn fail_authorize(&mut self, err: ErrorInfo) {
        if self.authorize.is_some() {
            self.finish_authorize(Err(err));
        }
    }

    // ---- ping (RTN13) ------------------------------------------------------

    pub(crate) fn on_command_ping(&mut self, op: OpId) {
        match self.state {
            S::Connected => {
                self.pings.push(Ping {
                    op,
                    id: None,
                    sent_at: None,
                });
                self.send_deferred_pings();
            }
            S::Connecting | S::Disconnected => {
                // RTN13d: once connected.
                self.pings.push(Ping {
                    op,
                    id: None,
                    sent_at: None,
                });
            }
            state => {
                let err = self.state_error(state);
                self.complete(op, Err(err)); // RTN13b
            }
        }
    }

    fn send_deferred_pings(&mut self) {
        let unsent: Vec<usize> = (0..self.pings.len())
            .filter(|&i| self.pings[i].id.is_none())
            .collect();
        for i in unsent {
            let id = self.random_id();
            let mut pm = ProtocolMessage::new(Action::Heartbeat);
            pm.id = Some(id.clone());
            self.send(&pm);
            self.pings[i].id = Some(id);
            self.pings[i].sent_at = Some(self.now.instant);
        }
        self.arm_ping_timer();
    }

    fn arm_ping_timer(&mut self) {
        let earliest = self.pings.iter().filter_map(|p| p.sent_at).min();
        match earliest {
            Some(at) => self
                .timers
                .set(TimerKind::Ping, at + self.opts.realtime_request_timeout),
            None => self.timers.cancel(TimerKind::Ping),
        }
    }

    pub(crate) fn on_heartbeat(&mut self, pm: ProtocolMessage) {
        // RTN13e: only the echo with our id answers a ping.
        let Some(id) = pm.id else { return };
        if let Some(i) = self
            .pings
            .iter()
            .position(|p| p.id.as_deref() == Some(id.as_str()))
        {
            let ping = self.pings.remove(i);
            let rtt = self
                .now
                .instant
                .saturating_since(ping.sent_at.unwrap_or(self.now.instant));
            self.complete(ping.op, Ok(Completion::Ping(rtt)));
            self.arm_ping_timer();
        }
    }

    fn expire_pings(&mut self) {
        let now = self.now.instant;
        let timeout = self.opts.realtime_request_timeout;
        let (expired, kept): (Vec<Ping>, Vec<Ping>) = self
            .pings
            .drain(..)
            .partition(|p| p.sent_at.is_some_and(|at| at + timeout <= now));
        self.pings = kept;
        for ping in expired {
            let err = ErrorInfo::new(
                50003,
                504,
                "no answer to ping within realtimeRequestTimeout (RTN13c)",
            );
            self.complete(ping.op, Err(err));
        }
        self.arm_ping_timer();
    }

    fn fail_pings(&mut self, err: ErrorInfo) {
        for ping in std::mem::take(&mut self.pings) {
            self.complete(ping.op, Err(err.clone()));
        }
        self.timers.cancel(TimerKind::Ping);
    }
}

/// RTB1a: the backoff coefficient of the nth retry (counted from 1; 0 is
/// taken as 1): min((n + 2) / 3, 2), giving 1, 4/3, 5/3, 2, 2, ...
pub fn backoff_coefficient(n: u32) -> f64 {
    ((f64::from(n.max(1)) + 2.0) / 3.0).min(2.0)
}

/// RTB1b: a jitter coefficient drawn from `rng`, uniform in [0.8, 1].
pub fn jitter_coefficient(rng: &mut dyn RngCore) -> f64 {
    0.8 + 0.2 * (f64::from(rng.next_u32()) / f64::from(u32::MAX))
}

/// A token error: 40140-40149 (RTN14b, RTN15h).
fn is_token_error(err: &ErrorInfo) -> bool {
    err.is_token_error()
}

/// RSA4a2: a token error with no means to renew.
fn no_renewal_error(cause: ErrorInfo) -> ErrorInfo {
    ErrorInfo::new(
        codes::NO_MEANS_TO_RENEW,
        401,
        "the token expired and there is no means to renew it (RSA4a2)",
    )
    .with_cause(cause)
}

fn disconnected_error() -> ErrorInfo {
    ErrorInfo::new(80003, 400, "connection disconnected")
}

fn suspended_error() -> ErrorInfo {
    ErrorInfo::new(
        80002,
        400,
        "connection suspended: disconnected for longer than connectionStateTtl",
    )
}

/// Fisher-Yates shuffle with the client's RNG (RTN17j: random order).
fn shuffle(items: &mut [String], rng: &mut dyn RngCore) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
