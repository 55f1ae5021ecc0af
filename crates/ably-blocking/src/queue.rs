//! The queue from the driver thread to one API thread: the items of a
//! [`Subscription`](crate::Subscription), or the answer to a call.
//!
//! A mutex and a condition variable rather than `std::sync::mpsc`, whose
//! sender wakes a waiting receiver while still holding a lock: the
//! receiver, often run at once on the driver's CPU, then blocks on that
//! lock, costing two more context switches per item. Here the receiver
//! is woken after the lock is released.
//!
//! A subscription's queue is bounded: an item that finds it full is
//! refused, which ends the subscription (the driver drops its sender),
//! and the receiver learns it through [`Receiver::overflowed`].

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
    /// Items held at most.
    capacity: usize,
    /// An item was refused for want of room.
    overflowed: bool,
    sender_gone: bool,
    receiver_gone: bool,
    /// Receiving threads blocked on `ready`.
    waiting: usize,
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

/// A new queue for the answer to one call: it holds one item, so it
/// needs no bound.
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    bounded(usize::MAX)
}

/// A new queue that holds at most `capacity` items (at least one).
pub(crate) fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            overflowed: false,
            sender_gone: false,
            receiver_gone: false,
            waiting: 0,
        }),
        ready: Condvar::new(),
    });
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Sender<T> {
    /// Queues `item`; false once the receiver is gone, or when the queue
    /// is full (the item is then dropped and the queue marked
    /// overflowed: the caller drops this sender, ending the queue).
    pub(crate) fn send(&self, item: T) -> bool {
        let mut state = self.0.lock();
        if state.receiver_gone {
            return false;
        }
        if state.items.len() >= state.capacity {
            state.overflowed = true;
            return false;
        }
        let wake = state.waiting > 0;
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
        let mut state = self.0.lock();
        state.sender_gone = true;
        let wake = state.waiting > 0;
        drop(state);
        if wake {
            self.0.ready.notify_all();
        }
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
            state.waiting += 1;
            state = self.0.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            state.waiting -= 1;
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
            let left = match deadline {
                // Beyond what an Instant can hold: as good as forever.
                None => None,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    Some(left)
                }
            };
            state.waiting += 1;
            state = match left {
                None => self.0.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(left) => {
                    self.0
                        .ready
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
            state.waiting -= 1;
        }
    }

    /// The next item, if one is queued.
    pub(crate) fn try_recv(&self) -> Option<T> {
        self.0.lock().items.pop_front()
    }

    /// `Some(capacity)` if an item was refused because the queue held
    /// `capacity` items.
    pub(crate) fn overflowed(&self) -> Option<usize> {
        let state = self.0.lock();
        state.overflowed.then_some(state.capacity)
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
    fn a_full_queue_refuses_the_next_item_and_says_so() {
        let (tx, rx) = bounded(2);
        assert!(tx.send(1));
        assert!(tx.send(2));
        assert_eq!(rx.overflowed(), None);
        assert!(!tx.send(3), "a third item finds the queue full");
        assert_eq!(rx.overflowed(), Some(2));
        // The driver drops a sender whose send failed: the receiver gets
        // what was queued, then the end.
        drop(tx);
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(rx.recv(), Some(2));
        assert_eq!(rx.recv(), None);
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(1)),
            Err(RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn room_comes_back_as_items_are_read() {
        let (tx, rx) = bounded(1);
        for i in 0..3 {
            assert!(tx.send(i));
            assert_eq!(rx.try_recv(), Some(i));
        }
        assert_eq!(rx.overflowed(), None);
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
    fn a_receiver_waiting_with_a_timeout_is_woken_by_an_item_and_by_the_end() {
        let (tx, rx) = queue();
        let receiver = std::thread::spawn(move || {
            let first = rx.recv_timeout(Duration::from_secs(60));
            let end = rx.recv_timeout(Duration::from_secs(60));
            (first, end)
        });
        // Whether the receiver waits already or not, both must arrive.
        assert!(tx.send(7));
        drop(tx);
        let (first, end) = receiver.join().expect("receiver");
        assert_eq!(first, Ok(7));
        assert_eq!(end, Err(RecvTimeoutError::Disconnected));
    }

    #[test]
    fn a_receiver_waiting_is_woken_by_the_end() {
        let (tx, rx) = queue::<u32>();
        let waiting = std::thread::spawn(move || rx.recv());
        // Let it block: poll the shared count rather than sleep.
        while tx.0.lock().waiting == 0 {
            std::thread::yield_now();
        }
        drop(tx);
        assert_eq!(waiting.join().expect("receiver"), None);
    }

    #[test]
    fn sending_fails_once_the_receiver_is_gone() {
        let (tx, rx) = queue();
        assert!(tx.send(1));
        drop(rx);
        assert!(!tx.send(2));
    }
}
