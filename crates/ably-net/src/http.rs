//! The core's HTTP requests, carried out with ureq (rustls).
//!
//! ureq is blocking: the blocking adapter calls [`execute`] on a helper
//! thread, the async adapters on their runtime's blocking pool. REST calls
//! are few and not on the hot path (publishing goes over the WebSocket),
//! and one HTTP stack gives all three adapters the same TLS, timeouts and
//! error mapping.

use std::time::Duration;

use ably_proto::ErrorInfo;
use ably_proto::client::{HttpRequest, HttpResponse};

pub use ureq::Agent;

use crate::tls::Trust;

/// An agent with the client's open and request timeouts and roots that
/// returns every status as a response (the core reads Ably errors from
/// bodies).
pub fn agent(open_timeout: Duration, request_timeout: Duration, trust: &Trust) -> Agent {
    crate::tls::install_provider();
    Agent::config_builder()
        .tls_config(tls_config(trust))
        .http_status_as_error(false)
        .timeout_connect(Some(open_timeout))
        .timeout_global(Some(request_timeout))
        .build()
        .into()
}

/// Makes one request. Any status is a response for the core to read; only
/// network failures are errors: 50003 on a timeout, 80000 otherwise
/// (RSC15 decides on fallback hosts from these).
pub fn execute(agent: &Agent, request: HttpRequest) -> Result<HttpResponse, ErrorInfo> {
    let bad = |e: String| ErrorInfo::new(40000, 400, format!("invalid HTTP request: {e}"));
    let mut builder = ureq::http::Request::builder()
        .method(request.method)
        .uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let result = match request.body {
        Some(body) => agent.run(builder.body(body).map_err(|e| bad(e.to_string()))?),
        None => agent.run(builder.body(()).map_err(|e| bad(e.to_string()))?),
    };
    let network = |e: ureq::Error| match e {
        ureq::Error::Timeout(_) => {
            ErrorInfo::new(50003, 504, format!("HTTP request timed out: {e}"))
        }
        e => ErrorInfo::new(80000, 503, format!("HTTP request failed: {e}")),
    };
    let mut response = result.map_err(network)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = response.body_mut().read_to_vec().map_err(network)?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// ureq's TLS settings for `trust` (rustls is ureq's default provider).
pub(crate) fn tls_config(trust: &Trust) -> ureq::tls::TlsConfig {
    ureq::tls::TlsConfig::builder()
        .root_certs(trust.http_roots())
        .build()
}
