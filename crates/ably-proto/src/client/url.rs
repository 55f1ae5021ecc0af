//! The connection URL (RTN2, RTN15b, RTN16k, RTC1f).

use std::collections::BTreeMap;

use super::options::ClientOptions;

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Credentials in the URL: `key` for basic auth, `access_token` for tokens (RTN2e).
pub(crate) enum UrlAuth<'a> {
    Key(&'a str),
    Token(&'a str),
}

/// Builds the WebSocket URL for a connection attempt.
pub(crate) fn connection_url(
    opts: &ClientOptions,
    host: &str,
    auth: UrlAuth<'_>,
    resume: Option<&str>,
    recover: Option<&str>,
) -> String {
    let mut params: BTreeMap<&str, String> = BTreeMap::new();
    params.insert("v", "6".into());
    params.insert("format", opts.format.param().into());
    params.insert(
        "heartbeats",
        if opts.transport_reports_pings {
            "false"
        } else {
            "true"
        }
        .into(),
    );
    // RTN2b, RTC1a: always sent, `true` by default.
    params.insert("echo", opts.echo_messages.to_string());
    if let Some(client_id) = &opts.client_id {
        params.insert("clientId", client_id.clone());
    }
    match auth {
        UrlAuth::Key(key) => params.insert("key", key.to_owned()),
        UrlAuth::Token(token) => params.insert("access_token", token.to_owned()),
    };
    if let Some(key) = resume {
        params.insert("resume", key.to_owned());
    }
    if let Some(key) = recover {
        params.insert("recover", key.to_owned());
    }
    params.insert("agent", opts.agent.clone());
    // RTC1f1: transportParams win over the defaults.
    for (k, v) in &opts.transport_params {
        params.insert(k, v.clone());
    }
    let scheme = if opts.tls { "wss" } else { "ws" };
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!(
        "{scheme}://{host}:{}/?{}",
        opts.effective_port(),
        query.join("&")
    )
}

/// The value of a query param in a URL (for tests and the recovery key).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_component(k) == name).then(|| decode_component(v))
    })
}

pub(crate) fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
