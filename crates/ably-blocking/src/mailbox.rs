//! The channel into the driver thread: a `std::sync::mpsc` channel whose
//! every send also wakes the driver's poller, so that the driver can
//! sleep on its socket and its messages at once. See "Waking up" in the
//! crate docs.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SendError, TryRecvError};

use mio::{Registry, Token, Waker};

/// Wakes the driver's poller at most once per drain of the mailbox.
struct Wake {
    waker: Waker,
    /// A wake-up was sent since the driver last began to drain: later
    /// senders need not send another (it would find their message too).
    pending: AtomicBool,
}

/// The sending side; cheap to clone. Every send wakes the driver.
pub(crate) struct Sender<T> {
    tx: mpsc::Sender<T>,
    wake: Arc<Wake>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            tx: self.tx.clone(),
            wake: self.wake.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// Queues `msg` and wakes the driver; fails only when the driver is
    /// gone.
    pub(crate) fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.tx.send(msg)?;
        self.wake();
        Ok(())
    }

    /// Wakes the driver without a message (one is on its way already if
    /// a send has not been drained yet).
    pub(crate) fn wake(&self) {
        if !self.wake.pending.swap(true, Ordering::AcqRel) {
            // Cannot fail in practice (mio resets a full eventfd); a lost
            // wake-up would delay the message until the next event.
            let _ = self.wake.waker.wake();
        }
    }
}

/// The receiving side, owned by the driver.
pub(crate) struct Mailbox<T> {
    rx: mpsc::Receiver<T>,
    wake: Arc<Wake>,
}

impl<T> Mailbox<T> {
    /// Call before draining: messages sent from now on wake the poller
    /// again.
    pub(crate) fn begin_drain(&self) {
        // A swap, not a store: its acquire half keeps the reads of the
        // drain after it, so a message sent by a sender that saw
        // `pending` still set is found by this drain.
        self.wake.pending.swap(false, Ordering::AcqRel);
    }

    /// The next message, if one is queued.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }
}

/// A new mailbox whose senders wake the poller of `registry` with an
/// event of `token`.
pub(crate) fn mailbox<T>(registry: &Registry, token: Token) -> io::Result<(Sender<T>, Mailbox<T>)> {
    let wake = Arc::new(Wake {
        waker: Waker::new(registry, token)?,
        pending: AtomicBool::new(false),
    });
    let (tx, rx) = mpsc::channel();
    Ok((
        Sender {
            tx,
            wake: wake.clone(),
        },
        Mailbox { rx, wake },
    ))
}
