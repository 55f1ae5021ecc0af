//! A tour of the wire layer: what a client does to a message on its way out
//! and back in, printed step by step.
//!
//! Run with `cargo run -p ably-proto --example wire_tour`.

use ably_proto::auth::{ApiKey, TokenParams, create_token_request, verify_token_request};
use ably_proto::codec::{self, Format};
use ably_proto::rand_core::{OsRng, RngCore};
use ably_proto::{Action, CipherParams, Data, ErrorInfo, Message, ProtocolMessage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = OsRng;

    // 1. An encrypted channel: a random 256-bit key (RSE2).
    let key = CipherParams::generate_key(&mut rng, 256)?;
    let cipher = CipherParams::from_key(&key)?;
    println!("channel cipher: {cipher:?}");

    // 2. Publish: three payload kinds, encoded (RSL4) and encrypted (RSL5).
    let mut frame = ProtocolMessage::for_channel(Action::Message, "tour");
    frame.msg_serial = Some(0);
    for mut msg in [
        Message::new("text", "hello, world"),
        Message::new("bytes", vec![0xde, 0xad, 0xbe, 0xef]),
        Message::new(
            "json",
            serde_json::json!({"temperature": 21.5, "unit": "C"}),
        ),
    ] {
        msg.encode(Some(&cipher), &mut rng)?;
        println!(
            "{:>5}: encoding {:?}",
            msg.name.as_deref().unwrap_or(""),
            msg.encoding
        );
        frame.messages.push(msg);
    }

    // 3. The same frame in both formats.
    for format in [Format::Json, Format::MsgPack] {
        let bytes = codec::encode(&frame, format)?;
        println!("{format} frame: {} bytes", bytes.len());
        if format == Format::Json {
            let text: String = String::from_utf8_lossy(&bytes).chars().take(160).collect();
            println!("  {text}...");
        }

        // 4. Receive: decode the frame, then each payload (RSL6).
        let mut received = codec::decode_protocol_message(&bytes, format)?;
        received.fill_inherited_fields();
        for msg in &mut received.messages {
            msg.decode(Some(&cipher))?;
            println!(
                "  received {:?} -> {}",
                msg.name.as_deref().unwrap_or(""),
                show(&msg.data)
            );
        }
    }

    // 5. Without the key a message still arrives, still encrypted (RSL6b).
    let mut stranger =
        codec::decode_protocol_message(&codec::encode(&frame, Format::Json)?, Format::Json)?;
    if let Err(err) = stranger.messages[0].decode(None) {
        let err: ErrorInfo = err;
        println!(
            "no key: {err}; encoding left {:?}",
            stranger.messages[0].encoding
        );
    }

    // 6. A signed TokenRequest (RSA9) and its verification, as a service does.
    let api_key = ApiKey::parse("app.keyid:secret-for-the-tour")?;
    let mut nonce = [0u8; 8];
    rng.fill_bytes(&mut nonce);
    let params = TokenParams {
        client_id: Some("tourist".into()),
        capability: Some(r#"{"tour":["subscribe","publish"]}"#.into()),
        ..TokenParams::default()
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let request = create_token_request(
        &api_key,
        &params,
        now_ms,
        ably_proto::auth::nonce_from_bytes(nonce),
    );
    println!("token request: {}", serde_json::to_string(&request)?);
    println!(
        "signature valid: {}",
        verify_token_request(&request, api_key.secret())
    );
    Ok(())
}

fn show(data: &Data) -> String {
    match data {
        Data::None => "(none)".into(),
        Data::String(s) => format!("string {s:?}"),
        Data::Binary(b) => format!(
            "binary {}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        Data::Json(v) => format!("json {v}"),
    }
}
