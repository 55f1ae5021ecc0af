//! PaginatedResult (TG). Ported from `uts/rest/unit/types/paginated_result.md`.
//! A page's `next` and `first` are requests, sent with `RestOp::Send`.

use serde_json::json;

use ably_proto::client::ClientOptions;
use ably_proto::rest::{RestOp, links};

use crate::harness::*;

fn linked(items: serde_json::Value, link: &str) -> ably_proto::client::HttpResponse {
    with_header(json(200, items), "Link", link)
}

fn ids(page: &ably_proto::rest::PaginatedResult<ably_proto::Message>) -> Vec<String> {
    page.items
        .iter()
        .map(|m| m.id.clone().unwrap_or_default())
        .collect()
}

/// rest/unit/TG1/paginated-result-items-0
#[test]
fn tg1_paginated_result_items_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([{"id": "item1", "name": "e1", "data": "d1"}, {"id": "item2", "name": "e2", "data": "d2"}]),
    )]);
    let page = messages_page(m.ok(history("test")));
    assert_eq!(ids(&page), vec!["item1", "item2"]);
}

/// rest/unit/TG2/has-next-is-last-0
#[test]
fn tg2_has_next_is_last_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![linked(
        json!([{"id": "item1"}]),
        r#"</channels/test/messages?cursor=next123>; rel="next""#,
    )]);
    let page = messages_page(m.ok(history("test")));
    assert!(page.has_next() && !page.is_last());
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!([{"id": "item1"}]))]);
    let page = messages_page(m.ok(history("test")));
    assert!(!page.has_next() && page.is_last());
}

/// rest/unit/TG3/next-fetches-next-page-0
#[test]
fn tg3_next_fetches_next_page_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        linked(
            json!([{"id": "page1-item1"}, {"id": "page1-item2"}]),
            r#"</channels/test/messages?cursor=abc123>; rel="next""#,
        ),
        json(200, json!([{"id": "page2-item1"}])),
    ]);
    let page1 = messages_page(m.ok(history("test")));
    let page2 = messages_page(next(&mut m, page1.next.as_ref()));
    assert_eq!(ids(&page1), vec!["page1-item1", "page1-item2"]);
    assert!(page1.has_next());
    assert_eq!(ids(&page2), vec!["page2-item1"]);
    assert!(!page2.has_next());
    assert_eq!(param(&m.requests[1], "cursor").as_deref(), Some("abc123"));
}

/// rest/unit/TG4/first-returns-first-page-0
#[test]
fn tg4_first_returns_first_page_0() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        linked(json!([{"id": "item1"}]), r#"</channels/test/messages?cursor=next>; rel="next", </channels/test/messages>; rel="first""#),
        linked(json!([{"id": "item2"}]), r#"</channels/test/messages>; rel="first""#),
        linked(json!([{"id": "item1"}]), r#"</channels/test/messages?cursor=next>; rel="next""#),
    ]);
    let page1 = messages_page(m.ok(history("test")));
    let page2 = messages_page(next(&mut m, page1.next.as_ref()));
    let first = messages_page(m.ok(RestOp::Send(page2.first.clone().expect("a first page"))));
    assert_eq!(ids(&first), vec!["item1"]);
    assert_eq!(path(&m.requests[2]), "/channels/test/messages");
    assert!(query(&m.requests[2]).is_empty());
}

/// rest/unit/TG/empty-result-handling-0
#[test]
fn tg_empty_result_handling_0() {
    let mut m = Mock::new(key_opts());
    let page = messages_page(m.ok(history("test")));
    assert!(page.items.is_empty());
    assert!(!page.has_next() && page.is_last());
}

/// rest/unit/TG/link-header-parsing-1
#[test]
fn tg_link_header_parsing_1() {
    for (link, has_next, cursor) in [
        (r#"</path?cursor=abc>; rel="next""#, true, Some("abc")),
        (
            r#"</path?cursor=abc>; rel="next", </path>; rel="first""#,
            true,
            Some("abc"),
        ),
        (r#"</path>; rel="first""#, false, None),
        ("", false, None),
    ] {
        let mut m = Mock::new(key_opts());
        let answer = if link.is_empty() {
            json(200, json!([{"id": "item"}]))
        } else {
            linked(json!([{"id": "item"}]), link)
        };
        m.queue(vec![answer]);
        let page = messages_page(m.ok(history("test")));
        assert_eq!(page.has_next(), has_next, "{link}");
        assert_eq!(
            page.next.as_ref().and_then(|n| n.param("cursor")),
            cursor,
            "{link}"
        );
    }
}

/// rest/unit/TG/type-parameter-items-2
///
/// History is a `PaginatedResult<Message>`, presence a
/// `PaginatedResult<PresenceMessage>`: the compiler checks the item type.
#[test]
fn tg_type_parameter_items_2() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(
        200,
        json!([{"id": "msg1", "name": "event", "data": "test"}]),
    )]);
    let page: ably_proto::rest::PaginatedResult<ably_proto::Message> =
        messages_page(m.ok(history("test")));
    let first: &ably_proto::Message = &page.items[0];
    assert_eq!(first.name.as_deref(), Some("event"));
}

/// rest/unit/TG/next-on-last-page-3
///
/// The last page has no next request to send.
#[test]
fn tg_next_on_last_page_3() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![json(200, json!([{"id": "item"}]))]);
    let page = messages_page(m.ok(history("test")));
    assert!(page.is_last());
    assert!(page.next.is_none());
    assert_eq!(m.requests.len(), 1);
}

/// rest/unit/TG/pagination-preserves-auth-4
#[test]
fn tg_pagination_preserves_auth_4() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        linked(
            json!([{"id": "item1"}]),
            r#"</channels/test/messages?cursor=next>; rel="next""#,
        ),
        json(200, json!([{"id": "item2"}])),
    ]);
    let page1 = messages_page(m.ok(history("test")));
    next(&mut m, page1.next.as_ref());
    let first = header(&m.requests[0], "Authorization").expect("auth");
    assert_eq!(header(&m.requests[1], "Authorization"), Some(first));
}

/// rest/unit/TG/pagination-relative-urls-5
///
/// The link's path is resolved against the REST host in use (an explicit
/// host endpoint stands in for the deprecated `restHost`).
#[test]
fn tg_pagination_relative_urls_5() {
    let mut m = Mock::new(ClientOptions {
        endpoint: "rest.ably.io".into(),
        ..key_opts()
    });
    m.queue(vec![
        linked(
            json!([{"id": "item1"}]),
            r#"</channels/test/messages?page=2>; rel="next""#,
        ),
        json(200, json!([{"id": "item2"}])),
    ]);
    let page1 = messages_page(m.ok(history("test")));
    next(&mut m, page1.next.as_ref());
    let r = &m.requests[1];
    assert_eq!(host(r), "rest.ably.io");
    assert_eq!(path(r), "/channels/test/messages");
    assert_eq!(param(r, "page").as_deref(), Some("2"));
    // A relative link (`./messages?...`) resolves against the request path.
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        linked(json!([{"id": "a"}]), r#"<./messages?page=3>; rel="next""#),
        json(200, json!([])),
    ]);
    let page1 = messages_page(m.ok(history("test")));
    next(&mut m, page1.next.as_ref());
    assert_eq!(path(&m.requests[1]), "/channels/test/messages");
}

/// rest/unit/TG/multiple-link-relations-6
#[test]
fn tg_multiple_link_relations_6() {
    let link = r#"</channels/test/messages?page=2>; rel="next", </channels/test/messages?page=1>; rel="first", </channels/test/messages?page=5>; rel="last""#;
    let answer = linked(json!([{"id": "item1"}]), link);
    let mut m = Mock::new(key_opts());
    m.queue(vec![answer.clone()]);
    let page = messages_page(m.ok(history("test")));
    assert!(page.has_next());
    assert_eq!(page.next.as_ref().and_then(|n| n.param("page")), Some("2"));
    assert_eq!(page.first.as_ref().and_then(|n| n.param("page")), Some("1"));
    let rels: Vec<String> = links(&answer).into_iter().map(|(rel, _)| rel).collect();
    assert_eq!(rels, vec!["next", "first", "last"]);
}

/// rest/unit/TG/pagination-presence-results-7
#[test]
fn tg_pagination_presence_results_7() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        linked(
            json!([{"action": 1, "clientId": "client1"}]),
            r#"</channels/test/presence?page=2>; rel="next""#,
        ),
        json(200, json!([{"action": 1, "clientId": "client2"}])),
    ]);
    let page1 = presence_page(m.ok(RestOp::PresenceGet {
        channel: "test".into(),
        params: Default::default(),
    }));
    let page2 = presence_page(next(&mut m, page1.next.as_ref()));
    assert_eq!(page1.items[0].client_id.as_deref(), Some("client1"));
    assert_eq!(page2.items[0].client_id.as_deref(), Some("client2"));
}

/// rest/unit/TG/pagination-includes-headers-8
#[test]
fn tg_pagination_includes_headers_8() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        linked(
            json!([{"id": "item1"}]),
            r#"</channels/test/messages?cursor=next>; rel="next""#,
        ),
        json(200, json!([{"id": "item2"}])),
    ]);
    let page1 = messages_page(m.ok(history("test")));
    next(&mut m, page1.next.as_ref());
    let r = &m.requests[1];
    assert!(header(r, "X-Ably-Version").is_some());
    assert!(header(r, "Ably-Agent").is_some_and(|a| a.contains("ably-")));
}

/// rest/unit/TG/error-handling-on-next-9
#[test]
fn tg_error_handling_on_next_9() {
    let mut m = Mock::new(key_opts());
    m.queue(vec![
        linked(
            json!([{"id": "item1"}]),
            r#"</channels/test/messages?cursor=invalid>; rel="next""#,
        ),
        error(404, 40400, "Not found"),
    ]);
    let page1 = messages_page(m.ok(history("test")));
    let e = m.err(RestOp::Send(page1.next.clone().expect("next")));
    assert_eq!((e.code, e.status_code), (40400, Some(404)));
}
