//! `authorize()` of a REST client (RSA10) and the AuthOptions it may carry
//! (RSA10b, AO2). Ported from `uts/rest/unit/auth/authorize.md`.
//!
//! A REST client (`rest_client`) obtains the token and stores it without
//! opening a transport; the harness fails a test that opens one.
//! `Command::Authorize` carries TokenParams only; `Command::AuthorizeWith`
//! adds AuthOptions. The core runs no callbacks: an authCallback in the
//! options is `TokenSource::Callback`, and the driver answers
//! `Output::FetchToken` with the callback it was given.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;

use ably_proto::auth::TokenParams;
use ably_proto::client::{
    AuthOptions, AuthResponse, AuthUrl, ClientOptions, Command, Completion, HttpResponse,
    TokenSource,
};
use ably_proto::{Action, ErrorInfo};

use crate::harness::*;
use crate::realtime::{Harness, Reply, connected, connected_harness};

fn channel_ok() -> HttpResponse {
    json(
        200,
        json!({"channelId": "test", "status": {"isActive": true}}),
    )
}

/// A key client whose token requests give `token`; other requests get
/// a channel status.
fn key_client(token: &'static str) -> Mock {
    let mut m = Mock::new(key_opts());
    m.respond(move |r| {
        if is_token_request(r) {
            json(
                200,
                json!({"token": token, "expires": START_WALL_MS + 3_600_000, "keyName": "appId.keyId"}),
            )
        } else {
            channel_ok()
        }
    });
    m
}

/// A callback client whose n-th token is `token-{n}`.
fn numbered() -> Mock {
    let mut m = Mock::new(callback_opts());
    let mut n = 0;
    m.callback(move |_| {
        n += 1;
        Ok(AuthResponse::Details(details(&format!("token-{n}"))))
    });
    m
}

/// rest/unit/RSA10a/authorize-default-params-0
#[test]
fn rsa10a_authorize_default_params_0() {
    let mut m = key_client("obtained-token");
    let token = m.authorize(None).expect("authorize");
    assert_eq!(token.token, "obtained-token");
    assert_eq!(m.requests.len(), 1);
    assert_eq!(
        (m.requests[0].method, path(&m.requests[0])),
        ("POST", "/keys/appId.keyId/requestToken")
    );
    // The token is used for requests from now on (RSA10a).
    m.ok(status("test"));
    assert_eq!(bearer(m.last()).as_deref(), Some("obtained-token"));
    assert_eq!(m.requests.len(), 2, "no second token request");
}

/// rest/unit/RSA10b/authorize-explicit-params-0
#[test]
fn rsa10b_authorize_explicit_params_0() {
    let mut m = Mock::new(ClientOptions {
        client_id: Some("default-client".into()),
        ..callback_opts()
    });
    m.callback(|_| Ok(AuthResponse::Details(details("callback-token"))));
    let params = TokenParams {
        client_id: Some("override-client".into()),
        ttl: Some(7_200_000),
        ..TokenParams::default()
    };
    m.authorize(Some(params)).expect("authorize");
    assert_eq!(m.token_calls.len(), 1);
    let sent = &m.token_calls[0];
    assert_eq!(sent.client_id.as_deref(), Some("override-client"));
    assert_eq!(sent.ttl, Some(7_200_000));
    assert!(m.requests.is_empty(), "{:?}", m.requests);
}

/// rest/unit/RSA10e/authorize-saves-params-0
///
/// Params given to one `authorize()` are those of the next (RSA10g); a
/// token given in the options is used as it is, with no callback (RSA10e).
#[test]
fn rsa10e_authorize_saves_params_0() {
    let mut m = numbered();
    let params = TokenParams {
        client_id: Some("saved-client".into()),
        ttl: Some(3_600_000),
        ..TokenParams::default()
    };
    m.authorize(Some(params)).expect("first authorize");
    m.authorize(None).expect("second authorize");
    assert_eq!(m.token_calls.len(), 2);
    assert_eq!(m.token_calls[1].client_id.as_deref(), Some("saved-client"));
    assert_eq!(m.token_calls[1].ttl, Some(3_600_000));

    let given = AuthOptions {
        token_details: Some(details("given-token")),
        token_source: TokenSource::Callback,
        ..AuthOptions::default()
    };
    let done = m.authorize_with(None, Some(given)).expect("authorize");
    assert_eq!(
        done,
        Completion::Authorized(Box::new(details("given-token")))
    );
    assert_eq!(m.token_calls.len(), 2, "the given token is used as it is");
    assert_eq!(current(&m).as_deref(), Some("given-token"));
}

/// rest/unit/RSA10g/authorize-updates-token-details-0
#[test]
fn rsa10g_authorize_updates_token_details_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!({"token": "new-token", "expires": START_WALL_MS + 3_600_000, "keyName": "appId.keyId", "clientId": "token-client"}),
    )]);
    assert_eq!(m.client.token_details(), None);
    let result = m.authorize(None).expect("authorize");
    let stored = m.client.token_details().expect("a token");
    assert_eq!(stored.token, "new-token");
    assert_eq!(stored.client_id.as_deref(), Some("token-client"));
    assert_eq!(*stored, result);
}

/// rest/unit/RSA10h/authorize-replaces-auth-options-0
///
/// The means in the options replace the client's, for this and later
/// tokens: an authUrl instead of the configured authCallback, and an
/// authCallback instead of the configured authUrl (the driver runs the
/// new callback).
#[test]
fn rsa10h_authorize_replaces_auth_options_0() {
    let original_called = Rc::new(RefCell::new(0));
    let mut m = Mock::new(callback_opts());
    let count = original_called.clone();
    m.callback(move |_| {
        *count.borrow_mut() += 1;
        Ok(AuthResponse::Details(details("original")))
    });
    m.respond(|r| {
        assert_eq!(host(r), "new-auth.example.com", "{r:?}");
        json(
            200,
            json!({"token": "new", "expires": START_WALL_MS + 3_600_000}),
        )
    });
    let url = AuthOptions {
        token_source: TokenSource::Url(AuthUrl {
            url: "https://new-auth.example.com/token".into(),
            ..AuthUrl::default()
        }),
        ..AuthOptions::default()
    };
    let done = m.authorize_with(None, Some(url)).expect("authorize");
    assert!(matches!(&done, Completion::Authorized(t) if t.token == "new"));
    assert_eq!(*original_called.borrow(), 0, "the original callback");
    // Stored for later tokens (RSA10g).
    m.authorize(None).expect("authorize again");
    assert_eq!(m.requests.len(), 2);
    assert_eq!(*original_called.borrow(), 0);

    // The other way round: a new callback instead of the authUrl.
    let mut m = Mock::new(auth_url_opts("https://original.example.com/token"));
    m.callback(|_| Ok(AuthResponse::Details(details("new"))));
    let callback = AuthOptions {
        token_source: TokenSource::Callback,
        ..AuthOptions::default()
    };
    let done = m.authorize_with(None, Some(callback)).expect("authorize");
    assert!(matches!(&done, Completion::Authorized(t) if t.token == "new"));
    assert_eq!(m.token_calls.len(), 1);
    assert!(
        m.requests.is_empty(),
        "the authUrl was asked: {:?}",
        m.requests
    );
}

/// rest/unit/RSA10i/authorize-preserves-key-0
///
/// Options without a key keep the client's key: after an authUrl token, a
/// later `authorize()` with the key's means signs with that key.
#[test]
fn rsa10i_authorize_preserves_key_0() {
    let mut m = Mock::new(key_opts());
    m.respond(|r| {
        let token = if is_token_request(r) {
            "token-via-key"
        } else {
            "token-via-url"
        };
        json(
            200,
            json!({"token": token, "expires": START_WALL_MS + 3_600_000}),
        )
    });
    let url = AuthOptions {
        token_source: TokenSource::Url(AuthUrl {
            url: "https://new-auth.example.com/token".into(),
            ..AuthUrl::default()
        }),
        ..AuthOptions::default()
    };
    m.authorize_with(None, Some(url)).expect("authUrl");
    assert_eq!(host(&m.requests[0]), "new-auth.example.com");
    assert_eq!(
        m.client.options().key.as_deref(),
        Some("appId.keyId:keySecret")
    );
    let done = m
        .authorize_with(None, Some(AuthOptions::default()))
        .expect("key");
    assert!(matches!(&done, Completion::Authorized(t) if t.token == "token-via-key"));
    let signed = m.last();
    assert_eq!(path(signed), "/keys/appId.keyId/requestToken");
    assert_eq!(body(signed)["keyName"], "appId.keyId");
    assert!(body(signed)["mac"].as_str().is_some_and(|s| !s.is_empty()));
}

/// rest/unit/RSA10j/authorize-replaces-existing-token-0
#[test]
fn rsa10j_authorize_replaces_existing_token_0() {
    let mut m = numbered();
    let first = m.authorize(None).expect("first");
    let second = m.authorize(None).expect("second");
    assert_eq!(first.token, "token-1");
    assert_eq!(second.token, "token-2");
    assert_eq!(current(&m).as_deref(), Some("token-2"));
}

/// rest/unit/RSA10k/authorize-query-time-0
///
/// The service time is asked for once, unauthenticated, before the
/// TokenRequest, which is signed at that time; later TokenRequests use
/// the offset from the local clock and ask no more (RSA10k).
#[test]
fn rsa10k_authorize_query_time_0() {
    const SERVER_MS: i64 = 1_234_567_890_000;
    let mut m = Mock::new(json_opts());
    m.respond(|r| {
        if path(r) == "/time" {
            json(200, json!({"time": SERVER_MS}))
        } else {
            json(
                200,
                json!({"token": "time-synced-token", "expires": SERVER_MS + 3_600_000}),
            )
        }
    });
    let query = AuthOptions {
        query_time: true,
        ..AuthOptions::default()
    };
    let done = m.authorize_with(None, Some(query)).expect("authorize");
    assert!(matches!(&done, Completion::Authorized(t) if t.token == "time-synced-token"));
    assert_eq!(m.requests.len(), 2);
    let time = &m.requests[0];
    assert_eq!((time.method, path(time)), ("GET", "/time"));
    assert_eq!(header(time, "authorization"), None);
    assert!(is_token_request(&m.requests[1]));
    assert_eq!(body(&m.requests[1])["timestamp"], SERVER_MS);

    m.advance(Duration::from_secs(5));
    m.authorize(None).expect("authorize again");
    assert_eq!(m.requests.len(), 3, "no second time request");
    assert_eq!(body(m.last())["timestamp"], SERVER_MS + 5_000);
}

/// rest/unit/RSA10l/authorize-error-propagated-0
#[test]
fn rsa10l_authorize_error_propagated_0() {
    let mut m = Mock::new(ClientOptions {
        key: Some("invalid.key:secret".into()),
        ..key_opts()
    });
    m.queue(vec![error(401, 40100, "Unauthorized")]);
    let e = m.authorize(None).expect_err("refused");
    assert_eq!((e.code, e.status_code), (40100, Some(401)));
    assert_eq!(m.client.token_details(), None);
}

/// An invalid key in the options fails and changes nothing.
#[test]
fn rsa10_invalid_key_in_options_changes_nothing() {
    let mut m = key_client("t");
    let bad = AuthOptions {
        key: Some("not-a-key".into()),
        ..AuthOptions::default()
    };
    let e = m.authorize_with(None, Some(bad)).expect_err("bad key");
    assert_eq!(e.code, 40101);
    assert!(m.requests.is_empty());
    assert_eq!(
        m.client.options().key.as_deref(),
        Some("appId.keyId:keySecret")
    );
}

/// `requestToken(tokenParams, authOptions)` (RSA8e): the options are used
/// for that token only; queryTime asks for the time first (RSA9d).
#[test]
fn rsa8e_request_token_with_options_stores_nothing() {
    let mut m = Mock::new(json_opts());
    m.respond(|r| {
        if path(r) == "/time" {
            json(200, json!([START_WALL_MS + 60_000]))
        } else {
            json(200, json!({"token": host(r)}))
        }
    });
    let url = AuthOptions {
        token_source: TokenSource::Url(AuthUrl {
            url: "https://other.example.com/token".into(),
            ..AuthUrl::default()
        }),
        ..AuthOptions::default()
    };
    let got = m.run(Command::RequestTokenWith {
        params: None,
        options: Some(Box::new(url)),
    });
    assert!(got.is_ok(), "{got:?}");
    assert_eq!(host(&m.requests[0]), "other.example.com");
    assert_eq!(
        m.client.token_details(),
        None,
        "requestToken stores nothing"
    );

    let query = AuthOptions {
        query_time: true,
        ..AuthOptions::default()
    };
    m.run(Command::RequestTokenWith {
        params: None,
        options: Some(Box::new(query)),
    })
    .expect("token");
    assert_eq!(path(&m.requests[1]), "/time");
    assert_eq!(body(&m.requests[2])["timestamp"], START_WALL_MS + 60_000);
    // The options were not stored: the key signs without asking again.
    m.request_token(None).expect("token");
    assert_eq!(m.requests.len(), 4);
    assert!(is_token_request(&m.requests[3]));
}

/// A realtime client keeps RTC8: `authorize()` with a token in the
/// options sends it in an AUTH frame and completes on CONNECTED; a switch
/// to basic auth is refused.
#[test]
fn rtc8_realtime_authorize_with_given_token() {
    let mut h: Harness = connected_harness(Box::new(|pm| match pm.action {
        Action::Auth => vec![Reply::Send(connected("connection-id", "connection-key-2"))],
        _ => vec![],
    }));
    let given = AuthOptions {
        token_details: Some(details("given-token")),
        ..AuthOptions::default()
    };
    let op = h.command(Command::AuthorizeWith {
        params: None,
        options: Some(Box::new(given)),
    });
    assert_eq!(
        h.completion(op),
        Some(Ok(Completion::Authorized(Box::new(details("given-token")))))
    );
    let auth = h.sent_with(Action::Auth);
    assert_eq!(auth.len(), 1);
    assert_eq!(
        auth[0].auth.as_ref().map(|a| a.access_token.as_str()),
        Some("given-token")
    );
    assert_eq!(h.transports.len(), 1, "the same connection");

    let basic = AuthOptions {
        key: Some("appId.keyId:keySecret".into()),
        use_token_auth: Some(false),
        ..AuthOptions::default()
    };
    let op = h.command(Command::AuthorizeWith {
        params: None,
        options: Some(Box::new(basic)),
    });
    let e: ErrorInfo = match h.completion(op) {
        Some(Err(e)) => e,
        other => panic!("expected 40000, got {other:?}"),
    };
    assert_eq!(e.code, 40000);
}

/// A realtime client with queryTime asks for the service time before
/// signing the token it connects with (RSA9d).
#[test]
fn rsa9d_realtime_query_time_before_connecting() {
    const SERVER_MS: i64 = START_WALL_MS + 30_000;
    let opts = ClientOptions {
        use_token_auth: true,
        query_time: true,
        ..crate::realtime::key_options()
    };
    let mut h = Harness::connecting_ok(opts);
    h.on_http = Some(Box::new(|r| {
        let response = if path(r) == "/time" {
            json(200, json!([SERVER_MS]))
        } else {
            json(
                200,
                json!({"token": "synced", "expires": SERVER_MS + 3_600_000}),
            )
        };
        Some(Ok(response))
    }));
    h.connect();
    h.await_state(
        ably_proto::client::ConnectionState::Connected,
        Duration::from_secs(1),
    );
    let paths: Vec<&str> = h.http_requests.iter().map(|(_, r)| path(r)).collect();
    assert_eq!(paths, ["/time", "/keys/appId.keyId/requestToken"]);
    assert_eq!(body(&h.http_requests[1].1)["timestamp"], SERVER_MS);
    assert_eq!(
        h.transports[0].param("access_token").as_deref(),
        Some("synced")
    );

    // queryTime in the options of one `authorize()` (RSA10k) does the same
    // for a client without the option.
    let mut h = Harness::connecting_ok(crate::realtime::key_options());
    h.on_http = Some(Box::new(|r| {
        let response = if path(r) == "/time" {
            json(200, json!([SERVER_MS]))
        } else {
            json(
                200,
                json!({"token": "synced", "expires": SERVER_MS + 3_600_000}),
            )
        };
        Some(Ok(response))
    }));
    let op = h.command(Command::AuthorizeWith {
        params: None,
        options: Some(Box::new(AuthOptions {
            query_time: true,
            ..AuthOptions::default()
        })),
    });
    assert!(
        matches!(h.completion(op), Some(Ok(Completion::Authorized(t))) if t.token == "synced"),
        "{:?}",
        h.completion(op)
    );
    let paths: Vec<&str> = h.http_requests.iter().map(|(_, r)| path(r)).collect();
    assert_eq!(paths, ["/time", "/keys/appId.keyId/requestToken"]);
    assert_eq!(body(&h.http_requests[1].1)["timestamp"], SERVER_MS);
}

fn current(m: &Mock) -> Option<String> {
    m.client.token_details().map(|t| t.token.clone())
}
