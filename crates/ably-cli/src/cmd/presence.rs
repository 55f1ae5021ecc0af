//! `ably channels presence enter | get | subscribe` (RTP).

use std::time::{Duration, Instant};

use ably_proto::Data;
use serde_json::json;

use super::{Ctx, Outcome, random_client_id};
use crate::args::{PresenceEnterArgs, PresenceGetArgs, PresenceSubscribeArgs};
use crate::backend::Next;
use crate::output::{presence_json, presence_line};
use crate::stop::Stop;

/// How often waiting loops look for Ctrl-C.
const TICK: Duration = Duration::from_millis(200);

/// Enters (RTP8) as `--client-id` (or a random id), stays until Ctrl-C or
/// `--duration`, then leaves (RTP10) and closes.
pub fn enter(ctx: &Ctx, args: PresenceEnterArgs) -> Outcome {
    let out = ctx.out;
    let data = match &args.data {
        None => Data::None,
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .map(Data::from)
            .unwrap_or_else(|_| Data::from(text.as_str())),
    };
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.connected(backend.as_ref(), &target, |o| {
        if o.client_id.is_none() {
            o.client_id = Some(random_client_id());
        }
    })?;
    client.presence_enter(&args.channel, data)?;
    let stop = Stop::on_signal();
    let client_id = client.connection().client_id.unwrap_or_default();
    out.either(
        &format!("entered {} as {client_id}", args.channel),
        &json!({"channel": args.channel, "action": "enter", "clientId": client_id}),
    );
    out.note(&format!(
        "entered {} as {client_id}; {}",
        args.channel,
        match args.duration {
            Some(s) => format!("leaving in {s} s"),
            None => "Ctrl-C to leave".to_owned(),
        }
    ));
    let until = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(s));
    while until.is_none_or(|t| Instant::now() < t) && !stop.wait(TICK) {}
    client.presence_leave(&args.channel, Data::None)?;
    out.either(
        &format!("left {}", args.channel),
        &json!({"channel": args.channel, "action": "leave", "clientId": client_id}),
    );
    client.close()?;
    Ok(())
}

/// Prints the members present now (RTP11).
pub fn get(ctx: &Ctx, args: PresenceGetArgs) -> Outcome {
    let out = ctx.out;
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.connected(backend.as_ref(), &target, |_| {})?;
    let members = client.presence_get(&args.channel)?;
    for m in &members {
        out.either(&presence_line(&out, m), &presence_json(&args.channel, m));
    }
    if !out.json {
        out.note(&format!("{} members on {}", members.len(), args.channel));
    }
    client.close()?;
    Ok(())
}

/// Prints presence events (RTP6) until `--count` or Ctrl-C.
pub fn subscribe(ctx: &Ctx, args: PresenceSubscribeArgs) -> Outcome {
    let out = ctx.out;
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.connected(backend.as_ref(), &target, |_| {})?;
    let mut events = client.presence_subscribe(&args.channel)?;
    let stop = Stop::on_signal();
    out.note(&format!(
        "attached to {}; waiting for presence events",
        args.channel
    ));
    let mut seen = 0u64;
    while args.count.is_none_or(|n| seen < n) && !stop.is_set() {
        match events.next_within(TICK) {
            Next::Item(p) => {
                seen += 1;
                out.either(&presence_line(&out, &p), &presence_json(&args.channel, &p));
            }
            Next::Timeout => {}
            Next::Ended(why) if why.code == 80017 => break,
            Next::Ended(why) => return Err(why.into()),
        }
    }
    client.close()?;
    Ok(())
}
