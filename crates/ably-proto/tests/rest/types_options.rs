//! ClientOptions (TO3) as the core has them. Ported from
//! `uts/rest/unit/types/options_types.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use ably_proto::auth::TokenParams;
use ably_proto::client::{AuthOptions, AuthUrl, ClientOptions, Command, TokenSource};
use ably_proto::codec::Format;

use crate::harness::*;

/// rest/unit/TO3/client-options-attributes-0
///
/// The defaults of TO3 that the core's options carry: TLS, the timeouts
/// and retry limits, MessagePack, idempotent publishing, addRequestIds and
/// queryTime off, maxMessageSize, GET for an authUrl; then set values are
/// kept. (`restHost` does not exist: `endpoint` replaces it, REC1d.)
#[test]
fn to3_client_options_attributes_0() {
    let o = ClientOptions::default();
    assert!(o.tls);
    assert_eq!(o.http_request_timeout, Duration::from_secs(10));
    assert_eq!(o.http_max_retry_count, 3);
    assert_eq!(o.http_max_retry_duration, Duration::from_secs(15));
    assert_eq!(o.fallback_retry_timeout, Duration::from_secs(600));
    assert_eq!(o.format, Format::MsgPack);
    assert!(o.idempotent_rest_publishing);
    assert_eq!(o.max_message_size, 65_536);
    assert!(!AuthUrl::default().method_post, "authMethod GET");
    assert_eq!(o.key, None);
    assert_eq!(o.token, None);
    assert_eq!(o.client_id, None);
    assert_eq!(o.fallback_hosts, None, "the endpoint's defaults");
    assert_eq!(o.default_token_params, TokenParams::default());
    assert_eq!(o.primary_host(), "main.realtime.ably.net");
    assert!(!o.add_request_ids);
    assert!(!o.query_time);

    let set = ClientOptions {
        key: Some("appId.keyId:keySecret".into()),
        client_id: Some("my-client".into()),
        endpoint: "test".into(),
        tls: false,
        http_request_timeout: Duration::from_secs(30),
        format: Format::Json,
        idempotent_rest_publishing: false,
        add_request_ids: true,
        query_time: true,
        ..ClientOptions::default()
    };
    assert_eq!(set.key.as_deref(), Some("appId.keyId:keySecret"));
    assert_eq!(set.client_id.as_deref(), Some("my-client"));
    assert_eq!(set.endpoint, "test");
    assert!(!set.tls);
    assert_eq!(set.http_request_timeout, Duration::from_secs(30));
    assert_eq!(set.format, Format::Json);
    assert!(!set.idempotent_rest_publishing);
    assert!(set.add_request_ids);
    assert!(set.query_time);
}

/// rest/unit/TO3/client-options-auth-url-2
#[test]
fn to3_client_options_auth_url_2() {
    let url = AuthUrl {
        url: "https://auth.example.com/token".into(),
        method_post: true,
        headers: BTreeMap::from([("X-API-Key".to_owned(), "secret".to_owned())]),
        params: BTreeMap::from([("scope".to_owned(), "full".to_owned())]),
    };
    let o = ClientOptions {
        key: None,
        token_source: TokenSource::Url(url),
        auto_connect: false,
        ..ClientOptions::default()
    };
    let TokenSource::Url(u) = &o.token_source else {
        panic!("an authUrl");
    };
    assert_eq!(u.url, "https://auth.example.com/token");
    assert!(u.method_post);
    assert_eq!(
        u.headers.get("X-API-Key").map(String::as_str),
        Some("secret")
    );
    assert_eq!(u.params.get("scope").map(String::as_str), Some("full"));
    // The options are used as given: the token comes from that URL by POST.
    let mut m = Mock::new(o);
    m.queue(vec![json(200, serde_json::json!({"token": "t"}))]);
    m.request_token(None).expect("token");
    let r = m.only();
    assert_eq!((r.method, host(r)), ("POST", "auth.example.com".to_owned()));
    assert_eq!(header(r, "X-API-Key"), Some("secret"));
}

/// rest/unit/TO3/client-options-default-token-params-3
#[test]
fn to3_client_options_default_token_params_3() {
    let o = ClientOptions {
        default_token_params: TokenParams {
            ttl: Some(7_200_000),
            client_id: Some("default-client".into()),
            capability: Some(r#"{"*":["subscribe"]}"#.into()),
            ..TokenParams::default()
        },
        ..key_opts()
    };
    assert_eq!(o.default_token_params.ttl, Some(7_200_000));
    assert_eq!(
        o.default_token_params.client_id.as_deref(),
        Some("default-client")
    );
    assert_eq!(
        o.default_token_params.capability.as_deref(),
        Some(r#"{"*":["subscribe"]}"#)
    );
    // They are the params of a token obtained without params.
    let mut m = Mock::new(o);
    m.queue(vec![token_response("t", START_WALL_MS + 1000)]);
    m.request_token(None).expect("token");
    assert_eq!(m.requests.len(), 1);
    let sent = body(m.last());
    assert_eq!(sent["ttl"], 7_200_000);
    assert_eq!(sent["clientId"], "default-client");
}

/// rest/unit/TO/endpoint-affects-host-0
#[test]
fn to_endpoint_affects_host_0() {
    for (endpoint, host) in [
        (None, "main.realtime.ably.net"),
        (Some("test"), "test.realtime.ably.net"),
        (Some("custom-env"), "custom-env.realtime.ably.net"),
    ] {
        let mut o = key_opts();
        if let Some(e) = endpoint {
            o.endpoint = e.into();
        }
        assert_eq!(o.endpoint, endpoint.unwrap_or("main"));
        assert_eq!(o.primary_host(), host);
    }
}

/// rest/unit/TO/conflicting-options-validation-1
///
/// A key with an authCallback is valid (the callback wins, RSA1); no
/// means of auth at all is refused. (`restHost` with `endpoint` cannot be
/// written: ClientOptions has no deprecated `restHost`.)
#[test]
fn to_conflicting_options_validation_1() {
    let both = Mock::new(ClientOptions {
        token_source: TokenSource::Callback,
        ..key_opts()
    });
    assert_eq!(both.client.token_details(), None);
    let e = match Mock::try_new(ClientOptions {
        key: None,
        auto_connect: false,
        ..ClientOptions::default()
    }) {
        Err(e) => e,
        Ok(_) => panic!("options without auth were accepted"),
    };
    let text = e.message.to_lowercase();
    assert!(
        text.contains("key") || text.contains("token") || text.contains("auth"),
        "{e}"
    );
}

/// rest/unit/AO2/auth-options-attributes-0
///
/// AuthOptions hold an authUrl with its method, headers and params (the
/// core's AuthUrl), queryTime, a key, a token, token details, useTokenAuth
/// and the authCallback marker; given to `requestToken()` they are used
/// as they are.
#[test]
fn ao2_auth_options_attributes_0() {
    let options = AuthOptions {
        token_source: TokenSource::Url(AuthUrl {
            url: "https://auth.example.com/token".into(),
            method_post: true,
            headers: BTreeMap::from([("Authorization".to_owned(), "Bearer api-key".to_owned())]),
            params: BTreeMap::from([("user".to_owned(), "test".to_owned())]),
        }),
        query_time: true,
        ..AuthOptions::default()
    };
    let TokenSource::Url(u) = &options.token_source else {
        panic!("an authUrl");
    };
    assert_eq!(u.url, "https://auth.example.com/token");
    assert!(u.method_post, "authMethod POST");
    assert_eq!(
        u.headers.get("Authorization").map(String::as_str),
        Some("Bearer api-key")
    );
    assert_eq!(u.params.get("user").map(String::as_str), Some("test"));
    assert!(options.query_time);
    let d = AuthOptions::default();
    assert_eq!((d.key, d.token, d.token_details), (None, None, None));
    assert_eq!(d.token_source, TokenSource::None);
    assert_eq!(d.use_token_auth, None);
    assert!(!d.query_time);
    let callback = AuthOptions {
        token_source: TokenSource::Callback,
        ..AuthOptions::default()
    };
    assert_eq!(callback.token_source, TokenSource::Callback);

    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, serde_json::json!({"token": "t"}))]);
    m.run(Command::RequestTokenWith {
        params: None,
        options: Some(Box::new(options)),
    })
    .expect("token");
    let r = m.only();
    assert_eq!((r.method, host(r)), ("POST", "auth.example.com".to_owned()));
    assert_eq!(header(r, "Authorization"), Some("Bearer api-key"));
    let form = String::from_utf8(r.body.clone().unwrap_or_default()).expect("form");
    assert!(form.split('&').any(|p| p == "user=test"), "{form}");
}
