//! The REST endpoints of the shell: each handler reads HTTP into a hub call
//! and writes the answer back (JSON or MessagePack by `Accept`, errors as
//! the status plus `{"error": ErrorInfo}` with `X-Ably-Errorcode`).

use ably_proto::codec::{self, Format};
use ably_proto::{ErrorInfo, Message};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use crate::hub::{HistoryKind, Hub, Now, RestCredentials, RestPage};
use crate::server::{AppState, Event, MAX_BODY, encoded, error_response, response_format};

/// The body of a request, or the error response for one that is too large
/// or unreadable.
pub(crate) fn body(
    body: Result<Bytes, BytesRejection>,
    _headers: &HeaderMap,
    format: Format,
) -> Result<Bytes, Box<Response>> {
    match body {
        Ok(b) => Ok(b),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Box::new(error_response(
            ErrorInfo::new(
                40009,
                413,
                format!("request body larger than {MAX_BODY} bytes"),
            ),
            format,
        ))),
        Err(e) => Err(Box::new(error_response(
            ErrorInfo::new(40000, 400, format!("unreadable request body: {e}")),
            format,
        ))),
    }
}

/// The format of a request body by its `Content-Type`: JSON (also when
/// absent) or MessagePack; anything else is refused with 415.
fn body_format(headers: &HeaderMap) -> Result<Format, ErrorInfo> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Format::Json);
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    match mime {
        "application/json" | "" => Ok(Format::Json),
        "application/x-msgpack" | "application/msgpack" | "application/vnd.msgpack" => {
            Ok(Format::MsgPack)
        }
        other => Err(ErrorInfo::new(
            40000,
            415,
            format!(
                "unsupported Content-Type '{other}': use application/json or application/x-msgpack"
            ),
        )),
    }
}

fn credentials(headers: &HeaderMap, query: Option<String>) -> RestCredentials {
    RestCredentials {
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        query: query.unwrap_or_default(),
    }
}

fn stopping() -> ErrorInfo {
    ErrorInfo::new(50000, 500, "the service is stopping")
}

/// Runs a call against the hub in the driver and waits for its answer.
async fn call<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut Hub, Now) -> T + Send + 'static,
) -> Result<T, ErrorInfo> {
    let (reply, answer) = oneshot::channel();
    let event = Event::Call(Box::new(move |hub, now| {
        let _ = reply.send(f(hub, now));
    }));
    state.events.send(event).await.map_err(|_| stopping())?;
    answer.await.map_err(|_| stopping())
}

/// `POST /channels/{name}/messages`: one message or an array.
pub(crate) async fn publish(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let format = response_format(&headers);
    let raw = match body(raw, &headers, format) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let in_format = match body_format(&headers) {
        Ok(f) => f,
        Err(e) => return error_response(e, format),
    };
    let messages = match codec::decode::<Vec<Message>>(&raw, in_format) {
        Ok(m) => m,
        Err(_) => match codec::decode::<Message>(&raw, in_format) {
            Ok(m) => vec![m],
            Err(e) => {
                return error_response(
                    ErrorInfo::new(
                        40000,
                        400,
                        format!("the body is not a message or an array of messages: {e}"),
                    ),
                    format,
                );
            }
        },
    };
    let creds = credentials(&headers, query);
    let name = channel.clone();
    let result = call(&state, move |hub, now| {
        hub.rest_publish(now, &creds, &name, messages)
    })
    .await;
    match result.and_then(|r| r) {
        Ok(serials) => {
            let body = serde_json::json!({ "channel": channel, "serials": serials });
            encoded(StatusCode::CREATED, &body, format)
        }
        Err(e) => error_response(e, format),
    }
}

fn with_links<T: codec::Wire>(page: RestPage<T>, rel_path: &str, format: Format) -> Response
where
    Vec<T>: codec::Wire,
{
    let mut resp = encoded(StatusCode::OK, &page.items, format);
    let mut links = vec![format!("<./{rel_path}?{}>; rel=\"first\"", page.first)];
    if let Some(next) = &page.next {
        links.push(format!("<./{rel_path}?{next}>; rel=\"next\""));
    }
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

fn last_segment(uri: &Uri) -> String {
    uri.path().rsplit('/').next().unwrap_or("").to_owned()
}

async fn history_of(
    state: AppState,
    channel: String,
    query: Option<String>,
    headers: HeaderMap,
    uri: Uri,
    kind: HistoryKind,
) -> Response {
    let format = response_format(&headers);
    let creds = credentials(&headers, query);
    let result = call(&state, move |hub, now| {
        hub.rest_history(now, &creds, &channel, kind)
    })
    .await;
    match result.and_then(|r| r) {
        Ok((messages, presence)) => match kind {
            HistoryKind::Messages => with_links(messages, &last_segment(&uri), format),
            HistoryKind::Presence => with_links(presence, &last_segment(&uri), format),
        },
        Err(e) => error_response(e, format),
    }
}

/// `GET /channels/{name}/messages` and `/history`.
pub(crate) async fn history(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    history_of(state, channel, query, headers, uri, HistoryKind::Messages).await
}

/// `GET /channels/{name}/presence/history`.
pub(crate) async fn presence_history(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    history_of(state, channel, query, headers, uri, HistoryKind::Presence).await
}

/// `GET /channels/{name}/presence`.
pub(crate) async fn presence(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let format = response_format(&headers);
    let creds = credentials(&headers, query);
    let result = call(&state, move |hub, now| {
        hub.rest_presence(now, &creds, &channel)
    })
    .await;
    match result.and_then(|r| r) {
        Ok(page) => with_links(page, "presence", format),
        Err(e) => error_response(e, format),
    }
}

/// `POST /apps`: test-app provisioning.
pub(crate) async fn create_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let format = response_format(&headers);
    let raw = match body(raw, &headers, format) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let in_format = match body_format(&headers) {
        Ok(f) => f,
        Err(e) => return error_response(e, format),
    };
    let spec: serde_json::Value = if raw.is_empty() {
        serde_json::Value::Null
    } else {
        match codec::decode(&raw, in_format) {
            Ok(v) => v,
            Err(e) => {
                return error_response(
                    ErrorInfo::new(40000, 400, format!("unreadable body: {e}")),
                    format,
                );
            }
        }
    };
    match call(&state, move |hub, now| hub.create_app(now, &spec))
        .await
        .and_then(|r| r)
    {
        Ok(app) => encoded(StatusCode::CREATED, &app, format),
        Err(e) => error_response(e, format),
    }
}

/// `DELETE /apps/{appId}`.
pub(crate) async fn delete_app(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let format = response_format(&headers);
    let creds = credentials(&headers, query);
    match call(&state, move |hub, now| hub.delete_app(now, &creds, &app_id))
        .await
        .and_then(|r| r)
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(e, format),
    }
}

/// Unknown routes: 404 with 40400.
pub(crate) async fn not_found(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    error_response(
        ErrorInfo::new(
            40400,
            404,
            format!("no such endpoint: {method} {}", uri.path()),
        ),
        response_format(&headers),
    )
}

/// A known route with another method: 405 with 40500.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    error_response(
        ErrorInfo::new(
            40500,
            405,
            format!("method {method} not allowed on {}", uri.path()),
        ),
        response_format(&headers),
    )
}
