//! Host fallback (RSC15), the primary and fallback domains (REC1, REC2)
//! and the connectivity check (REC3). Ported from
//! `uts/rest/unit/fallback.md`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use ably_proto::client::{
    Client, ClientOptions, ConnectionState, HttpResponse, Input, Instant, Now, Output,
    TransportEvent,
};
use ably_proto::rand_core::SeedableRng;
use ably_proto::rest::{RestOp, RestResult, rest_hosts};

use crate::harness::*;

const PRIMARY: &str = "main.realtime.ably.net";

fn time_ok() -> HttpResponse {
    json(200, json!({"time": 1_234_567_890_000_i64}))
}

fn default_fallbacks(prefix: &str) -> Vec<String> {
    ["a", "b", "c", "d", "e"]
        .iter()
        .map(|l| format!("{prefix}.{l}.fallback.ably-realtime.com"))
        .collect()
}

fn hosts(m: &Mock) -> Vec<String> {
    m.requests.iter().map(host).collect()
}

// ---- RSC15 ----------------------------------------------------------------------

/// rest/unit/RSC15m/no-fallback-empty-hosts-0
#[test]
fn rsc15m_no_fallback_empty_hosts_0() {
    let mut m = Mock::new(ClientOptions {
        fallback_hosts: Some(Vec::new()),
        ..key_opts()
    });
    m.queue(vec![json(500, json!({"error": {"code": 50000}}))]);
    let e = m.err(RestOp::Time);
    assert_eq!(m.requests.len(), 1);
    assert_eq!(e.status_code, Some(500));
}

/// rest/unit/RSC15a/fallback-random-order-0
///
/// Every host fails: the primary first, then distinct default fallbacks,
/// as many as httpMaxRetryCount allows (raised to 5 to see them all); the
/// order differs between clients (seeded RNGs).
#[test]
fn rsc15a_fallback_random_order_0() {
    let mut m = Mock::new(ClientOptions {
        http_max_retry_count: 5,
        ..key_opts()
    });
    m.queue(vec![json(500, json!({"error": {"code": 50000}}))]);
    m.err(RestOp::Time);
    let used = hosts(&m);
    assert_eq!(used.len(), 6);
    assert_eq!(used[0], PRIMARY);
    let expected = default_fallbacks("main");
    assert!(used[1..].iter().all(|h| expected.contains(h)), "{used:?}");
    let distinct: BTreeSet<&String> = used[1..].iter().collect();
    assert_eq!(distinct.len(), 5);

    // The order varies with the randomness source.
    let opts = ClientOptions {
        http_max_retry_count: 5,
        ..key_opts()
    };
    let orders: BTreeSet<Vec<String>> = (0..16u8)
        .map(|seed| {
            let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
            rest_hosts(&opts, None, &mut rng)
        })
        .collect();
    assert!(orders.len() > 1, "the fallback order is random");
    assert!(orders.iter().all(|o| o[0] == PRIMARY));
}

/// rest/unit/RSC15l/qualifying-errors-trigger-fallback-0
///
/// RSC15l1 unreachable host, RSC15l2 timeout, RSC15l3 500-504 move on to
/// another host; 400, 401 and 404 do not.
#[test]
fn rsc15l_qualifying_errors_trigger_fallback_0() {
    for status in [500, 501, 502, 503, 504] {
        let mut m = Mock::new(key_opts());
        m.queue(vec![
            json(status, json!({"error": {"code": u32::from(status) * 100}})),
            time_ok(),
        ]);
        m.ok(RestOp::Time);
        let used = hosts(&m);
        assert_eq!(used.len(), 2, "{status}");
        assert_ne!(used[1], used[0]);
    }
    for status in [400, 401, 404] {
        let mut m = Mock::new(key_opts());
        m.queue(vec![json(
            status,
            json!({"error": {"code": u32::from(status) * 100}}),
        )]);
        m.err(RestOp::Time);
        assert_eq!(m.requests.len(), 1, "{status}");
    }
    // Unreachable.
    let mut m = Mock::new(key_opts());
    let mut n = 0;
    m.reply(move |_| {
        n += 1;
        if n == 1 {
            Reply::Fail(refused())
        } else {
            Reply::Respond(time_ok())
        }
    });
    m.ok(RestOp::Time);
    assert_eq!(m.requests.len(), 2);
    // Timeout.
    let mut m = Mock::new(ClientOptions {
        http_request_timeout: Duration::from_secs(1),
        ..key_opts()
    });
    let mut n = 0;
    m.reply(move |_| {
        n += 1;
        if n == 1 {
            Reply::Timeout
        } else {
            Reply::Respond(time_ok())
        }
    });
    m.ok(RestOp::Time);
    assert_eq!(m.requests.len(), 2);
}

/// rest/unit/RSC15l4/cloudfront-error-triggers-fallback-0
#[test]
fn rsc15l4_cloudfront_error_triggers_fallback_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        with_header(
            json(403, json!({"error": "Forbidden"})),
            "Server",
            "CloudFront",
        ),
        time_ok(),
    ]);
    assert_eq!(m.ok(RestOp::Time), RestResult::Time(1_234_567_890_000));
    let used = hosts(&m);
    assert_eq!(used.len(), 2);
    assert_eq!(used[0], PRIMARY);
    assert_ne!(used[1], PRIMARY);
    // The same 403 without the CloudFront header is final.
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        json(403, json!({"error": {"code": 40300}})),
        time_ok(),
    ]);
    m.err(RestOp::Time);
    assert_eq!(m.requests.len(), 1);
}

/// The first attempt fails with `first`, the rest succeed.
fn first_fails(first: Reply, opts: ClientOptions) -> Mock {
    let mut m = Mock::new(opts);
    let mut n = 0;
    m.reply(move |_| {
        n += 1;
        if n == 1 {
            first.clone()
        } else {
            Reply::Respond(time_ok())
        }
    });
    assert_eq!(m.ok(RestOp::Time), RestResult::Time(1_234_567_890_000));
    m
}

/// rest/unit/RSC15l/connection-refused-fallback-0
#[test]
fn rsc15l_connection_refused_fallback_0() {
    let m = first_fails(Reply::Fail(refused()), key_opts());
    assert_eq!(m.requests.len(), 2);
    assert_eq!(host(&m.requests[0]), PRIMARY);
    assert_ne!(host(&m.requests[1]), PRIMARY);
}

/// rest/unit/RSC15l/dns-error-fallback-1
#[test]
fn rsc15l_dns_error_fallback_1() {
    let dns = ably_proto::ErrorInfo::new(80000, 503, "failed to resolve main.realtime.ably.net");
    let m = first_fails(Reply::Fail(dns), key_opts());
    assert_eq!(m.requests.len(), 2);
    assert_ne!(host(&m.requests[1]), PRIMARY);
}

/// rest/unit/RSC15l/connection-timeout-fallback-2
///
/// A connection that never opens looks to the core like a request with no
/// answer: httpRequestTimeout ends it and the next host is tried.
#[test]
fn rsc15l_connection_timeout_fallback_2() {
    let m = first_fails(
        Reply::Timeout,
        ClientOptions {
            http_request_timeout: Duration::from_secs(1),
            ..key_opts()
        },
    );
    assert_eq!(m.requests.len(), 2);
    assert_ne!(host(&m.requests[1]), PRIMARY);
    assert_eq!(m.now.instant.since_origin(), Duration::from_secs(1));
}

/// rest/unit/RSC15l/request-timeout-fallback-3
#[test]
fn rsc15l_request_timeout_fallback_3() {
    let m = first_fails(
        Reply::Delay(Duration::from_secs(30), time_ok()),
        ClientOptions {
            http_request_timeout: Duration::from_secs(1),
            ..key_opts()
        },
    );
    let used = hosts(&m);
    assert_eq!(used.len(), 2);
    assert_ne!(used[0], used[1]);
    assert_eq!(m.now.instant.since_origin(), Duration::from_secs(1));
}

/// rest/unit/RSC15l/http-5xx-triggers-fallback-4
#[test]
fn rsc15l_http_5xx_triggers_fallback_4() {
    for status in [500, 501, 502, 503, 504] {
        let m = first_fails(
            Reply::Respond(json(
                status,
                json!({"error": {"code": u32::from(status) * 100}}),
            )),
            key_opts(),
        );
        assert_eq!(m.requests.len(), 2, "{status}");
    }
}

/// rest/unit/RSC15l/http-4xx-no-fallback-5
#[test]
fn rsc15l_http_4xx_no_fallback_5() {
    for status in [400, 401, 404] {
        let mut m = Mock::new(key_opts());
        m.queue(vec![json(
            status,
            json!({"error": {"code": u32::from(status) * 100}}),
        )]);
        let e = m.err(RestOp::Time);
        assert_eq!(e.status_code, Some(status));
        assert_eq!(m.requests.len(), 1);
    }
}

/// rest/unit/RSC15j/host-header-matches-request-0
///
/// The core names the host of each attempt in the request URL; the
/// driver's HTTP client writes the `Host` header from that URL, so it
/// matches the host tried, and no stale `Host` header is carried over.
#[test]
fn rsc15j_host_header_matches_request_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        json(500, json!({"error": {"code": 50000}})),
        time_ok(),
    ]);
    m.ok(RestOp::Time);
    let (first, second) = (&m.requests[0], &m.requests[1]);
    assert_eq!(host(first), PRIMARY);
    assert_ne!(host(first), host(second));
    for r in [first, second] {
        assert!(r.url.starts_with(&format!("https://{}/", host(r))));
        assert!(header(r, "Host").is_none_or(|h| h == host(r)));
    }
}

/// rest/unit/RSC15f/successful-fallback-cached-0
#[test]
fn rsc15f_successful_fallback_cached_0() {
    let mut m = Mock::new(ClientOptions {
        fallback_retry_timeout: Duration::from_secs(60),
        ..key_opts()
    });
    m.respond(|r| {
        if host(r) == PRIMARY {
            json(500, json!({"error": {}}))
        } else {
            time_ok()
        }
    });
    m.ok(RestOp::Time);
    m.ok(RestOp::Time);
    let used = hosts(&m);
    assert_eq!(used.len(), 3);
    assert_eq!(used[0], PRIMARY);
    assert_ne!(used[1], PRIMARY);
    assert_eq!(used[2], used[1], "the fallback that worked goes first");
}

/// rest/unit/RSC15f/cached-fallback-expires-1
#[test]
fn rsc15f_cached_fallback_expires_1() {
    let mut m = Mock::new(ClientOptions {
        fallback_retry_timeout: Duration::from_millis(100),
        ..key_opts()
    });
    let mut primary_calls = 0;
    m.respond(move |r| {
        if host(r) == PRIMARY {
            primary_calls += 1;
            if primary_calls == 1 {
                return json(500, json!({"error": {}}));
            }
        }
        time_ok()
    });
    m.ok(RestOp::Time);
    m.advance(Duration::from_millis(150));
    m.ok(RestOp::Time);
    let used = hosts(&m);
    assert_eq!(used.len(), 3);
    assert_eq!(
        used[2], PRIMARY,
        "after fallbackRetryTimeout the primary again"
    );
}

/// rest/unit/RSC15f/expired-not-resurrected-2
#[test]
fn rsc15f_expired_not_resurrected_2() {
    let mut m = Mock::new(ClientOptions {
        fallback_retry_timeout: Duration::from_millis(100),
        ..key_opts()
    });
    let mut n = 0;
    m.reply(move |_| {
        n += 1;
        match n {
            1 => Reply::Respond(error(500, 50000, "fail")),
            3 => Reply::Hold,
            _ => Reply::Respond(json(200, json!([1000]))),
        }
    });
    m.ok(RestOp::Time); // 1, 2: primary fails, a fallback answers
    let held = m.start(ably_proto::client::Command::Rest(Box::new(RestOp::Time))); // 3, held
    m.advance(Duration::from_millis(150));
    m.ok(RestOp::Time); // 4
    assert!(!m.is_done(held));
    m.release(json(200, json!([1000])));
    assert!(m.finish(held).is_ok());
    m.ok(RestOp::Time); // 5
    let used = hosts(&m);
    assert_eq!(used.len(), 5);
    assert_eq!(used[0], PRIMARY);
    assert_ne!(used[1], PRIMARY);
    assert_eq!(used[2], used[1], "the cached fallback");
    assert_eq!(used[3], PRIMARY, "the cache expired");
    assert_eq!(
        used[4], PRIMARY,
        "a late success does not pin the fallback again"
    );
}

// ---- REC1 -----------------------------------------------------------------------

fn first_host(opts: ClientOptions) -> String {
    let mut m = Mock::new(opts);
    m.queue(vec![time_ok()]);
    m.ok(RestOp::Time);
    host(m.only())
}

/// rest/unit/REC1a/default-primary-domain-0
#[test]
fn rec1a_default_primary_domain_0() {
    assert_eq!(first_host(key_opts()), PRIMARY);
}

/// rest/unit/REC1b2/explicit-hostname-with-period-0
#[test]
fn rec1b2_explicit_hostname_with_period_0() {
    let opts = ClientOptions {
        endpoint: "custom.ably.example.com".into(),
        ..key_opts()
    };
    assert_eq!(first_host(opts), "custom.ably.example.com");
}

/// rest/unit/REC1b2/endpoint-localhost-1
#[test]
fn rec1b2_endpoint_localhost_1() {
    let opts = ClientOptions {
        endpoint: "localhost".into(),
        ..key_opts()
    };
    assert_eq!(first_host(opts), "localhost");
}

/// rest/unit/REC1b2/endpoint-ipv6-address-2
#[test]
fn rec1b2_endpoint_ipv6_address_2() {
    let mut m = Mock::new(ClientOptions {
        endpoint: "::1".into(),
        ..key_opts()
    });
    m.queue(vec![time_ok()]);
    m.ok(RestOp::Time);
    assert!(
        m.only().url.starts_with("https://[::1]/"),
        "{}",
        m.only().url
    );
    assert_eq!(host(m.only()), "::1");
}

/// rest/unit/REC1b3/nonprod-routing-policy-0
#[test]
fn rec1b3_nonprod_routing_policy_0() {
    let opts = ClientOptions {
        endpoint: "nonprod:staging".into(),
        ..key_opts()
    };
    assert_eq!(first_host(opts), "staging.realtime.ably-nonprod.net");
    // `nonprod:` without an id names no routing policy.
    let e = Mock::try_new(ClientOptions {
        endpoint: "nonprod:".into(),
        ..key_opts()
    })
    .err()
    .expect("`nonprod:` is refused");
    assert_eq!(e.code, 40000);
}

/// rest/unit/REC1b4/production-routing-policy-0
#[test]
fn rec1b4_production_routing_policy_0() {
    let opts = ClientOptions {
        endpoint: "test".into(),
        ..key_opts()
    };
    assert_eq!(first_host(opts), "test.realtime.ably.net");
}

// ---- REC2 -----------------------------------------------------------------------

/// The hosts of a `time()` whose primary fails with 500.
fn after_primary_fails(opts: ClientOptions, expect_ok: bool) -> Vec<String> {
    let mut m = Mock::new(opts);
    m.queue(vec![
        json(500, json!({"error": {"code": 50000}})),
        time_ok(),
    ]);
    let result = m.rest(RestOp::Time);
    assert_eq!(result.is_ok(), expect_ok, "{result:?}");
    hosts(&m)
}

/// rest/unit/REC2c1/default-fallback-domains-0
#[test]
fn rec2c1_default_fallback_domains_0() {
    let used = after_primary_fails(key_opts(), true);
    assert_eq!(used.len(), 2);
    assert_eq!(used[0], PRIMARY);
    assert!(default_fallbacks("main").contains(&used[1]));
}

/// rest/unit/REC2a2/custom-fallback-hosts-0
#[test]
fn rec2a2_custom_fallback_hosts_0() {
    let custom = vec![
        "fb1.example.com".to_owned(),
        "fb2.example.com".to_owned(),
        "fb3.example.com".to_owned(),
    ];
    let used = after_primary_fails(
        ClientOptions {
            fallback_hosts: Some(custom.clone()),
            ..key_opts()
        },
        true,
    );
    assert_eq!(used.len(), 2);
    assert_eq!(used[0], PRIMARY);
    assert!(custom.contains(&used[1]));
}

/// rest/unit/REC2c2/explicit-hostname-no-fallbacks-0
#[test]
fn rec2c2_explicit_hostname_no_fallbacks_0() {
    let used = after_primary_fails(
        ClientOptions {
            endpoint: "custom.ably.example.com".into(),
            ..key_opts()
        },
        false,
    );
    assert_eq!(used, vec!["custom.ably.example.com".to_owned()]);
}

/// rest/unit/REC2c3/nonprod-fallback-domains-0
#[test]
fn rec2c3_nonprod_fallback_domains_0() {
    let used = after_primary_fails(
        ClientOptions {
            endpoint: "nonprod:staging".into(),
            ..key_opts()
        },
        true,
    );
    assert_eq!(used.len(), 2);
    assert_eq!(used[0], "staging.realtime.ably-nonprod.net");
    let expected: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|l| format!("staging.{l}.fallback.ably-realtime-nonprod.com"))
        .collect();
    assert!(expected.contains(&used[1]), "{used:?}");
}

/// rest/unit/REC2c4/production-endpoint-fallback-domains-0
#[test]
fn rec2c4_production_endpoint_fallback_domains_0() {
    let used = after_primary_fails(
        ClientOptions {
            endpoint: "test".into(),
            ..key_opts()
        },
        true,
    );
    assert_eq!(used.len(), 2);
    assert_eq!(used[0], "test.realtime.ably.net");
    assert!(default_fallbacks("test").contains(&used[1]), "{used:?}");
}

// ---- REC3 -----------------------------------------------------------------------

/// A realtime client whose first connection attempt fails at the network
/// level, up to the connectivity check it then makes before a fallback
/// host (RTN17j); returns the client and the check's request.
fn connectivity_check() -> (Client, Now, ably_proto::client::RequestId, String) {
    connectivity_check_with(key_opts_autoconnect())
}

fn connectivity_check_with(
    opts: ClientOptions,
) -> (Client, Now, ably_proto::client::RequestId, String) {
    let now = Now::new(Instant::from_millis(0), START_WALL_MS);
    let mut client = Client::new(opts, [3; 32], now).expect("client");
    let generation = loop {
        match client.poll() {
            Some(Output::OpenTransport { generation, .. }) => break generation,
            Some(_) => {}
            None => panic!("no connection attempt"),
        }
    };
    client.handle(
        now,
        Input::Transport(generation, TransportEvent::Closed(None)),
    );
    loop {
        match client.poll() {
            Some(Output::Http { request, http }) => return (client, now, request, http.url),
            Some(_) => {}
            None => panic!("no connectivity check"),
        }
    }
}

fn key_opts_autoconnect() -> ClientOptions {
    ClientOptions {
        auto_connect: true,
        ..ClientOptions::with_key("appId.keyId:keySecret")
    }
}

/// rest/unit/REC3a/default-connectivity-check-url-0
#[test]
fn rec3a_default_connectivity_check_url_0() {
    let (_, _, _, url) = connectivity_check();
    assert_eq!(
        url,
        "https://internet-up.ably-realtime.com/is-the-internet-up.txt"
    );
}

/// rest/unit/REC3b/custom-connectivity-check-url-0
///
/// The configured URL is checked instead of the default, and any success
/// status of it lets the client try a fallback host.
#[test]
fn rec3b_custom_connectivity_check_url_0() {
    let custom = "https://custom.example.com/connectivity";
    let opts = ClientOptions {
        connectivity_check_url: Some(custom.into()),
        ..key_opts_autoconnect()
    };
    let (mut client, now, request, url) = connectivity_check_with(opts);
    assert_eq!(url, custom);
    let ok = HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: b"ok".to_vec(),
    };
    client.handle(now, Input::Http(request, Ok(ok)));
    let mut opened = Vec::new();
    while let Some(out) = client.poll() {
        match out {
            Output::OpenTransport { url, .. } => opened.push(url),
            Output::Http { http, .. } => {
                assert!(
                    !http.url.contains("internet-up.ably-realtime.com"),
                    "{http:?}"
                )
            }
            _ => {}
        }
    }
    assert_eq!(opened.len(), 1, "a fallback host is tried");
    assert!(
        opened[0].contains(".fallback.ably-realtime.com"),
        "{opened:?}"
    );
}

/// rest/unit/REC3/connectivity-check-validation-0
///
/// Only `200` with `yes` counts as connected: the client then tries a
/// fallback host; otherwise it gives up the attempt (DISCONNECTED).
#[test]
fn rec3_connectivity_check_validation_0() {
    let text = |status: u16, body: &str| {
        Ok(HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        })
    };
    for (answer, up) in [
        (text(200, "yes"), true),
        (text(200, "no"), false),
        (text(200, ""), false),
        (text(404, "Not Found"), false),
        (Err(refused()), false),
    ] {
        let (mut client, now, request, _) = connectivity_check();
        client.handle(now, Input::Http(request, answer.clone()));
        let mut opened = false;
        while let Some(out) = client.poll() {
            if let Output::OpenTransport { url, .. } = out {
                assert!(url.contains(".fallback.ably-realtime.com"), "{url}");
                opened = true;
            }
        }
        assert_eq!(opened, up, "{answer:?}");
        let expected = if up {
            ConnectionState::Connecting
        } else {
            ConnectionState::Disconnected
        };
        assert_eq!(client.state(), expected, "{answer:?}");
    }
}
