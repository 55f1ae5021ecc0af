//! Obtaining a token for REST requests and `requestToken` (RSA8), as a
//! plain state machine: the authCallback, the authUrl, or a TokenRequest
//! signed with the key and exchanged at `POST /keys/{keyName}/requestToken`.
//! Failures follow RSA4e: 40170 with statusCode 401, except an explicit
//! error from Ably, which is given as it is.

use crate::ErrorInfo;
use crate::auth::{
    ApiKey, TokenDetails, TokenParams, TokenRequest, create_token_request, nonce_from_bytes,
};
use crate::client::auth::{auth_url_request, exchange_request, parse_auth_url_response};
use crate::client::{AuthResponse, ClientOptions, HttpRequest, HttpResponse, TokenSource};
use crate::codec::Format;
use crate::error::codes;

use super::response::{decode_one, error_from_response};

/// What the driver should do next for a [`TokenFetch`].
#[derive(Clone, Debug, PartialEq)]
pub enum TokenStep {
    /// Call the authCallback with these params; answer with
    /// [`TokenFetch::on_callback`] (RSA8d).
    Callback(TokenParams),
    /// Make this HTTP request (authUrl or requestToken); answer with
    /// [`TokenFetch::on_http`].
    Http(HttpRequest),
    /// Finished.
    Done(Result<TokenDetails, ErrorInfo>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Callback,
    AuthUrl,
    Exchange,
    Done,
}

/// One token being obtained (RSA8). It changes nothing else: the caller
/// decides whether the token is stored (implicit renewal, RSA4b) or only
/// returned (`requestToken`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFetch {
    stage: Stage,
}

impl TokenFetch {
    /// Starts with these params (the configured clientId fills in a
    /// missing one, RSA7d): the authCallback or authUrl of the options if
    /// set, else a TokenRequest signed with the key (RSA9) and the nonce
    /// drawn by the caller. With no means to obtain a token it is done at
    /// once with 40171.
    pub fn start(
        opts: &ClientOptions,
        mut params: TokenParams,
        now_wall_ms: i64,
        nonce: [u8; 8],
    ) -> (TokenFetch, TokenStep) {
        if params.client_id.is_none() {
            params.client_id = opts.client_id.clone();
        }
        match &opts.token_source {
            TokenSource::Callback => (
                TokenFetch {
                    stage: Stage::Callback,
                },
                TokenStep::Callback(params),
            ),
            TokenSource::Url(url) => (
                TokenFetch {
                    stage: Stage::AuthUrl,
                },
                TokenStep::Http(auth_url_request(url, &params)),
            ),
            TokenSource::None => {
                let key = match opts.key.as_deref().map(ApiKey::parse) {
                    Some(Ok(key)) => key,
                    Some(Err(e)) => return TokenFetch::done(Err(e)),
                    None => {
                        return TokenFetch::done(Err(ErrorInfo::new(
                            codes::NO_MEANS_TO_RENEW,
                            401,
                            "no means to obtain a token: no key, authCallback or authUrl",
                        )));
                    }
                };
                let request =
                    create_token_request(&key, &params, now_wall_ms, nonce_from_bytes(nonce));
                TokenFetch::exchange(opts, &request)
            }
        }
    }

    /// Starts by exchanging a TokenRequest (RSA8d, TokenRequest given).
    pub fn exchange(opts: &ClientOptions, request: &TokenRequest) -> (TokenFetch, TokenStep) {
        (
            TokenFetch {
                stage: Stage::Exchange,
            },
            TokenStep::Http(exchange_request(opts, request)),
        )
    }

    fn done(result: Result<TokenDetails, ErrorInfo>) -> (TokenFetch, TokenStep) {
        (TokenFetch { stage: Stage::Done }, TokenStep::Done(result))
    }

    /// Whether the fetch waits for the authCallback (rather than for HTTP).
    pub fn awaits_callback(&self) -> bool {
        self.stage == Stage::Callback
    }

    /// Whether the fetch waits for the exchange at Ably's
    /// `/keys/{keyName}/requestToken` (rather than for an authUrl).
    pub fn awaits_exchange(&self) -> bool {
        self.stage == Stage::Exchange
    }

    /// Takes the authCallback's answer.
    pub fn on_callback(
        &mut self,
        opts: &ClientOptions,
        result: Result<AuthResponse, ErrorInfo>,
    ) -> TokenStep {
        if self.stage != Stage::Callback {
            return self.fail(ErrorInfo::new(
                codes::INTERNAL,
                500,
                "a token was given where none was asked for",
            ));
        }
        match result {
            Err(e) => self.fail(callback_failed("the authCallback failed").with_cause(e)),
            Ok(response) => self.take(opts, response),
        }
    }

    /// Takes the answer of the HTTP request of [`TokenStep::Http`].
    pub fn on_http(
        &mut self,
        opts: &ClientOptions,
        result: Result<HttpResponse, ErrorInfo>,
    ) -> TokenStep {
        let stage = self.stage;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let what = if stage == Stage::AuthUrl {
                    "the authUrl request failed"
                } else {
                    "the token request failed"
                };
                return self.fail(callback_failed(what).with_cause(e));
            }
        };
        match stage {
            Stage::AuthUrl if response.status >= 400 => {
                let cause = error_from_response(&response, Format::Json);
                self.fail(callback_failed("the authUrl answered with an error").with_cause(cause))
            }
            Stage::AuthUrl => match parse_auth_url_response(&response) {
                Ok(r) => self.take(opts, r),
                Err(why) => self.fail(callback_failed(why)),
            },
            // An explicit error from Ably is given as it is (RSA4e).
            Stage::Exchange if response.status >= 400 => {
                self.fail(error_from_response(&response, Format::Json))
            }
            Stage::Exchange => match decode_one::<TokenDetails>(&response, Format::Json) {
                Ok(Some(details)) => self.finish(opts, details),
                Ok(None) => self.fail(callback_failed("requestToken answered with no body")),
                Err(e) => self.fail(
                    callback_failed("requestToken answered with an unreadable body").with_cause(e),
                ),
            },
            Stage::Callback | Stage::Done => self.fail(ErrorInfo::new(
                codes::INTERNAL,
                500,
                "an HTTP answer came where none was asked for",
            )),
        }
    }

    /// Gives up waiting (RSA4e: a timeout is 40170).
    pub fn on_timeout(&mut self) -> TokenStep {
        self.fail(callback_failed("timed out obtaining a token"))
    }

    fn take(&mut self, opts: &ClientOptions, response: AuthResponse) -> TokenStep {
        match response {
            AuthResponse::Token(token) if token.is_empty() || token.len() > 128 * 1024 => self
                .fail(callback_failed(
                    "the token is empty or longer than 128 KiB (RSA4f)",
                )),
            AuthResponse::Token(token) => self.finish(opts, TokenDetails::from_token(token)),
            AuthResponse::Details(details) => self.finish(opts, details),
            AuthResponse::Request(request) => {
                let (fetch, step) = TokenFetch::exchange(opts, &request);
                *self = fetch;
                step
            }
        }
    }

    fn finish(&mut self, opts: &ClientOptions, details: TokenDetails) -> TokenStep {
        self.stage = Stage::Done;
        // RSA15a, RSA15c: a token for another clientId is refused.
        if let (Some(mine), Some(theirs)) = (&opts.client_id, &details.client_id) {
            if theirs != "*" && theirs != mine {
                return TokenStep::Done(Err(ErrorInfo::new(
                    codes::INVALID_CLIENT_ID,
                    400,
                    format!(
                        "the token is for clientId '{theirs}', but this client is '{mine}' (RSA15a)"
                    ),
                )));
            }
        }
        TokenStep::Done(Ok(details))
    }

    fn fail(&mut self, error: ErrorInfo) -> TokenStep {
        self.stage = Stage::Done;
        TokenStep::Done(Err(error))
    }
}

/// `createTokenRequest` (RSA9): a TokenRequest signed with the client's
/// key. `params` replace the default token params when given (RSA9h), and
/// unset `ttl` and `capability` stay unset for the service to choose
/// (RSA5, RSA6); the configured clientId fills in a missing one (RSA7d);
/// the timestamp is `now_wall_ms` and the nonce comes from `nonce` unless
/// the params set them (RSA9c, RSA9d). Fails with 40101 without a key.
pub fn token_request(
    opts: &ClientOptions,
    params: Option<TokenParams>,
    now_wall_ms: i64,
    nonce: [u8; 8],
) -> Result<TokenRequest, ErrorInfo> {
    let key = match opts.key.as_deref() {
        Some(k) => ApiKey::parse(k)?,
        None => {
            return Err(ErrorInfo::new(
                codes::INVALID_CREDENTIALS,
                401,
                "a key is needed to sign a TokenRequest (RSA9g)",
            ));
        }
    };
    let mut params = params.unwrap_or_else(|| opts.default_token_params.clone());
    if params.client_id.is_none() {
        params.client_id = opts.client_id.clone();
    }
    Ok(create_token_request(
        &key,
        &params,
        now_wall_ms,
        nonce_from_bytes(nonce),
    ))
}

/// RSA4e: 40170, statusCode 401.
fn callback_failed(why: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(codes::AUTH_CALLBACK_FAILED, 401, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::AuthUrl;

    fn token_json(token: &str, client_id: Option<&str>) -> HttpResponse {
        let mut body = serde_json::json!({"token": token, "expires": 2_000_000_000_000_i64});
        if let Some(c) = client_id {
            body["clientId"] = c.into();
        }
        HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn with_a_key_a_signed_request_is_exchanged() {
        let opts = ClientOptions {
            client_id: Some("me".into()),
            ..ClientOptions::with_key("app.key:secret")
        };
        let (mut fetch, step) = TokenFetch::start(&opts, TokenParams::default(), 1_000, [1; 8]);
        let TokenStep::Http(http) = step else {
            panic!("expected an exchange, got {step:?}");
        };
        assert_eq!(http.method, "POST");
        assert!(http.url.ends_with("/keys/app.key/requestToken"));
        let sent: TokenRequest =
            serde_json::from_slice(http.body.as_deref().unwrap_or_default()).expect("json");
        assert_eq!(sent.client_id.as_deref(), Some("me")); // RSA7d
        assert_eq!(sent.timestamp, 1_000);
        match fetch.on_http(&opts, Ok(token_json("tok", Some("me")))) {
            TokenStep::Done(Ok(details)) => assert_eq!(details.token, "tok"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn callback_failures_are_40170_but_ably_errors_are_kept() {
        let opts = ClientOptions {
            key: None,
            token_source: TokenSource::Callback,
            ..ClientOptions::default()
        };
        let (mut fetch, step) = TokenFetch::start(&opts, TokenParams::default(), 0, [0; 8]);
        assert!(matches!(step, TokenStep::Callback(_)));
        assert!(fetch.awaits_callback());
        match fetch.on_callback(&opts, Err(ErrorInfo::new(50000, 500, "boom"))) {
            TokenStep::Done(Err(e)) => {
                assert_eq!((e.code, e.status_code), (40170, Some(401)));
                assert_eq!(e.cause.map(|c| c.code), Some(50000));
            }
            other => panic!("{other:?}"),
        }

        // A TokenRequest from the callback is exchanged; Ably's refusal stands.
        let (mut fetch, _) = TokenFetch::start(&opts, TokenParams::default(), 0, [0; 8]);
        let request = TokenRequest {
            key_name: "app.key".into(),
            timestamp: 1,
            nonce: "n".repeat(16),
            mac: "m".into(),
            ..TokenRequest::default()
        };
        let step = fetch.on_callback(&opts, Ok(AuthResponse::Request(request)));
        assert!(matches!(step, TokenStep::Http(_)));
        let refused = HttpResponse {
            status: 401,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"error":{"code":40104,"statusCode":401,"message":"timestamp"}}"#.to_vec(),
        };
        match fetch.on_http(&opts, Ok(refused)) {
            TokenStep::Done(Err(e)) => assert_eq!(e.code, 40104),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn auth_url_answers_and_invalid_tokens() {
        let opts = ClientOptions {
            key: None,
            client_id: Some("me".into()),
            token_source: TokenSource::Url(AuthUrl {
                url: "https://auth.example.com/token".into(),
                ..AuthUrl::default()
            }),
            ..ClientOptions::default()
        };
        let (mut fetch, step) = TokenFetch::start(&opts, TokenParams::default(), 0, [0; 8]);
        let TokenStep::Http(http) = step else {
            panic!("{step:?}")
        };
        assert!(http.url.starts_with("https://auth.example.com/token?"));
        // A token for someone else is refused (RSA15a).
        match fetch.on_http(&opts, Ok(token_json("t", Some("other")))) {
            TokenStep::Done(Err(e)) => assert_eq!(e.code, 40012),
            other => panic!("{other:?}"),
        }
        let (mut fetch, _) = TokenFetch::start(&opts, TokenParams::default(), 0, [0; 8]);
        let html = HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<p>".to_vec(),
        };
        match fetch.on_http(&opts, Ok(html)) {
            TokenStep::Done(Err(e)) => assert_eq!((e.code, e.status_code), (40170, Some(401))),
            other => panic!("{other:?}"),
        }
        let (mut fetch, _) = TokenFetch::start(&opts, TokenParams::default(), 0, [0; 8]);
        assert!(matches!(
            fetch.on_timeout(),
            TokenStep::Done(Err(ErrorInfo { code: 40170, .. }))
        ));
    }

    #[test]
    fn no_means_is_40171() {
        let opts = ClientOptions::with_token("t");
        let (_, step) = TokenFetch::start(&opts, TokenParams::default(), 0, [0; 8]);
        assert!(matches!(
            step,
            TokenStep::Done(Err(ErrorInfo { code: 40171, .. }))
        ));
    }
}
