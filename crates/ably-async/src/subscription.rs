//! [`Subscription`]: the receiving end of a subscriber list, and [`Page`]:
//! one page of a paginated REST result.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ably_proto::adapter::{Call, Error, PageItem, Sink};
use ably_proto::rest::{PaginatedResult, RestRequest};
use futures_channel::mpsc::{self, Receiver};
use futures_util::{Stream, StreamExt};

use crate::Result;
use crate::handle::Inner;
use crate::runtime::{Runtime, until};

/// A stream of events (messages, presence events, state changes) from the
/// client, in the order the client saw them: a [`Stream`], with
/// [`recv`](Subscription::recv) for use without `StreamExt`. Dropping it
/// unsubscribes.
///
/// It holds at most `ClientOptions::subscription_capacity` unread events.
/// An event that finds it full ends it: the events queued before still
/// arrive, then the end, and [`error`](Subscription::error) says 80020.
pub struct Subscription<T> {
    rx: Receiver<T>,
    /// Set by the sink when an event found the queue full.
    overflowed: Arc<AtomicBool>,
    capacity: usize,
    runtime: Arc<dyn Runtime>,
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Subscription<T> {
    /// A subscription holding at most `capacity` unread events (at least
    /// one), and the sink that feeds it. The sink refuses an event that
    /// finds the queue full, which drops the sink and so ends the stream.
    pub(crate) fn bounded(capacity: usize, runtime: Arc<dyn Runtime>) -> (Sink<T>, Self) {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        // futures-channel gives each sender one slot beyond the buffer.
        let (mut tx, rx) = mpsc::channel(capacity - 1);
        let overflowed = Arc::new(AtomicBool::new(false));
        let flag = overflowed.clone();
        let sink: Sink<T> = Box::new(move |item| match tx.try_send(item) {
            Ok(()) => true,
            Err(e) => {
                if e.is_full() {
                    flag.store(true, Ordering::Release);
                }
                false
            }
        });
        let sub = Subscription {
            rx,
            overflowed,
            capacity,
            runtime,
        };
        (sink, sub)
    }
}

/// The most a subscription can be made to hold: futures-channel's own
/// limit is far above any memory.
const MAX_CAPACITY: usize = 1 << 40;

impl<T> Subscription<T> {
    /// Why the subscription ended early: 80020 when an event found it
    /// full (it then holds the events before that one, and gets no more).
    /// `None` while it is whole.
    pub fn error(&self) -> Option<Error> {
        self.overflowed
            .load(Ordering::Acquire)
            .then(|| Error::fell_behind(self.capacity))
    }

    /// The next event; `None` once the client has shut down or the
    /// subscription has ended ([`error`](Subscription::error) says why).
    pub async fn recv(&mut self) -> Option<T> {
        self.rx.next().await
    }

    /// The next event, as [`Stream`]'s `next` gives it; `None` at the
    /// end, as for [`recv`](Subscription::recv).
    pub async fn next(&mut self) -> Option<T> {
        self.rx.next().await
    }

    /// The next event, waiting at most `timeout` (error 50003 after that;
    /// at the end, 80020 if the subscription fell behind, else 80017: the
    /// client has shut down).
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<T> {
        self.recv_until(Instant::now() + timeout).await
    }

    /// The next event, waiting until `deadline` at most.
    pub(crate) async fn recv_until(&mut self, deadline: Instant) -> Result<T> {
        let runtime = self.runtime.clone();
        match until(&*runtime, deadline, self.rx.next()).await {
            Some(Some(item)) => Ok(item),
            Some(None) => Err(self.error().unwrap_or_else(Error::gone)),
            None => Err(Error::timeout("an event")),
        }
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Stream for Subscription<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_next_unpin(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rx.size_hint()
    }
}

/// One page of a paginated result (TG): the items, and the next and first
/// pages on request.
pub struct Page<T, R: Runtime> {
    /// The items of this page (TG3).
    pub items: Vec<T>,
    next: Option<RestRequest>,
    first: Option<RestRequest>,
    inner: Arc<Inner<R>>,
}

impl<T: std::fmt::Debug, R: Runtime> std::fmt::Debug for Page<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("items", &self.items)
            .field("has_next", &self.next.is_some())
            .finish()
    }
}

impl<T: PageItem + Send + 'static, R: Runtime> Page<T, R> {
    pub(crate) fn new(inner: &Arc<Inner<R>>, page: PaginatedResult<T>) -> Page<T, R> {
        Page {
            items: page.items,
            next: page.next,
            first: page.first,
            inner: inner.clone(),
        }
    }

    async fn fetch(&self, request: &Option<RestRequest>) -> Result<Option<Page<T, R>>> {
        match request {
            None => Ok(None),
            Some(r) => {
                let page = self.inner.call(Call::page(r.clone())).await?;
                Ok(Some(Page::new(&self.inner, page)))
            }
        }
    }

    /// Whether there is a next page (TG6).
    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }

    /// Whether this is the last page (TG7).
    pub fn is_last(&self) -> bool {
        self.next.is_none()
    }

    /// The next page, or `None` on the last (TG4).
    pub async fn next(&self) -> Result<Option<Page<T, R>>> {
        self.fetch(&self.next).await
    }

    /// The first page (TG5).
    pub async fn first(&self) -> Result<Option<Page<T, R>>> {
        self.fetch(&self.first).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::Threads;
    use futures_executor::block_on;

    #[test]
    fn a_subscription_is_a_stream_with_recv_and_timeouts() {
        let (mut sink, mut sub) = Subscription::bounded(10, Arc::new(Threads));
        assert_eq!(sub.try_recv(), None);
        for i in 1..=4 {
            assert!(sink(i), "room for it");
        }
        assert_eq!(sub.try_recv(), Some(1));
        assert_eq!(block_on(sub.recv()), Some(2));
        assert_eq!(block_on(sub.next()), Some(3));
        assert_eq!(block_on(StreamExt::next(&mut sub)), Some(4));
        let err = block_on(sub.recv_timeout(Duration::from_millis(1))).expect_err("empty");
        assert_eq!(err.code(), 50003);
        drop(sink);
        assert_eq!(block_on(sub.recv()), None);
        let err = block_on(sub.recv_timeout(Duration::from_secs(30))).expect_err("ended");
        assert_eq!(err.code(), 80017);
        assert!(
            sub.error().is_none(),
            "the client ended it, not a full queue"
        );
    }

    #[test]
    fn an_event_that_finds_it_full_ends_it_with_80020() {
        let (mut sink, mut sub) = Subscription::bounded(3, Arc::new(Threads));
        for i in 1..=3 {
            assert!(sink(i), "room for {i}");
        }
        assert!(!sink(4), "the fourth finds it full");
        assert_eq!(sub.error().map(|e| e.code()), Some(80020));
        // The dispatcher drops a sink that refused: what was queued
        // arrives, then the end with the reason.
        drop(sink);
        let got: Vec<_> = std::iter::from_fn(|| block_on(sub.recv())).collect();
        assert_eq!(got, [1, 2, 3]);
        let err = block_on(sub.recv_timeout(Duration::from_secs(30))).expect_err("ended");
        assert_eq!(err.code(), 80020);
        assert!(
            err.message().contains("3 unread events"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn room_comes_back_as_events_are_read() {
        let (mut sink, mut sub) = Subscription::bounded(1, Arc::new(Threads));
        for i in 0..3 {
            assert!(sink(i));
            assert_eq!(sub.try_recv(), Some(i));
        }
        assert!(sub.error().is_none());
    }
}
