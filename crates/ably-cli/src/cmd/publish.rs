//! `ably channels publish`: messages to a channel, each acknowledged.

use std::time::Duration;

use ably_proto::{ChannelOptions, Data, ErrorInfo, Message};
use base64::Engine as _;
use serde_json::json;

use super::{Ctx, Outcome, cipher};
use crate::args::{DataEncoding, PublishArgs};

/// More messages than this get a progress bar instead of a line each.
const LINES_UP_TO: u64 = 20;

/// Publishes `--count` messages, `--delay` ms apart, and closes.
pub fn run(ctx: &Ctx, args: PublishArgs) -> Outcome {
    let out = ctx.out;
    let (name, data) = match args.data {
        None => (None, args.name_or_data),
        Some(data) => (Some(args.name_or_data), data),
    };
    let cipher = cipher(args.cipher_key.as_deref())?;
    // Checked before connecting, so a typo fails at once.
    payload(&data, args.encoding, 1)?;
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.connected(backend.as_ref(), &target, |_| {})?;
    if let Some(cipher) = cipher {
        client.set_channel_options(&args.channel, ChannelOptions::default().cipher(cipher))?;
    }
    let bar = (args.count > LINES_UP_TO && !out.json && out.stderr_is_terminal())
        .then(|| indicatif::ProgressBar::new(args.count));
    for n in 1..=args.count {
        let name = name.as_deref().map(|s| count_in(s, n));
        let mut message = Message::new("", payload(&data, args.encoding, n)?);
        message.name = name.clone();
        let serial = client
            .publish(&args.channel, vec![message])?
            .into_iter()
            .next()
            .flatten();
        if out.json {
            out.object(&json!({
                "channel": args.channel,
                "name": name,
                "index": n,
                "serial": serial,
            }));
        } else if let Some(bar) = &bar {
            bar.inc(1);
        } else if args.count <= LINES_UP_TO {
            out.line(&format!(
                "published {}to {} (serial {})",
                name.map(|n| format!("{n:?} ")).unwrap_or_default(),
                args.channel,
                serial.as_deref().unwrap_or("none")
            ));
        }
        if args.delay > 0 && n < args.count {
            std::thread::sleep(Duration::from_millis(args.delay));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !out.json && args.count > LINES_UP_TO {
        out.line(&format!(
            "published {} messages to {}",
            args.count, args.channel
        ));
    }
    client.close()?;
    Ok(())
}

/// `{{.Count}}` in a name or data becomes the message number.
fn count_in(text: &str, n: u64) -> String {
    text.replace("{{.Count}}", &n.to_string())
}

/// The message data from DATA, as `--encoding` says.
fn payload(text: &str, encoding: Option<DataEncoding>, n: u64) -> Result<Data, ErrorInfo> {
    let text = count_in(text, n);
    match encoding {
        None => Ok(Data::String(text)),
        Some(DataEncoding::Json) => serde_json::from_str::<serde_json::Value>(&text)
            .map(Data::from)
            .map_err(|e| bad(&format!("DATA is not JSON: {e}"))),
        Some(DataEncoding::Binary) => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map(Data::from)
            .map_err(|e| bad(&format!("DATA is not base64: {e}"))),
    }
}

fn bad(text: &str) -> ErrorInfo {
    ErrorInfo::new(40000, 400, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_text_json_or_base64() {
        assert_eq!(payload("hi", None, 1).expect("text"), Data::from("hi"));
        assert_eq!(
            payload(r#"{"a":1}"#, Some(DataEncoding::Json), 1).expect("json"),
            Data::from(json!({"a": 1}))
        );
        assert_eq!(
            payload("AQID", Some(DataEncoding::Binary), 1).expect("binary"),
            Data::from(vec![1u8, 2, 3])
        );
        let e = payload("{", Some(DataEncoding::Json), 1).expect_err("not JSON");
        assert_eq!(e.code, 40000);
        let e = payload("!!", Some(DataEncoding::Binary), 1).expect_err("not base64");
        assert_eq!(e.code, 40000);
    }

    #[test]
    fn the_count_is_interpolated() {
        assert_eq!(
            payload("n={{.Count}}", None, 7).expect("text"),
            Data::from("n=7")
        );
    }
}
