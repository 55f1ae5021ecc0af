//! A mock HTTP layer and fake clock around the sans-IO client used as a
//! REST client, in the shape of the UTS mock HTTP client
//! (`uts/rest/unit/helpers/mock_http.md`): every HTTP request the core
//! produces is recorded and answered by a handler (a response, a network
//! error, no answer at all, or a response after a delay), authCallback
//! calls are answered by another handler, and time only moves when nothing
//! else can happen, straight to the next deadline.
//!
//! The client never connects: `auto_connect` is off, as for the REST
//! client of the runtime adapter, and a test fails if a transport opens.

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use ably_proto::auth::{TokenDetails, TokenParams};
use ably_proto::client::{
    AuthOptions, AuthResponse, Client, ClientOptions, Command, Completion, Event, HttpRequest,
    HttpResponse, Input, Instant, Now, OpId, Output, RequestId,
};
use ably_proto::codec::Format;
use ably_proto::rest::{RestOp, RestResult};
use ably_proto::{ErrorInfo, Message};

/// The wall clock at the start of every test.
pub const START_WALL_MS: i64 = 1_700_000_000_000;

/// How the mock answers one HTTP request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A response at once.
    Respond(HttpResponse),
    /// A network-level failure (refused, DNS, reset) at once.
    Fail(ErrorInfo),
    /// No answer ever: the client's own timeout must end the attempt.
    Timeout,
    /// A response after this much time.
    Delay(Duration, HttpResponse),
    /// No answer until the test gives one with [`Mock::release`].
    Hold,
}

type HttpHandler = Box<dyn FnMut(&HttpRequest) -> Reply>;
type TokenHandler = Box<dyn FnMut(&TokenParams) -> Result<AuthResponse, ErrorInfo>>;

/// The client, a fake clock and the mock HTTP layer.
pub struct Mock {
    pub client: Client,
    pub now: Now,
    next_op: u64,
    /// Every HTTP request, in order (REST requests and token requests).
    pub requests: Vec<HttpRequest>,
    /// The params of every authCallback call, in order.
    pub token_calls: Vec<TokenParams>,
    /// Every event the client emitted.
    pub events: Vec<Event>,
    /// How many transports the client opened (a REST client opens none).
    pub transports: usize,
    pub on_http: HttpHandler,
    pub on_token: TokenHandler,
    /// Requests held by [`Reply::Hold`], oldest first.
    pub held: Vec<(RequestId, HttpRequest)>,
    completed: BTreeMap<OpId, Result<Completion, ErrorInfo>>,
    pending: VecDeque<Input>,
    delayed: Vec<(Instant, RequestId, HttpResponse)>,
}

/// Options with the UTS key `appId.keyId:keySecret`, no auto-connect.
pub fn key_opts() -> ClientOptions {
    ClientOptions {
        auto_connect: false,
        ..ClientOptions::with_key("appId.keyId:keySecret")
    }
}

/// The same with JSON, for tests that read bodies.
pub fn json_opts() -> ClientOptions {
    ClientOptions {
        format: Format::Json,
        ..key_opts()
    }
}

impl Mock {
    /// A mock around a new client; every request answered `200 []`.
    pub fn new(mut opts: ClientOptions) -> Mock {
        opts.auto_connect = false;
        Mock::try_new(opts).expect("valid options")
    }

    /// A mock around a new client, or the error of its options. The
    /// client is a REST client (`rest_client`): it never connects.
    pub fn try_new(mut opts: ClientOptions) -> Result<Mock, ErrorInfo> {
        opts.rest_client = true;
        let now = Now::new(Instant::from_millis(0), START_WALL_MS);
        let client = Client::new(opts, [7; 32], now)?;
        Ok(Mock {
            client,
            now,
            next_op: 0,
            requests: Vec::new(),
            token_calls: Vec::new(),
            events: Vec::new(),
            transports: 0,
            on_http: Box::new(|_| Reply::Respond(json(200, serde_json::json!([])))),
            on_token: Box::new(|_| Err(ErrorInfo::new(50000, 500, "no authCallback in this test"))),
            held: Vec::new(),
            completed: BTreeMap::new(),
            pending: VecDeque::new(),
            delayed: Vec::new(),
        })
    }

    /// Answers every request with `handler`.
    pub fn respond(&mut self, mut handler: impl FnMut(&HttpRequest) -> HttpResponse + 'static) {
        self.on_http = Box::new(move |r| Reply::Respond(handler(r)));
    }

    /// Answers the n-th request (from 1) with the n-th response; the last
    /// one answers every further request.
    pub fn queue(&mut self, responses: Vec<HttpResponse>) {
        let mut n = 0;
        self.on_http = Box::new(move |_| {
            let r = responses[n.min(responses.len() - 1)].clone();
            n += 1;
            Reply::Respond(r)
        });
    }

    /// Answers every request with `handler`, which may fail or delay.
    pub fn reply(&mut self, handler: impl FnMut(&HttpRequest) -> Reply + 'static) {
        self.on_http = Box::new(handler);
    }

    /// Answers authCallback calls with `handler`.
    pub fn callback(
        &mut self,
        handler: impl FnMut(&TokenParams) -> Result<AuthResponse, ErrorInfo> + 'static,
    ) {
        self.on_token = Box::new(handler);
    }

    /// Sends a command and handles everything that follows at once,
    /// without moving the clock; returns its id.
    pub fn start(&mut self, command: Command) -> OpId {
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.client.handle(self.now, Input::Command(op, command));
        self.settle();
        op
    }

    /// Runs a command to its completion, moving the fake clock only when
    /// nothing else can happen.
    pub fn run(&mut self, command: Command) -> Result<Completion, ErrorInfo> {
        let op = self.start(command);
        self.finish(op)
    }

    /// Drives an operation already started to its completion.
    pub fn finish(&mut self, op: OpId) -> Result<Completion, ErrorInfo> {
        for _ in 0..10_000 {
            self.settle();
            if let Some(result) = self.completed.remove(&op) {
                assert_eq!(self.transports, 0, "a REST client opened a transport");
                return result;
            }
            self.next_moment();
        }
        panic!("the command did not complete");
    }

    /// Whether an operation has completed (its result is kept for
    /// [`Mock::finish`]).
    pub fn is_done(&self, op: OpId) -> bool {
        self.completed.contains_key(&op)
    }

    /// Answers the oldest held request.
    pub fn release(&mut self, response: HttpResponse) {
        let (request, _) = self.held.remove(0);
        self.client
            .handle(self.now, Input::Http(request, Ok(response)));
        self.settle();
    }

    /// Handles outputs and queued answers until there are none.
    fn settle(&mut self) {
        loop {
            while let Some(out) = self.client.poll() {
                self.process(out);
            }
            match self.pending.pop_front() {
                Some(input) => self.client.handle(self.now, input),
                None => break,
            }
        }
    }

    /// A REST operation to its result.
    pub fn rest(&mut self, op: RestOp) -> Result<RestResult, ErrorInfo> {
        match self.run(Command::Rest(Box::new(op)))? {
            Completion::Rest(r) => Ok(*r),
            other => panic!("expected a REST result, got {other:?}"),
        }
    }

    /// A REST operation that must succeed.
    pub fn ok(&mut self, op: RestOp) -> RestResult {
        self.rest(op).expect("the operation succeeds")
    }

    /// A REST operation that must fail.
    pub fn err(&mut self, op: RestOp) -> ErrorInfo {
        match self.rest(op) {
            Err(e) => e,
            Ok(r) => panic!("expected an error, got {r:?}"),
        }
    }

    /// `requestToken` (RSA8).
    pub fn request_token(
        &mut self,
        params: Option<TokenParams>,
    ) -> Result<TokenDetails, ErrorInfo> {
        match self.run(Command::RequestToken(params))? {
            Completion::Rest(r) => match *r {
                RestResult::Token(t) => Ok(t),
                other => panic!("expected a token, got {other:?}"),
            },
            other => panic!("expected a token, got {other:?}"),
        }
    }

    /// `authorize(tokenParams, authOptions)` (RSA10) to its completion.
    pub fn authorize_with(
        &mut self,
        params: Option<TokenParams>,
        options: Option<AuthOptions>,
    ) -> Result<Completion, ErrorInfo> {
        self.run(Command::AuthorizeWith {
            params,
            options: options.map(Box::new),
        })
    }

    /// `authorize()` with optional params, to the token it gives (RSA10f).
    pub fn authorize(&mut self, params: Option<TokenParams>) -> Result<TokenDetails, ErrorInfo> {
        match self.run(Command::Authorize(params))? {
            Completion::Authorized(t) => Ok(*t),
            other => panic!("expected a token, got {other:?}"),
        }
    }

    /// Moves the clock forward by `d`, firing the deadlines on the way;
    /// delayed answers are not delivered.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now.instant + d;
        while let Some((at, _)) = self.client.poll_timeout() {
            if at > target {
                break;
            }
            let delta = at.saturating_since(self.now.instant);
            self.now = self.now.advanced(delta);
            self.client.handle(self.now, Input::Timeout);
            self.settle();
        }
        let delta = target.saturating_since(self.now.instant);
        self.now = self.now.advanced(delta);
        self.client.handle(self.now, Input::Timeout);
        self.settle();
    }

    /// The REST requests, without token requests (`/keys/.../requestToken`).
    pub fn rest_requests(&self) -> Vec<&HttpRequest> {
        self.requests
            .iter()
            .filter(|r| !r.url.contains("/requestToken"))
            .collect()
    }

    /// The only REST request made.
    pub fn only(&self) -> &HttpRequest {
        let all = self.rest_requests();
        assert_eq!(all.len(), 1, "one request: {all:?}");
        all[0]
    }

    /// The last request made.
    pub fn last(&self) -> &HttpRequest {
        self.requests.last().expect("a request was made")
    }

    /// The log records the client emitted.
    pub fn logs(&self) -> Vec<&ably_proto::client::LogRecord> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Log(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn process(&mut self, out: Output) {
        match out {
            Output::Http { request, http } => {
                self.requests.push(http.clone());
                match (self.on_http)(&http) {
                    Reply::Respond(r) => self.pending.push_back(Input::Http(request, Ok(r))),
                    Reply::Fail(e) => self.pending.push_back(Input::Http(request, Err(e))),
                    Reply::Timeout => {}
                    Reply::Delay(d, r) => self.delayed.push((self.now.instant + d, request, r)),
                    Reply::Hold => self.held.push((request, http)),
                }
            }
            Output::FetchToken { request, params } => {
                self.token_calls.push(params.clone());
                let answer = (self.on_token)(&params);
                self.pending.push_back(Input::Token(request, answer));
            }
            Output::OpenTransport { .. } => self.transports += 1,
            Output::Send { .. } | Output::CloseTransport { .. } => {}
            Output::Event(Event::Completed(op, result)) => {
                self.completed.insert(op, result);
            }
            Output::Event(e) => self.events.push(e),
        }
    }

    /// Moves the clock to the next deadline or delayed answer.
    fn next_moment(&mut self) {
        let timer = self.client.poll_timeout().map(|(at, _)| at);
        let delayed = self.delayed.iter().map(|(at, ..)| *at).min();
        let at = match (timer, delayed) {
            (Some(t), Some(d)) => t.min(d),
            (Some(t), None) => t,
            (None, Some(d)) => d,
            (None, None) => panic!("nothing left to happen and the command is not complete"),
        };
        let delta = at.saturating_since(self.now.instant);
        self.now = self.now.advanced(delta);
        if let Some(i) = self
            .delayed
            .iter()
            .position(|(t, ..)| *t <= self.now.instant)
        {
            let (_, request, response) = self.delayed.remove(i);
            self.client
                .handle(self.now, Input::Http(request, Ok(response)));
        } else {
            self.client.handle(self.now, Input::Timeout);
        }
        self.settle();
    }
}

// ---- responses ------------------------------------------------------------------

/// A JSON response.
pub fn json(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

/// A MessagePack response of a JSON value.
pub fn msgpack(status: u16, body: &serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/x-msgpack".into())],
        body: rmp_serde::to_vec_named(body).expect("msgpack"),
    }
}

/// A response with one more header.
pub fn with_header(mut r: HttpResponse, name: &str, value: &str) -> HttpResponse {
    r.headers.push((name.into(), value.into()));
    r
}

/// An Ably error response.
pub fn error(status: u16, code: u32, message: &str) -> HttpResponse {
    json(
        status,
        serde_json::json!({"error": {"code": code, "statusCode": status, "message": message}}),
    )
}

/// A token details response.
pub fn token_response(token: &str, expires: i64) -> HttpResponse {
    json(
        200,
        serde_json::json!({"token": token, "expires": expires, "issued": START_WALL_MS, "keyName": "appId.keyId"}),
    )
}

/// A network failure (connection refused).
pub fn refused() -> ErrorInfo {
    ErrorInfo::new(80000, 503, "connection refused")
}

// ---- requests -------------------------------------------------------------------

/// A header of a request, by name in any case.
pub fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The scheme of a request's URL.
pub fn scheme(r: &HttpRequest) -> &str {
    r.url.split("://").next().unwrap_or_default()
}

/// The host of a request's URL, without port or brackets.
pub fn host(r: &HttpRequest) -> String {
    let authority = authority(r);
    let host = if authority.starts_with('[') {
        &authority[..authority.find(']').map_or(authority.len(), |i| i + 1)]
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

/// The port of a request's URL, if given.
pub fn port(r: &HttpRequest) -> Option<u16> {
    let authority = authority(r);
    let after = authority.rsplit_once(']').map_or(authority, |(_, p)| p);
    after.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

fn authority(r: &HttpRequest) -> &str {
    let after = r.url.split_once("://").map_or(r.url.as_str(), |(_, a)| a);
    &after[..after.find('/').unwrap_or(after.len())]
}

/// The path of a request's URL, still percent-encoded.
pub fn path(r: &HttpRequest) -> &str {
    let after = r.url.split_once("://").map_or(r.url.as_str(), |(_, a)| a);
    let path = &after[after.find('/').unwrap_or(after.len())..];
    path.split('?').next().unwrap_or_default()
}

/// The decoded query params of a request's URL, in order.
pub fn query(r: &HttpRequest) -> Vec<(String, String)> {
    let Some((_, q)) = r.url.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// One decoded query param.
pub fn param(r: &HttpRequest, name: &str) -> Option<String> {
    query(r)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// JavaScript's `encodeURIComponent`, for expected paths.
pub fn encode_uri_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The body of a request as JSON, read by its `Content-Type` (MessagePack
/// binary becomes base64 text).
pub fn body(r: &HttpRequest) -> serde_json::Value {
    let bytes = r.body.as_deref().expect("the request has a body");
    if header(r, "content-type").is_some_and(|t| t.contains("msgpack")) {
        let mut reader = bytes;
        let value = rmpv::decode::read_value(&mut reader).expect("msgpack body");
        ably_proto::rest::msgpack_to_json(value)
    } else {
        serde_json::from_slice(bytes).expect("json body")
    }
}

/// The body of a request as raw MessagePack.
pub fn msgpack_body(r: &HttpRequest) -> rmpv::Value {
    let mut bytes = r.body.as_deref().expect("the request has a body");
    rmpv::decode::read_value(&mut bytes).expect("msgpack body")
}

/// The messages in a publish body (one object or an array).
pub fn body_messages(r: &HttpRequest) -> Vec<serde_json::Value> {
    match body(r) {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    }
}

/// The token in a `Bearer` header, base64-decoded.
pub fn bearer(r: &HttpRequest) -> Option<String> {
    use base64::Engine as _;
    let value = header(r, "authorization")?.strip_prefix("Bearer ")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The `key:secret` in a `Basic` header, base64-decoded.
pub fn basic(r: &HttpRequest) -> Option<String> {
    use base64::Engine as _;
    let value = header(r, "authorization")?.strip_prefix("Basic ")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    String::from_utf8(bytes).ok()
}

// ---- operations -----------------------------------------------------------------

/// Publishing one message with a name and string data.
pub fn publish_one(channel: &str, name: &str, data: &str) -> RestOp {
    RestOp::Publish {
        channel: channel.into(),
        messages: vec![Message::new(name, data)],
        params: Default::default(),
    }
}

/// Publishing these messages.
pub fn publish(channel: &str, messages: Vec<Message>) -> RestOp {
    RestOp::Publish {
        channel: channel.into(),
        messages,
        params: Default::default(),
    }
}

/// The items of a page of any kind of result.
pub fn stats_page(r: RestResult) -> ably_proto::rest::PaginatedResult<ably_proto::rest::Stats> {
    match r {
        RestResult::Stats(p) => p,
        other => panic!("expected stats, got {other:?}"),
    }
}

/// A page of messages.
pub fn messages_page(r: RestResult) -> ably_proto::rest::PaginatedResult<Message> {
    match r {
        RestResult::Messages(p) => p,
        other => panic!("expected messages, got {other:?}"),
    }
}

/// A page of presence messages.
pub fn presence_page(
    r: RestResult,
) -> ably_proto::rest::PaginatedResult<ably_proto::PresenceMessage> {
    match r {
        RestResult::Presence(p) => p,
        other => panic!("expected presence, got {other:?}"),
    }
}

/// The answer of `request()`.
pub fn http_page(r: RestResult) -> ably_proto::rest::HttpPaginatedResponse {
    match r {
        RestResult::Http(p) => p,
        other => panic!("expected an HTTP response, got {other:?}"),
    }
}

/// The next page of a result.
pub fn next(m: &mut Mock, page_next: Option<&ably_proto::rest::RestRequest>) -> RestResult {
    m.ok(RestOp::Send(page_next.expect("a next page").clone()))
}

/// `channel.status()` (RSL8).
pub fn status(channel: &str) -> RestOp {
    RestOp::ChannelStatus {
        channel: channel.into(),
    }
}

/// `request("GET", path)` with the library's protocol version.
pub fn get_request(path: &str) -> RestOp {
    RestOp::Request {
        method: "GET".into(),
        path: path.into(),
        version: ably_proto::rest::PROTOCOL_VERSION,
        params: Vec::new(),
        body: None,
        headers: Vec::new(),
    }
}

/// `history()` of a channel with default params.
pub fn history(channel: &str) -> RestOp {
    RestOp::History {
        channel: channel.into(),
        params: Default::default(),
    }
}

/// Options with an authCallback (answered by [`Mock::callback`]) and no key.
pub fn callback_opts() -> ClientOptions {
    ClientOptions {
        key: None,
        token_source: ably_proto::client::TokenSource::Callback,
        auto_connect: false,
        ..ClientOptions::default()
    }
}

/// Options with an authUrl and no key.
pub fn auth_url_opts(url: &str) -> ClientOptions {
    ClientOptions {
        key: None,
        token_source: ably_proto::client::TokenSource::Url(ably_proto::client::AuthUrl {
            url: url.into(),
            ..Default::default()
        }),
        auto_connect: false,
        ..ClientOptions::default()
    }
}

/// Token details valid for an hour from the start of the test.
pub fn details(token: &str) -> TokenDetails {
    TokenDetails {
        token: token.into(),
        expires: Some(START_WALL_MS + 3_600_000),
        ..TokenDetails::default()
    }
}

/// Checks the `request_id` param of a request (RSC7c): url-safe base64 of
/// at least 9 random bytes; returns it.
pub fn request_id(r: &HttpRequest) -> String {
    let id = param(r, "request_id").expect("a request_id param");
    assert!(id.len() >= 12, "at least 9 bytes in base64: {id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "url-safe base64: {id}"
    );
    id
}

/// Whether a request is a token exchange (`/keys/{name}/requestToken`).
pub fn is_token_request(r: &HttpRequest) -> bool {
    path(r).ends_with("/requestToken")
}
