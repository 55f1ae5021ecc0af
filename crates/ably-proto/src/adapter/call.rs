//! [`Call`]: each API operation as the command to send and the reading of
//! its completion, written once for the three adapters.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Reply;
use crate::auth::{ApiKey, TokenDetails, TokenParams, TokenRequest, nonce_from_bytes};
use crate::client::{ClientOptions, Command, Completion, PresenceQuery, PresenceRequest};
use crate::rest::{
    HistoryParams, HttpPaginatedResponse, PaginatedResult, PresenceParams, RestOp, RestRequest,
    RestResult, Stats, StatsParams,
};
use crate::{ChannelOptions, Data, ErrorInfo, Message, PresenceAction, PresenceMessage};

/// An operation: the [`Command`] to hand the dispatcher, and how to read
/// the [`Completion`] it ends with into the API's return value.
pub struct Call<T> {
    command: Command,
    finish: Finish<T>,
}

/// Reads a completion into an API return value.
pub type Finish<T> = fn(Completion) -> Result<T, ErrorInfo>;

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

/// The core answered with a completion of another kind: a bug.
fn unexpected(what: impl std::fmt::Debug) -> ErrorInfo {
    ErrorInfo::new(50000, 500, format!("unexpected completion: {what:?}"))
}

fn done(c: Completion) -> Result<(), ErrorInfo> {
    match c {
        Completion::Done => Ok(()),
        other => Err(unexpected(other)),
    }
}

fn rest_result(c: Completion) -> Result<RestResult, ErrorInfo> {
    match c {
        Completion::Rest(result) => Ok(*result),
        other => Err(unexpected(other)),
    }
}

impl<T> Call<T> {
    /// The command and the reader, to send one and keep the other.
    pub fn into_parts(self) -> (Command, Finish<T>) {
        (self.command, self.finish)
    }

    /// The command, and a [`Reply`] that reads its completion and hands
    /// the API value (or error) to `deliver`.
    pub fn with_reply(
        self,
        deliver: impl FnOnce(Result<T, ErrorInfo>) + Send + 'static,
    ) -> (Command, Reply)
    where
        T: 'static,
    {
        let finish = self.finish;
        let reply: Reply = Box::new(move |result| deliver(result.and_then(finish)));
        (self.command, reply)
    }

    /// The command.
    pub fn command(&self) -> &Command {
        &self.command
    }
}

impl Call<()> {
    fn done(command: Command) -> Call<()> {
        Call {
            command,
            finish: done,
        }
    }

    /// Connect, or reconnect now (RTN11).
    pub fn connect() -> Call<()> {
        Call::done(Command::Connect)
    }

    /// Close the connection (RTN12).
    pub fn close() -> Call<()> {
        Call::done(Command::Close)
    }

    /// Make a channel exist with these options (RTS3b, RTS3c).
    pub fn get_channel(channel: &str, options: Option<ChannelOptions>) -> Call<()> {
        Call::done(Command::GetChannel {
            channel: channel.to_owned(),
            options,
        })
    }

    /// Detach and forget a channel (RTS4).
    pub fn release(channel: &str) -> Call<()> {
        Call::done(Command::ReleaseChannel {
            channel: channel.to_owned(),
        })
    }

    /// Attach; done when ATTACHED (RTL4).
    pub fn attach(channel: &str) -> Call<()> {
        Call::done(Command::Attach {
            channel: channel.to_owned(),
        })
    }

    /// Detach; done when DETACHED (RTL5).
    pub fn detach(channel: &str) -> Call<()> {
        Call::done(Command::Detach {
            channel: channel.to_owned(),
        })
    }

    /// Set params, modes and cipher (RTL16, RSL7).
    pub fn set_options(channel: &str, options: ChannelOptions) -> Call<()> {
        Call::done(Command::SetChannelOptions {
            channel: channel.to_owned(),
            options,
        })
    }

    /// Enter, update or leave, for this client or on behalf of
    /// `client_id` (RTP8, RTP9, RTP10, RTP14, RTP15).
    pub fn presence(
        channel: &str,
        action: PresenceAction,
        client_id: Option<String>,
        data: Data,
    ) -> Call<()> {
        Call::done(Command::Presence {
            channel: channel.to_owned(),
            request: PresenceRequest {
                action,
                client_id,
                data,
                extras: None,
            },
        })
    }
}

impl Call<Duration> {
    /// Measure the round trip (RTN13).
    pub fn ping() -> Call<Duration> {
        Call {
            command: Command::Ping,
            finish: |c| match c {
                Completion::Ping(d) => Ok(d),
                other => Err(unexpected(other)),
            },
        }
    }
}

impl Call<TokenDetails> {
    /// Obtain a token and use it, on the live connection too (RSA10, RTC8).
    pub fn authorize(params: Option<TokenParams>) -> Call<TokenDetails> {
        Call {
            command: Command::Authorize(params),
            finish: |c| match c {
                Completion::Authorized(details) => Ok(*details),
                other => Err(unexpected(other)),
            },
        }
    }

    /// Obtain a token by the configured means without using it (RSA8).
    pub fn request_token(params: Option<TokenParams>) -> Call<TokenDetails> {
        Call {
            command: Command::RequestToken(params),
            finish: |c| match rest_result(c)? {
                RestResult::Token(details) => Ok(details),
                other => Err(unexpected(other)),
            },
        }
    }
}

impl Call<Vec<Option<String>>> {
    /// Publish over the realtime connection; done at the ACK, with the
    /// serials in order (RTL6, RTL6j).
    pub fn publish(channel: &str, messages: Vec<Message>) -> Call<Vec<Option<String>>> {
        Call {
            command: Command::Publish {
                channel: channel.to_owned(),
                messages,
            },
            finish: |c| match c {
                Completion::Published(serials) => Ok(serials),
                other => Err(unexpected(other)),
            },
        }
    }

    /// Publish over REST (RSL1), with its serials.
    pub fn rest_publish(channel: &str, messages: Vec<Message>) -> Call<Vec<Option<String>>> {
        Call {
            command: Command::Rest(Box::new(RestOp::Publish {
                channel: channel.to_owned(),
                messages,
                params: BTreeMap::new(),
            })),
            finish: |c| match rest_result(c)? {
                RestResult::Published(serials) => Ok(serials),
                other => Err(unexpected(other)),
            },
        }
    }
}

impl Call<Vec<PresenceMessage>> {
    /// The present members, by default after the SYNC (RTP11).
    pub fn presence_get(channel: &str, query: PresenceQuery) -> Call<Vec<PresenceMessage>> {
        Call {
            command: Command::PresenceGet {
                channel: channel.to_owned(),
                query,
            },
            finish: |c| match c {
                Completion::Members(members) => Ok(members),
                other => Err(unexpected(other)),
            },
        }
    }
}

impl Call<i64> {
    /// The service's time in ms since the epoch (RSC16, RTC6a).
    pub fn time() -> Call<i64> {
        Call {
            command: Command::Rest(Box::new(RestOp::Time)),
            finish: |c| match rest_result(c)? {
                RestResult::Time(ms) => Ok(ms),
                other => Err(unexpected(other)),
            },
        }
    }
}

impl Call<HttpPaginatedResponse> {
    /// Any REST request (RSC19, RTC9).
    pub fn request(
        method: &str,
        path: &str,
        params: Vec<(String, String)>,
        body: Option<serde_json::Value>,
        headers: Vec<(String, String)>,
    ) -> Call<HttpPaginatedResponse> {
        Call {
            command: Command::Rest(Box::new(RestOp::Request {
                method: method.to_owned(),
                path: path.to_owned(),
                version: crate::rest::PROTOCOL_VERSION,
                params,
                body,
                headers,
            })),
            finish: |c| match rest_result(c)? {
                RestResult::Http(response) => Ok(response),
                other => Err(unexpected(other)),
            },
        }
    }
}

/// Items that come in pages: messages, presence messages, stats.
pub trait PageItem: Sized {
    /// The page inside a REST result, if the result holds this kind.
    fn from_result(result: RestResult) -> Option<PaginatedResult<Self>>;
}

impl PageItem for Message {
    fn from_result(result: RestResult) -> Option<PaginatedResult<Self>> {
        match result {
            RestResult::Messages(p) => Some(p),
            _ => None,
        }
    }
}

impl PageItem for PresenceMessage {
    fn from_result(result: RestResult) -> Option<PaginatedResult<Self>> {
        match result {
            RestResult::Presence(p) => Some(p),
            _ => None,
        }
    }
}

impl PageItem for Stats {
    fn from_result(result: RestResult) -> Option<PaginatedResult<Self>> {
        match result {
            RestResult::Stats(p) => Some(p),
            _ => None,
        }
    }
}

fn page<T: PageItem>(c: Completion) -> Result<PaginatedResult<T>, ErrorInfo> {
    let result = rest_result(c)?;
    T::from_result(result).ok_or_else(|| unexpected("not a page of the expected kind"))
}

impl<T: PageItem> Call<PaginatedResult<T>> {
    fn paged(op: RestOp) -> Call<PaginatedResult<T>> {
        Call {
            command: Command::Rest(Box::new(op)),
            finish: page::<T>,
        }
    }

    /// Another page of a paginated result: its `next` or `first` (TG4, TG5).
    pub fn page(request: RestRequest) -> Call<PaginatedResult<T>> {
        Call::paged(RestOp::Send(request))
    }
}

impl Call<PaginatedResult<Message>> {
    /// Message history (RSL2, RTL10).
    pub fn history(channel: &str, params: HistoryParams) -> Call<PaginatedResult<Message>> {
        Call::paged(RestOp::History {
            channel: channel.to_owned(),
            params,
        })
    }
}

impl Call<PaginatedResult<PresenceMessage>> {
    /// Presence members over REST (RSP3).
    pub fn rest_presence_get(
        channel: &str,
        params: PresenceParams,
    ) -> Call<PaginatedResult<PresenceMessage>> {
        Call::paged(RestOp::PresenceGet {
            channel: channel.to_owned(),
            params,
        })
    }

    /// Presence history (RSP4, RTP12).
    pub fn presence_history(
        channel: &str,
        params: HistoryParams,
    ) -> Call<PaginatedResult<PresenceMessage>> {
        Call::paged(RestOp::PresenceHistory {
            channel: channel.to_owned(),
            params,
        })
    }
}

impl Call<PaginatedResult<Stats>> {
    /// Application statistics (RSC6, RTC5).
    pub fn stats(params: StatsParams) -> Call<PaginatedResult<Stats>> {
        Call::paged(RestOp::Stats(params))
    }
}

/// A TokenRequest signed with the client's key (RSA9), for an auth server
/// to hand to clients whose authCallback returns it. Uses the default
/// token params where `params` is `None` and the client's clientId when
/// the params name none; fails with 40101 without a key. `now_ms` and
/// `nonce` come from the caller, to keep this free of clocks and
/// randomness.
pub fn create_token_request(
    options: &ClientOptions,
    params: Option<TokenParams>,
    now_ms: i64,
    nonce: [u8; 8],
) -> Result<TokenRequest, ErrorInfo> {
    let key = options
        .key
        .as_deref()
        .ok_or_else(|| ErrorInfo::new(40101, 401, "a key is needed to sign a TokenRequest"))?;
    let key = ApiKey::parse(key)?;
    let mut params = params.unwrap_or_else(|| options.default_token_params.clone());
    if params.client_id.is_none() {
        params.client_id = options.client_id.clone();
    }
    Ok(crate::auth::create_token_request(
        &key,
        &params,
        now_ms,
        nonce_from_bytes(nonce),
    ))
}
