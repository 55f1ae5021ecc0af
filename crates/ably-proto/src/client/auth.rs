//! Auth in the core (RSA): which credentials the connection uses, and
//! obtaining tokens through the driver.
//!
//! Obtaining a token is a small pipeline of driver requests: the
//! authCallback ([`Output::FetchToken`]) or the authUrl ([`Output::Http`])
//! may give a token, token details, or a TokenRequest; a TokenRequest (also
//! one the core signs itself with the key) is exchanged at
//! `POST /keys/{keyName}/requestToken`. With queryTime the service's time
//! is asked for first, once, and its offset from the local clock is used
//! for every TokenRequest the core signs (RSA9d, RSA10k). The pipeline ends
//! with token details or an error shaped as RSA4c/RSA4d require.

use crate::ErrorInfo;
use crate::auth::{
    ApiKey, TokenDetails, TokenParams, TokenRequest, create_token_request, nonce_from_bytes,
};
use crate::error::codes;
use crate::rest::{Expect, Method, RestAuth, RestRequest, RestResult};

use super::io::{AuthResponse, HttpRequest, HttpResponse, Output, RequestId};
use super::options::{ClientOptions, TokenSource};
use super::url::encode_component;

/// The stage of an outstanding token request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for the service time, to sign with (RSA9d).
    Time,
    /// Waiting for the authCallback.
    Callback,
    /// Waiting for the authUrl.
    AuthUrl,
    /// Waiting for `requestToken`.
    Exchange,
}

/// An outstanding token request.
#[derive(Clone, Debug)]
struct Pending {
    request: RequestId,
    stage: Stage,
    /// While waiting for the time: the params and nonce to sign with.
    signing: Option<(TokenParams, [u8; 8])>,
}

impl Pending {
    fn new(request: RequestId, stage: Stage) -> Pending {
        Pending {
            request,
            stage,
            signing: None,
        }
    }
}

/// The outcome of a finished token request.
pub(crate) type TokenOutcome = Result<TokenDetails, TokenError>;

/// A failed token request: the error to report, and whether it is fatal
/// (403, RSA4d) or a mismatched clientId (RSA15c).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TokenError {
    pub(crate) error: ErrorInfo,
    pub(crate) fatal: bool,
}

/// Credentials and token state.
#[derive(Debug)]
pub(crate) struct Auth {
    key: Option<ApiKey>,
    source: TokenSource,
    use_token: bool,
    /// The token in use (RSA16).
    token: Option<TokenDetails>,
    /// Params for the next token (RSA10g).
    token_params: TokenParams,
    /// The clientId from the options.
    configured_client_id: Option<String>,
    /// The clientId confirmed by a token or CONNECTED (RSA7b, RSA12).
    client_id: Option<String>,
    pending: Option<Pending>,
    /// The service's clock minus the local one, once asked for (RSA10k).
    server_time_offset: Option<i64>,
    /// Ask for the service time before the next signing (AO2g, RSA10k).
    query_time_once: bool,
}

impl Auth {
    pub(crate) fn new(opts: &ClientOptions, key: Option<ApiKey>) -> Auth {
        let token = opts
            .token_details
            .clone()
            .or_else(|| opts.token.clone().map(TokenDetails::from_token));
        let client_id = opts
            .client_id
            .clone()
            .or_else(|| token.as_ref().and_then(|t| t.client_id.clone()));
        Auth {
            key,
            source: opts.token_source.clone(),
            use_token: opts.uses_token_auth(),
            token,
            token_params: opts.default_token_params.clone(),
            configured_client_id: opts.client_id.clone(),
            client_id,
            pending: None,
            server_time_offset: None,
            query_time_once: false,
        }
    }

    /// The clientId as known now (RSA7, RSA12).
    pub(crate) fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The token in use (RSA16).
    pub(crate) fn token_details(&self) -> Option<&TokenDetails> {
        self.token.as_ref()
    }

    /// Whether connections use a token.
    pub(crate) fn uses_token(&self) -> bool {
        self.use_token
    }

    /// Whether a new token can be obtained (RSA4a vs RSA4b).
    pub(crate) fn can_renew(&self) -> bool {
        self.key.is_some() || self.source != TokenSource::None
    }

    /// Whether a token must be obtained before connecting.
    pub(crate) fn needs_token(&self, now_wall_ms: i64) -> bool {
        self.use_token
            && match &self.token {
                None => true,
                Some(t) => t.expires.is_some_and(|e| e <= now_wall_ms) && self.can_renew(),
            }
    }

    /// Whether the token in use is known to have expired by this clock.
    pub(crate) fn token_expired(&self, now_wall_ms: i64) -> bool {
        self.token
            .as_ref()
            .and_then(|t| t.expires)
            .is_some_and(|e| e <= now_wall_ms)
    }

    /// The stored token params (RSA10g).
    pub(crate) fn token_params(&self) -> &TokenParams {
        &self.token_params
    }

    /// Uses a token obtained for a REST request from now on (RSC10).
    pub(crate) fn adopt_token(&mut self, details: TokenDetails) {
        self.use_token = true;
        if details.client_id.is_some() {
            self.client_id = details.client_id.clone();
        }
        self.token = Some(details);
    }

    /// Replaces the means of obtaining tokens with stored AuthOptions
    /// (RSA10g); a `key` of `None` keeps the key (RSA10i).
    pub(crate) fn replace_means(
        &mut self,
        key: Option<ApiKey>,
        source: TokenSource,
        use_token: bool,
    ) {
        if key.is_some() {
            self.key = key;
        }
        self.source = source;
        self.use_token = use_token;
    }

    /// Asks for the service time before the next TokenRequest is signed,
    /// unless its offset is known (AO2g, RSA10k).
    pub(crate) fn query_time_once(&mut self) {
        self.query_time_once = true;
    }

    /// Whether the service time must be asked for before signing with the
    /// key (RSA9d, RSA10k).
    pub(crate) fn must_query_time(&self, query_time: bool) -> bool {
        query_time && self.server_time_offset.is_none()
    }

    /// Records the service time answered at `now_wall_ms` (RSA10k).
    pub(crate) fn set_server_time(&mut self, server_ms: i64, now_wall_ms: i64) {
        self.server_time_offset = Some(server_ms.saturating_sub(now_wall_ms));
    }

    /// The service's time now, as far as known: the local clock plus the
    /// offset, if one was obtained (RSA10k).
    pub(crate) fn server_now(&self, now_wall_ms: i64) -> i64 {
        now_wall_ms.saturating_add(self.server_time_offset.unwrap_or(0))
    }

    /// Forgets the current token (after a token error, RSA16d).
    pub(crate) fn discard_token(&mut self) {
        self.token = None;
    }

    /// The key text, for basic auth in the URL.
    pub(crate) fn key_string(&self) -> Option<String> {
        self.key.as_ref().map(ApiKey::to_key_string)
    }

    /// The token string in use.
    pub(crate) fn token_string(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.token.as_str())
    }

    /// Whether a token request is outstanding.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Abandons the outstanding token request, if any.
    pub(crate) fn cancel(&mut self) {
        self.pending = None;
    }

    /// Replaces the stored token params (RSA10g; timestamp is not stored).
    pub(crate) fn set_token_params(&mut self, mut params: TokenParams) {
        params.timestamp = None;
        self.token_params = params;
    }

    /// Records the clientId the service confirmed in CONNECTED (RSA7b3).
    pub(crate) fn confirm_client_id(&mut self, client_id: Option<String>) {
        if client_id.is_some() || self.configured_client_id.is_none() {
            self.client_id = client_id;
        }
    }

    /// Starts obtaining a token. Answers come back through [`Auth::on_token`]
    /// and [`Auth::on_http`]. With no means to obtain one, fails at once.
    pub(crate) fn start(
        &mut self,
        opts: &ClientOptions,
        request: RequestId,
        now_wall_ms: i64,
        nonce: [u8; 8],
        out: &mut Vec<Output>,
    ) -> Option<TokenOutcome> {
        self.use_token = true;
        let mut params = self.token_params.clone();
        // RSA7d: the configured clientId goes into the token params.
        if let Some(client_id) = &self.configured_client_id {
            params.client_id = Some(client_id.clone());
        }
        match self.source.clone() {
            TokenSource::Callback => {
                self.pending = Some(Pending::new(request, Stage::Callback));
                out.push(Output::FetchToken { request, params });
                None
            }
            TokenSource::Url(auth_url) => {
                self.pending = Some(Pending::new(request, Stage::AuthUrl));
                out.push(Output::Http {
                    request,
                    http: auth_url_request(&auth_url, &params),
                });
                None
            }
            TokenSource::None => match self.key.clone() {
                Some(_) if self.must_query_time(opts.query_time || self.query_time_once) => {
                    // RSA9d, RSA10k: the service's time first.
                    self.query_time_once = false;
                    self.pending = Some(Pending {
                        request,
                        stage: Stage::Time,
                        signing: Some((params, nonce)),
                    });
                    out.push(Output::Http {
                        request,
                        http: time_request(opts).to_http(
                            opts,
                            &opts.primary_host(),
                            RestAuth::None,
                        ),
                    });
                    None
                }
                Some(key) => {
                    self.query_time_once = false;
                    let now = self.server_now(now_wall_ms);
                    self.sign_and_exchange(opts, request, &key, &params, now, nonce, out);
                    None
                }
                None => Some(Err(TokenError {
                    error: ErrorInfo::new(
                        codes::NO_MEANS_TO_RENEW,
                        401,
                        "the token can not be renewed: no key, authCallback or authUrl (RSA4a)",
                    ),
                    fatal: true,
                })),
            },
        }
    }

    /// Takes the authCallback's answer.
    pub(crate) fn on_token(
        &mut self,
        opts: &ClientOptions,
        request: RequestId,
        result: Result<AuthResponse, ErrorInfo>,
        out: &mut Vec<Output>,
    ) -> Option<TokenOutcome> {
        match &self.pending {
            Some(p) if p.request == request && p.stage == Stage::Callback => {}
            _ => return None,
        }
        match result {
            Err(e) => Some(Err(self.failed(e))),
            Ok(response) => self.take_response(opts, request, response, out),
        }
    }

    /// Signs a TokenRequest with the key at `now` (the service's time as
    /// far as known) and exchanges it.
    #[allow(clippy::too_many_arguments)]
    fn sign_and_exchange(
        &mut self,
        opts: &ClientOptions,
        request: RequestId,
        key: &ApiKey,
        params: &TokenParams,
        now: i64,
        nonce: [u8; 8],
        out: &mut Vec<Output>,
    ) {
        let req = create_token_request(key, params, now, nonce_from_bytes(nonce));
        self.pending = Some(Pending::new(request, Stage::Exchange));
        out.push(Output::Http {
            request,
            http: exchange_request(opts, &req),
        });
    }

    /// Takes an HTTP answer (the time, the authUrl or requestToken),
    /// received at `now_wall_ms`.
    pub(crate) fn on_http(
        &mut self,
        opts: &ClientOptions,
        request: RequestId,
        result: Result<HttpResponse, ErrorInfo>,
        now_wall_ms: i64,
        out: &mut Vec<Output>,
    ) -> Option<TokenOutcome> {
        let stage = match &self.pending {
            Some(p) if p.request == request && p.stage != Stage::Callback => p.stage.clone(),
            _ => return None,
        };
        let response = match result {
            Ok(r) => r,
            Err(e) => return Some(Err(self.failed(e))),
        };
        if stage == Stage::Time {
            return self.on_time(opts, request, &response, now_wall_ms, out);
        }
        if response.status >= 400 {
            let error = error_from_response(&response);
            return Some(Err(self.failed(error)));
        }
        let parsed = match stage {
            Stage::Exchange => serde_json::from_slice::<TokenDetails>(&response.body)
                .map(AuthResponse::Details)
                .map_err(|e| format!("requestToken answered with an unreadable body: {e}")),
            _ => parse_auth_url_response(&response),
        };
        match parsed {
            Ok(r) => self.take_response(opts, request, r, out),
            Err(why) => Some(Err(self.failed(ErrorInfo::new(
                codes::AUTH_CALLBACK_FAILED,
                401,
                why,
            )))),
        }
    }

    /// The service time arrived: keep its offset and sign (RSA9d, RSA10k).
    fn on_time(
        &mut self,
        opts: &ClientOptions,
        request: RequestId,
        response: &HttpResponse,
        now_wall_ms: i64,
        out: &mut Vec<Output>,
    ) -> Option<TokenOutcome> {
        let signing = self.pending.as_mut().and_then(|p| p.signing.take());
        let time = match time_request(opts).decode(response) {
            Ok(RestResult::Time(ms)) => ms,
            Ok(_) => return Some(Err(self.failed(no_time()))),
            Err(e) => return Some(Err(self.failed(e))),
        };
        self.set_server_time(time, now_wall_ms);
        match (signing, self.key.clone()) {
            (Some((params, nonce)), Some(key)) => {
                self.sign_and_exchange(opts, request, &key, &params, time, nonce, out);
                None
            }
            _ => Some(Err(self.failed(no_time()))),
        }
    }

    /// Gives up waiting for a token (RSA4c: realtimeRequestTimeout).
    pub(crate) fn on_timeout(&mut self) -> Option<TokenOutcome> {
        self.pending.as_ref()?;
        let cause = ErrorInfo::new(
            codes::AUTH_CALLBACK_FAILED,
            401,
            "timed out obtaining a token",
        );
        Some(Err(self.failed(cause)))
    }

    fn take_response(
        &mut self,
        opts: &ClientOptions,
        request: RequestId,
        response: AuthResponse,
        out: &mut Vec<Output>,
    ) -> Option<TokenOutcome> {
        let details = match response {
            AuthResponse::Token(token) if token.is_empty() || token.len() > 128 * 1024 => {
                let cause = ErrorInfo::new(
                    codes::AUTH_CALLBACK_FAILED,
                    401,
                    "the token is empty or longer than 128 KiB (RSA4f)",
                );
                return Some(Err(self.failed(cause)));
            }
            AuthResponse::Token(token) => TokenDetails::from_token(token),
            AuthResponse::Details(details) => details,
            AuthResponse::Request(req) => {
                self.pending = Some(Pending::new(request, Stage::Exchange));
                out.push(Output::Http {
                    request,
                    http: exchange_request(opts, &req),
                });
                return None;
            }
        };
        self.pending = None;
        // RSA15a, RSA15c: a token for another clientId is refused.
        if let (Some(mine), Some(theirs)) = (&self.configured_client_id, &details.client_id) {
            if theirs != "*" && theirs != mine {
                return Some(Err(TokenError {
                    error: ErrorInfo::new(
                        codes::INVALID_CLIENT_ID,
                        400,
                        format!(
                            "the token is for clientId '{theirs}', but this client is '{mine}' (RSA15a)"
                        ),
                    ),
                    fatal: true,
                }));
            }
        }
        if details.client_id.is_some() {
            self.client_id = details.client_id.clone();
        }
        self.token = Some(details.clone());
        Some(Ok(details))
    }

    /// Wraps a failure as RSA4c (80019, 401) or RSA4d (80019, 403, fatal).
    fn failed(&mut self, cause: ErrorInfo) -> TokenError {
        self.pending = None;
        let forbidden = cause.status_code == Some(403);
        let status = if forbidden { 403 } else { 401 };
        TokenError {
            error: ErrorInfo::new(
                codes::TOKEN_REQUEST_FAILED,
                status,
                "could not obtain a token",
            )
            .with_cause(cause),
            fatal: forbidden,
        }
    }
}

/// `GET /time`, unauthenticated (RSC16), for queryTime (RSA9d).
pub(crate) fn time_request(opts: &ClientOptions) -> RestRequest {
    let mut r = RestRequest::new(Method::Get, "/time", opts.format, Expect::Time);
    r.authenticated = false;
    r
}

/// A time answer that gave no time to sign with.
fn no_time() -> ErrorInfo {
    ErrorInfo::new(
        codes::INTERNAL,
        500,
        "the service time needed to sign a TokenRequest is missing (RSA9d)",
    )
}

/// The base REST URL of the primary host.
pub(crate) fn rest_base(opts: &ClientOptions) -> String {
    let scheme = if opts.tls { "https" } else { "http" };
    let host = opts.primary_host();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    format!("{scheme}://{host}:{}", opts.effective_port())
}

/// Headers every request to Ably carries (RSC7a, RSC7d).
pub(crate) fn ably_headers(opts: &ClientOptions) -> Vec<(String, String)> {
    vec![
        ("X-Ably-Version".into(), "6".into()),
        ("Ably-Agent".into(), opts.agent.clone()),
    ]
}

/// `POST /keys/{keyName}/requestToken` with the TokenRequest as JSON.
pub(crate) fn exchange_request(opts: &ClientOptions, req: &TokenRequest) -> HttpRequest {
    let mut headers = ably_headers(opts);
    headers.push(("Content-Type".into(), "application/json".into()));
    headers.push(("Accept".into(), "application/json".into()));
    HttpRequest {
        method: "POST",
        url: format!(
            "{}/keys/{}/requestToken",
            rest_base(opts),
            encode_component(&req.key_name)
        ),
        headers,
        body: serde_json::to_vec(req).ok(),
    }
}

/// The request to an authUrl (RSA8c1): params in the query for GET, form
/// encoded in the body for POST; token params win over authParams.
pub(crate) fn auth_url_request(
    auth: &super::options::AuthUrl,
    params: &TokenParams,
) -> HttpRequest {
    let mut all = auth.params.clone();
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(params) {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            all.insert(k, v);
        }
    }
    let encoded: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    let headers: Vec<(String, String)> = auth
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if auth.method_post {
        let mut headers = headers;
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        HttpRequest {
            method: "POST",
            url: auth.url.clone(),
            headers,
            body: Some(encoded.join("&").into_bytes()),
        }
    } else {
        let sep = if auth.url.contains('?') { '&' } else { '?' };
        let url = if encoded.is_empty() {
            auth.url.clone()
        } else {
            format!("{}{sep}{}", auth.url, encoded.join("&"))
        };
        HttpRequest {
            method: "GET",
            url,
            headers,
            body: None,
        }
    }
}

/// Reads an authUrl answer by its content type (RSA8c, RSA4f).
pub(crate) fn parse_auth_url_response(response: &HttpResponse) -> Result<AuthResponse, String> {
    let content_type = response
        .header("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        let value: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("authUrl JSON is unreadable: {e}"))?;
        if value.get("mac").is_some() {
            serde_json::from_value(value)
                .map(AuthResponse::Request)
                .map_err(|e| e.to_string())
        } else {
            serde_json::from_value(value)
                .map(AuthResponse::Details)
                .map_err(|e| e.to_string())
        }
    } else if content_type.starts_with("text/plain") || content_type.starts_with("application/jwt")
    {
        String::from_utf8(response.body.clone())
            .map(|s| AuthResponse::Token(s.trim().to_owned()))
            .map_err(|_| "authUrl token is not UTF-8".to_owned())
    } else {
        Err(format!(
            "authUrl answered with unsupported content type '{content_type}' (RSA4f)"
        ))
    }
}

/// The ErrorInfo of an error response, or one made from its status.
pub(crate) fn error_from_response(response: &HttpResponse) -> ErrorInfo {
    #[derive(serde::Deserialize)]
    struct Body {
        error: ErrorInfo,
    }
    match serde_json::from_slice::<Body>(&response.body) {
        Ok(Body { mut error }) => {
            error.status_code.get_or_insert(response.status);
            error
        }
        Err(_) => ErrorInfo::new(
            u32::from(response.status) * 100,
            response.status,
            format!("HTTP {}", response.status),
        ),
    }
}
