//! One task per WebSocket: frames in to the driver, frames out from it.

use axum::body::Bytes;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures_util::SinkExt;
use tokio::sync::mpsc;

use crate::hub::{ConnectRequest, TransportId};
use crate::server::{AppState, Event, OUTBOUND_QUEUE, next_transport};

/// Frames written to a socket before one flush.
const WRITE_BATCH: usize = 64;

/// What the driver sends a transport task.
#[derive(Debug)]
pub(crate) enum WsOut {
    Frame {
        data: Bytes,
        binary: bool,
    },
    Ping,
    /// For SSE and event-stream transports.
    Stream(crate::hub::StreamItem),
    Close,
}

/// `GET /` with an upgrade: the realtime endpoint.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let request = ConnectRequest {
        query: query.unwrap_or_default(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    // Frames up to twice maxFrameSize reach the hub, which answers
    // ERROR 40009 for those over the limit; beyond that the socket closes.
    let limit = state.max_frame_size * 2;
    // An 8 KiB read buffer instead of tungstenite's 128 KiB keeps an idle
    // connection small; larger frames grow it as needed.
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(8 * 1024)
        .on_upgrade(move |socket| run(socket, state, request))
}

async fn run(mut socket: WebSocket, state: AppState, request: ConnectRequest) {
    let id: TransportId = next_transport(&state);
    let _alive = state.alive.clone();
    let (out_tx, mut out_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let events = state.events.clone();
    drop(state);
    if events
        .send(Event::Open {
            id,
            request,
            out: out_tx,
        })
        .await
        .is_err()
    {
        return;
    }
    'conn: loop {
        tokio::select! {
            incoming = socket.recv() => {
                let data = match incoming {
                    Some(Ok(Message::Text(text))) => Bytes::from(text),
                    Some(Ok(Message::Binary(data))) => data,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                if events.send(Event::Frame { id, data }).await.is_err() {
                    break;
                }
            }
            outgoing = out_rx.recv() => {
                // Writes every frame already queued (up to a bound), then
                // flushes once: one write to the socket for the lot.
                let mut next = outgoing;
                let mut fed = 0;
                loop {
                    let msg = match next {
                        Some(WsOut::Frame { data, binary: true }) => Some(Message::Binary(data)),
                        Some(WsOut::Frame { data, binary: false }) => {
                            Some(match Utf8Bytes::try_from(data.clone()) {
                                Ok(text) => Message::Text(text),
                                Err(_) => Message::Binary(data),
                            })
                        }
                        Some(WsOut::Ping) => Some(Message::Ping(Bytes::new())),
                        Some(WsOut::Stream(_)) => None,
                        Some(WsOut::Close) | None => {
                            let _ = socket.send(Message::Close(None)).await;
                            break 'conn;
                        }
                    };
                    if let Some(msg) = msg {
                        if socket.feed(msg).await.is_err() {
                            break 'conn;
                        }
                    }
                    fed += 1;
                    if fed == WRITE_BATCH {
                        break;
                    }
                    match out_rx.try_recv() {
                        Ok(out) => next = Some(out),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => next = None,
                    }
                }
                if socket.flush().await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = events.send(Event::Closed { id }).await;
}
