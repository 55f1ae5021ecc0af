//! A WebSocket upgrade refused with 401 is a credentials failure (RTN14a,
//! RTN14b); other refusals are retried (RTN14d).

use std::time::Duration;

use ably_proto::ErrorInfo;
use ably_proto::client::{ConnectionState, Input, TransportEvent};

use crate::harness::*;

fn refuse_with(h: &mut Harness, error: ErrorInfo) {
    let generation = h.last().generation;
    h.input(Input::Transport(
        generation,
        TransportEvent::Closed(Some(error)),
    ));
}

#[test]
fn refused_handshake_401_fails_the_connection() {
    let mut h = Harness::new(key_options());
    h.connect();
    refuse_with(&mut h, ErrorInfo::new(40101, 401, "invalid credentials"));
    assert_eq!(h.client.state(), ConnectionState::Failed);
    assert_eq!(h.client.error_reason().map(|e| e.code), Some(40101));
    h.advance(Duration::from_secs(120));
    assert_eq!(h.transports.len(), 1, "no retries after a 401");
}

#[test]
fn refused_handshake_with_a_token_error_renews_once() {
    let mut opts = key_options();
    opts.use_token_auth = true;
    let mut h = Harness::new(opts);
    h.on_http = Some(Box::new(|_| {
        Some(Ok(ably_proto::client::HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"token":"fresh","expires":1900000000000}"#.to_vec(),
        }))
    }));
    h.connect();
    refuse_with(&mut h, ErrorInfo::new(40142, 401, "token expired"));
    assert_eq!(h.client.state(), ConnectionState::Connecting);
    assert_eq!(h.transports.len(), 2, "a new attempt with a renewed token");
    assert_eq!(h.last().param("access_token").as_deref(), Some("fresh"));
}

#[test]
fn other_refusals_are_retried() {
    let mut h = Harness::new(key_options());
    h.connect();
    refuse_with(&mut h, ErrorInfo::new(80000, 503, "service unavailable"));
    assert_eq!(h.client.state(), ConnectionState::Disconnected);
}
