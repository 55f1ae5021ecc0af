//! What the commands print: text for people (coloured only on a
//! terminal), or one JSON object per line with `--json`.

use std::io::{IsTerminal, Write};

use ably_proto::{Data, ErrorInfo, Message, PresenceMessage};
use base64::Engine as _;
use serde_json::{Value, json};

/// Where and how to print.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    /// `--json`: stdout carries only JSON lines.
    pub json: bool,
    color_out: bool,
    color_err: bool,
}

/// A colour or weight for text on a terminal.
#[derive(Clone, Copy, Debug)]
pub enum Style {
    /// Headings.
    Bold,
    /// Secondary details.
    Dim,
    /// Good news.
    Green,
    /// Names of things.
    Cyan,
    /// Warnings.
    Yellow,
    /// Errors.
    Red,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Green => "32",
            Style::Cyan => "36",
            Style::Yellow => "33",
            Style::Red => "31",
        }
    }
}

fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

impl Out {
    /// Colour on stdout and stderr only where each is a terminal and
    /// `NO_COLOR` is unset.
    pub fn new(json: bool) -> Out {
        Out {
            json,
            color_out: colour_allowed() && std::io::stdout().is_terminal(),
            color_err: colour_allowed() && std::io::stderr().is_terminal(),
        }
    }

    /// Whether stderr is a terminal that gets colour (and progress bars).
    pub fn stderr_is_terminal(&self) -> bool {
        self.color_err
    }

    /// Text styled for stdout.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color_out, style, text)
    }

    /// A line of text on stdout (not in JSON mode).
    pub fn line(&self, text: &str) {
        if !self.json {
            println!("{text}");
        }
    }

    /// A JSON object on stdout, as one line.
    pub fn object(&self, value: &Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }

    /// Either a line of text or a JSON object, by mode.
    pub fn either(&self, text: &str, value: &Value) {
        if self.json {
            self.object(value);
        } else {
            println!("{text}");
        }
    }

    /// A progress note on stderr, in every mode.
    pub fn note(&self, text: &str) {
        eprintln!("{}", paint(self.color_err, Style::Dim, text));
    }

    /// A warning on stderr.
    pub fn warn(&self, text: &str) {
        eprintln!(
            "{} {text}",
            paint(self.color_err, Style::Yellow, "warning:")
        );
    }

    /// An Ably error: code, message and help link on stderr, and with
    /// `--json` also as a JSON object on stdout.
    pub fn error(&self, e: &ErrorInfo) {
        let status = e
            .status_code
            .map(|s| format!(", status {s}"))
            .unwrap_or_default();
        eprintln!(
            "{} {} (code {}{status})",
            paint(self.color_err, Style::Red, "error:"),
            e.message,
            e.code,
        );
        let mut cause = e.cause.as_deref();
        while let Some(c) = cause {
            eprintln!("  cause: {} (code {})", c.message, c.code);
            cause = c.cause.as_deref();
        }
        eprintln!("  see {}", help_link(e.code));
        if self.json {
            self.object(&json!({"error": {
                "code": e.code,
                "statusCode": e.status_code,
                "message": e.message,
                "href": help_link(e.code),
                "cause": e.cause.as_ref().map(|c| json!({"code": c.code, "message": c.message})),
            }}));
        }
    }

    /// A failure that is not an Ably error (a check that did not pass).
    pub fn failure(&self, text: &str) {
        eprintln!("{} {text}", paint(self.color_err, Style::Red, "error:"));
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_owned()
    }
}

/// Ably's help page for an error code.
pub fn help_link(code: u32) -> String {
    format!("https://help.ably.io/error/{code}")
}

/// Data and encoding as JSON: text and JSON values as they are; binary as
/// base64 with `base64` added to the encoding (what is left of it).
pub fn data_json(data: &Data, encoding: Option<&str>) -> (Value, Value) {
    let text = |e: Option<&str>| e.map_or(Value::Null, |e| Value::String(e.to_owned()));
    match data {
        Data::None => (Value::Null, text(encoding)),
        Data::String(s) => (Value::String(s.clone()), text(encoding)),
        Data::Json(v) => (v.value().clone(), text(encoding)),
        Data::Binary(b) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            let encoding = match encoding {
                Some(e) if !e.is_empty() => format!("{e}/base64"),
                _ => "base64".to_owned(),
            };
            (Value::String(encoded), Value::String(encoding))
        }
    }
}

/// A received message as one JSON object.
pub fn message_json(channel: &str, m: &Message) -> Value {
    let (data, encoding) = data_json(&m.data, m.encoding.as_deref());
    let mut v = json!({
        "channel": channel,
        "name": m.name,
        "data": data,
        "encoding": encoding,
        "id": m.id,
        "clientId": m.client_id,
        "connectionId": m.connection_id,
        "timestamp": m.timestamp,
    });
    if let (Some(serial), Some(obj)) = (&m.serial, v.as_object_mut()) {
        obj.insert("serial".into(), Value::String(serial.clone()));
    }
    v
}

/// A presence message as one JSON object.
pub fn presence_json(channel: &str, p: &PresenceMessage) -> Value {
    let (data, encoding) = data_json(&p.data, p.encoding.as_deref());
    json!({
        "channel": channel,
        "action": format!("{:?}", p.action).to_lowercase(),
        "clientId": p.client_id,
        "connectionId": p.connection_id,
        "data": data,
        "encoding": encoding,
        "id": p.id,
        "timestamp": p.timestamp,
    })
}

/// Data as a person would like to read it.
pub fn show_data(data: &Data) -> String {
    match data {
        Data::None => "(no data)".into(),
        Data::String(s) => format!("{s:?}"),
        Data::Json(v) => v.to_string(),
        Data::Binary(b) => {
            let shown: Vec<String> = b.iter().take(16).map(|x| format!("{x:02x}")).collect();
            let more = if b.len() > 16 { " ..." } else { "" };
            format!("{} bytes [{}{more}]", b.len(), shown.join(" "))
        }
    }
}

/// `HH:MM:SS.mmm` (UTC) of a timestamp in ms since the epoch.
pub fn clock(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "--:--:--.---".into();
    };
    let day_ms = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// A received message as one line of text.
pub fn message_line(out: &Out, channel: &str, m: &Message) -> String {
    let name = m.name.as_deref().unwrap_or("(no name)");
    let mut line = format!(
        "{} {} {} {}",
        out.paint(Style::Dim, &clock(m.timestamp)),
        out.paint(Style::Cyan, channel),
        out.paint(Style::Bold, name),
        show_data(&m.data)
    );
    if let Some(e) = m.encoding.as_deref().filter(|e| !e.is_empty()) {
        line.push_str(&format!(" (still encoded: {e})"));
    }
    if let Some(c) = &m.client_id {
        line.push_str(&out.paint(Style::Dim, &format!(" from {c}")));
    }
    line
}

/// A presence message as one line of text.
pub fn presence_line(out: &Out, p: &PresenceMessage) -> String {
    format!(
        "{} {:<7} {} {}",
        out.paint(Style::Dim, &clock(p.timestamp)),
        format!("{:?}", p.action).to_lowercase(),
        out.paint(Style::Bold, p.client_id.as_deref().unwrap_or("?")),
        show_data(&p.data)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_data_is_base64_with_the_encoding() {
        let (d, e) = data_json(&Data::from(vec![1u8, 2, 3]), None);
        assert_eq!(d, json!("AQID"));
        assert_eq!(e, json!("base64"));
        let (_, e) = data_json(&Data::from(vec![1u8]), Some("utf-8/cipher+aes-256-cbc"));
        assert_eq!(e, json!("utf-8/cipher+aes-256-cbc/base64"));
    }

    #[test]
    fn text_and_json_data_stay_as_they_are() {
        assert_eq!(
            data_json(&Data::from("hi"), None),
            (json!("hi"), Value::Null)
        );
        assert_eq!(
            data_json(&Data::from(json!({"a": 1})), None).0,
            json!({"a": 1})
        );
    }

    #[test]
    fn message_json_has_the_documented_fields() {
        let mut m = Message::new("greeting", "hello");
        m.id = Some("id:0".into());
        m.timestamp = Some(5);
        let v = message_json("ch", &m);
        for field in [
            "channel",
            "name",
            "data",
            "encoding",
            "id",
            "clientId",
            "connectionId",
            "timestamp",
        ] {
            assert!(v.get(field).is_some(), "{field} in {v}");
        }
        assert_eq!(v["data"], json!("hello"));
    }

    #[test]
    fn clock_reads_utc_time_of_day() {
        assert_eq!(clock(Some(86_400_000 + 3_723_004)), "01:02:03.004");
        assert_eq!(clock(None), "--:--:--.---");
    }

    #[test]
    fn help_links_name_the_code() {
        assert_eq!(help_link(40101), "https://help.ably.io/error/40101");
    }
}
