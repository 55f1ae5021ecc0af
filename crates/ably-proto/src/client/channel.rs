//! The channel state machine (RTL): every transition lives in
//! [`Client::channel_step`], a table of (channel state, event) -> actions.
//!
//! ```text
//!              attach                 ATTACHED
//! initialized ───────► attaching ─────────────► attached ◄──┐ UPDATE (RTL12)
//!    detached ───────►   │  ▲  ▲                 │ │  └──────┘
//!                        │  │  └─ DETACHED from ─┘ │ detach
//!   timeout / DETACHED   │  │     the service      ▼
//!   (RTL4f, RTL13b)      ▼  │ retry (RTL13b)     detaching ──DETACHED──► detached
//!                     suspended                    │ timeout: back (RTL5f)
//!   ERROR for the channel (RTL14): any state ──► failed
//!   connection connected: attaching/attached/suspended ──► attaching (RTL3d)
//!   connection suspended: attaching/attached ──► suspended (RTL3c)
//!   connection closed: attaching/attached ──► detached (RTL3b)
//!   connection failed: attaching/attached ──► failed (RTL3a)
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::codes;
use crate::{
    Action, ChannelModes, ChannelOptions, CipherParams, ErrorInfo, Flags, ProtocolMessage,
};

use super::Client;
use super::io::{Completion, ConnectionState, Event, OpId};
use super::time::Instant;

/// Channel states (RTL2b).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelState {
    /// Created, never attached.
    Initialized,
    /// ATTACH sent or waiting for the connection (RTL4i).
    Attaching,
    /// Attached.
    Attached,
    /// DETACH sent.
    Detaching,
    /// Detached.
    Detached,
    /// Attach failed or the connection is suspended; will retry (RTL13b, RTL3c).
    Suspended,
    /// Failed; stays so until `attach` (RTL14).
    Failed,
}

impl fmt::Display for ChannelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ChannelState::Initialized => "initialized",
            ChannelState::Attaching => "attaching",
            ChannelState::Attached => "attached",
            ChannelState::Detaching => "detaching",
            ChannelState::Detached => "detached",
            ChannelState::Suspended => "suspended",
            ChannelState::Failed => "failed",
        };
        f.write_str(s)
    }
}

/// A channel state change or UPDATE (RTL2d, TH).
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelStateChange {
    /// The channel.
    pub channel: String,
    /// The state before.
    pub previous: ChannelState,
    /// The state now; equal to `previous` for an UPDATE (RTL12).
    pub current: ChannelState,
    /// Whether this is an UPDATE rather than a state change (RTL2g).
    pub update: bool,
    /// Why, when there is an error (RTL2d).
    pub reason: Option<ErrorInfo>,
    /// ATTACHED carried RESUMED: no messages were lost (RTL2f).
    pub resumed: bool,
    /// ATTACHED carried HAS_BACKLOG (RTL2i).
    pub has_backlog: bool,
}

/// What a channel does once its pending request completes (RTL4h, RTL5i).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Attach,
    Detach,
}

/// Why a channel wants to be woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelTimer {
    /// ATTACHED did not come (RTL4f).
    AttachTimeout,
    /// DETACHED did not come (RTL5f).
    DetachTimeout,
    /// Retry attaching a suspended channel (RTL13b).
    Retry,
}

/// One channel's state.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) presence: super::presence::Presence,
    /// Shared with the events about the channel.
    pub(crate) name: Arc<str>,
    pub(crate) state: ChannelState,
    pub(crate) options: ChannelOptions,
    pub(crate) error_reason: Option<ErrorInfo>,
    /// RTL15b
    pub(crate) channel_serial: Option<String>,
    /// RTL15c
    pub(crate) attach_serial: Option<String>,
    /// Modes granted in ATTACHED (RTL4m).
    pub(crate) modes: ChannelModes,
    /// Params granted in ATTACHED (RTL4k1).
    pub(crate) params: BTreeMap<String, String>,
    attach_ops: Vec<OpId>,
    detach_ops: Vec<OpId>,
    next: Option<(Next, Vec<OpId>)>,
    /// The state to go back to when a detach times out (RTL5f).
    before_detach: ChannelState,
    /// The channel was suspended when this attach began (RTL3d).
    attach_from_suspended: bool,
    /// Attach retries since the last ATTACHED, for backoff (RTB1).
    retry_count: u32,
    pub(crate) timer: Option<(Instant, ChannelTimer)>,
    /// The last message, for vcdiff deltas (RTL19, RTL20).
    pub(crate) delta: super::delta::DeltaBase,
}

impl Channel {
    /// Whether setting these options reattaches: new params or modes while
    /// attaching or attached (RTL16a, RTS3c1).
    fn needs_reattach(&self, options: &ChannelOptions) -> bool {
        (self.options.params != options.params || self.options.modes != options.modes)
            && matches!(self.state, ChannelState::Attached | ChannelState::Attaching)
    }

    pub(crate) fn new(name: &str, options: ChannelOptions) -> Channel {
        Channel {
            presence: Default::default(),
            name: Arc::from(name),
            state: ChannelState::Initialized,
            options,
            error_reason: None,
            channel_serial: None,
            attach_serial: None,
            modes: ChannelModes::EMPTY,
            params: BTreeMap::new(),
            attach_ops: Vec::new(),
            detach_ops: Vec::new(),
            next: None,
            before_detach: ChannelState::Attached,
            attach_from_suspended: false,
            retry_count: 0,
            timer: None,
            delta: Default::default(),
        }
    }
}

/// A read-only view of a channel.
#[derive(Clone, Copy, Debug)]
pub struct ChannelView<'a> {
    channel: &'a Channel,
}

impl ChannelView<'_> {
    /// The name (RTL23).
    pub fn name(&self) -> &str {
        &self.channel.name
    }

    /// The state (RTL2b).
    pub fn state(&self) -> ChannelState {
        self.channel.state
    }

    /// The last error (RTL24).
    pub fn error_reason(&self) -> Option<&ErrorInfo> {
        self.channel.error_reason.as_ref()
    }

    /// The options (RTL16).
    pub fn options(&self) -> &ChannelOptions {
        &self.channel.options
    }

    /// The modes granted by the service (RTL4m).
    pub fn modes(&self) -> ChannelModes {
        self.channel.modes
    }

    /// The params granted by the service (RTL4k1).
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.channel.params
    }

    /// The serial of the last message, presence or attach (RTL15b).
    pub fn channel_serial(&self) -> Option<&str> {
        self.channel.channel_serial.as_deref()
    }

    /// The serial of the last ATTACHED without RESUMED (RTL15c).
    pub fn attach_serial(&self) -> Option<&str> {
        self.channel.attach_serial.as_deref()
    }
}

/// Options of a derived channel (DO2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeriveOptions {
    /// A JMESPath filter expression (DO2a).
    pub filter: String,
}

/// The name of a derived channel for `Channels#getDerived` (RTS5a):
/// `[filter=<base64 filter>]name` (RTS5a1), with the params of `options`,
/// if any, as a query after the filter: `[filter=<base64>?rewind=1]name`
/// (RTS5a2). Get it with [`Command::GetChannel`](super::Command::GetChannel)
/// and the same options.
pub fn derived_channel_name(
    name: &str,
    derive: &DeriveOptions,
    options: Option<&ChannelOptions>,
) -> String {
    use base64::Engine as _;
    let filter = base64::engine::general_purpose::STANDARD.encode(derive.filter.as_bytes());
    let query = options
        .filter(|o| !o.params.is_empty())
        .map(|o| {
            let pairs: Vec<String> = o
                .params
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        super::url::encode_component(k),
                        super::url::encode_component(v)
                    )
                })
                .collect();
            format!("?{}", pairs.join("&"))
        })
        .unwrap_or_default();
    format!("[filter={filter}{query}]{name}")
}

/// Inputs of the channel state machine.
#[derive(Debug)]
pub(crate) enum ChanEvent {
    /// `attach()` (RTL4), or an implicit attach.
    Attach(Vec<OpId>),
    /// `detach()` (RTL5).
    Detach(Vec<OpId>),
    /// ATTACHED arrived.
    Attached(Box<ProtocolMessage>),
    /// DETACHED arrived.
    Detached(Option<ErrorInfo>),
    /// ERROR for this channel arrived (RTL14).
    Error(ErrorInfo),
    /// The connection became CONNECTED (RTL3d).
    ConnectionConnected,
    /// The connection became SUSPENDED (RTL3c).
    ConnectionSuspended(Option<ErrorInfo>),
    /// The connection became CLOSED (RTL3b).
    ConnectionClosed,
    /// The connection became FAILED (RTL3a).
    ConnectionFailed(Option<ErrorInfo>),
    /// The channel's timer fired.
    Timer(ChannelTimer),
    /// A delta could not be applied (RTL18).
    DeltaFailed(ErrorInfo),
}

use ChannelState as C;

impl Client {
    /// The transition table of a channel.
    pub(crate) fn channel_step(&mut self, name: &str, event: ChanEvent) {
        let state = self.chan(name).state;
        let connected = self.state == ConnectionState::Connected;
        match (state, event) {
            // RTL4: attach
            (C::Attached, ChanEvent::Attach(ops)) => {
                for op in ops {
                    self.complete(op, Ok(Completion::Done)); // RTL4a
                }
            }
            (C::Attaching, ChanEvent::Attach(ops)) => self.chan(name).attach_ops.extend(ops),
            (C::Detaching, ChanEvent::Attach(ops)) => self.queue_next(name, Next::Attach, ops), // RTL4h
            (C::Initialized | C::Detached | C::Suspended | C::Failed, ChanEvent::Attach(ops)) => {
                match self.state {
                    // RTL4b
                    ConnectionState::Closing
                    | ConnectionState::Closed
                    | ConnectionState::Suspended
                    | ConnectionState::Failed => {
                        let err = self.state_error(self.state);
                        for op in ops {
                            self.complete(op, Err(err.clone()));
                        }
                    }
                    _ => {
                        if state == C::Failed {
                            self.chan(name).error_reason = None; // RTL4g
                        }
                        self.chan(name).attach_ops.extend(ops);
                        self.start_attach(name, None);
                    }
                }
            }

            // RTL5: detach
            (C::Initialized | C::Detached, ChanEvent::Detach(ops)) => {
                for op in ops {
                    self.complete(op, Ok(Completion::Done)); // RTL5a
                }
            }
            (C::Failed, ChanEvent::Detach(ops)) => {
                let err = ErrorInfo::new(
                    90001,
                    400,
                    format!("channel {name} is failed and can not be detached (RTL5b)"),
                );
                for op in ops {
                    self.complete(op, Err(err.clone()));
                }
            }
            (C::Attaching, ChanEvent::Detach(ops)) if !connected => {
                // RTL5l: no ATTACH is pending on a transport; detach at once
                // (the waiting attach fails with the DETACHED outcome).
                self.chan(name).detach_ops.extend(ops);
                self.set_channel_state(name, C::Detached, None, Flags::NONE);
            }
            (C::Attaching, ChanEvent::Detach(ops)) => self.queue_next(name, Next::Detach, ops), // RTL5i
            (C::Detaching, ChanEvent::Detach(ops)) => self.chan(name).detach_ops.extend(ops),
            (C::Suspended, ChanEvent::Detach(ops)) => {
                self.chan(name).detach_ops.extend(ops);
                self.set_channel_state(name, C::Detached, None, Flags::NONE); // RTL5j
            }
            (C::Attached, ChanEvent::Detach(ops)) if !connected => {
                self.chan(name).detach_ops.extend(ops);
                self.set_channel_state(name, C::Detached, None, Flags::NONE); // RTL5l
            }
            (C::Attached, ChanEvent::Detach(ops)) => {
                // RTL5d
                let ch = self.chan(name);
                ch.detach_ops.extend(ops);
                ch.before_detach = C::Attached;
                self.send(&ProtocolMessage::for_channel(Action::Detach, name));
                self.set_channel_timer(
                    name,
                    ChannelTimer::DetachTimeout,
                    self.opts.realtime_request_timeout,
                );
                self.set_channel_state(name, C::Detaching, None, Flags::NONE);
            }

            // ATTACHED
            (C::Attaching, ChanEvent::Attached(pm)) => {
                self.take_attached(name, &pm);
                self.chan(name).error_reason = None; // RTL4c; set again from pm.error
                self.set_channel_state(name, C::Attached, pm.error.clone(), pm.flags);
            }
            (C::Attached, ChanEvent::Attached(pm)) => {
                self.take_attached(name, &pm);
                if !pm.has_flag(Flags::RESUMED) {
                    self.emit_channel_update(name, pm.error.clone(), pm.flags); // RTL12
                }
            }
            (C::Detaching | C::Detached, ChanEvent::Attached(_)) => {
                // RTL5k: we want to be detached; say so again.
                self.send(&ProtocolMessage::for_channel(Action::Detach, name));
                if state == C::Detached {
                    self.set_channel_timer(
                        name,
                        ChannelTimer::DetachTimeout,
                        self.opts.realtime_request_timeout,
                    );
                    self.set_channel_state(name, C::Detaching, None, Flags::NONE);
                }
            }

            // DETACHED
            (C::Detaching, ChanEvent::Detached(err)) => {
                self.set_channel_state(name, C::Detached, err, Flags::NONE)
            }
            (C::Attached | C::Suspended, ChanEvent::Detached(err)) if connected => {
                self.start_attach(name, err) // RTL13a
            }
            (C::Attaching, ChanEvent::Detached(err)) => {
                let err = err.unwrap_or_else(|| {
                    ErrorInfo::new(
                        90000,
                        500,
                        "the service detached the channel while attaching",
                    )
                });
                self.suspend_channel(name, err) // RTL13b
            }

            // ERROR for the channel (RTL14)
            (C::Initialized | C::Failed, ChanEvent::Error(_)) => {}
            (_, ChanEvent::Error(err)) => {
                self.set_channel_state(name, C::Failed, Some(err), Flags::NONE)
            }

            // Connection effects (RTL3)
            (C::Attaching | C::Attached | C::Suspended, ChanEvent::ConnectionConnected) => {
                let from_suspended = state == C::Suspended;
                self.start_attach(name, None);
                self.chan(name).attach_from_suspended = from_suspended;
            }
            (C::Detaching, ChanEvent::ConnectionConnected) => {
                // RTN19b: say DETACH again on the new transport, and wait
                // realtimeRequestTimeout for its DETACHED (RTL5f).
                self.send(&ProtocolMessage::for_channel(Action::Detach, name));
                self.set_channel_timer(
                    name,
                    ChannelTimer::DetachTimeout,
                    self.opts.realtime_request_timeout,
                );
            }
            (C::Attaching | C::Attached, ChanEvent::ConnectionSuspended(err)) => {
                self.chan(name).timer = None;
                self.set_channel_state(name, C::Suspended, err, Flags::NONE) // RTL3c
            }
            (C::Suspended, ChanEvent::ConnectionSuspended(_)) => self.chan(name).timer = None, // RTL13c
            (C::Attaching | C::Attached | C::Detaching, ChanEvent::ConnectionClosed) => {
                self.set_channel_state(name, C::Detached, None, Flags::NONE) // RTL3b
            }
            (C::Suspended, ChanEvent::ConnectionClosed) => self.chan(name).timer = None,
            (C::Attaching | C::Attached | C::Detaching, ChanEvent::ConnectionFailed(err)) => {
                self.set_channel_state(name, C::Failed, err, Flags::NONE) // RTL3a
            }
            (C::Suspended, ChanEvent::ConnectionFailed(_)) => self.chan(name).timer = None,

            // Timers
            (C::Attaching, ChanEvent::Timer(ChannelTimer::AttachTimeout)) => {
                let err = ErrorInfo::new(
                    90007,
                    408,
                    format!("no ATTACHED for {name} within realtimeRequestTimeout (RTL4f)"),
                );
                self.suspend_channel(name, err)
            }
            (C::Detaching, ChanEvent::Timer(ChannelTimer::DetachTimeout)) if !connected => {
                // No transport can answer the DETACH now: keep detaching
                // and send it again once connected (RTN19b), rather than go
                // back to ATTACHED on a connection that is not connected.
            }
            (C::Detaching, ChanEvent::Timer(ChannelTimer::DetachTimeout)) => {
                // RTL5f: back to where it was; the detach fails.
                let err = ErrorInfo::new(
                    90007,
                    408,
                    format!("no DETACHED for {name} within realtimeRequestTimeout (RTL5f)"),
                );
                let back = self.chan(name).before_detach;
                let ops = std::mem::take(&mut self.chan(name).detach_ops);
                for op in ops {
                    self.complete(op, Err(err.clone()));
                }
                self.set_channel_state(name, back, Some(err), Flags::NONE);
            }
            (C::Suspended, ChanEvent::Timer(ChannelTimer::Retry)) if connected => {
                self.start_attach(name, None)
            }

            // RTL18: a delta that cannot be applied: reattach from the last good serial.
            (C::Attached, ChanEvent::DeltaFailed(err)) if connected => {
                self.start_attach(name, Some(err))
            }

            (_, _) => {}
        }
    }

    // ---- helpers -----------------------------------------------------------

    pub(crate) fn chan(&mut self, name: &str) -> &mut Channel {
        // Look up first: this runs for every frame, and a key String for
        // `entry` would be an allocation each time.
        if !self.channels.contains_key(name) {
            let channel = Channel::new(name, ChannelOptions::default());
            self.channels.insert(name.to_owned(), channel);
        }
        self.channels.get_mut(name).expect("inserted above")
    }

    /// The channel's name as events carry it: shared with the channel when
    /// it exists.
    pub(crate) fn shared_name(&self, name: &str) -> Arc<str> {
        self.channels
            .get(name)
            .map_or_else(|| Arc::from(name), |c| c.name.clone())
    }

    /// A read-only view of a channel, if it exists.
    pub fn channel(&self, name: &str) -> Option<ChannelView<'_>> {
        self.channels
            .get(name)
            .map(|channel| ChannelView { channel })
    }

    /// The `fromSerial` bound of a history request with `untilAttach`: the
    /// channel's attachSerial (RTL10b, RTL15c); `None` if the service gave
    /// none. Fails unless the channel is attached (RTL10b).
    pub fn until_attach_serial(&self, name: &str) -> Result<Option<&str>, ErrorInfo> {
        match self.channels.get(name) {
            Some(ch) if ch.state == C::Attached => Ok(ch.attach_serial.as_deref()),
            other => Err(ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                format!(
                    "untilAttach requires channel {name} to be attached; it is {} (RTL10b)",
                    other.map_or(C::Initialized, |c| c.state)
                ),
            )),
        }
    }

    /// The names of the channels, sorted (RTS2).
    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    fn queue_next(&mut self, name: &str, next: Next, ops: Vec<OpId>) {
        let ch = self.chan(name);
        match &mut ch.next {
            Some((n, queued)) if *n == next => queued.extend(ops),
            _ => {
                // A later request replaces an earlier opposite one; its ops
                // complete with the outcome of the new request.
                let mut all = ch.next.take().map(|(_, o)| o).unwrap_or_default();
                all.extend(ops);
                ch.next = Some((next, all));
            }
        }
    }

    /// ATTACHING, and an ATTACH if connected (RTL4c, RTL4i).
    fn start_attach(&mut self, name: &str, reason: Option<ErrorInfo>) {
        let state = self.chan(name).state;
        if self.state == ConnectionState::Connected {
            let frame = self.attach_frame(name);
            self.send(&frame);
            self.set_channel_timer(
                name,
                ChannelTimer::AttachTimeout,
                self.opts.realtime_request_timeout,
            );
        } else {
            self.chan(name).timer = None;
        }
        self.chan(name).attach_from_suspended = state == C::Suspended;
        if state == C::Attaching {
            if let Some(r) = reason {
                self.chan(name).error_reason = Some(r);
            }
        } else {
            self.set_channel_state(name, C::Attaching, reason, Flags::NONE);
        }
    }

    /// ATTACH with params (RTL4k), modes (RTL4l) and channelSerial (RTL4c1).
    fn attach_frame(&mut self, name: &str) -> ProtocolMessage {
        let ch = self.chan(name);
        let mut pm = ProtocolMessage::for_channel(Action::Attach, name);
        pm.flags = ch.options.modes.flags();
        if !ch.options.params.is_empty() {
            pm.params = Some(ch.options.params.clone());
        }
        pm.channel_serial = ch.channel_serial.clone();
        pm
    }

    /// Takes what ATTACHED carries: serials, modes, params (RTL15, RTL4m, RTL4k1).
    fn take_attached(&mut self, name: &str, pm: &ProtocolMessage) {
        let ch = self.chan(name);
        if let Some(serial) = &pm.channel_serial {
            ch.channel_serial = Some(serial.clone());
            if !pm.has_flag(Flags::RESUMED) {
                ch.attach_serial = Some(serial.clone()); // RTL15c
            }
        }
        ch.modes = pm.flags.modes();
        ch.params = pm.params.clone().unwrap_or_default();
        ch.retry_count = 0;
        ch.timer = None;
    }

    /// SUSPENDED with a retry after channelRetryTimeout with backoff (RTL13b, RTB1).
    fn suspend_channel(&mut self, name: &str, err: ErrorInfo) {
        let retry = self.channel_retry_delay(name);
        self.set_channel_state(name, C::Suspended, Some(err), Flags::NONE);
        if self.state == ConnectionState::Connected {
            self.set_channel_timer(name, ChannelTimer::Retry, retry);
        }
    }

    fn channel_retry_delay(&mut self, name: &str) -> Duration {
        let ch = self.chan(name);
        ch.retry_count += 1;
        let n = ch.retry_count;
        let jitter = super::connection::jitter_coefficient(&mut self.rng);
        self.opts
            .channel_retry_timeout
            .mul_f64(super::connection::backoff_coefficient(n) * jitter)
    }

    fn set_channel_timer(&mut self, name: &str, kind: ChannelTimer, after: Duration) {
        let at = self.now.instant + after;
        self.chan(name).timer = Some((at, kind));
        // Keep the lower bound of all channel deadlines (see run_channel_timers).
        self.channel_timer_floor = Some(self.channel_timer_floor.map_or(at, |f| f.min(at)));
    }

    /// Enters a channel state: completes operations, clears serials, emits
    /// the change (never for the same state, RTL2g).
    fn set_channel_state(
        &mut self,
        name: &str,
        next: ChannelState,
        reason: Option<ErrorInfo>,
        flags: Flags,
    ) {
        let ch = self.chan(name);
        let previous = ch.state;
        ch.state = next;
        if reason.is_some() {
            ch.error_reason = reason.clone();
        }
        if !matches!(next, C::Attaching | C::Detaching) {
            ch.timer = None; // timers are set again by whoever needs one
        }
        if matches!(next, C::Detached | C::Failed) {
            ch.channel_serial = None; // RTL15b2
        }
        // Operations waiting for this outcome (RTL4d, RTL5e).
        let attach_ops = match next {
            C::Attached | C::Detached | C::Suspended | C::Failed => {
                std::mem::take(&mut ch.attach_ops)
            }
            _ => Vec::new(),
        };
        let detach_ops = match next {
            C::Detached | C::Failed | C::Attached => std::mem::take(&mut ch.detach_ops),
            _ => Vec::new(),
        };
        let queued = match next {
            C::Attached | C::Detached | C::Suspended | C::Failed => ch.next.take(),
            _ => None,
        };
        let err = reason
            .clone()
            .or_else(|| ch.error_reason.clone())
            .unwrap_or_else(|| ErrorInfo::new(90000, 400, format!("channel {name} is {next}")));
        for op in attach_ops {
            let result = if next == C::Attached {
                Ok(Completion::Done)
            } else {
                Err(err.clone())
            };
            self.complete(op, result);
        }
        for op in detach_ops {
            let result = if next == C::Detached {
                Ok(Completion::Done)
            } else {
                Err(err.clone())
            };
            self.complete(op, result);
        }
        if previous != next {
            self.emit(Event::Channel(ChannelStateChange {
                channel: name.to_owned(),
                previous,
                current: next,
                update: false,
                reason,
                resumed: flags.contains(Flags::RESUMED),
                has_backlog: flags.contains(Flags::HAS_BACKLOG),
            }));
        }
        self.presence_on_channel_state(name, previous, next, flags);
        // RTL4h, RTL5i: the request that waited for this one.
        if let Some((kind, ops)) = queued {
            let event = match kind {
                Next::Attach => ChanEvent::Attach(ops),
                Next::Detach => ChanEvent::Detach(ops),
            };
            self.channel_step(name, event);
        }
    }

    fn emit_channel_update(&mut self, name: &str, reason: Option<ErrorInfo>, flags: Flags) {
        if reason.is_some() {
            self.chan(name).error_reason = reason.clone();
        }
        self.emit(Event::Channel(ChannelStateChange {
            channel: name.to_owned(),
            previous: C::Attached,
            current: C::Attached,
            update: true,
            reason,
            resumed: flags.contains(Flags::RESUMED),
            has_backlog: flags.contains(Flags::HAS_BACKLOG),
        }));
        self.presence_on_channel_state(name, C::Attached, C::Attached, flags);
    }

    /// Applies a connection state change to every channel (RTL3).
    pub(crate) fn channels_on_connection(
        &mut self,
        state: ConnectionState,
        reason: Option<ErrorInfo>,
    ) {
        let names: Vec<String> = self.channels.keys().cloned().collect();
        for name in names {
            let event = match state {
                ConnectionState::Connected => ChanEvent::ConnectionConnected,
                ConnectionState::Suspended => ChanEvent::ConnectionSuspended(reason.clone()),
                ConnectionState::Closed => ChanEvent::ConnectionClosed,
                ConnectionState::Failed => ChanEvent::ConnectionFailed(reason.clone()),
                _ => continue, // RTL3e
            };
            self.channel_step(&name, event);
        }
    }

    /// RTN11d: on connect from CLOSED or FAILED, channels start over.
    pub(crate) fn reset_channels(&mut self) {
        let names: Vec<String> = self.channels.keys().cloned().collect();
        for name in names {
            let ch = self.chan(&name);
            let previous = ch.state;
            ch.state = C::Initialized;
            ch.error_reason = None;
            ch.timer = None;
            if previous != C::Initialized {
                self.emit(Event::Channel(ChannelStateChange {
                    channel: name.clone(),
                    previous,
                    current: C::Initialized,
                    update: false,
                    reason: None,
                    resumed: false,
                    has_backlog: false,
                }));
            }
        }
    }

    /// A deadline at or before the earliest channel deadline: waking then
    /// is at worst a spurious timeout, which recomputes it exactly.
    pub(crate) fn channel_deadline(&self) -> Option<Instant> {
        self.channel_timer_floor
    }

    /// Fires channel timers that are due. `channel_timer_floor` is a lower
    /// bound of every channel's deadline (set when a timer is set, never
    /// raised by a cancel), so the common case, nothing due, costs one
    /// comparison instead of a pass over every channel.
    pub(crate) fn run_channel_timers(&mut self) {
        let now = self.now.instant;
        if self.channel_timer_floor.is_none_or(|floor| floor > now) {
            return;
        }
        self.channel_timer_floor = None;
        let due: Vec<(Arc<str>, ChannelTimer)> = self
            .channels
            .values()
            .filter_map(|c| match c.timer {
                Some((at, kind)) if at <= now => Some((c.name.clone(), kind)),
                _ => None,
            })
            .collect();
        for (name, kind) in due {
            self.chan(&name).timer = None;
            self.channel_step(&name, ChanEvent::Timer(kind));
        }
        // Timers set while stepping lowered the floor already; add the
        // ones that were not due.
        let rest = self
            .channels
            .values()
            .filter_map(|c| c.timer.map(|(at, _)| at))
            .min();
        self.channel_timer_floor = match (self.channel_timer_floor, rest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Routes a channel frame (RTL1).
    pub(crate) fn on_channel_message(&mut self, mut pm: Box<ProtocolMessage>) {
        let Some(name) = pm.channel.take() else {
            return;
        };
        let Some(ch) = self.channels.get_mut(&name) else {
            return; // a channel this client never made: nothing to deliver to
        };
        // RTL15b; RTL18c: a recovery attaches from the frame before a
        // failed delta, so the serial a frame replaces is kept for that.
        let mut replaced_serial = None;
        if matches!(
            pm.action,
            Action::Message | Action::Presence | Action::Annotation | Action::Object
        ) && pm.channel_serial.is_some()
        {
            // The frame's serial is not needed after this.
            replaced_serial = Some(std::mem::replace(
                &mut ch.channel_serial,
                pm.channel_serial.take(),
            ));
        }
        if pm.action == Action::Message {
            // The hot path: one channel lookup per frame.
            if ch.state != C::Attached {
                return; // RTL17
            }
            let channel = ch.name.clone();
            let cipher = ch.options.cipher.clone();
            self.deliver_messages(&name, channel, cipher.as_ref(), pm, replaced_serial);
            return;
        }
        if matches!(
            pm.action,
            Action::Attached | Action::Detached | Action::Error
        ) {
            pm.channel = Some(name.clone());
        }
        match pm.action {
            Action::Attached => self.channel_step(&name, ChanEvent::Attached(pm)),
            Action::Detached => self.channel_step(&name, ChanEvent::Detached(pm.error)),
            Action::Error => {
                let err = pm.error.unwrap_or_else(|| {
                    ErrorInfo::new(codes::INTERNAL, 500, "channel ERROR without details")
                });
                self.channel_step(&name, ChanEvent::Error(err))
            }
            Action::Presence | Action::Sync => self.presence_frame(&name, pm),
            Action::Annotation => self.annotation_frame(&name, pm),
            _ => {}
        }
    }

    /// The messages of a MESSAGE frame on an attached channel, payloads
    /// decoded, one [`Event::Message`] each (RTL7). `replaced_serial` is
    /// the channel serial before this frame, restored when a delta fails.
    fn deliver_messages(
        &mut self,
        name: &str,
        channel: Arc<str>,
        cipher: Option<&CipherParams>,
        mut pm: Box<ProtocolMessage>,
        replaced_serial: Option<Option<String>>,
    ) {
        pm.take_inherited_fields();
        for message in std::mem::take(&mut pm.messages) {
            // Boxed first: decoded in place, the event takes the box.
            let mut message = Box::new(message);
            // RTL21: in index order, each the base of the next.
            if let Err(err) = self.decode_received(name, &mut message, cipher) {
                if err.code == codes::DELTA_DECODING_FAILED {
                    // RTL18: log, discard, reattach.
                    self.log_error(
                        "vcdiff delta could not be applied; reattaching",
                        err.clone(),
                    );
                    if let Some(serial) = replaced_serial {
                        self.chan(name).channel_serial = serial;
                    }
                    self.channel_step(name, ChanEvent::DeltaFailed(err));
                    return;
                }
                if err.code == super::delta::NO_VCDIFF_DECODER {
                    // PC3: no deltas can be read on this channel.
                    self.log_error("vcdiff delta without a decoder", err.clone());
                    self.channel_step(name, ChanEvent::Error(err));
                    return;
                }
                // RSL6b: report, still deliver.
                self.log_error("message payload could not be decoded", err);
            }
            self.emit(Event::Message {
                channel: channel.clone(),
                message,
            });
        }
        self.spare_frame = Some(pm);
    }

    /// The channel options, replacing earlier ones (RTL16, RTS3b). With new
    /// params or modes on an attaching or attached channel, reattaches and
    /// completes on ATTACHED (RTL16a); otherwise completes at once.
    pub(crate) fn set_channel_options(&mut self, op: OpId, name: &str, options: ChannelOptions) {
        let ch = self.chan(name);
        let reattach = ch.needs_reattach(&options);
        ch.options = options;
        if reattach {
            ch.attach_ops.push(op);
            let state = ch.state;
            if state == C::Attached {
                self.start_attach(name, None);
            } else if self.state == ConnectionState::Connected {
                let frame = self.attach_frame(name);
                self.send(&frame);
                self.set_channel_timer(
                    name,
                    ChannelTimer::AttachTimeout,
                    self.opts.realtime_request_timeout,
                );
            }
        } else {
            self.complete(op, Ok(Completion::Done));
        }
    }

    /// `Channels#get` with optional options (RTS3a, RTS3b, RTS3c); refuses
    /// options that would reattach (RTS3c1).
    pub(crate) fn get_channel(&mut self, op: OpId, name: &str, options: Option<ChannelOptions>) {
        let ch = self.chan(name);
        if let Some(options) = options {
            if ch.needs_reattach(&options) {
                let err = ErrorInfo::new(
                    codes::BAD_REQUEST,
                    400,
                    format!("these options would reattach channel {name}; use setOptions (RTS3c1)"),
                );
                self.complete(op, Err(err));
                return;
            }
            ch.options = options;
        }
        self.complete(op, Ok(Completion::Done));
    }

    /// Detaches and forgets a channel (RTS4a).
    pub(crate) fn release_channel(&mut self, op: OpId, name: &str) {
        let Some(state) = self.channels.get(name).map(|c| c.state) else {
            self.complete(op, Ok(Completion::Done));
            return;
        };
        if matches!(state, C::Attached | C::Attaching) && self.state == ConnectionState::Connected {
            self.send(&ProtocolMessage::for_channel(Action::Detach, name));
        }
        let err = ErrorInfo::new(90001, 400, format!("channel {name} was released"));
        // RTS4a: presence actions queued for the attach (RTP16b) and gets
        // waiting for the sync (RTP11c1) fail with the channel, as in RTP5a.
        self.fail_queued_presence(name, &err);
        self.fail_gets(name, err.clone());
        if let Some(ch) = self.channels.remove(name) {
            let mut ops = ch.attach_ops;
            ops.extend(ch.detach_ops);
            ops.extend(ch.next.map(|(_, o)| o).unwrap_or_default());
            for op in ops {
                self.complete(op, Err(err.clone()));
            }
        }
        self.complete(op, Ok(Completion::Done));
    }

    pub(crate) fn log_error(&mut self, message: &str, error: ErrorInfo) {
        self.emit(Event::Log(super::io::LogRecord {
            level: super::io::LogLevel::Error,
            message: format!("{message}: {error}"),
            error: Some(error),
        }));
    }
}
