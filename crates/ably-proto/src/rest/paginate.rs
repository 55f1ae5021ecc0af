//! Pagination (TG, HP): `Link` headers become the requests of the next,
//! first and current pages.

use crate::client::HttpResponse;
use crate::client::url::decode_component;

use super::request::{Method, RestRequest};

/// A page of results (TG1-TG7). `next`, `first` and `current` are the
/// requests of those pages, ready to send like any other (with
/// [`RestOp::Send`](super::RestOp::Send) on the realtime client).
#[derive(Clone, Debug, PartialEq)]
pub struct PaginatedResult<T> {
    /// The items of this page (TG3).
    pub items: Vec<T>,
    /// The next page, if there is one (TG4).
    pub next: Option<RestRequest>,
    /// The first page (TG5).
    pub first: Option<RestRequest>,
    /// This page again.
    pub current: Option<RestRequest>,
}

impl<T> PaginatedResult<T> {
    /// A page of these items with the links of a response to `request`.
    pub fn new(items: Vec<T>, request: &RestRequest, response: &HttpResponse) -> Self {
        let mut page = PaginatedResult {
            items,
            next: None,
            first: None,
            current: None,
        };
        for (rel, target) in links(response) {
            let slot = match rel.as_str() {
                "next" => &mut page.next,
                "first" => &mut page.first,
                "current" => &mut page.current,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(follow(request, &target));
            }
        }
        page
    }

    /// Whether there are further pages (TG6).
    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }

    /// Whether this is the last page (TG7).
    pub fn is_last(&self) -> bool {
        !self.has_next()
    }
}

/// The answer of `request()` (HP1-HP8): a page of JSON items with the
/// status and headers of the response.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpPaginatedResponse {
    /// The HTTP status (HP4).
    pub status_code: u16,
    /// The `X-Ably-Errorcode` header, else the code of the body's error
    /// when the status is not a success (HP6).
    pub error_code: Option<u32>,
    /// The `X-Ably-Errormessage` header, else the message of the body's
    /// error when the status is not a success (HP7).
    pub error_message: Option<String>,
    /// Every response header (HP8).
    pub headers: Vec<(String, String)>,
    /// The items (HP3) and the links to other pages (HP2).
    pub page: PaginatedResult<serde_json::Value>,
}

impl HttpPaginatedResponse {
    /// Whether the status is 2xx (HP5).
    pub fn success(&self) -> bool {
        (200..300).contains(&self.status_code)
    }

    /// The items (HP3).
    pub fn items(&self) -> &[serde_json::Value] {
        &self.page.items
    }
}

/// The `(rel, target)` pairs of the `Link` headers of a response, e.g.
/// `<./messages?limit=1&cursor=x>; rel="next"`. A link with several
/// relations (`rel="first current"`) gives one pair for each.
pub fn links(response: &HttpResponse) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, value) in response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("link"))
    {
        let mut rest = value.as_str();
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>').map(|i| open + i) else {
                break;
            };
            let target = rest[open + 1..close].trim().to_owned();
            let after = &rest[close + 1..];
            let end = after.find('<').unwrap_or(after.len());
            // Up to the next link, without the comma between links.
            let attrs = after[..end].trim_end().trim_end_matches(',');
            for attr in attrs.split(';') {
                let Some((name, val)) = attr.split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("rel") {
                    for rel in val.trim().trim_matches('"').split_whitespace() {
                        out.push((rel.to_ascii_lowercase(), target.clone()));
                    }
                }
            }
            rest = &after[end..];
        }
    }
    out
}

/// The request of a link target: an absolute URL or path keeps its path,
/// a relative one (`./messages?...`) is resolved against the request's
/// path; the query becomes the params. Everything else (format, headers,
/// version, credentials, what the answer holds) is kept; a page is a GET
/// without a body.
pub fn follow(request: &RestRequest, target: &str) -> RestRequest {
    let (reference, query) = target.split_once('?').unwrap_or((target, ""));
    let path = resolve(&request.path, reference);
    let params = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect();
    RestRequest {
        method: Method::Get,
        path,
        params,
        body: None,
        ..request.clone()
    }
}

/// Resolves a link's path against the path of the request (RFC 3986 in
/// the small: `scheme://host` is dropped, `.` and `..` segments resolve).
fn resolve(base: &str, reference: &str) -> String {
    let reference = match reference.find("://") {
        Some(i) => {
            let after = &reference[i + 3..];
            after.find('/').map_or("/", |p| &after[p..])
        }
        None => reference,
    };
    let mut segments: Vec<&str> = if reference.starts_with('/') {
        Vec::new()
    } else {
        let mut dir: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
        if !base.ends_with('/') {
            dir.pop(); // the last segment is a file, not a directory
        }
        dir
    };
    let trailing = reference.ends_with('/');
    for seg in reference.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut path = format!("/{}", segments.join("/"));
    if trailing && path.len() > 1 {
        path.push('/');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Format;
    use crate::rest::Expect;

    fn history() -> RestRequest {
        let mut r = RestRequest::new(
            Method::Get,
            "/channels/chat/messages",
            Format::Json,
            Expect::Messages {
                channel: "chat".into(),
            },
        );
        r.params = vec![("limit".into(), "2".into())];
        r
    }

    fn with_link(link: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("Link".into(), link.into())],
            body: b"[]".to_vec(),
        }
    }

    #[test]
    fn relative_links_resolve_against_the_request_path() {
        let response = with_link(
            r#"<./messages?limit=2&direction=backwards&cursor=a%3Ab>; rel="next", <./messages?limit=2>; rel="first""#,
        );
        let page = PaginatedResult::<u8>::new(Vec::new(), &history(), &response);
        let next = page.next.as_ref().expect("next");
        assert_eq!(next.path, "/channels/chat/messages");
        assert_eq!(next.param("cursor"), Some("a:b"));
        assert_eq!(next.param("direction"), Some("backwards"));
        assert_eq!(next.expect, history().expect);
        let first = page.first.as_ref().expect("first");
        assert_eq!(first.path_and_query(), "/channels/chat/messages?limit=2");
        assert!(page.current.is_none());
        assert!(page.has_next() && !page.is_last());
    }

    #[test]
    fn absolute_paths_and_urls_keep_their_path() {
        for (target, path) in [
            (
                "/channels/test/messages?cursor=abc",
                "/channels/test/messages",
            ),
            (
                "https://rest.ably.io/channels/x/presence?page=2",
                "/channels/x/presence",
            ),
            ("../presence/history?x=1", "/channels/presence/history"),
            ("messages?x=1", "/channels/chat/messages"),
        ] {
            assert_eq!(follow(&history(), target).path, path, "{target}");
        }
    }

    #[test]
    fn link_header_forms() {
        for (header, next) in [
            (r#"</path?cursor=abc>; rel="next""#, Some("abc")),
            (
                r#"</path?cursor=abc>; rel="next", </path>; rel="first""#,
                Some("abc"),
            ),
            (r#"</path>; rel="first""#, None),
            ("", None),
            ("</path?cursor=c>;rel=next", Some("c")),
        ] {
            let page = PaginatedResult::<u8>::new(Vec::new(), &history(), &with_link(header));
            assert_eq!(
                page.next.as_ref().and_then(|n| n.param("cursor")),
                next,
                "{header}"
            );
        }
        let many = with_link(r#"</a?p=1>; rel="first current""#);
        let page = PaginatedResult::<u8>::new(Vec::new(), &history(), &many);
        assert_eq!(page.first, page.current);
        assert!(page.first.is_some());
    }
}
