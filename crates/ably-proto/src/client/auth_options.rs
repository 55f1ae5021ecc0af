//! AuthOptions (AO2): the auth options an application may give one
//! `authorize()` or `requestToken()` call instead of the client's own
//! (RSA8e, RSA10b).

use crate::auth::TokenDetails;

use super::options::{ClientOptions, TokenSource};

/// Auth options for [`Command::AuthorizeWith`](super::Command::AuthorizeWith)
/// and [`Command::RequestTokenWith`](super::Command::RequestTokenWith)
/// (AO2). Given options are used instead of the stored ones, not merged
/// with them (RSA8e, RSA10j), except that a missing `key` keeps the
/// client's key (RSA10i). `authorize()` stores them for later tokens,
/// all but `query_time` (RSA10g).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthOptions {
    /// An API key `appId.keyId:secret` to sign TokenRequests with (AO2a);
    /// `None` keeps the client's key (RSA10i).
    pub key: Option<String>,
    /// How to obtain tokens: [`TokenSource::Callback`] marks an
    /// authCallback, which the driver runs for [`Output::FetchToken`]
    /// (AO2b); [`TokenSource::Url`] is an authUrl with its method, headers
    /// and params (AO2c, AO2d, AO2e, AO2f); [`TokenSource::None`] signs
    /// with the key.
    ///
    /// [`Output::FetchToken`]: super::Output::FetchToken
    pub token_source: TokenSource,
    /// A token string to use as it is (AO2h, RSA10e).
    pub token: Option<String>,
    /// Token details to use as they are (AO2i, RSA10e); they win over
    /// `token`.
    pub token_details: Option<TokenDetails>,
    /// Ask the service for its time before signing a TokenRequest, and
    /// keep the offset for later ones (AO2g, RSA9d, RSA10k).
    pub query_time: bool,
    /// `Some(true)` forces token auth (AO2j); `Some(false)` with a key and
    /// no other means or token switches a REST client to basic auth.
    pub use_token_auth: Option<bool>,
}

impl AuthOptions {
    /// The token given to use as it is, if any (RSA10e).
    pub fn given_token(&self) -> Option<TokenDetails> {
        self.token_details
            .clone()
            .or_else(|| self.token.clone().map(TokenDetails::from_token))
    }

    /// Whether these options ask for basic auth with their key: a key,
    /// `use_token_auth` of `Some(false)`, no other means and no token.
    pub fn is_basic(&self) -> bool {
        self.key.is_some()
            && self.use_token_auth == Some(false)
            && self.token_source == TokenSource::None
            && self.given_token().is_none()
    }

    /// `opts` with these auth options in place of its own: key (kept when
    /// `None`), means of obtaining tokens, token, and token auth unless
    /// [`is_basic`](AuthOptions::is_basic). `query_time` is not copied: it
    /// is never stored (RSA10g).
    pub(crate) fn apply(&self, opts: &ClientOptions) -> ClientOptions {
        let mut out = opts.clone();
        if let Some(key) = &self.key {
            out.key = Some(key.clone());
        }
        out.token_source = self.token_source.clone();
        out.token = self.token.clone();
        out.token_details = self.token_details.clone();
        out.use_token_auth = !self.is_basic();
        out
    }
}
