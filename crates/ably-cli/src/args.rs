//! The command line: every command, argument and flag, with the help
//! text `ably --help` shows (docs/cli.md says the same at more length).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The `ably` command.
#[derive(Debug, Parser)]
#[command(
    name = "ably",
    version,
    about = "Ably realtime from the command line: publish, subscribe, presence, \
             history, tokens and benchmarks, against Ably or a local ably-local",
    long_about = "Ably realtime from the command line: publish, subscribe, presence, \
            history, tokens and benchmarks, against Ably or a local ably-local.\n\n\
            Start here: `ably demo` runs a guided tour with no account and no \
            set-up. `ably local` runs a local service; with no --key and no \
            --endpoint, every other command talks to it on 127.0.0.1:8080 with its \
            default key.",
    after_help = "Errors print the Ably error code, its message and a help link, and exit 1. \
                  Usage errors exit 2.",
    propagate_version = true
)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the global options.
const GLOBAL: &str = "Global options";

/// Options every command takes; they go before or after the command.
#[derive(Clone, Debug, Args)]
pub struct Global {
    /// API key `appId.keyId:secret`. With no key and no endpoint, the
    /// default key of `ably local` on 127.0.0.1:8080 is used. For `ably
    /// local`, the key to serve.
    #[arg(long, env = "ABLY_KEY", global = true, hide_env_values = true, help_heading = GLOBAL)]
    pub key: Option<String>,

    /// Where the service is: a host name or address (`127.0.0.1`,
    /// `realtime.example.com`) or an Ably routing policy (`main`, the
    /// default with a key).
    #[arg(
        long,
        env = "ABLY_ENDPOINT",
        global = true,
        hide_env_values = true,
        help_heading = GLOBAL
    )]
    pub endpoint: Option<String>,

    /// The service's port [default: 8080 for the local default, else 443
    /// with TLS and 80 without].
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub port: Option<u16>,

    /// Use TLS [default: on, except for loopback hosts such as 127.0.0.1
    /// and localhost].
    #[arg(long, global = true, help_heading = GLOBAL, overrides_with = "no_tls")]
    pub tls: bool,

    /// Do not use TLS.
    #[arg(long, global = true, help_heading = GLOBAL, overrides_with = "tls")]
    pub no_tls: bool,

    /// Also trust the CA certificates in FILE (PEM or DER) for TLS: a
    /// private CA, or the `ca.pem` of `ably local --tls-dev-ca DIR`.
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub tls_ca: Option<PathBuf>,

    /// The clientId of this client (for presence, the member's name; for
    /// `auth issue-token`, the token's clientId).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub client_id: Option<String>,

    /// The wire protocol.
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_enum,
        default_value_t = Protocol::Msgpack
    )]
    pub protocol: Protocol,

    /// Which client adapter runs the commands.
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_enum,
        default_value_t = Runtime::Blocking
    )]
    pub runtime: Runtime,

    /// Machine-readable output: one JSON object per line on stdout.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
}

/// The wire protocol of the realtime connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// JSON text frames.
    Json,
    /// MessagePack binary frames.
    Msgpack,
}

/// A client adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// ably-tokio: async, a driver task per client on a tokio runtime.
    Tokio,
    /// ably-async-std: async, a driver task per client on async-std.
    AsyncStd,
    /// ably-blocking: a driver thread per client.
    Blocking,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run ably-local, an Ably-compatible service, in the foreground.
    #[command(
        long_about = "Run ably-local, an Ably-compatible service for development and tests, in \
            the foreground until Ctrl-C. It prints its address and key.\n\n\
            It serves the global --key (or ABLY_KEY) if given. Otherwise it uses a \
            fixed, well-known development key, the one every other `ably` command \
            uses when given no key and no endpoint; that key is public, so do not \
            expose the service beyond this machine without your own --key."
    )]
    Local(LocalArgs),
    /// A guided tour: connections, channels, encryption, presence, history
    /// and a dropped connection that resumes with nothing lost.
    Demo,
    /// Publish, subscribe, read history and use presence on channels.
    #[command(subcommand)]
    Channels(ChannelsCommand),
    /// Check connections to the service.
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// Tokens.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Measure the service and the client.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `ably local`.
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Keep history, channel serials, apps and keys in DIR so that they
    /// survive a restart [default: memory only].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Serve HTTPS and WSS with a certificate for localhost and 127.0.0.1
    /// from a new private CA, whose certificate is written to DIR/ca.pem
    /// and DIR/ca.der (`--tls --tls-ca DIR/ca.pem` for other commands).
    #[arg(long, value_name = "DIR")]
    pub tls_dev_ca: Option<PathBuf>,
}

/// `ably channels ...`.
#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// Publish messages to a channel.
    #[command(
        long_about = "Publish messages to a channel, waiting for the service to acknowledge \
            each. With one argument after CHANNEL it is the data (the message has no \
            name); with two, the name and the data.\n\n\
            In NAME and DATA, `{{.Count}}` becomes the message number (1, 2, ...)."
    )]
    Publish(PublishArgs),
    /// Print messages from one or more channels as they arrive.
    #[command(
        long_about = "Print messages from one or more channels as they arrive, until Ctrl-C or \
            --count messages. Once every channel is attached, `attached to ...` is \
            printed on stderr."
    )]
    Subscribe(SubscribeArgs),
    /// Print a channel's stored messages.
    History(HistoryArgs),
    /// Presence: enter, list members, watch events.
    #[command(subcommand)]
    Presence(PresenceCommand),
}

/// How the DATA argument of `publish` is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DataEncoding {
    /// DATA is JSON (an object, array, number, boolean or string).
    Json,
    /// DATA is base64; the decoded bytes are sent as binary.
    Binary,
}

/// `ably channels publish`.
#[derive(Debug, Args)]
#[command(override_usage = "ably channels publish [OPTIONS] <CHANNEL> [NAME] <DATA>")]
pub struct PublishArgs {
    /// The channel.
    pub channel: String,
    /// The message name; or, with nothing after it, the data of a message
    /// with no name.
    #[arg(value_name = "NAME_OR_DATA")]
    pub name_or_data: String,
    /// The data (see --encoding).
    #[arg(value_name = "DATA")]
    pub data: Option<String>,
    /// How many messages to publish.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Milliseconds to wait between messages.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay: u64,
    /// Read DATA as JSON or as base64 bytes [default: text].
    #[arg(long, value_enum)]
    pub encoding: Option<DataEncoding>,
    /// Encrypt with AES (RSL5); a base64 key of 16 or 32 bytes.
    #[arg(long, value_name = "BASE64")]
    pub cipher_key: Option<String>,
}

/// `ably channels subscribe`.
#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// The channels.
    #[arg(required = true)]
    pub channels: Vec<String>,
    /// Exit after this many messages (in all).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// First replay up to N messages published before attaching (the
    /// `rewind` channel param).
    #[arg(long, value_name = "N")]
    pub rewind: Option<u32>,
    /// Decrypt with AES (RSL5); a base64 key of 16 or 32 bytes. Without it,
    /// encrypted messages print with their data still encoded.
    #[arg(long, value_name = "BASE64")]
    pub cipher_key: Option<String>,
}

/// Direction of a history query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HistoryDirection {
    /// Oldest first.
    Forwards,
    /// Newest first.
    Backwards,
}

/// `ably channels history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The channel.
    pub channel: String,
    /// At most this many messages (1 to 1000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Newest first (backwards) or oldest first (forwards).
    #[arg(long, value_enum, default_value_t = HistoryDirection::Backwards)]
    pub direction: HistoryDirection,
    /// Decrypt with AES; a base64 key of 16 or 32 bytes.
    #[arg(long, value_name = "BASE64")]
    pub cipher_key: Option<String>,
}

/// `ably channels presence ...`.
#[derive(Debug, Subcommand)]
pub enum PresenceCommand {
    /// Enter the presence set and stay until Ctrl-C (or --duration).
    #[command(
        long_about = "Enter the presence set of a channel and stay until Ctrl-C or --duration, \
            then leave. The member is the global --client-id (default: a random \
            ably-cli-XXXXXXXX). Once entered, `entered ...` is printed on stderr."
    )]
    Enter(PresenceEnterArgs),
    /// Print the members present now.
    Get(PresenceGetArgs),
    /// Print presence events (enter, update, leave) as they happen.
    Subscribe(PresenceSubscribeArgs),
}

/// `ably channels presence enter`.
#[derive(Debug, Args)]
pub struct PresenceEnterArgs {
    /// The channel.
    pub channel: String,
    /// The member's data, as JSON (text that is not JSON is sent as text).
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,
    /// Leave and exit after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

/// `ably channels presence get`.
#[derive(Debug, Args)]
pub struct PresenceGetArgs {
    /// The channel.
    pub channel: String,
}

/// `ably channels presence subscribe`.
#[derive(Debug, Args)]
pub struct PresenceSubscribeArgs {
    /// The channel.
    pub channel: String,
    /// Exit after this many events.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

/// `ably connections ...`.
#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Connect, and report the states, a ping's round trip and the
    /// connection details; then close.
    Test,
}

/// `ably auth ...`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Obtain a token with the key, and print it with its details.
    #[command(
        long_about = "Obtain a token from the service with the key (RSA8), and print it with \
            its details. The token's clientId is the global --client-id, if given."
    )]
    IssueToken(IssueTokenArgs),
}

/// `ably auth issue-token`.
#[derive(Debug, Args)]
pub struct IssueTokenArgs {
    /// The token's lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub ttl: u64,
    /// The token's capability, JSON such as `{"chat:*":["subscribe"]}`
    /// [default: the key's].
    #[arg(long, value_name = "JSON")]
    pub capability: Option<String>,
}

/// `ably bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Publishers and subscribers in this process on one channel:
    /// throughput, latency, and checks that nothing is lost, duplicated or
    /// out of order.
    #[command(
        long_about = "Publishers and subscribers, each its own connection, in this process, on \
            one new channel of the configured service (use the global --protocol to \
            choose JSON or MessagePack). Every subscriber should get every message \
            of every publisher once, in each publisher's order. Prints throughput, \
            latency (publish to receipt) p50/p95/p99/max, and how many messages were \
            lost, duplicated or out of order; exits 1 unless all three are 0.\n\n\
            Each publisher has one publish in flight at a time; the messages due by \
            then go together in one ProtocolMessage (at most 100 messages or 60 000 \
            bytes)."
    )]
    Pubsub(PubsubArgs),
}

/// `ably bench pubsub`.
#[derive(Debug, Args)]
pub struct PubsubArgs {
    /// Publishing connections (1 to 100).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub publishers: u32,
    /// Subscribing connections (1 to 100).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub subscribers: u32,
    /// Messages per publisher; publishers x subscribers x messages is at
    /// most 10 000 000.
    #[arg(
        long,
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub messages: u64,
    /// Bytes of data per message (24 to 65 000).
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(24..=65_000)
    )]
    pub size: u32,
    /// Messages per second per publisher; 0 for as fast as they are
    /// acknowledged.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
}
