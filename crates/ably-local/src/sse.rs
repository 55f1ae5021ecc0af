//! `GET /sse` and `GET /event-stream`: the hub's streams rendered as
//! Server-Sent Events, or as newline-delimited JSON envelopes
//! `{"event", "data", "id"}` (event-stream without `Accept:
//! text/event-stream`).

use ably_proto::ErrorInfo;
use ably_proto::codec::Format;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::hub::{StreamEvent, StreamItem, StreamRequest, TransportId, query_pairs};
use crate::server::{AppState, Event, OUTBOUND_QUEUE, error_response, next_transport};
use crate::ws::WsOut;

#[derive(Clone, Debug)]
enum Style {
    Sse,
    Lines { separator: String },
}

fn render(style: &Style, item: &StreamItem) -> Option<String> {
    match (style, item) {
        (Style::Sse, StreamItem::Keepalive) => Some(":keepalive\n\n".into()),
        (Style::Lines { .. }, StreamItem::Keepalive) => Some("\n".into()),
        (Style::Sse, StreamItem::Event(e)) => Some(sse_event(e)),
        (Style::Lines { separator }, StreamItem::Event(e)) => {
            let mut env = serde_json::json!({ "event": e.event.as_str(), "data": e.data });
            if let Some(id) = &e.id {
                env["id"] = Value::String(id.clone());
            }
            Some(format!("{env}{separator}"))
        }
        _ => None,
    }
}

fn sse_event(e: &StreamEvent) -> String {
    let mut out = String::new();
    if let Some(id) = &e.id {
        out.push_str(&format!("id: {id}\n"));
    }
    out.push_str(&format!("event: {}\n", e.event.as_str()));
    let text = match &e.data {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    for line in text.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Tells the driver when the response body is dropped (the client left).
struct Guard {
    id: TransportId,
    events: mpsc::Sender<Event>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.events.try_send(Event::Closed { id: self.id });
    }
}

async fn open(
    state: AppState,
    query: Option<String>,
    headers: HeaderMap,
    style: Style,
) -> Response {
    let query = query.unwrap_or_default();
    let style = match style {
        Style::Lines { .. } => {
            let separator = query_pairs(&query)
                .into_iter()
                .find(|(k, _)| k == "separator")
                .map_or_else(|| "\n".to_owned(), |(_, v)| v);
            Style::Lines { separator }
        }
        s => s,
    };
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request = StreamRequest {
        query,
        authorization: header(header::AUTHORIZATION),
        last_event_id: header(header::HeaderName::from_static("last-event-id")),
    };
    let id = next_transport(&state);
    let (out, mut rx) = mpsc::channel(OUTBOUND_QUEUE);
    let events = state.events.clone();
    let stopping = || {
        error_response(
            ErrorInfo::new(50000, 500, "the service is stopping"),
            Format::Json,
        )
    };
    if events
        .send(Event::OpenStream { id, request, out })
        .await
        .is_err()
    {
        return stopping();
    }
    let guard = Guard { id, events };
    match rx.recv().await {
        Some(WsOut::Stream(StreamItem::Opened)) => {}
        Some(WsOut::Stream(StreamItem::Refused(e))) => return error_response(e, Format::Json),
        _ => return stopping(),
    }
    let content_type = match style {
        Style::Sse => "text/event-stream",
        Style::Lines { .. } => "application/x-ndjson",
    };
    let stream =
        futures_util::stream::unfold((rx, style, guard), |(mut rx, style, guard)| async move {
            loop {
                match rx.recv().await {
                    Some(WsOut::Stream(item)) => {
                        if let Some(text) = render(&style, &item) {
                            let chunk: Result<Bytes, std::io::Error> = Ok(Bytes::from(text));
                            return Some((chunk, (rx, style, guard)));
                        }
                    }
                    Some(WsOut::Close) | None => return None,
                    Some(_) => {}
                }
            }
        });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    resp
}

/// `GET /sse`.
pub(crate) async fn sse(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    open(state, query, headers, Style::Sse).await
}

/// `GET /event-stream`: SSE with `Accept: text/event-stream`, otherwise
/// newline-delimited JSON (the `separator` param changes the delimiter).
pub(crate) async fn event_stream(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let wants_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    let style = if wants_sse {
        Style::Sse
    } else {
        Style::Lines {
            separator: "\n".into(),
        }
    };
    open(state, query, headers, style).await
}
