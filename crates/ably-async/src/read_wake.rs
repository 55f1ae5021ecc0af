//! [`ReadWake`]: the driver's waker for its socket's reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Wake, Waker};

use futures_util::task::AtomicWaker;

/// Wakes the driver's task for its socket, and notes that it did so.
///
/// The driver polls the socket only when this note is there (or when a
/// poll stopped before the socket said `Pending`), not every time its task
/// wakes: a message delivered to a subscriber in the same task wakes that
/// task, and on async-io (async-std, smol) every poll of a socket that has
/// nothing costs a `recv` and an `epoll_ctl`, four of each per received
/// message before this note. A socket that returned `Pending` has stored
/// this waker and wakes it when it can go on, so not polling it meanwhile
/// keeps the `Stream` contract.
pub(crate) struct ReadWake {
    ready: AtomicBool,
    task: AtomicWaker,
}

impl ReadWake {
    /// A note that is set (a new socket is polled first), and the waker
    /// to poll the socket with.
    pub(crate) fn new() -> (Arc<ReadWake>, Waker) {
        let wake = Arc::new(ReadWake {
            ready: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(wake.clone());
        (wake, waker)
    }

    /// The task to wake; called on every poll of the driver's wait, so
    /// that it is always the current one.
    pub(crate) fn register(&self, task: &Waker) {
        self.task.register(task);
    }

    /// Whether the socket is to be polled; clears the note, before the
    /// poll, so that a wake during the poll is not lost.
    pub(crate) fn take(&self) -> bool {
        self.ready.swap(false, Ordering::AcqRel)
    }

    /// Sets the note: for a new socket, or one left before it said
    /// `Pending`.
    pub(crate) fn set(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

impl Wake for ReadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.set();
        self.task.wake();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A task waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_wake_sets_the_note_and_wakes_the_task() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let (note, waker) = ReadWake::new();
        assert!(note.take(), "a new socket is polled first");
        assert!(!note.take());
        note.register(&Waker::from(count.clone()));
        waker.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(note.take());
        assert!(!note.take());
        // Set by hand for a poll cut short.
        note.set();
        assert!(note.take());
    }
}
