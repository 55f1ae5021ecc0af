//! The REST API (RSC, RSL): publish, history, presence, and the test-app
//! provisioning that the SDK test suites use (`POST /apps`).
//!
//! Each operation is one call that answers at once; the driver translates
//! HTTP to a call and the answer back. Publishing also queues outputs for
//! realtime subscribers and streams, so drain [`Hub::poll_output`] after.

use ably_proto::auth::{ApiKey, Capability};
use ably_proto::error::codes;
use ably_proto::{ErrorInfo, Message, PresenceMessage};
use serde_json::{Value, json};

use super::auth::{self, App, Grant, Identity};
use super::channel::validate_name;
use super::connection::{ConnEvent, ConnState};
use super::history::{ChannelKey, HistoryKind, HistoryQuery};
use super::limits::AppLimits;
use super::params::{parse_authorization, query_pairs};
use super::{Hub, Now};

/// Default page size of history and presence.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size of history and presence.
pub const MAX_LIMIT: usize = 1000;

/// The credentials of a REST request: the `Authorization` header (`Basic`
/// key or `Bearer` token) or the `key` / `accessToken` query params.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestCredentials {
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The raw query string.
    pub query: String,
}

/// One page of a REST listing, with the query strings of the next and
/// first pages (for `Link` headers).
#[derive(Clone, Debug, PartialEq)]
pub struct RestPage<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// The query of the next page, if there may be one.
    pub next: Option<String>,
    /// The query of the first page.
    pub first: String,
}

fn bad_param(name: &str, value: &str, why: &str) -> ErrorInfo {
    ErrorInfo::new(
        40003,
        400,
        format!("invalid value '{value}' for param '{name}': {why}"),
    )
}

fn encode_query(pairs: &[(String, String)]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Reads the params of a history request (RSL2b): `start`, `end`,
/// `direction`, `limit`, `from_serial`; `cursor` is this service's own.
pub(crate) fn parse_history_query(
    kind: HistoryKind,
    query: &str,
) -> Result<HistoryQuery, ErrorInfo> {
    let mut q = HistoryQuery {
        kind,
        start: None,
        end: None,
        backwards: true,
        limit: DEFAULT_LIMIT,
        until: None,
        cursor: None,
    };
    let time = |name: &str, value: &str| {
        value
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0)
            .ok_or_else(|| bad_param(name, value, "expected ms since the epoch"))
    };
    for (name, value) in query_pairs(query) {
        match name.as_str() {
            "start" => q.start = Some(time(&name, &value)?),
            "end" => q.end = Some(time(&name, &value)?),
            "direction" => {
                q.backwards = match value.as_str() {
                    "backwards" => true,
                    "forwards" => false,
                    _ => return Err(bad_param(&name, &value, "backwards or forwards")),
                }
            }
            "limit" => {
                q.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| bad_param(&name, &value, "1 to 1000"))?;
            }
            "from_serial" | "fromSerial" => q.until = Some(value).filter(|v| !v.is_empty()),
            "cursor" => q.cursor = Some(value).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    if let (Some(s), Some(e)) = (q.start, q.end) {
        if s > e {
            return Err(ErrorInfo::new(40003, 400, "start is later than end"));
        }
    }
    Ok(q)
}

impl HistoryQuery {
    fn to_pairs(&self, cursor: Option<&str>) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if let Some(s) = self.start {
            p.push(("start".into(), s.to_string()));
        }
        if let Some(e) = self.end {
            p.push(("end".into(), e.to_string()));
        }
        let dir = if self.backwards {
            "backwards"
        } else {
            "forwards"
        };
        p.push(("direction".into(), dir.into()));
        p.push(("limit".into(), self.limit.to_string()));
        if let Some(u) = &self.until {
            p.push(("from_serial".into(), u.clone()));
        }
        if let Some(c) = cursor {
            p.push(("cursor".into(), c.to_owned()));
        }
        p
    }
}

impl Hub {
    /// Checks REST credentials.
    fn rest_auth(&self, creds: &RestCredentials) -> Result<(Grant, Identity), ErrorInfo> {
        let (mut key, mut token) = match creds.authorization.as_deref() {
            Some(h) => parse_authorization(h)?,
            None => (None, None),
        };
        for (name, value) in query_pairs(&creds.query) {
            match name.as_str() {
                "key" if key.is_none() && !value.is_empty() => key = Some(value),
                "accessToken" | "access_token" if token.is_none() && !value.is_empty() => {
                    token = Some(value)
                }
                _ => {}
            }
        }
        let grant = match (token, key) {
            (Some(t), _) => self.auth.authenticate_token(&t, self.now.wall_ms)?,
            (None, Some(k)) => self.auth.authenticate_key(&k)?,
            (None, None) => {
                return Err(ErrorInfo::new(
                    codes::NO_AUTH_METHOD,
                    401,
                    "no credentials: use Basic auth with a key, or a Bearer token",
                ));
            }
        };
        let identity = auth::identity(&grant, None)?;
        Ok((grant, identity))
    }

    fn set_now(&mut self, now: Now) {
        self.now = Now {
            mono_ms: now.mono_ms.max(self.now.mono_ms),
            wall_ms: now.wall_ms,
        };
    }

    /// `POST /channels/{name}/messages` (RSL1): stamps and publishes the
    /// messages; returns their serials. Client-supplied ids are idempotent.
    pub fn rest_publish(
        &mut self,
        now: Now,
        creds: &RestCredentials,
        channel: &str,
        messages: Vec<Message>,
    ) -> Result<Vec<Option<String>>, ErrorInfo> {
        self.set_now(now);
        let (grant, identity) = self.rest_auth(creds)?;
        validate_name(channel)?;
        if !grant.capability.allows(channel, "publish") {
            return Err(auth::denied("publish", channel));
        }
        if messages.is_empty() {
            return Err(ErrorInfo::new(40000, 400, "no messages to publish"));
        }
        let size: usize = messages.iter().map(Message::size).sum();
        let max_size = self.max_message_size(&grant.app);
        if size > max_size {
            return Err(ErrorInfo::new(
                codes::MESSAGE_TOO_LARGE,
                400,
                format!("message of {size} bytes exceeds maxMessageSize {max_size}"),
            ));
        }
        let tag = self.rng.id(12);
        let mut stamped = Vec::with_capacity(messages.len());
        let mut supplied = Vec::with_capacity(messages.len());
        let mut origin = String::new();
        for (i, mut m) in messages.into_iter().enumerate() {
            let bad = match (&m.client_id, &identity.client_id) {
                (Some(c), _) if c == "*" || c.is_empty() => Some("invalid clientId"),
                (Some(c), Some(own)) if c != own && !identity.any_client => {
                    Some("clientId differs from the credentials' clientId")
                }
                (Some(_), None) if !identity.any_client => {
                    Some("the credentials do not allow a clientId")
                }
                _ => None,
            };
            if let Some(why) = bad {
                return Err(ErrorInfo::new(codes::INVALID_CLIENT_ID, 400, why));
            }
            if m.client_id.is_none() {
                m.client_id = identity.client_id.clone();
            }
            let own_id = m.id.as_deref().is_some_and(|id| !id.is_empty());
            supplied.push(own_id);
            if !own_id {
                m.id = Some(format!("{tag}:{i}"));
            }
            // Published on behalf of a realtime connection (RSL1m): it is
            // that connection's message (echo rules included).
            m.connection_id = m
                .connection_key
                .take()
                .and_then(|k| self.keys.get(&k).cloned())
                .filter(|id| self.connections.get(id).is_some_and(|c| c.app == grant.app));
            if let Some(id) = &m.connection_id {
                origin = id.clone();
            }
            if m.timestamp.is_none() {
                m.timestamp = Some(self.now.wall_ms);
            }
            stamped.push(m);
        }
        let key = ChannelKey {
            app: grant.app,
            channel: channel.to_owned(),
        };
        Ok(self.publish_messages(&key, &origin, stamped, &supplied))
    }

    /// `GET /channels/{name}/messages` and `/presence/history` (RSL2,
    /// RSP4): one page of history, newest first unless `direction=forwards`.
    pub fn rest_history(
        &mut self,
        now: Now,
        creds: &RestCredentials,
        channel: &str,
        kind: HistoryKind,
    ) -> Result<(RestPage<Message>, RestPage<PresenceMessage>), ErrorInfo> {
        self.set_now(now);
        let (grant, _) = self.rest_auth(creds)?;
        validate_name(channel)?;
        if !grant.capability.allows(channel, "history") {
            return Err(auth::denied("history", channel));
        }
        let query = parse_history_query(kind, &creds.query)?;
        let key = ChannelKey {
            app: grant.app,
            channel: channel.to_owned(),
        };
        let page = self.broker.history(self.now, &key, &query);
        let first = encode_query(&query.to_pairs(None));
        let next = page
            .next
            .as_deref()
            .map(|c| encode_query(&query.to_pairs(Some(c))));
        Ok((
            RestPage {
                items: page.messages,
                next: next.clone(),
                first: first.clone(),
            },
            RestPage {
                items: page.presence,
                next,
                first,
            },
        ))
    }

    /// `GET /channels/{name}/presence` (RSP3): the members present, with
    /// `clientId` and `connectionId` filters and `limit`.
    pub fn rest_presence(
        &mut self,
        now: Now,
        creds: &RestCredentials,
        channel: &str,
    ) -> Result<RestPage<PresenceMessage>, ErrorInfo> {
        self.set_now(now);
        let (grant, _) = self.rest_auth(creds)?;
        validate_name(channel)?;
        if !(grant.capability.allows(channel, "subscribe")
            || grant.capability.allows(channel, "presence"))
        {
            return Err(auth::denied("presence", channel));
        }
        let (mut client_id, mut connection_id) = (None, None);
        let (mut limit, mut offset) = (DEFAULT_LIMIT, 0usize);
        for (name, value) in query_pairs(&creds.query) {
            match name.as_str() {
                "clientId" => client_id = Some(value),
                "connectionId" => connection_id = Some(value),
                "limit" => {
                    limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| bad_param(&name, &value, "1 to 1000"))?;
                }
                "cursor" => {
                    offset = value
                        .parse()
                        .map_err(|_| bad_param(&name, &value, "a cursor from a Link header"))?;
                }
                _ => {}
            }
        }
        let members: Vec<PresenceMessage> = self
            .presence_members(&grant.app, channel)
            .into_iter()
            .filter(|m| client_id.is_none() || m.client_id == client_id)
            .filter(|m| connection_id.is_none() || m.connection_id == connection_id)
            .collect();
        let total = members.len();
        let items: Vec<_> = members.into_iter().skip(offset).take(limit).collect();
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(c) = &client_id {
            pairs.push(("clientId".into(), c.clone()));
        }
        if let Some(c) = &connection_id {
            pairs.push(("connectionId".into(), c.clone()));
        }
        pairs.push(("limit".into(), limit.to_string()));
        let first = encode_query(&pairs);
        // The cursor is the client's: saturate rather than overflow.
        let end = offset.saturating_add(limit);
        let next = (end < total).then(|| {
            let mut p = pairs.clone();
            p.push(("cursor".into(), end.to_string()));
            encode_query(&p)
        });
        Ok(RestPage { items, next, first })
    }

    /// `POST /apps`: creates an app from the `post_apps` body of
    /// ably-common's `test-app-setup.json` (keys with capabilities,
    /// namespaces, channels with presence members) and answers `{appId,
    /// accountId, keys, namespaces, channels}`, keys and namespaces in
    /// request order.
    pub fn create_app(&mut self, now: Now, spec: &Value) -> Result<Value, ErrorInfo> {
        self.set_now(now);
        let bad = |why: &str| ErrorInfo::new(40000, 400, format!("invalid app spec: {why}"));
        let spec = match spec {
            Value::Object(o) => o,
            Value::Null => &serde_json::Map::new(),
            _ => return Err(bad("expected a JSON object")),
        };
        let list = |name: &str| -> Result<Vec<Value>, ErrorInfo> {
            match spec.get(name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => Ok(a.clone()),
                Some(_) => Err(bad(&format!("'{name}' must be an array"))),
            }
        };
        let mut key_specs = list("keys")?;
        if key_specs.is_empty() {
            key_specs.push(json!({}));
        }
        let namespaces = list("namespaces")?;
        let channels = list("channels")?;
        let limits = AppLimits::parse(spec.get("limits"))?;

        let app_id = loop {
            let id = self.rng.id(6);
            if !self.auth.apps.contains_key(&id) {
                break id;
            }
        };
        let mut app = App::new(app_id.clone());
        app.limits = limits;
        let mut keys_out = Vec::new();
        for k in &key_specs {
            let cap_text = match k.get("capability") {
                None | Some(Value::Null) => r#"{"*":["*"]}"#.to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(v @ Value::Object(_)) => v.to_string(),
                Some(_) => return Err(bad("a key's capability must be JSON text")),
            };
            let capability = Capability::parse(&cap_text)?;
            let key_id = self.rng.id(6);
            let secret = self.rng.id(32);
            let key_str = format!("{app_id}.{key_id}:{secret}");
            let key = ApiKey::parse(&key_str)?;
            keys_out.push(json!({
                "id": key_id,
                "keyName": key.name(),
                "keySecret": secret,
                "keyStr": key_str,
                "capability": capability.to_canonical_json(),
                "expires": 0,
                "status": 0,
            }));
            app.add_key(key, capability);
        }
        let mut persisted = Vec::new();
        for ns in &namespaces {
            let Some(id) = ns.get("id").and_then(Value::as_str) else {
                return Err(bad("every namespace needs an 'id'"));
            };
            if ns.get("persisted").and_then(Value::as_bool) == Some(true) {
                persisted.push(id.to_owned());
            }
        }
        // Presence fixtures: members of no connection, present until the
        // app is deleted.
        let mut fixtures = Vec::new();
        for (n, c) in channels.iter().enumerate() {
            let Some(name) = c.get("name").and_then(Value::as_str) else {
                return Err(bad("every channel needs a 'name'"));
            };
            validate_name(name)?;
            let mut members = Vec::new();
            for (i, p) in c
                .get("presence")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let mut m: PresenceMessage = serde_json::from_value(p.clone())
                    .map_err(|e| bad(&format!("presence fixture: {e}")))?;
                if m.client_id.as_deref().is_none_or(str::is_empty) {
                    return Err(bad("a presence fixture needs a clientId"));
                }
                m.action = ably_proto::PresenceAction::Enter;
                let conn = format!("{app_id}-fixture{n}");
                m.id = Some(format!("{conn}:0:{i}"));
                m.connection_id = Some(conn);
                m.timestamp = Some(self.now.wall_ms);
                members.push(m);
            }
            fixtures.push((name.to_owned(), members));
        }
        self.broker.set_persisted(&app_id, persisted);
        self.broker.set_limits(&app_id, &limits);
        self.auth.apps.insert(app_id.clone(), app);
        self.save_app(&app_id);
        for (name, members) in fixtures {
            let key = ChannelKey {
                app: app_id.clone(),
                channel: name,
            };
            let ch = self.channels.entry(key).or_default();
            for m in members {
                ch.presence.apply(m);
            }
        }
        Ok(json!({
            "appId": app_id,
            "accountId": "ably-local",
            "status": 0,
            "keys": keys_out,
            "namespaces": namespaces,
            "channels": channels,
        }))
    }

    /// `DELETE /apps/{appId}` with Basic auth of one of its keys: removes
    /// the app, its channels, connections and streams.
    pub fn delete_app(
        &mut self,
        now: Now,
        creds: &RestCredentials,
        app_id: &str,
    ) -> Result<(), ErrorInfo> {
        self.set_now(now);
        let (grant, _) = self.rest_auth(creds)?;
        if !grant.basic || grant.app != app_id {
            return Err(ErrorInfo::new(
                codes::INVALID_CREDENTIALS,
                401,
                "deleting an app needs Basic auth with one of its keys",
            ));
        }
        let gone = ErrorInfo::new(40400, 404, "the app was deleted");
        let conns: Vec<(String, ConnState)> = self
            .connections
            .values()
            .filter(|c| c.app == app_id)
            .map(|c| (c.id.clone(), c.state))
            .collect();
        for (id, state) in conns {
            let event = match state {
                ConnState::Active(_) => ConnEvent::Fail(gone.clone()),
                _ => ConnEvent::StateTtlOver,
            };
            self.apply(&id, event);
        }
        let streams: Vec<_> = self
            .streams
            .iter()
            .filter(|(_, s)| s.app == app_id)
            .map(|(t, _)| *t)
            .collect();
        for t in streams {
            self.end_stream(t, Some(gone.clone()));
        }
        self.channels.retain(|k, _| k.app != app_id);
        self.broker.remove_app(app_id);
        self.auth.apps.remove(app_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_params() {
        let q = parse_history_query(
            HistoryKind::Messages,
            "start=1&end=2&direction=forwards&limit=5&from_serial=ab%4012",
        )
        .expect("query");
        assert_eq!(
            (q.start, q.end, q.backwards, q.limit),
            (Some(1), Some(2), false, 5)
        );
        assert_eq!(q.until.as_deref(), Some("ab@12"));
        assert_eq!(
            parse_history_query(
                HistoryKind::Messages,
                &q.to_pairs(None)
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
            )
            .expect("again"),
            q
        );
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "direction=up",
            "start=x",
            "start=5&end=4",
        ] {
            assert_eq!(
                parse_history_query(HistoryKind::Messages, bad)
                    .expect_err(bad)
                    .code,
                40003
            );
        }
        assert_eq!(
            encode_query(&[("a".into(), "x@1:2 ".into())]),
            "a=x%401%3A2%20"
        );
    }
}
