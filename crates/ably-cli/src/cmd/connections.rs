//! `ably connections test`: connect, ping, describe, close.

use std::time::Instant;

use ably_proto::codec::Format;
use serde_json::json;

use super::{Ctx, Outcome, connect};
use crate::output::Style;

/// Connects, printing each state and when it was reached (RTN4), pings
/// (RTN13), prints the connection details, and closes (RTN12).
pub fn test(ctx: &Ctx) -> Outcome {
    let out = ctx.out;
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.client(backend.as_ref(), &target, |_| {})?;
    let o = &target.options;
    let protocol = match o.format {
        Format::Json => "json",
        Format::MsgPack => "msgpack",
    };
    out.line(&format!(
        "connecting to {} ({}, {protocol}, {} runtime)",
        target.address(),
        if o.tls { "TLS" } else { "no TLS" },
        format!("{:?}", ctx.global.runtime).to_lowercase()
    ));
    connect(client.as_ref(), &target, |state, elapsed| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        out.either(
            &format!(
                "  {:>8.1} ms  {}",
                ms,
                out.paint(Style::Bold, &state.to_string())
            ),
            &json!({"event": "state", "state": state.to_string(), "elapsedMs": ms}),
        );
    })?;
    let rtt = client.ping()?;
    let rtt_ms = rtt.as_secs_f64() * 1000.0;
    out.either(
        &format!("ping round trip: {rtt_ms:.2} ms"),
        &json!({"event": "ping", "rttMs": rtt_ms}),
    );
    let asked = Instant::now();
    let server_time = client.time()?;
    let local = wall_ms() - asked.elapsed().as_millis() as i64 / 2;
    let info = client.connection();
    out.either(
        &format!(
            "connection id {}\nconnection key {}\nclientId {}\n\
             service clock {:+} ms from this machine's",
            info.id.as_deref().unwrap_or("-"),
            info.key.as_deref().unwrap_or("-"),
            info.client_id.as_deref().unwrap_or("(none)"),
            server_time - local
        ),
        &json!({
            "event": "connection",
            "id": info.id,
            "key": info.key,
            "clientId": info.client_id,
            "host": o.primary_host(),
            "port": o.effective_port(),
            "tls": o.tls,
            "protocol": protocol,
            "serverTime": server_time,
            "clockOffsetMs": server_time - local,
        }),
    );
    client.close()?;
    let state = client.connection().state;
    out.either(
        &format!("closed: the connection is {state}"),
        &json!({"event": "state", "state": state.to_string()}),
    );
    Ok(())
}

/// This machine's wall clock in ms since the epoch.
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
