//! The backend on `ably-blocking`: its calls already block, and its
//! subscriptions already wait with a timeout.

use std::time::Duration;

use ably_blocking::{ClientOptions as BlockingOptions, PresenceQuery, Realtime, Subscription};
use ably_proto::ErrorInfo;
use ably_proto::auth::{TokenDetails, TokenParams};
use ably_proto::client::{ClientOptions, ConnectionStateChange};
use ably_proto::rest::HistoryParams;
use ably_proto::{ChannelOptions, Data, Message, PresenceMessage};

use super::{Backend, Client, ConnectionInfo, Events, Next, Result};

/// The blocking adapter: a driver thread per client.
pub struct Blocking;

impl Backend for Blocking {
    fn client(&self, options: ClientOptions, tls_roots: &[Vec<u8>]) -> Result<Box<dyn Client>> {
        let options = BlockingOptions::from_core(options).tls_root_certificates(tls_roots.to_vec());
        let client = Realtime::new(options).map_err(ErrorInfo::from)?;
        Ok(Box::new(BlockingClient { client }))
    }
}

struct BlockingClient {
    client: Realtime,
}

fn ably<T>(r: ably_blocking::Result<T>) -> Result<T> {
    r.map_err(ErrorInfo::from)
}

impl Client for BlockingClient {
    fn connection_changes(&self) -> Box<dyn Events<ConnectionStateChange>> {
        Box::new(self.client.connection().on_state_change())
    }

    fn connection(&self) -> ConnectionInfo {
        let c = self.client.connection();
        ConnectionInfo {
            state: c.state(),
            id: c.id(),
            key: c.key(),
            client_id: self.client.auth().client_id(),
        }
    }

    fn connect(&self) -> Result<()> {
        ably(self.client.connection().connect())
    }

    fn ping(&self) -> Result<Duration> {
        ably(self.client.connection().ping())
    }

    fn time(&self) -> Result<i64> {
        ably(self.client.time())
    }

    fn set_channel_options(&self, channel: &str, options: ChannelOptions) -> Result<()> {
        ably(self.client.channels().get_with_options(channel, options)).map(drop)
    }

    fn subscribe(&self, channel: &str) -> Result<Box<dyn Events<Message>>> {
        let sub = ably(self.client.channels().get(channel).subscribe())?;
        Ok(Box::new(sub))
    }

    fn publish(&self, channel: &str, messages: Vec<Message>) -> Result<Vec<Option<String>>> {
        ably(
            self.client
                .channels()
                .get(channel)
                .publish_messages(messages),
        )
    }

    fn history(&self, channel: &str, params: HistoryParams) -> Result<Vec<Message>> {
        ably(self.client.channels().get(channel).history(params)).map(|page| page.items)
    }

    fn presence_enter(&self, channel: &str, data: Data) -> Result<()> {
        ably(self.client.channels().get(channel).presence().enter(data))
    }

    fn presence_leave(&self, channel: &str, data: Data) -> Result<()> {
        ably(self.client.channels().get(channel).presence().leave(data))
    }

    fn presence_get(&self, channel: &str) -> Result<Vec<PresenceMessage>> {
        ably(
            self.client
                .channels()
                .get(channel)
                .presence()
                .get(PresenceQuery::default()),
        )
    }

    fn presence_subscribe(&self, channel: &str) -> Result<Box<dyn Events<PresenceMessage>>> {
        let sub = ably(self.client.channels().get(channel).presence().subscribe())?;
        Ok(Box::new(sub))
    }

    fn request_token(&self, params: TokenParams) -> Result<TokenDetails> {
        ably(self.client.auth().request_token(Some(params)))
    }

    fn close(&self) -> Result<()> {
        ably(self.client.close())
    }
}

impl<T: Send> Events<T> for Subscription<T> {
    fn next_within(&mut self, timeout: Duration) -> Next<T> {
        match self.recv_timeout(timeout) {
            Ok(item) => Next::Item(item),
            // ably-blocking: 50003 is a wait that timed out; anything else
            // is the end (80017: the client has shut down; 80020: the
            // subscription fell behind).
            Err(e) if e.code() == 50003 => Next::Timeout,
            Err(e) => Next::Ended(e.into_info()),
        }
    }

    fn try_next(&mut self) -> Option<T> {
        self.try_recv()
    }
}
