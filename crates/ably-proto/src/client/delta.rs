//! Delta decoding of received messages (RTL19, RTL20, RTL21, PC3).
//!
//! Each channel keeps the base payload and id of its last message. A
//! message whose encoding has a `vcdiff` step is a delta against that
//! base: the steps after `vcdiff` (base64, cipher) are undone, the delta is
//! applied by the [`VcdiffDecoder`] the application gave with
//! [`Client::set_vcdiff_decoder`], its direct result becomes the new base
//! (RTL19c), and the steps before `vcdiff` are undone as usual. A message
//! without `vcdiff` becomes the base once a trailing `base64` is undone
//! (RTL19a, RTL19b): the wire form, before `json` or `utf-8`.
//!
//! A delta that cannot be applied fails with 40018 and the channel
//! recovers (RTL18, in `on_channel_message`); a delta with no decoder set
//! fails with 40019 and the channel fails (PC3).

use std::fmt;

use crate::crypto::CipherParams;
use crate::encoding::decode_payload;
use crate::error::codes;
use crate::{Data, ErrorInfo, Message};

use super::Client;

/// The error code of a vcdiff delta received with no decoder set (PC3).
pub const NO_VCDIFF_DECODER: u32 = 40019;

/// A vcdiff decoder plugin (PC3, VD2). `Send + Sync` so that the client
/// stays so.
pub trait VcdiffDecoder: Send + Sync {
    /// Applies `delta` to `base` and returns the payload it encodes (VD2a).
    /// `base` is the stored base payload, UTF-8 encoded if it was a string
    /// (PC3a).
    fn decode(&mut self, delta: &[u8], base: &[u8]) -> Result<Vec<u8>, String>;
}

/// The decoder the application gave.
pub(crate) struct Plugin(Box<dyn VcdiffDecoder>);

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VcdiffDecoder")
    }
}

/// The last message of a channel, for deltas (RTL19, RTL20).
#[derive(Clone, Debug, Default)]
pub(crate) struct DeltaBase {
    /// The id of the last message (RTL20).
    id: Option<String>,
    /// Its base payload (RTL19).
    payload: Data,
}

/// Payload bytes for the decoder: strings UTF-8 encoded (PC3a).
fn payload_bytes(data: &Data) -> Option<Vec<u8>> {
    match data {
        Data::None => None,
        Data::String(s) => Some(s.as_bytes().to_vec()),
        Data::Binary(b) => Some(b.to_vec()),
        Data::Json(v) => Some(v.to_text().as_bytes().to_vec()),
    }
}

impl Client {
    /// Sets the vcdiff decoder used for delta messages (PC3). Without one,
    /// a delta message fails its channel with 40019.
    pub fn set_vcdiff_decoder(&mut self, decoder: Box<dyn VcdiffDecoder>) {
        self.vcdiff = Some(Plugin(decoder));
    }

    /// Decodes the payload of a received message (RSL6), applying a vcdiff
    /// delta against the channel's base payload and storing the new base
    /// (RTL19, RTL20). Messages of a frame must come in index order (RTL21).
    pub(crate) fn decode_received(
        &mut self,
        name: &str,
        message: &mut Message,
        cipher: Option<&CipherParams>,
    ) -> Result<(), ErrorInfo> {
        let is_delta = message
            .encoding
            .as_deref()
            .is_some_and(|e| e.split('/').any(|s| s == "vcdiff"));
        if !is_delta && self.vcdiff.is_none() {
            // Without a vcdiff decoder no delta can ever be applied (PC3),
            // so no base payload is worth keeping (RTL19): the hot path
            // stays free of copies.
            return message.decode(cipher);
        }
        let encoding = message.encoding.clone().unwrap_or_default();
        let steps: Vec<&str> = encoding.split('/').collect();
        let Some(at) = steps.iter().rposition(|s| *s == "vcdiff") else {
            // RTL19a: undo a trailing base64 (the JSON codec usually has).
            if let Some((&"base64", rest)) = steps.split_last() {
                let mut step = Some("base64".to_owned());
                decode_payload(&mut message.data, &mut step, None)?;
                let rest = rest.join("/");
                message.encoding = (!rest.is_empty()).then_some(rest);
            }
            // RTL19b
            self.chan(name).delta = DeltaBase {
                id: message.id.clone(),
                payload: message.data.clone(),
            };
            return message.decode(cipher);
        };
        let failed = |why: String| {
            ErrorInfo::new(
                codes::DELTA_DECODING_FAILED,
                400,
                format!("vcdiff delta could not be applied: {why}"),
            )
        };
        if self.vcdiff.is_none() {
            return Err(ErrorInfo::new(
                NO_VCDIFF_DECODER,
                400,
                "a vcdiff delta arrived but no vcdiff decoder is set (PC3)",
            ));
        }
        // The steps after vcdiff (base64, a cipher) come off first.
        let after = steps[at + 1..].join("/");
        let mut after = (!after.is_empty()).then_some(after);
        decode_payload(&mut message.data, &mut after, cipher).map_err(|e| failed(e.message))?;
        // RTL20: the delta must be against the message we have.
        let base = self.chan(name).delta.clone();
        let from = message
            .extras
            .as_ref()
            .and_then(|e| e.pointer("/delta/from"))
            .and_then(|v| v.as_str());
        if from.is_none() || from != base.id.as_deref() {
            return Err(failed(format!(
                "it refers to message {from:?} but the last message is {:?} (RTL20)",
                base.id
            )));
        }
        let base = payload_bytes(&base.payload).ok_or_else(|| failed("no base payload".into()))?;
        let delta = payload_bytes(&message.data).unwrap_or_default();
        let plugin = self.vcdiff.as_mut().expect("checked above");
        let result = plugin.0.decode(&delta, &base).map_err(failed)?;
        message.data = Data::Binary(result.into());
        // RTL19c: the direct result is the new base.
        self.chan(name).delta = DeltaBase {
            id: message.id.clone(),
            payload: message.data.clone(),
        };
        let before = steps[..at].join("/");
        message.encoding = (!before.is_empty()).then_some(before);
        message.decode(cipher)
    }
}
