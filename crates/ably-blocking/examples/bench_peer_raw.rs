//! The floor of `cargo xtask bench client`: a peer with no client library,
//! only what any client must do. One thread, one non-blocking tungstenite
//! WebSocket on a mio poller, frames encoded and decoded with
//! `ably_proto::codec` and nothing else: no connection or channel state,
//! no queueing, no timers but the publisher's pacing, no second thread.
//! Not for applications.
//!
//! It takes the arguments and prints the lines of `bench_peer.rs`. The
//! publisher reads each ACK as it comes (the poller wakes for the socket
//! or for the next message's time, whichever is first), as a client does;
//! the subscriber wakes for each MESSAGE frame. Its CPU per message is
//! what waking up, the system calls and the codec cost on the machine:
//! the least any client can spend.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use ably_net::bench_peer::{
    Args, Fallible, LIMIT, Usage, now_us, payload, pub_result, send_time, sub_result,
};
use ably_proto::codec::{Format, decode_protocol_message, encode};
use ably_proto::{Action, Data, Message, ProtocolMessage};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use tungstenite::{HandshakeError, Message as Frame, WebSocket};

const SOCKET: Token = Token(0);

/// The socket and its poller.
struct Conn {
    ws: WebSocket<TcpStream>,
    poll: Poll,
    events: Events,
}

impl Conn {
    /// Connects with the key in the URL (basic auth), MessagePack, echo
    /// off, and waits for CONNECTED.
    fn open(port: u16, key: &str) -> Fallible<Conn> {
        let url = format!(
            "ws://127.0.0.1:{port}/?v=6&format=msgpack&heartbeats=true&echo=false&key={}",
            key.replace(':', "%3A")
        );
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_nodelay(true)?;
        tcp.set_nonblocking(true)?;
        let mut tcp = TcpStream::from_std(tcp);
        let mut poll = Poll::new()?;
        poll.registry()
            .register(&mut tcp, SOCKET, Interest::READABLE)?;
        let mut events = Events::with_capacity(8);
        let mut handshake = tungstenite::client(url.as_str(), tcp);
        let deadline = Instant::now() + LIMIT;
        let ws = loop {
            match handshake {
                Ok((ws, _response)) => break ws,
                Err(HandshakeError::Interrupted(mid)) if Instant::now() < deadline => {
                    poll.poll(&mut events, Some(Duration::from_millis(100)))?;
                    handshake = mid.handshake();
                }
                Err(HandshakeError::Interrupted(_)) => return Err("no handshake in time".into()),
                Err(HandshakeError::Failure(e)) => return Err(e.into()),
            }
        };
        let mut conn = Conn { ws, poll, events };
        conn.until(|pm| pm.action == Action::Connected)?;
        Ok(conn)
    }

    /// Writes a frame; what the socket cannot take yet stays in
    /// tungstenite's buffer for the next write.
    fn send(&mut self, pm: &ProtocolMessage) -> Fallible<()> {
        match self
            .ws
            .send(Frame::Binary(encode(pm, Format::MsgPack)?.into()))
        {
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            other => Ok(other?),
        }
    }

    /// The next frame, if one is in; `None` when a read would block.
    fn try_read(&mut self) -> Fallible<Option<ProtocolMessage>> {
        loop {
            match self.ws.read() {
                Ok(Frame::Binary(bytes)) => {
                    let pm = decode_protocol_message(&bytes, Format::MsgPack)?;
                    if let Some(e) = pm
                        .error
                        .as_ref()
                        .filter(|_| matches!(pm.action, Action::Error | Action::Disconnected))
                    {
                        return Err(format!("the service said {e:?}").into());
                    }
                    return Ok(Some(pm));
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sleeps until the socket is readable or `until` comes.
    fn wait(&mut self, until: Option<Instant>) -> Fallible<()> {
        let timeout = until.map(|at| at.saturating_duration_since(Instant::now()));
        match self.poll.poll(&mut self.events, timeout) {
            Err(e) if e.kind() != ErrorKind::Interrupted => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Reads frames until `done` says yes to one.
    fn until(&mut self, mut done: impl FnMut(&ProtocolMessage) -> bool) -> Fallible<()> {
        let deadline = Instant::now() + LIMIT;
        loop {
            while let Some(pm) = self.try_read()? {
                if done(&pm) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err("the service did not answer in time".into());
            }
            self.wait(Some(deadline))?;
        }
    }
}

fn main() -> Fallible<()> {
    let args = Args::parse(&std::env::args().skip(1).collect::<Vec<_>>())?;
    let count = args.count()?;
    let channel = args.flag("channel")?.to_owned();
    let mut conn = Conn::open(args.flag("port")?.parse()?, args.flag("key")?)?;
    conn.send(&ProtocolMessage::for_channel(Action::Attach, &channel))?;
    conn.until(|pm| pm.action == Action::Attached)?;
    let line = match args.role.as_str() {
        "sub" => {
            let used0 = Usage::now()?;
            println!("ready");
            let deadline = Instant::now() + LIMIT;
            let mut latencies = Vec::with_capacity(count);
            let mut first_us = 0;
            while latencies.len() < count {
                while let Some(pm) = conn.try_read()? {
                    if pm.action != Action::Message {
                        continue;
                    }
                    let at = now_us();
                    if latencies.is_empty() {
                        first_us = at;
                    }
                    for m in &pm.messages {
                        let sent = m.data.as_str().and_then(send_time);
                        latencies.push(at.saturating_sub(sent.ok_or("no send time")?));
                    }
                }
                if Instant::now() > deadline {
                    return Err(format!("{count} messages did not come in time").into());
                }
                conn.wait(Some(deadline))?;
            }
            sub_result(first_us, now_us(), latencies, Usage::since(used0)?)
        }
        "pub" => {
            let (window, rate) = (args.window()?, args.rate()?);
            let used0 = Usage::now()?;
            let start_us = now_us();
            let start = Instant::now();
            let (mut sent, mut acked) = (0u64, 0u64);
            let total = count as u64;
            while acked < total {
                if start.elapsed() > LIMIT {
                    return Err("the publisher ran out of time".into());
                }
                while let Some(pm) = conn.try_read()? {
                    match pm.action {
                        Action::Ack => acked += u64::from(pm.count.unwrap_or(1)),
                        Action::Nack => return Err(format!("NACK: {:?}", pm.error).into()),
                        _ => {}
                    }
                }
                let due = (rate > 0.0).then(|| start + Duration::from_secs_f64(sent as f64 / rate));
                let may_send = sent < total
                    && sent - acked < window as u64
                    && due.is_none_or(|at| at <= Instant::now());
                if may_send {
                    let mut pm = ProtocolMessage::for_channel(Action::Message, &channel);
                    pm.msg_serial = Some(sent);
                    pm.messages = vec![Message {
                        name: Some("m".to_owned()),
                        data: Data::from(payload()),
                        ..Message::default()
                    }];
                    conn.send(&pm)?;
                    sent += 1;
                    continue;
                }
                // Wake for the socket, or for the next message's time when
                // the window lets it go.
                let next = due.filter(|_| sent < total && sent - acked < window as u64);
                conn.wait(next)?;
            }
            pub_result(count, start_us, now_us(), Usage::since(used0)?)
        }
        other => return Err(format!("unknown role {other}").into()),
    };
    println!("{line}");
    let _ = conn.ws.close(None);
    let _ = conn.ws.flush();
    Ok(())
}
