//! [`Snapshot`]: what API handles read without a round trip to the
//! driver, and [`wait_outcome`], the rule for waiting on a state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ErrorInfo;
use crate::client::{ChannelState, Client, ConnectionState};

/// The client's state as the handles see it. The dispatcher updates it
/// before delivering the events of a step, so a caller woken by a
/// completion sees the state that goes with it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The connection state (RTN4d).
    pub state: ConnectionState,
    /// The connection's last error (RTN25).
    pub error_reason: Option<ErrorInfo>,
    /// The connection id (RTN8).
    pub id: Option<String>,
    /// The connection key (RTN9).
    pub key: Option<String>,
    /// The clientId as known now (RSA7).
    pub client_id: Option<String>,
    /// Each channel's state and last error.
    pub channels: HashMap<String, (ChannelState, Option<ErrorInfo>)>,
}

impl Snapshot {
    /// The snapshot of a client now.
    pub fn of(client: &Client) -> Snapshot {
        let channels = client
            .channel_names()
            .filter_map(|n| client.channel(n))
            .map(|c| (c.name().to_owned(), (c.state(), c.error_reason().cloned())))
            .collect();
        Snapshot {
            state: client.state(),
            error_reason: client.error_reason().cloned(),
            id: client.connection_id().map(str::to_owned),
            key: client.connection_key().map(str::to_owned),
            client_id: client.client_id().map(str::to_owned),
            channels,
        }
    }

    /// A channel's state; `Initialized` for one the client does not know.
    pub fn channel_state(&self, channel: &str) -> ChannelState {
        self.channels
            .get(channel)
            .map_or(ChannelState::Initialized, |(s, _)| *s)
    }

    /// A channel's last error.
    pub fn channel_error(&self, channel: &str) -> Option<ErrorInfo> {
        self.channels.get(channel).and_then(|(_, e)| e.clone())
    }
}

/// The snapshot shared between a driver and its handles.
#[derive(Clone, Debug)]
pub struct SharedSnapshot(Arc<Mutex<Snapshot>>);

impl SharedSnapshot {
    /// Shares `snapshot`.
    pub fn new(snapshot: Snapshot) -> SharedSnapshot {
        SharedSnapshot(Arc::new(Mutex::new(snapshot)))
    }

    /// Locks it, ignoring poisoning: the dispatcher never panics while
    /// holding it, and the data is the last complete copy either way.
    pub fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the snapshot now.
    pub fn get(&self) -> Snapshot {
        self.lock().clone()
    }
}

/// Whether waiting for the connection to reach `target` is over, given
/// its state and last error now: `Some(Ok)` when it is there,
/// `Some(Err)` when it reached `failed` (or `closed`, unless that is the
/// target) instead, `None` to keep waiting.
pub fn wait_outcome(
    target: ConnectionState,
    state: ConnectionState,
    reason: Option<&ErrorInfo>,
) -> Option<Result<(), ErrorInfo>> {
    if state == target {
        return Some(Ok(()));
    }
    if matches!(state, ConnectionState::Failed | ConnectionState::Closed) {
        let reason = reason
            .cloned()
            .unwrap_or_else(|| ErrorInfo::new(80000, 400, format!("connection {state}")));
        return Some(Err(reason));
    }
    None
}
