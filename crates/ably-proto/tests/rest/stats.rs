//! `stats()` (RSC6). Ported from `uts/rest/unit/stats.md`.

use serde_json::json;

use ably_proto::client::ClientOptions;
use ably_proto::rest::{Direction, RestOp, StatsParams, StatsUnit};

use crate::harness::*;

const JAN_1: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const JAN_31_END: i64 = 1_706_745_599_000; // 2024-01-31T23:59:59Z

fn client() -> Mock {
    Mock::new(ClientOptions::with_key("app.key:secret"))
}

/// Runs `stats(params)` answered `200 []`; returns the one request's query.
fn query_of(params: StatsParams) -> Vec<(String, String)> {
    let mut m = client();
    m.ok(RestOp::Stats(params));
    query(m.only())
}

fn get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// rest/unit/RSC6a/returns-paginated-stats-0
#[test]
fn rsc6a_returns_paginated_stats_0() {
    let mut m = client();
    m.queue(vec![json(
        200,
        json!([
            {"intervalId": "2024-01-01:00:00", "unit": "hour",
             "all": {"messages": {"count": 100, "data": 5000}, "all": {"count": 100, "data": 5000}}},
            {"intervalId": "2024-01-01:01:00", "unit": "hour",
             "all": {"messages": {"count": 150, "data": 7500}, "all": {"count": 150, "data": 7500}}}
        ]),
    )]);
    let page = stats_page(m.ok(RestOp::Stats(StatsParams::default())));
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.items[0].interval_id.as_deref(),
        Some("2024-01-01:00:00")
    );
    assert_eq!(page.items[0].unit.as_deref(), Some("hour"));
    assert_eq!(
        page.items[1].interval_id.as_deref(),
        Some("2024-01-01:01:00")
    );
    assert_eq!(page.items[1].value["all"]["messages"]["count"], 150);
    let r = m.only();
    assert_eq!((r.method, path(r)), ("GET", "/stats"));
}

/// rest/unit/RSC6a/authenticated-with-headers-1
#[test]
fn rsc6a_authenticated_with_headers_1() {
    let mut m = client();
    m.ok(RestOp::Stats(StatsParams::default()));
    let r = m.only();
    assert_eq!(basic(r).as_deref(), Some("app.key:secret"));
    assert!(header(r, "X-Ably-Version").is_some());
    assert!(header(r, "Ably-Agent").is_some());
}

/// rest/unit/RSC6b1/start-param-millis-0
#[test]
fn rsc6b1_start_param_millis_0() {
    let q = query_of(StatsParams {
        start: Some(JAN_1),
        ..StatsParams::default()
    });
    assert_eq!(get(&q, "start"), Some("1704067200000"));
    assert_eq!(get(&q, "end"), None);
}

/// rest/unit/RSC6b1/end-param-millis-1
#[test]
fn rsc6b1_end_param_millis_1() {
    let q = query_of(StatsParams {
        end: Some(JAN_31_END),
        ..StatsParams::default()
    });
    assert_eq!(get(&q, "end"), Some("1706745599000"));
    assert_eq!(get(&q, "start"), None);
}

/// rest/unit/RSC6b1/start-and-end-params-2
///
/// Also: `start` after `end` is refused before anything is sent.
#[test]
fn rsc6b1_start_and_end_params_2() {
    let q = query_of(StatsParams {
        start: Some(JAN_1),
        end: Some(JAN_31_END),
        ..StatsParams::default()
    });
    assert_eq!(get(&q, "start"), Some("1704067200000"));
    assert_eq!(get(&q, "end"), Some("1706745599000"));

    let mut m = client();
    let e = m.err(RestOp::Stats(StatsParams {
        start: Some(JAN_31_END),
        end: Some(JAN_1),
        ..StatsParams::default()
    }));
    assert_eq!(e.code, 40000);
    assert!(m.requests.is_empty());
}

/// rest/unit/RSC6b2/direction-param-forwards-0
#[test]
fn rsc6b2_direction_param_forwards_0() {
    let q = query_of(StatsParams {
        direction: Some(Direction::Forwards),
        ..StatsParams::default()
    });
    assert_eq!(get(&q, "direction"), Some("forwards"));
}

/// rest/unit/RSC6b2/direction-defaults-backwards-1
#[test]
fn rsc6b2_direction_defaults_backwards_1() {
    let q = query_of(StatsParams::default());
    assert!(matches!(get(&q, "direction"), None | Some("backwards")));
    let q = query_of(StatsParams {
        direction: Some(Direction::Backwards),
        ..StatsParams::default()
    });
    assert_eq!(get(&q, "direction"), Some("backwards"));
}

/// rest/unit/RSC6b3/limit-param-value-0
#[test]
fn rsc6b3_limit_param_value_0() {
    let q = query_of(StatsParams {
        limit: Some(10),
        ..StatsParams::default()
    });
    assert_eq!(get(&q, "limit"), Some("10"));
}

/// rest/unit/RSC6b3/limit-defaults-to-100-1
#[test]
fn rsc6b3_limit_defaults_to_100_1() {
    let q = query_of(StatsParams::default());
    assert!(matches!(get(&q, "limit"), None | Some("100")));
}

/// rest/unit/RSC6b4/unit-param-values-0
#[test]
fn rsc6b4_unit_param_values_0() {
    let mut m = client();
    for (unit, text) in [
        (StatsUnit::Minute, "minute"),
        (StatsUnit::Hour, "hour"),
        (StatsUnit::Day, "day"),
        (StatsUnit::Month, "month"),
    ] {
        m.ok(RestOp::Stats(StatsParams {
            unit: Some(unit),
            ..StatsParams::default()
        }));
        assert_eq!(param(m.last(), "unit").as_deref(), Some(text));
    }
    assert_eq!(m.requests.len(), 4);
}

/// rest/unit/RSC6b4/unit-defaults-to-minute-1
#[test]
fn rsc6b4_unit_defaults_to_minute_1() {
    let q = query_of(StatsParams::default());
    assert!(matches!(get(&q, "unit"), None | Some("minute")));
}

/// rest/unit/RSC6b/all-params-combined-0
#[test]
fn rsc6b_all_params_combined_0() {
    let q = query_of(StatsParams {
        start: Some(JAN_1),
        end: Some(JAN_31_END),
        direction: Some(Direction::Forwards),
        limit: Some(50),
        unit: Some(StatsUnit::Hour),
    });
    assert_eq!(get(&q, "start"), Some("1704067200000"));
    assert_eq!(get(&q, "end"), Some("1706745599000"));
    assert_eq!(get(&q, "direction"), Some("forwards"));
    assert_eq!(get(&q, "limit"), Some("50"));
    assert_eq!(get(&q, "unit"), Some("hour"));
    assert_eq!(q.len(), 5);
}

/// rest/unit/RSC6a/no-params-clean-request-2
#[test]
fn rsc6a_no_params_clean_request_2() {
    let mut m = client();
    m.ok(RestOp::Stats(StatsParams::default()));
    let r = m.only();
    assert_eq!((r.method, path(r)), ("GET", "/stats"));
    assert!(query(r).is_empty());
    assert!(!r.url.contains('?'));
}

/// rest/unit/RSC6a/pagination-link-headers-3
#[test]
fn rsc6a_pagination_link_headers_3() {
    let mut m = client();
    m.queue(vec![
        with_header(
            json(
                200,
                json!([{"intervalId": "2024-01-01:01:00", "unit": "hour"}]),
            ),
            "Link",
            r#"</stats?start=1704070800000&limit=1>; rel="next""#,
        ),
        json(
            200,
            json!([{"intervalId": "2024-01-01:00:00", "unit": "hour"}]),
        ),
    ]);
    let page1 = stats_page(m.ok(RestOp::Stats(StatsParams {
        limit: Some(1),
        ..StatsParams::default()
    })));
    assert_eq!(page1.items.len(), 1);
    assert_eq!(
        page1.items[0].interval_id.as_deref(),
        Some("2024-01-01:01:00")
    );
    assert!(page1.has_next() && !page1.is_last());

    let page2 = stats_page(next(&mut m, page1.next.as_ref()));
    assert_eq!(page2.items.len(), 1);
    assert_eq!(
        page2.items[0].interval_id.as_deref(),
        Some("2024-01-01:00:00")
    );
    assert!(!page2.has_next() && page2.is_last());

    let second = &m.requests[1];
    assert_eq!(path(second), "/stats");
    assert_eq!(param(second, "start").as_deref(), Some("1704070800000"));
    assert_eq!(param(second, "limit").as_deref(), Some("1"));
    assert!(header(second, "Authorization").is_some());
}

/// rest/unit/RSC6a/empty-results-handled-4
#[test]
fn rsc6a_empty_results_handled_4() {
    let mut m = client();
    let page = stats_page(m.ok(RestOp::Stats(StatsParams::default())));
    assert!(page.items.is_empty());
    assert!(!page.has_next() && page.is_last());
}

/// rest/unit/RSC6a/error-propagated-5
#[test]
fn rsc6a_error_propagated_5() {
    let mut m = client();
    m.queue(vec![error(401, 40100, "Unauthorized")]);
    let e = m.err(RestOp::Stats(StatsParams::default()));
    assert_eq!(e.status_code, Some(401));
    assert_eq!(e.code, 40100);
    assert_eq!(m.requests.len(), 1, "a 401 is not retried elsewhere");
}
