//! [`SseOptions`]: how an adapter's `sse::subscribe` subscribes, the
//! builder every adapter re-exports.

use std::time::Duration;

use super::session::SessionConfig;
use super::url::{Rewind, StreamFormat, check_channels};
use crate::{CipherParams, ErrorInfo};

/// How to subscribe: the format, where to start, ciphers, the
/// reconnection policy, and the bound of the queue to the consumer.
/// Built like the client options:
///
/// ```
/// use std::time::Duration;
/// use ably_proto::CipherParams;
/// use ably_proto::sse::{Rewind, SseOptions, StreamFormat};
/// let key = CipherParams::from_key(&[1; 32])?;
/// let options = SseOptions::new()
///     .rewind(Rewind::Count(10))
///     .cipher(key)
///     .format(StreamFormat::JsonLines)
///     .retry_delay(Duration::from_millis(500));
/// # Ok::<(), ably_proto::ErrorInfo>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SseOptions {
    config: SessionConfig,
    buffer: usize,
}

impl Default for SseOptions {
    fn default() -> Self {
        SseOptions::new()
    }
}

impl SseOptions {
    /// The defaults: SSE, live from now, no cipher, reconnect after 2 s
    /// (backing off to 4 s), give up after 2 minutes without a stream, a
    /// stream silent for 25 s is dropped, 1 MiB lines, 1024 events
    /// buffered.
    pub fn new() -> SseOptions {
        SseOptions {
            config: SessionConfig::new(Vec::<String>::new()),
            buffer: 1024,
        }
    }

    /// SSE (`GET /sse`, the default) or JSON lines (`GET /event-stream`).
    pub fn format(mut self, format: StreamFormat) -> Self {
        self.config.format = format;
        self
    }

    /// Start right after this event id (`Received::id`, or the
    /// `last_event_id()` of an earlier stream).
    pub fn last_event(mut self, id: impl Into<String>) -> Self {
        self.config.last_event = Some(id.into());
        self
    }

    /// Replay recent messages when starting without an event id.
    pub fn rewind(mut self, rewind: Rewind) -> Self {
        self.config.rewind = Some(rewind);
        self
    }

    /// Ask for `heartbeat` events rather than keepalive comments.
    pub fn heartbeats(mut self, yes: bool) -> Self {
        self.config.heartbeats = yes;
        self
    }

    /// Decrypt the payloads of every channel with this cipher (RSL5).
    pub fn cipher(mut self, cipher: CipherParams) -> Self {
        self.config.ciphers.all = Some(cipher);
        self
    }

    /// Decrypt the payloads of one channel with this cipher.
    pub fn channel_cipher(mut self, channel: impl Into<String>, cipher: CipherParams) -> Self {
        self.config.ciphers.channels.insert(channel.into(), cipher);
        self
    }

    /// The base delay between reconnection attempts (default 2 s).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.config.retry_delay = delay;
        self
    }

    /// Stop after failing to reconnect for this long (default 2 minutes,
    /// the history the service keeps; `None`: never).
    pub fn give_up_after(mut self, limit: Option<Duration>) -> Self {
        self.config.give_up_after = limit;
        self
    }

    /// Drop a stream that sends nothing for this long (default 25 s; the
    /// service sends a keepalive every 15 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// The longest line and the largest event, in bytes (default 1 MiB).
    pub fn max_sizes(mut self, line: usize, event: usize) -> Self {
        self.config.max_line = line;
        self.config.max_event = event;
        self
    }

    /// How many events may wait for the consumer (default 1024); when
    /// full, the reader stops reading until there is room.
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = events.max(1);
        self
    }

    /// For adapters: the session config for these channels, and the
    /// buffer size; a bad channel list is refused (40010).
    pub fn into_parts(
        self,
        channels: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<(SessionConfig, usize), ErrorInfo> {
        let mut config = self.config;
        config.channels = channels.into_iter().map(Into::into).collect();
        check_channels(&config.channels)?;
        Ok((config, self.buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_fills_the_session_config_and_the_buffer() {
        let key = CipherParams::from_key(&[3; 32]).expect("key");
        let (config, buffer) = SseOptions::new()
            .format(StreamFormat::JsonLines)
            .last_event("7@1:0")
            .rewind(Rewind::Count(5))
            .heartbeats(true)
            .channel_cipher("b", key.clone())
            .retry_delay(Duration::from_millis(10))
            .give_up_after(None)
            .idle_timeout(Duration::from_secs(3))
            .max_sizes(100, 200)
            .buffer(0)
            .into_parts(["a", "b"])
            .expect("valid channels");
        assert_eq!(config.channels, ["a", "b"]);
        assert_eq!(config.format, StreamFormat::JsonLines);
        assert_eq!(config.last_event.as_deref(), Some("7@1:0"));
        assert_eq!(config.rewind, Some(Rewind::Count(5)));
        assert!(config.heartbeats);
        assert_eq!(config.ciphers.channels.get("b"), Some(&key));
        assert_eq!(config.retry_delay, Duration::from_millis(10));
        assert_eq!(config.give_up_after, None);
        assert_eq!(config.idle_timeout, Duration::from_secs(3));
        assert_eq!((config.max_line, config.max_event), (100, 200));
        assert_eq!(buffer, 1, "a buffer holds at least one event");
        assert_eq!(SseOptions::new().into_parts(["a"]).expect("ok").1, 1024);
    }

    #[test]
    fn a_bad_channel_list_is_refused_with_40010() {
        for channels in [vec![], vec!["a,b"], vec![""]] {
            let e = SseOptions::new().into_parts(channels).expect_err("refused");
            assert_eq!(e.code, 40010);
        }
    }
}
