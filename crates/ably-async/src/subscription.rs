//! [`Subscription`]: the receiving end of a subscriber list, and [`Page`]:
//! one page of a paginated REST result.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ably_proto::adapter::{Call, Error, PageItem};
use ably_proto::rest::{PaginatedResult, RestRequest};
use futures_channel::mpsc::UnboundedReceiver;
use futures_util::{Stream, StreamExt};

use crate::Result;
use crate::handle::Inner;
use crate::runtime::{Runtime, until};

/// A stream of events (messages, presence events, state changes) from the
/// client, in the order the client saw them: a [`Stream`], with
/// [`recv`](Subscription::recv) for use without `StreamExt`. Dropping it
/// unsubscribes. The queue is unbounded: a subscription nobody reads
/// grows.
pub struct Subscription<T> {
    rx: UnboundedReceiver<T>,
    runtime: Arc<dyn Runtime>,
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl<T> Subscription<T> {
    pub(crate) fn new(rx: UnboundedReceiver<T>, runtime: Arc<dyn Runtime>) -> Self {
        Subscription { rx, runtime }
    }

    /// The next event; `None` once the client has shut down.
    pub async fn recv(&mut self) -> Option<T> {
        self.rx.next().await
    }

    /// The next event, as [`Stream`]'s `next` gives it; `None` once the
    /// client has shut down.
    pub async fn next(&mut self) -> Option<T> {
        self.rx.next().await
    }

    /// The next event, waiting at most `timeout` (error 50003 after that,
    /// 80017 if the client has shut down).
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<T> {
        self.recv_until(Instant::now() + timeout).await
    }

    /// The next event, waiting until `deadline` at most.
    pub(crate) async fn recv_until(&mut self, deadline: Instant) -> Result<T> {
        let runtime = self.runtime.clone();
        match until(&*runtime, deadline, self.rx.next()).await {
            Some(Some(item)) => Ok(item),
            Some(None) => Err(Error::gone()),
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
    use futures_channel::mpsc::unbounded;
    use futures_executor::block_on;

    #[test]
    fn a_subscription_is_a_stream_with_recv_and_timeouts() {
        let (tx, rx) = unbounded();
        let mut sub = Subscription::new(rx, Arc::new(Threads));
        assert_eq!(sub.try_recv(), None);
        for i in 1..=4 {
            tx.unbounded_send(i).expect("open");
        }
        assert_eq!(sub.try_recv(), Some(1));
        assert_eq!(block_on(sub.recv()), Some(2));
        assert_eq!(block_on(sub.next()), Some(3));
        assert_eq!(block_on(StreamExt::next(&mut sub)), Some(4));
        let err = block_on(sub.recv_timeout(Duration::from_millis(1))).expect_err("empty");
        assert_eq!(err.code(), 50003);
        drop(tx);
        assert_eq!(block_on(sub.recv()), None);
        let err = block_on(sub.recv_timeout(Duration::from_secs(30))).expect_err("ended");
        assert_eq!(err.code(), 80017);
    }
}
