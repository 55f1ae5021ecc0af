//! `ably channels history`: a channel's stored messages, over REST.

use ably_proto::ChannelOptions;
use ably_proto::rest::{Direction, HistoryParams};

use super::{Ctx, Outcome, cipher};
use crate::args::{HistoryArgs, HistoryDirection};
use crate::output::{message_json, message_line};

/// Prints one page of history (RTL10): up to `--limit` messages in
/// `--direction` order. No realtime connection is opened.
pub fn run(ctx: &Ctx, args: HistoryArgs) -> Outcome {
    let out = ctx.out;
    let cipher = cipher(args.cipher_key.as_deref())?;
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.client(backend.as_ref(), &target, |_| {})?;
    if let Some(c) = cipher {
        client.set_channel_options(&args.channel, ChannelOptions::default().cipher(c))?;
    }
    let params = HistoryParams {
        limit: Some(args.limit),
        direction: Some(match args.direction {
            HistoryDirection::Forwards => Direction::Forwards,
            HistoryDirection::Backwards => Direction::Backwards,
        }),
        ..HistoryParams::default()
    };
    let messages = client.history(&args.channel, params)?;
    for m in &messages {
        out.either(
            &message_line(&out, &args.channel, m),
            &message_json(&args.channel, m),
        );
    }
    if !out.json {
        let order = match args.direction {
            HistoryDirection::Forwards => "oldest first",
            HistoryDirection::Backwards => "newest first",
        };
        out.note(&format!("{} messages, {order}", messages.len()));
    }
    Ok(())
}
