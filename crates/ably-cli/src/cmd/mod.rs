//! The commands, one module each, and what they share: the context
//! (global options, output), connecting, and reading cipher keys.

pub mod auth;
pub mod bench;
pub mod connections;
pub mod demo;
pub mod history;
pub mod local;
pub mod presence;
pub mod publish;
pub mod subscribe;

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use ably_proto::client::{ClientOptions, ConnectionState};
use ably_proto::{CipherParams, ErrorInfo};

use crate::args::Global;
use crate::backend::{self, Backend, Client, Next};
use crate::output::Out;
use crate::target::{self, Target};

/// How long a command waits to connect, and for one awaited event.
pub const WAIT: Duration = Duration::from_secs(15);

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// An Ably error: printed with its code and help link.
    Ably(ErrorInfo),
    /// A check that did not pass (the bench's counts): printed as is.
    Check(String),
}

impl From<ErrorInfo> for Failure {
    fn from(e: ErrorInfo) -> Failure {
        Failure::Ably(e)
    }
}

/// What a command returns.
pub type Outcome = Result<(), Failure>;

/// What every command is given.
pub struct Ctx {
    /// The global options.
    pub global: Global,
    /// Where output goes.
    pub out: Out,
}

impl Ctx {
    /// The service and key to use; says on stderr when that is the local
    /// default.
    pub fn target(&self) -> Result<Target, ErrorInfo> {
        let target = target::resolve(&self.global)?;
        if let Some(note) = &target.local_default {
            self.out.note(&format!("ably: {note}"));
        }
        Ok(target)
    }

    /// The backend of `--runtime`.
    pub fn backend(&self) -> Result<Box<dyn Backend>, ErrorInfo> {
        backend::select(self.global.runtime)
    }

    /// A client of the target with `options` changed by `adjust`, not yet
    /// connected.
    pub fn client(
        &self,
        backend: &dyn Backend,
        target: &Target,
        adjust: impl FnOnce(&mut ClientOptions),
    ) -> Result<Box<dyn Client>, ErrorInfo> {
        let mut options = target.options.clone();
        options.auto_connect = false;
        adjust(&mut options);
        backend.client(options, &target.tls_roots)
    }

    /// A connected client of the target (see [`connect`]).
    pub fn connected(
        &self,
        backend: &dyn Backend,
        target: &Target,
        adjust: impl FnOnce(&mut ClientOptions),
    ) -> Result<Box<dyn Client>, ErrorInfo> {
        let client = self.client(backend, target, adjust)?;
        connect(client.as_ref(), target, |_, _| {})?;
        Ok(client)
    }
}

/// Connects and waits until connected, calling `seen` with each state and
/// the time since the start. The first connection is given one chance: if
/// it ends up disconnected, suspended, failed or closed instead, this
/// returns the reason (with a hint when the target is the local default).
pub fn connect(
    client: &dyn Client,
    target: &Target,
    mut seen: impl FnMut(ConnectionState, Duration),
) -> Result<(), ErrorInfo> {
    let start = Instant::now();
    let mut changes = client.connection_changes();
    if client.connection().state == ConnectionState::Connected {
        return Ok(());
    }
    client.connect()?;
    let deadline = start + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let change = match changes.next_within(left) {
            Next::Item(change) => change,
            Next::Timeout => {
                return Err(ErrorInfo::new(
                    50003,
                    504,
                    format!("timed out connecting to {}", target.address()),
                ));
            }
            Next::Ended(why) => return Err(why),
        };
        if change.update {
            continue;
        }
        seen(change.current, start.elapsed());
        match change.current {
            ConnectionState::Connected => return Ok(()),
            ConnectionState::Initialized
            | ConnectionState::Connecting
            | ConnectionState::Closing => {}
            state => {
                let mut e = change.reason.unwrap_or_else(|| {
                    ErrorInfo::new(80000, 503, format!("the connection is {state}"))
                });
                e.message = format!("cannot connect to {}: {}", target.address(), e.message);
                if target.local_default.is_some() && state != ConnectionState::Failed {
                    e.message.push_str(" (is `ably local` running?)");
                }
                return Err(e);
            }
        }
    }
}

/// Cipher params from a base64 key (RSE1c); 40000 if it is not one.
pub fn cipher(key: Option<&str>) -> Result<Option<CipherParams>, ErrorInfo> {
    key.map(CipherParams::from_base64_key).transpose()
}

/// A clientId for a client given none: `ably-cli-` and 8 random hex digits.
pub fn random_client_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("ably-cli-{:08x}", h.finish() as u32)
}

/// A name unique to this run, for channels the commands make up.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &random_client_id()["ably-cli-".len()..])
}
