//! The query params of a WebSocket connection request (RTN2), read the way
//! every current SDK sends them.

use ably_proto::ErrorInfo;
use ably_proto::codec::Format;
use ably_proto::error::codes;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Protocol versions the hub speaks.
pub const PROTOCOL_VERSIONS: std::ops::RangeInclusive<u32> = 2..=6;

/// What a client asked for when it opened a transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnectParams {
    /// `key` param or `Authorization: Basic`.
    pub key: Option<String>,
    /// `access_token`, `accessToken`, or `Authorization: Bearer`.
    pub token: Option<String>,
    /// `clientId`.
    pub client_id: Option<String>,
    /// `resume`: the connectionKey of the connection to continue (RTN15b).
    pub resume: Option<String>,
    /// `recover`: likewise, from a recovery key (RTN16).
    pub recover: Option<String>,
    /// `format`: absent means JSON.
    pub format: Format,
    /// `echo=false` turns off delivery of the connection's own messages.
    pub echo: bool,
    /// `heartbeats`: true or absent means HEARTBEAT protocol messages,
    /// false means WebSocket pings.
    pub protocol_heartbeats: bool,
    /// `v`.
    pub version: u32,
    /// transportParams `remainPresentFor` (ms).
    pub remain_present_for: Option<u64>,
    /// transportParams `heartbeatInterval` (ms).
    pub heartbeat_interval: Option<u64>,
}

/// Decodes `application/x-www-form-urlencoded` text: `%XX` escapes and `+`
/// for space. Invalid escapes are kept as they are.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a query string into decoded pairs, in order.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

fn bad_param(name: &str, value: &str) -> ErrorInfo {
    ErrorInfo::new(
        40003,
        400,
        format!("invalid value '{value}' for connection param '{name}'"),
    )
}

fn millis(name: &str, value: &str) -> Result<u64, ErrorInfo> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v as u64)
        .ok_or_else(|| bad_param(name, value))
}

/// Reads an `Authorization` header: `Basic base64(key)` gives a key,
/// `Bearer token` (base64 or plain) a token; other schemes nothing.
pub(crate) fn parse_authorization(
    header: &str,
) -> Result<(Option<String>, Option<String>), ErrorInfo> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = BASE64
            .decode(rest.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                ErrorInfo::new(
                    codes::INVALID_CREDENTIALS,
                    401,
                    "invalid Basic authorization header",
                )
            })?;
        Ok((Some(decoded), None))
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        // REST sends base64(token); take the token itself if it is not.
        let token = BASE64
            .decode(rest.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| rest.to_owned());
        Ok((None, Some(token)))
    } else {
        Ok((None, None))
    }
}

impl ConnectParams {
    /// The format asked for, for answering even when other params are bad.
    pub(crate) fn format_of(query: &str) -> Format {
        query_pairs(query)
            .into_iter()
            .find(|(k, _)| k == "format")
            .and_then(|(_, v)| Format::from_param(Some(&v)))
            .unwrap_or_default()
    }

    /// Reads the query string and the `Authorization` header.
    pub(crate) fn parse(query: &str, authorization: Option<&str>) -> Result<Self, ErrorInfo> {
        let mut p = ConnectParams {
            echo: true,
            protocol_heartbeats: true,
            version: *PROTOCOL_VERSIONS.end(),
            ..ConnectParams::default()
        };
        let some = |v: String| (!v.is_empty()).then_some(v);
        for (name, value) in query_pairs(query) {
            match name.as_str() {
                "key" => p.key = some(value),
                "access_token" | "accessToken" => p.token = some(value),
                "clientId" | "client_id" => p.client_id = some(value),
                "resume" => p.resume = some(value),
                "recover" => p.recover = some(value),
                "format" => {
                    p.format = Format::from_param(Some(&value))
                        .ok_or_else(|| bad_param("format", &value))?;
                }
                "echo" => p.echo = value != "false",
                "heartbeats" => p.protocol_heartbeats = value != "false",
                "v" => {
                    let v = value
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.fract() == 0.0 && *v >= 0.0)
                        .map(|v| v as u32);
                    match v {
                        Some(v) if PROTOCOL_VERSIONS.contains(&v) => p.version = v,
                        _ => {
                            return Err(ErrorInfo::new(
                                40017,
                                400,
                                format!(
                                    "unsupported protocol version '{value}'; this service speaks v2 to v6"
                                ),
                            ));
                        }
                    }
                }
                "remainPresentFor" => {
                    p.remain_present_for = Some(millis(&name, &value)?);
                }
                "heartbeatInterval" => {
                    p.heartbeat_interval = Some(millis(&name, &value)?);
                }
                // agent, lib, stream, connectionSerial (v1) and unknown
                // transportParams are accepted and ignored.
                _ => {}
            }
        }
        if let Some(header) = authorization {
            let (key, token) = parse_authorization(header)?;
            if p.key.is_none() {
                p.key = key;
            }
            if p.token.is_none() {
                p.token = token;
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_variants_are_all_understood() {
        let p = ConnectParams::parse(
            "key=app.k%3Asecret&clientId=me&format=msgpack&heartbeats=false&v=5&echo=false&agent=ably-js%2F2.28.0&remainPresentFor=1000",
            None,
        )
        .expect("params");
        assert_eq!(p.key.as_deref(), Some("app.k:secret"));
        assert_eq!(p.client_id.as_deref(), Some("me"));
        assert_eq!(p.format, Format::MsgPack);
        assert!(!p.protocol_heartbeats);
        assert!(!p.echo);
        assert_eq!(p.version, 5);
        assert_eq!(p.remain_present_for, Some(1000));

        let p = ConnectParams::parse("accessToken=abc&v=2", None).expect("params");
        assert_eq!((p.token.as_deref(), p.format), (Some("abc"), Format::Json));
        assert!(p.protocol_heartbeats && p.echo);
        let p = ConnectParams::parse("access_token=a+b%2Fc", None).expect("params");
        assert_eq!(p.token.as_deref(), Some("a b/c"));
    }

    #[test]
    fn authorization_header_carries_key_or_token() {
        let basic = format!("Basic {}", BASE64.encode("app.k:secret"));
        let p = ConnectParams::parse("", Some(&basic)).expect("params");
        assert_eq!(p.key.as_deref(), Some("app.k:secret"));
        let bearer = format!("Bearer {}", BASE64.encode("tok"));
        let p = ConnectParams::parse("", Some(&bearer)).expect("params");
        assert_eq!(p.token.as_deref(), Some("tok"));
        let p = ConnectParams::parse("", Some("Bearer a.b")).expect("params");
        assert_eq!(p.token.as_deref(), Some("a.b"));
    }

    #[test]
    fn bad_versions_and_formats_are_refused() {
        for q in ["v=1", "v=7", "v=x", "format=xml", "heartbeatInterval=-5"] {
            assert!(ConnectParams::parse(q, None).is_err(), "{q}");
        }
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
