//! `ably channels subscribe`: messages from channels as they arrive.

use std::sync::mpsc;
use std::time::Duration;

use ably_proto::{ChannelOptions, ErrorInfo, Message};

use super::{Ctx, Outcome, cipher};
use crate::args::SubscribeArgs;
use crate::backend::{Events, Next};
use crate::output::{message_json, message_line};
use crate::stop::Stop;

/// How often the loop looks at connection state changes while waiting.
const TICK: Duration = Duration::from_millis(200);

/// Messages handed from the channels' threads to the printing loop, at
/// most. When printing falls behind, the threads wait, and then the
/// client's subscriptions fill; one that fills ends with 80020, which
/// ends the command with that error.
const HANDOFF: usize = 1024;

/// What a channel's thread hands over: a message, or why its
/// subscription ended early.
type Handoff = Result<(String, Message), ErrorInfo>;

/// Attaches every channel, says so on stderr, then prints messages until
/// `--count` or Ctrl-C; connection state changes go to stderr.
pub fn run(ctx: &Ctx, args: SubscribeArgs) -> Outcome {
    let out = ctx.out;
    let cipher = cipher(args.cipher_key.as_deref())?;
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.connected(backend.as_ref(), &target, |_| {})?;
    let mut changes = client.connection_changes();
    let (tx, rx) = mpsc::sync_channel::<Handoff>(HANDOFF);
    for channel in &args.channels {
        let mut options = ChannelOptions::default();
        if let Some(n) = args.rewind {
            options = options.param("rewind", n.to_string());
        }
        if let Some(c) = &cipher {
            options = options.cipher(c.clone());
        }
        if options != ChannelOptions::default() {
            client.set_channel_options(channel, options)?;
        }
        let events = client.subscribe(channel)?;
        forward(channel.clone(), events, tx.clone());
    }
    drop(tx);
    let stop = Stop::on_signal();
    out.note(&format!(
        "attached to {}; waiting for messages{}",
        args.channels.join(", "),
        match args.count {
            Some(n) => format!(" ({n})"),
            None => " (Ctrl-C to stop)".to_owned(),
        }
    ));
    let mut received = 0u64;
    while args.count.is_none_or(|n| received < n) && !stop.is_set() {
        while let Some(change) = changes.try_next() {
            if !change.update {
                let why = change
                    .reason
                    .map(|r| format!(": {} ({})", r.message, r.code))
                    .unwrap_or_default();
                out.note(&format!(
                    "connection {} -> {}{why}",
                    change.previous, change.current
                ));
            }
        }
        match rx.recv_timeout(TICK) {
            Ok(Ok((channel, m))) => {
                received += 1;
                out.either(
                    &message_line(&out, &channel, &m),
                    &message_json(&channel, &m),
                );
            }
            Ok(Err(why)) => {
                let _ = client.close();
                return Err(why.into());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    client.close()?;
    Ok(())
}

/// Moves one channel's messages into the shared queue, tagged with the
/// channel, on a thread of its own; then, unless the client shut down,
/// why the subscription ended.
fn forward(channel: String, mut events: Box<dyn Events<Message>>, tx: mpsc::SyncSender<Handoff>) {
    std::thread::spawn(move || {
        loop {
            match events.next_within(Duration::from_secs(60)) {
                Next::Item(m) => {
                    if tx.send(Ok((channel.clone(), m))).is_err() {
                        return;
                    }
                }
                Next::Timeout => {}
                Next::Ended(why) => {
                    if why.code != 80017 {
                        let _ = tx.send(Err(why));
                    }
                    return;
                }
            }
        }
    });
}
