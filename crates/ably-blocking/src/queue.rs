//! The queue from the driver thread to one API thread: the items of a
//! [`Subscription`](crate::Subscription), or the answer to a call.
//!
//! A mutex and a condition variable rather than `std::sync::mpsc`, whose
//! sender wakes a waiting receiver while still holding a lock: the
//! receiver, often run at once on the driver's CPU, then blocks on that
//! lock, costing two more context switches per item. Here the receiver
//! is woken after the lock is released.

use std::collections::VecDeque;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

struct State<T> {
    items: VecDeque<T>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code panics while holding it; recover anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The driver's end.
pub(crate) struct Sender<T>(Arc<Shared<T>>);

/// The API thread's end.
pub(crate) struct Receiver<T>(Arc<Shared<T>>);

/// A new, unbounded queue (like the mpsc channel it replaces: items are
/// bounded by what the service sends and the receiver leaves unread).
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            sender_gone: false,
            receiver_gone: false,
        }),
        ready: Condvar::new(),
    });
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Sender<T> {
    /// Queues `item`; false once the receiver is gone.
    pub(crate) fn send(&self, item: T) -> bool {
        let mut state = self.0.lock();
        if state.receiver_gone {
            return false;
        }
        // Only an empty queue can have its receiver waiting.
        let wake = state.items.is_empty();
        state.items.push_back(item);
        drop(state);
        if wake {
            self.0.ready.notify_one();
        }
        true
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.0.lock().sender_gone = true;
        self.0.ready.notify_one();
    }
}

impl<T> Receiver<T> {
    /// The next item, waiting for it; `None` once the queue is empty and
    /// the sender gone.
    pub(crate) fn recv(&self) -> Option<T> {
        let mut state = self.0.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                return Some(item);
            }
            if state.sender_gone {
                return None;
            }
            state = self.0.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The next item, waiting at most `timeout` for it.
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.0.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                return Ok(item);
            }
            if state.sender_gone {
                return Err(RecvTimeoutError::Disconnected);
            }
            state = match deadline {
                // Beyond what an Instant can hold: as good as forever.
                None => self.0.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    let (state, _) = self
                        .0
                        .ready
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner());
                    state
                }
            };
        }
    }

    /// The next item, if one is queued.
    pub(crate) fn try_recv(&self) -> Option<T> {
        self.0.lock().items.pop_front()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut state = self.0.lock();
            state.receiver_gone = true;
            std::mem::take(&mut state.items)
        };
        drop(items); // outside the lock
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("queued", &self.0.lock().items.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_in_order_then_the_end() {
        let (tx, rx) = queue();
        assert!(tx.send(1));
        assert!(tx.send(2));
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(1)),
            Err(RecvTimeoutError::Timeout)
        );
        drop(tx);
        assert_eq!(rx.recv(), None);
        assert_eq!(
            rx.recv_timeout(Duration::MAX),
            Err(RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn a_waiting_receiver_is_woken() {
        let (tx, rx) = queue();
        let sender = std::thread::spawn(move || {
            for i in 0..1000 {
                assert!(tx.send(i));
            }
        });
        let got: Vec<_> = std::iter::from_fn(|| rx.recv()).collect();
        sender.join().expect("sender");
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn sending_fails_once_the_receiver_is_gone() {
        let (tx, rx) = queue();
        assert!(tx.send(1));
        drop(rx);
        assert!(!tx.send(2));
    }
}
