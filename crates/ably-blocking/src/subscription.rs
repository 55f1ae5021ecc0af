//! [`Subscription`]: the receiving end of a subscriber list;
//! [`Listener`]: a callback on the driver thread instead; and [`Page`]:
//! one page of a paginated REST result.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use ably_proto::adapter::{Call, PageItem};
use ably_proto::rest::{PaginatedResult, RestRequest};

use crate::error::{Error, Result};
use crate::handle::Inner;
use crate::queue::Receiver;

/// A stream of events (messages, presence events, state changes) from the
/// client, in the order the client saw them. It is a blocking iterator;
/// dropping it unsubscribes. The async adapters give a `Stream` with the
/// same items.
///
/// It holds at most `ClientOptions::subscription_capacity` unread events.
/// An event that finds it full ends it: the events queued before still
/// arrive, then the end, and [`error`](Subscription::error) says 80020.
#[derive(Debug)]
pub struct Subscription<T> {
    rx: Receiver<T>,
}

impl<T> Subscription<T> {
    pub(crate) fn new(rx: Receiver<T>) -> Self {
        Subscription { rx }
    }

    /// The next event; `None` once the client has shut down or the
    /// subscription has ended ([`error`](Subscription::error) says why).
    pub fn recv(&self) -> Option<T> {
        self.rx.recv()
    }

    /// The next event, waiting at most `timeout` (error 50003 after that;
    /// at the end, 80020 if the subscription fell behind, else 80017: the
    /// client has shut down).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => Error::timeout("an event"),
            RecvTimeoutError::Disconnected => self.error().unwrap_or_else(Error::gone),
        })
    }

    /// Why the subscription ended early: 80020 when an event found it
    /// full (it then holds the events before that one, and gets no more).
    /// `None` while it is whole.
    pub fn error(&self) -> Option<Error> {
        self.rx.overflowed().map(Error::fell_behind)
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<T> {
        self.rx.try_recv()
    }
}

impl<T> Iterator for Subscription<T> {
    type Item = T;

    /// Blocks for the next event; ends when the client shuts down.
    fn next(&mut self) -> Option<T> {
        self.recv()
    }
}

/// A callback subscription, from [`Channel::subscribe_with`](crate::Channel::subscribe_with):
/// the callback runs on the client's driver thread for each event, with
/// no hand-off to another thread, until [`unsubscribe`](Self::unsubscribe)
/// is called or the client shuts down. Dropping the handle leaves the
/// callback subscribed.
///
/// The callback holds up the client while it runs: it must not block,
/// and must not wait on the client (a blocking call such as
/// [`Channel::publish`](crate::Channel::publish) made from it would wait
/// for the thread it is running on); `publish_async` is fine. A callback
/// that panics is unsubscribed; the client carries on.
#[derive(Debug)]
pub struct Listener {
    subscribed: Arc<AtomicBool>,
}

impl Listener {
    /// Wraps `f` in the sink the core calls, and returns its handle.
    pub(crate) fn new<T: 'static>(
        mut f: impl FnMut(T) + Send + 'static,
    ) -> (Listener, ably_proto::adapter::Sink<T>) {
        let subscribed = Arc::new(AtomicBool::new(true));
        let flag = subscribed.clone();
        let sink = Box::new(move |item: T| {
            if !flag.load(Ordering::Acquire) {
                return false;
            }
            let ok = catch_unwind(AssertUnwindSafe(|| f(item))).is_ok();
            if !ok {
                flag.store(false, Ordering::Release);
            }
            ok
        });
        (Listener { subscribed }, sink)
    }

    /// Stops the callback: it is not called again once this returns,
    /// unless a call is running at this moment on the driver thread.
    pub fn unsubscribe(&self) {
        self.subscribed.store(false, Ordering::Release);
    }

    /// Whether the callback is still subscribed (not unsubscribed, and
    /// it has not panicked).
    pub fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }
}

/// One page of a paginated result (TG): the items, and the next and first
/// pages on request.
pub struct Page<T> {
    /// The items of this page (TG3).
    pub items: Vec<T>,
    next: Option<RestRequest>,
    first: Option<RestRequest>,
    inner: Arc<Inner>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Page<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("items", &self.items)
            .field("has_next", &self.next.is_some())
            .finish()
    }
}

impl<T: PageItem + Send + 'static> Page<T> {
    pub(crate) fn new(inner: &Arc<Inner>, page: PaginatedResult<T>) -> Page<T> {
        Page {
            items: page.items,
            next: page.next,
            first: page.first,
            inner: inner.clone(),
        }
    }

    fn fetch(&self, request: &Option<RestRequest>) -> Result<Option<Page<T>>> {
        match request {
            None => Ok(None),
            Some(r) => {
                let page = self.inner.call(Call::page(r.clone()))?;
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
    pub fn next(&self) -> Result<Option<Page<T>>> {
        self.fetch(&self.next)
    }

    /// The first page (TG5).
    pub fn first(&self) -> Result<Option<Page<T>>> {
        self.fetch(&self.first)
    }
}
