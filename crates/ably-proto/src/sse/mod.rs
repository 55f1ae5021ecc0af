//! The consumer side of Ably's SSE and raw HTTP streaming API (v1.2), for
//! places where WebSocket is blocked: `GET /sse` (Server-Sent Events) and
//! `GET /event-stream` (one JSON envelope per line), without I/O.
//!
//! - [`SseParser`]: `text/event-stream` bytes in, events out;
//! - [`LinesParser`]: newline-delimited `{"event", "data", "id"}` envelopes;
//! - [`decode_event`]: an event into a [`Message`](crate::Message) or
//!   [`PresenceMessage`](crate::PresenceMessage) with its payload decoded
//!   (RSL6, with the channel's cipher), or the [`ErrorInfo`](crate::ErrorInfo)
//!   of an `error` event;
//! - [`stream_url`]: the request URL with `v`, `channels`, `key` or
//!   `accessToken`, `lastEvent` or `rewind`, `heartbeats`;
//! - [`SseSession`]: a subscription across reconnections: the request to
//!   make, the last event id to resume from, and when to retry or stop;
//! - for the adapters' `sse::subscribe`: [`SseOptions`] (the builder they
//!   all re-export), [`stream_auth`] (which credentials their options
//!   give, or whether a token must be requested first) and [`Delivered`]
//!   (what their stream has handed out: the id to continue from, and the
//!   error that ended it). The reader itself is `ably_net::sse`.
//!
//! An adapter drives a session like this:
//!
//! ```
//! use ably_proto::client::{ClientOptions, HttpResponse, Instant};
//! use ably_proto::sse::{Next, SessionConfig, SseSession, StreamAuth};
//!
//! let opts = ClientOptions::with_key("app.key:secret");
//! let mut session = SseSession::new(
//!     &opts,
//!     StreamAuth::Key("app.key:secret".into()),
//!     SessionConfig::new(["chat"]),
//!     [0; 32], // seed of the retry jitter
//! )?;
//! let request = session.request(); // GET https://.../sse?channels=chat&v=1.2&key=...
//! assert!(request.url.contains("/sse?channels=chat&v=1.2&key="));
//! // ... the adapter sends it; a 200 opens the stream:
//! let ok = HttpResponse { status: 200, ..Default::default() };
//! session.on_response(&ok, Instant::from_millis(0))?;
//! let mut received = Vec::new();
//! session.on_bytes(
//!     b"id: 1@2:000\nevent: message\ndata: {\"channel\":\"chat\",\"name\":\"hi\",\"data\":\"there\"}\n\n",
//!     &mut received,
//! )?;
//! assert_eq!(received[0].message().and_then(|m| m.data.as_str()), Some("there"));
//! // The connection drops: reconnect, resuming after the last event.
//! let next = session.on_closed(None, Instant::from_millis(5_000));
//! assert!(matches!(next, Next::Reconnect(_)));
//! assert!(session.request().url.ends_with("&lastEvent=1%402%3A000"));
//! # Ok::<(), ably_proto::ErrorInfo>(())
//! ```

mod credentials;
mod delivered;
mod event;
#[doc(hidden)]
pub mod fuzz;
mod lines;
mod options;
mod parser;
mod session;
mod url;

pub use credentials::stream_auth;
pub use delivered::Delivered;

pub use event::{Ciphers, Decoded, Item, RawData, RawEvent, Received, decode_event};
pub use lines::{LineItem, LinesParser};
pub use options::SseOptions;
pub use parser::{DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE, SseEvent, SseItem, SseParser};
pub use session::{
    DEFAULT_GIVE_UP_AFTER, DEFAULT_IDLE_TIMEOUT, DEFAULT_RETRY_DELAY, Next, SessionConfig,
    SseSession, is_fatal,
};
pub use url::{
    Rewind, STREAM_VERSION, StreamAuth, StreamFormat, StreamParams, check_channels, stream_url,
};
