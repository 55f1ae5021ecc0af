//! Host fallback (RSC15, RTN17e) and the course of one request across hosts.

use std::time::Duration;

use rand_core::RngCore;

use crate::ErrorInfo;
use crate::client::{ClientOptions, HttpRequest, HttpResponse};

use super::request::{RestAuth, RestRequest};
use super::response::error_from_response;

/// Whether a failed attempt may be retried on another host (RSC15l): a
/// network error or timeout (the driver reports both as `Err`), a status
/// from 500 to 504, or a CloudFront error (status 400 or more with
/// `Server: CloudFront`). Other failures would fail on every host.
pub fn qualifies_for_fallback(result: &Result<HttpResponse, ErrorInfo>) -> bool {
    match result {
        Err(_) => true,
        Ok(r) => {
            (500..=504).contains(&r.status)
                || (r.status >= 400
                    && r.header("server")
                        .is_some_and(|s| s.trim().eq_ignore_ascii_case("cloudfront")))
        }
    }
}

/// The hosts to try for a request, in order (RSC25, RSC15a, RTN17e,
/// RSC15f): `preferred` first when given (the fallback host of the
/// realtime connection, or a fallback that recently worked), else the
/// primary host; then the primary if not already first; then the other
/// fallback hosts (REC2) in random order from `rng`. At most
/// `http_max_retry_count` hosts follow the first (TO3l5). With no
/// fallback hosts (an explicit hostname endpoint, REC2c2) only the first
/// is tried (RSC15m).
pub fn rest_hosts(
    opts: &ClientOptions,
    preferred: Option<&str>,
    rng: &mut dyn RngCore,
) -> Vec<String> {
    let primary = opts.primary_host();
    let first = preferred.unwrap_or(&primary).to_owned();
    let mut fallbacks: Vec<String> = opts
        .fallback_hosts()
        .into_iter()
        .filter(|h| *h != first && *h != primary)
        .collect();
    // Fisher-Yates with the caller's RNG, so runs are reproducible.
    for i in (1..fallbacks.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        fallbacks.swap(i, j);
    }
    let mut hosts = vec![first.clone()];
    if first != primary {
        hosts.push(primary);
    }
    hosts.extend(fallbacks);
    hosts.truncate(1 + opts.http_max_retry_count);
    hosts
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum CallStep {
    /// The attempt failed in a way another host may not (RSC15l): send
    /// [`RestCall::http`] again, now for the next host.
    Retry,
    /// The service refused the token (401, 40140-40149): renew it once
    /// and send [`RestCall::http`] again, or, with no means to renew,
    /// fail (RSA4a2, RSA4b, RSC10). Given once per call.
    TokenError(ErrorInfo),
    /// Finished: the last response, of any status, or the network error of
    /// the last host tried. [`RestRequest::decode`] reads a response.
    Done(Result<HttpResponse, ErrorInfo>),
}

/// One request on its way across hosts: a plain state machine that a REST
/// client or the realtime client drives with the answers to its attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct RestCall {
    request: RestRequest,
    hosts: Vec<String>,
    index: usize,
    renewed: bool,
}

impl RestCall {
    /// A call of `request` on these hosts (see [`rest_hosts`]); an empty
    /// list means the primary host of the request's options, given to
    /// [`RestCall::http`].
    pub fn new(request: RestRequest, hosts: Vec<String>) -> RestCall {
        RestCall {
            request,
            hosts,
            index: 0,
            renewed: false,
        }
    }

    /// The request.
    pub fn request(&self) -> &RestRequest {
        &self.request
    }

    /// The host of the current attempt.
    pub fn host(&self) -> Option<&str> {
        self.hosts.get(self.index).map(String::as_str)
    }

    /// How many hosts were tried before the current one.
    pub fn attempt(&self) -> usize {
        self.index
    }

    /// The HTTP request of the current attempt.
    pub fn http(&self, opts: &ClientOptions, auth: RestAuth<'_>) -> HttpRequest {
        let host = self
            .host()
            .map_or_else(|| opts.primary_host(), str::to_owned);
        let auth = if self.request.authenticated {
            auth
        } else {
            RestAuth::None
        };
        self.request.to_http(opts, &host, auth)
    }

    /// Takes the answer of the current attempt. `elapsed` is the time since
    /// the first attempt: no new host is tried once it passes
    /// `http_max_retry_duration` (TO3l6).
    pub fn on_response(
        &mut self,
        result: Result<HttpResponse, ErrorInfo>,
        elapsed: Duration,
        opts: &ClientOptions,
    ) -> CallStep {
        if qualifies_for_fallback(&result)
            && self.index + 1 < self.hosts.len()
            && elapsed <= opts.http_max_retry_duration
        {
            self.index += 1;
            return CallStep::Retry;
        }
        if let Ok(response) = &result {
            if response.status == 401 && self.request.authenticated && !self.renewed {
                let error = error_from_response(response, self.request.format);
                if error.is_token_error() {
                    self.renewed = true;
                    return CallStep::TokenError(error);
                }
            }
        }
        CallStep::Done(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Format;
    use crate::rest::{Expect, Method};
    use rand_core::SeedableRng;

    fn opts() -> ClientOptions {
        ClientOptions::with_key("app.key:secret")
    }

    fn rng(seed: u8) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::from_seed([seed; 32])
    }

    fn status(code: u16) -> Result<HttpResponse, ErrorInfo> {
        Ok(HttpResponse {
            status: code,
            ..HttpResponse::default()
        })
    }

    #[test]
    fn which_failures_qualify() {
        for code in [500, 501, 502, 503, 504] {
            assert!(qualifies_for_fallback(&status(code)), "{code}");
        }
        for code in [200, 400, 401, 404, 505] {
            assert!(!qualifies_for_fallback(&status(code)), "{code}");
        }
        assert!(qualifies_for_fallback(&Err(ErrorInfo::new(
            50003, 504, "timeout"
        ))));
        let cloudfront = Ok(HttpResponse {
            status: 403,
            headers: vec![("Server".into(), "CloudFront".into())],
            body: Vec::new(),
        });
        assert!(qualifies_for_fallback(&cloudfront));
    }

    #[test]
    fn primary_first_then_fallbacks_in_random_order() {
        let mut o = opts();
        o.http_max_retry_count = 10;
        let defaults = o.fallback_hosts();
        let mut orders = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let hosts = rest_hosts(&o, None, &mut rng(seed));
            assert_eq!(hosts[0], "main.realtime.ably.net");
            let mut rest = hosts[1..].to_vec();
            orders.insert(rest.clone());
            rest.sort();
            assert_eq!(rest, defaults);
        }
        assert!(
            orders.len() > 1,
            "the order of fallbacks varies with the RNG"
        );
        // The same seed gives the same order.
        assert_eq!(
            rest_hosts(&o, None, &mut rng(3)),
            rest_hosts(&o, None, &mut rng(3))
        );
    }

    #[test]
    fn retry_count_and_explicit_hosts_limit_the_list() {
        let o = opts(); // httpMaxRetryCount 3
        assert_eq!(rest_hosts(&o, None, &mut rng(1)).len(), 4);
        let local = ClientOptions {
            endpoint: "localhost".into(),
            ..opts()
        };
        assert_eq!(rest_hosts(&local, None, &mut rng(1)), vec!["localhost"]);
    }

    #[test]
    fn a_connection_fallback_goes_first_then_the_primary() {
        let o = opts();
        let host = "main.c.fallback.ably-realtime.com";
        let hosts = rest_hosts(&o, Some(host), &mut rng(1));
        assert_eq!(hosts[0], host);
        assert_eq!(hosts[1], "main.realtime.ably.net");
        assert_eq!(hosts.iter().filter(|h| *h == host).count(), 1);
    }

    #[test]
    fn a_call_moves_on_only_for_qualifying_failures() {
        let o = opts();
        let request = RestRequest::new(Method::Get, "/time", Format::Json, Expect::Time);
        let hosts = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let mut call = RestCall::new(request.clone(), hosts.clone());
        assert!(call.http(&o, RestAuth::None).url.starts_with("https://a/"));
        assert_eq!(
            call.on_response(status(503), Duration::ZERO, &o),
            CallStep::Retry
        );
        assert_eq!(call.host(), Some("b"));
        let err = Err(ErrorInfo::new(80000, 503, "refused"));
        assert_eq!(call.on_response(err, Duration::ZERO, &o), CallStep::Retry);
        assert_eq!((call.host(), call.attempt()), (Some("c"), 2));
        // The last host's failure is final.
        assert_eq!(
            call.on_response(status(500), Duration::ZERO, &o),
            CallStep::Done(status(500))
        );

        let mut call = RestCall::new(request.clone(), hosts.clone());
        assert_eq!(
            call.on_response(status(400), Duration::ZERO, &o),
            CallStep::Done(status(400))
        );
        // Past httpMaxRetryDuration no new host is tried.
        let mut call = RestCall::new(request, hosts);
        assert_eq!(
            call.on_response(status(500), Duration::from_secs(16), &o),
            CallStep::Done(status(500))
        );
    }

    #[test]
    fn a_token_error_asks_for_one_renewal() {
        let o = opts();
        let request = RestRequest::new(Method::Get, "/stats", Format::Json, Expect::Stats);
        let mut call = RestCall::new(request, vec!["a".into()]);
        let expired = || {
            Ok(HttpResponse {
                status: 401,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: br#"{"error":{"code":40142,"statusCode":401,"message":"expired"}}"#.to_vec(),
            })
        };
        match call.on_response(expired(), Duration::ZERO, &o) {
            CallStep::TokenError(e) => assert_eq!(e.code, 40142),
            other => panic!("expected a token error, got {other:?}"),
        }
        assert!(matches!(
            call.on_response(expired(), Duration::ZERO, &o),
            CallStep::Done(Ok(_))
        ));
    }
}
