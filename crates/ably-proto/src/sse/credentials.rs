//! [`stream_auth`]: which credentials a stream is opened with, chosen
//! from an adapter's options.

use super::url::StreamAuth;
use crate::ErrorInfo;
use crate::adapter::Options;
use crate::client::TokenSource;
use crate::error::codes;

/// The credentials to stream with (RSA4): the key for basic auth when
/// nothing asks for tokens, else the token the options give (`token`,
/// `token_details`). `Ok(None)`: a token must be requested first (RSA8,
/// through a REST client: the key with `use_token_auth`, the
/// authCallback, or the authUrl). No means at all is 40106.
pub fn stream_auth<C>(options: &Options<C>) -> Result<Option<StreamAuth>, ErrorInfo> {
    let core = &options.core;
    let basic = core.token_source == TokenSource::None
        && options.auth_callback.is_none()
        && !core.use_token_auth
        && core.token.is_none()
        && core.token_details.is_none();
    if let (true, Some(key)) = (basic, &core.key) {
        return Ok(Some(StreamAuth::Key(key.clone())));
    }
    if let Some(details) = &core.token_details {
        return Ok(Some(StreamAuth::Token(details.token.clone())));
    }
    if let Some(token) = &core.token {
        return Ok(Some(StreamAuth::Token(token.clone())));
    }
    if core.key.is_none()
        && options.auth_callback.is_none()
        && core.token_source == TokenSource::None
    {
        return Err(ErrorInfo::new(
            codes::NO_AUTH_METHOD,
            401,
            "no credentials: give a key, a token, an authCallback or an authUrl",
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenDetails;

    type Opts = Options<()>;

    #[test]
    fn a_key_alone_streams_with_basic_auth() {
        let auth = stream_auth(&Opts::new("app.key:secret")).expect("ok");
        assert_eq!(auth, Some(StreamAuth::Key("app.key:secret".into())));
    }

    #[test]
    fn a_given_token_is_used_as_it_is() {
        let auth = stream_auth(&Opts::with_token("tok")).expect("ok");
        assert_eq!(auth, Some(StreamAuth::Token("tok".into())));
        let details = TokenDetails {
            token: "from-details".into(),
            ..TokenDetails::default()
        };
        let opts = Opts::new("app.key:secret").token_details(details);
        let auth = stream_auth(&opts).expect("ok");
        assert_eq!(auth, Some(StreamAuth::Token("from-details".into())));
    }

    #[test]
    fn token_auth_without_a_token_asks_for_one() {
        let opts = Opts::new("app.key:secret").use_token_auth(true);
        assert_eq!(stream_auth(&opts).expect("ok"), None);
        let callback = Opts {
            auth_callback: Some(()),
            ..Opts::default()
        };
        assert_eq!(stream_auth(&callback).expect("ok"), None);
        let url = Opts::default().auth_url("https://auth.example/token");
        assert_eq!(stream_auth(&url).expect("ok"), None);
    }

    #[test]
    fn no_means_of_auth_is_40106() {
        let e = stream_auth(&Opts::default()).expect_err("no credentials");
        assert_eq!((e.code, e.status_code), (40106, Some(401)));
    }
}
