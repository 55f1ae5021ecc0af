//! Batch operations and their answers: batch publish (RSC22), batch
//! presence (RSC24) and token revocation (RSA17) all answer with a
//! BatchResult (BAR2) of per-channel or per-target results, each a success
//! or a failure with an ErrorInfo (BPR2, BPF2, BGR2, BGF2, TRS2, TRF2).
//!
//! The service's answer comes in several shapes: a BatchResult envelope
//! (`{successCount, failureCount, results}`), an array of envelopes (one
//! per BatchPublishSpec), or the per-item results themselves (an array, or
//! one object). All of them are read here; counts missing from the answer
//! are counted from the results.

use serde::{Deserialize, Serialize};

use crate::client::HttpResponse;
use crate::codec::{Format, Wire};
use crate::wire::lenient;
use crate::{ErrorInfo, Message, PresenceMessage};

use super::response::decode_one;

/// What to publish to which channels in a batch publish (BSP2): every
/// message to every channel. Payloads already encoded (RSL4).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BatchPublishSpec {
    /// The channel names (BSP2a).
    pub channels: Vec<String>,
    /// The messages (BSP2b).
    pub messages: Vec<Message>,
}

/// The results of a batch operation (BAR2).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchResult<T> {
    /// How many operations succeeded (BAR2a).
    pub success_count: usize,
    /// How many failed (BAR2b).
    pub failure_count: usize,
    /// One result per channel or target (BAR2c).
    pub results: Vec<T>,
}

/// The result of a batch publish for one channel (BPR2, BPF2).
#[derive(Clone, Debug, PartialEq)]
pub enum BatchPublishResult {
    /// Published (BPR2).
    Success {
        /// The channel (BPR2a).
        channel: String,
        /// The id prefix of the published messages (BPR2b).
        message_id: Option<String>,
        /// One serial per message; `None` for a message discarded by
        /// conflation (BPR2c).
        serials: Vec<Option<String>>,
    },
    /// Not published (BPF2).
    Failure {
        /// The channel (BPF2a).
        channel: String,
        /// Why (BPF2b).
        error: ErrorInfo,
    },
}

/// The result of a batch presence request for one channel (BGR2, BGF2).
#[derive(Clone, Debug, PartialEq)]
pub enum BatchPresenceResult {
    /// The members present (BGR2).
    Success {
        /// The channel (BGR2a).
        channel: String,
        /// The members, payloads decoded (BGR2b).
        presence: Vec<PresenceMessage>,
    },
    /// The request failed for this channel (BGF2).
    Failure {
        /// The channel (BGF2a).
        channel: String,
        /// Why (BGF2b).
        error: ErrorInfo,
    },
}

/// Whose tokens to revoke (RSA17b): sent as `type:value`, e.g.
/// `clientId:alice`, `revocationKey:group-1` or `channel:secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRevocationTarget {
    /// `clientId`, `revocationKey`, `channel`, ...
    pub kind: String,
    /// The clientId, revocation key, channel name, ...
    pub value: String,
}

impl TokenRevocationTarget {
    /// A target of this kind and value.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Self {
        TokenRevocationTarget {
            kind: kind.into(),
            value: value.into(),
        }
    }

    /// The `type:value` form sent to the service (RSA17b).
    pub fn specifier(&self) -> String {
        format!("{}:{}", self.kind, self.value)
    }
}

/// The result of revoking the tokens of one target (TRS2, TRF2).
#[derive(Clone, Debug, PartialEq)]
pub enum TokenRevocationResult {
    /// Revoked (TRS2).
    Success {
        /// The target specifier (TRS2a).
        target: String,
        /// Tokens issued before this time are revoked, ms since the epoch
        /// (TRS2c).
        issued_before: Option<i64>,
        /// When the revocation takes effect, ms since the epoch (TRS2b).
        applies_at: Option<i64>,
    },
    /// Not revoked (TRF2).
    Failure {
        /// The target specifier (TRF2a).
        target: String,
        /// Why (TRF2b).
        error: ErrorInfo,
    },
}

/// The body of `POST /keys/{keyName}/revokeTokens` (RSA17b, RSA17e, RSA17f).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevokeBody {
    pub(crate) targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issued_before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allow_reauth_margin: Option<bool>,
}

/// One item of an answer: an envelope or a per-channel/target result.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    error: Option<ErrorInfo>,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    serials: Option<Vec<Option<String>>>,
    #[serde(default)]
    presence: Option<Vec<PresenceMessage>>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    issued_before: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    applies_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    success_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    failure_count: Option<i64>,
    #[serde(default)]
    results: Option<Vec<Item>>,
}

/// The whole answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Body {
    Many(Vec<Item>),
    One(Box<Item>),
}

impl Wire for Body {
    fn after_decode(&mut self) {
        fn fix(item: &mut Item) {
            for m in item.presence.iter_mut().flatten() {
                m.unwrap_base64();
            }
            for r in item.results.iter_mut().flatten() {
                fix(r);
            }
        }
        match self {
            Body::Many(items) => items.iter_mut().for_each(fix),
            Body::One(item) => fix(item),
        }
    }
}

impl Item {
    fn is_envelope(&self) -> bool {
        self.results.is_some()
    }
}

/// A BatchResult as read, before its items are converted.
#[derive(Default)]
struct Envelope {
    successes: Option<usize>,
    failures: Option<usize>,
    items: Vec<Item>,
}

impl Envelope {
    fn open(item: Item) -> Envelope {
        let count = |n: Option<i64>| n.and_then(|n| usize::try_from(n).ok());
        Envelope {
            successes: count(item.success_count),
            failures: count(item.failure_count),
            items: item.results.unwrap_or_default(),
        }
    }

    fn of(items: Vec<Item>) -> Envelope {
        Envelope {
            items,
            ..Envelope::default()
        }
    }

    /// The BatchResult, each item converted to a success or a failure.
    fn convert<T>(self, convert: impl Fn(Item) -> (bool, T)) -> BatchResult<T> {
        let mut ok = 0;
        let results: Vec<T> = self
            .items
            .into_iter()
            .map(|item| {
                let (success, result) = convert(item);
                ok += usize::from(success);
                result
            })
            .collect();
        let failed = results.len() - ok;
        BatchResult {
            success_count: self.successes.unwrap_or(ok),
            failure_count: self.failures.unwrap_or(failed),
            results,
        }
    }
}

/// The envelopes of an answer; per-item results are grouped into
/// envelopes of `sizes[i]` items each (the last takes what is left).
fn envelopes(
    response: &HttpResponse,
    format: Format,
    sizes: &[usize],
) -> Result<Vec<Envelope>, ErrorInfo> {
    let items = match decode_one::<Body>(response, format)? {
        None => Vec::new(),
        Some(Body::One(item)) if item.is_envelope() => return Ok(vec![Envelope::open(*item)]),
        Some(Body::One(item)) => vec![*item],
        Some(Body::Many(items)) if items.first().is_some_and(Item::is_envelope) => {
            return Ok(items.into_iter().map(Envelope::open).collect());
        }
        Some(Body::Many(items)) => items,
    };
    let mut rest = items.into_iter();
    let mut out: Vec<Envelope> = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| {
            let take = if i + 1 == sizes.len() {
                usize::MAX
            } else {
                *size
            };
            Envelope::of(rest.by_ref().take(take).collect())
        })
        .collect();
    if sizes.is_empty() {
        out.push(Envelope::of(rest.collect()));
    }
    Ok(out)
}

/// The first envelope of an answer that has one BatchResult.
fn envelope(response: &HttpResponse, format: Format) -> Result<Envelope, ErrorInfo> {
    Ok(envelopes(response, format, &[])?
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// The answer of a batch publish: one BatchResult per spec, `channels[i]`
/// being the number of channels of spec `i`.
pub(crate) fn publish_results(
    response: &HttpResponse,
    format: Format,
    channels: &[usize],
) -> Result<Vec<BatchResult<BatchPublishResult>>, ErrorInfo> {
    Ok(envelopes(response, format, channels)?
        .into_iter()
        .map(|e| {
            e.convert(|item| {
                let channel = item.channel.unwrap_or_default();
                match item.error {
                    Some(error) => (false, BatchPublishResult::Failure { channel, error }),
                    None => (
                        true,
                        BatchPublishResult::Success {
                            channel,
                            message_id: item.message_id,
                            serials: item.serials.unwrap_or_default(),
                        },
                    ),
                }
            })
        })
        .collect())
}

/// The answer of a batch presence request, payloads decoded (RSP5).
pub(crate) fn presence_results(
    response: &HttpResponse,
    format: Format,
) -> Result<BatchResult<BatchPresenceResult>, ErrorInfo> {
    Ok(envelope(response, format)?.convert(|item| {
        let channel = item.channel.unwrap_or_default();
        match item.error {
            Some(error) => (false, BatchPresenceResult::Failure { channel, error }),
            None => {
                let mut presence = item.presence.unwrap_or_default();
                // Errors leave the payload as it came (RSL6b).
                let _ = super::decode_presence_payloads(&mut presence, None);
                (true, BatchPresenceResult::Success { channel, presence })
            }
        }
    }))
}

/// The answer of a token revocation.
pub(crate) fn revocation_results(
    response: &HttpResponse,
    format: Format,
) -> Result<BatchResult<TokenRevocationResult>, ErrorInfo> {
    Ok(envelope(response, format)?.convert(|item| {
        let target = item.target.unwrap_or_default();
        match item.error {
            Some(error) => (false, TokenRevocationResult::Failure { target, error }),
            None => (
                true,
                TokenRevocationResult::Success {
                    target,
                    issued_before: item.issued_before,
                    applies_at: item.applies_at,
                },
            ),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: serde_json::Value) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn flat_results_are_split_by_spec() {
        let r = json(serde_json::json!([
            {"channel": "a", "messageId": "m1", "serials": ["s1"]},
            {"channel": "b", "error": {"code": 40160, "statusCode": 401, "message": "no"}},
            {"channel": "c", "messageId": "m2", "serials": [null]}
        ]));
        let results = publish_results(&r, Format::Json, &[2, 1]).expect("read");
        assert_eq!(results.len(), 2);
        assert_eq!((results[0].success_count, results[0].failure_count), (1, 1));
        assert_eq!(
            results[1].results,
            vec![BatchPublishResult::Success {
                channel: "c".into(),
                message_id: Some("m2".into()),
                serials: vec![None],
            }]
        );
    }

    #[test]
    fn envelopes_keep_their_counts() {
        let r = json(serde_json::json!({
            "successCount": 1, "failureCount": 0,
            "results": [{"target": "clientId:a", "issuedBefore": 5, "appliesAt": 6}]
        }));
        let result = revocation_results(&r, Format::Json).expect("read");
        assert_eq!(result.success_count, 1);
        assert_eq!(
            result.results,
            vec![TokenRevocationResult::Success {
                target: "clientId:a".into(),
                issued_before: Some(5),
                applies_at: Some(6),
            }]
        );
    }
}
