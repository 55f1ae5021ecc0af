//! Subscribing over Ably's SSE and raw HTTP streaming API where
//! WebSocket is blocked: `ably_async::sse` on [`Tokio`], with the shape of
//! `ably_blocking::sse` (`subscribe` is an `async fn`, [`SseStream`] a
//! `futures::Stream`). A thread of its own reads each stream (ureq),
//! resuming by event id after drops; see `docs/sse-client.md`.
//!
//! ```no_run
//! # async fn sse() -> ably_tokio::Result<()> {
//! use ably_tokio::ClientOptions;
//! use ably_tokio::sse::{self, SseOptions};
//! let options = ClientOptions::new("appId.keyId:secret");
//! let mut stream = sse::subscribe(&options, ["chat"], SseOptions::new()).await?;
//! while let Some(event) = stream.next().await {
//!     let event = event?; // Err: the stream has ended, and why
//!     println!("{}: {:?}", event.channel, event.message().map(|m| &m.data));
//! }
//! # Ok(()) }
//! ```

pub use ably_async::sse::{Item, Received, Rewind, SseOptions, SseStream, StreamFormat};

use crate::{ClientOptions, Result, Tokio};

/// Subscribes to `channels` from a task of this runtime: gets a token
/// first if the options need one, and returns once the first stream is
/// open; its refusal is the error (e.g. 40101 bad key, 40160 not
/// permitted). See `ably_async::sse::subscribe`.
pub async fn subscribe(
    options: &ClientOptions,
    channels: impl IntoIterator<Item = impl Into<String>>,
    sse: SseOptions,
) -> Result<SseStream> {
    ably_async::sse::subscribe::<Tokio>(options, channels, sse).await
}
