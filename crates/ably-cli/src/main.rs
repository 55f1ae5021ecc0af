//! `ably`: Ably realtime from the command line, against Ably or a local
//! `ably-local`. See docs/cli.md.
//!
//! Each command is written once, against the small interface in
//! [`backend`], which each runtime adapter implements.

#![forbid(unsafe_code)]

mod args;
mod backend;
mod cmd;
mod output;
mod stop;
mod target;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{
    AuthCommand, BenchCommand, ChannelsCommand, Cli, Command, ConnectionsCommand, PresenceCommand,
};
use crate::cmd::{Ctx, Failure};
use crate::output::Out;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx {
        out: Out::new(cli.global.json),
        global: cli.global,
    };
    let outcome = match cli.command {
        Command::Local(a) => cmd::local::run(&ctx, a),
        Command::Demo => cmd::demo::run(&ctx),
        Command::Channels(c) => match c {
            ChannelsCommand::Publish(a) => cmd::publish::run(&ctx, a),
            ChannelsCommand::Subscribe(a) => cmd::subscribe::run(&ctx, a),
            ChannelsCommand::History(a) => cmd::history::run(&ctx, a),
            ChannelsCommand::Presence(p) => match p {
                PresenceCommand::Enter(a) => cmd::presence::enter(&ctx, a),
                PresenceCommand::Get(a) => cmd::presence::get(&ctx, a),
                PresenceCommand::Subscribe(a) => cmd::presence::subscribe(&ctx, a),
            },
        },
        Command::Connections(ConnectionsCommand::Test) => cmd::connections::test(&ctx),
        Command::Auth(AuthCommand::IssueToken(a)) => cmd::auth::issue_token(&ctx, a),
        Command::Bench(BenchCommand::Pubsub(a)) => cmd::bench::pubsub(&ctx, a),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Ably(e)) => {
            ctx.out.error(&e);
            ExitCode::FAILURE
        }
        Err(Failure::Check(text)) => {
            ctx.out.failure(&text);
            ExitCode::FAILURE
        }
    }
}
