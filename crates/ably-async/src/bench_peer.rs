//! One async client of `cargo xtask bench client`, written once for every
//! [`Runtime`]: `ably-tokio`'s `examples/bench_peer_tokio.rs` and
//! `ably-async-std`'s `examples/bench_peer_async_std.rs` pick a runtime
//! and call [`run`]. Not for applications.
//!
//! The tokio peer runs on a current-thread runtime with the driver
//! spawned (on that thread); the async-std peer polls the driver in its
//! own task ([`DriverPlacement::InTask`]), as async-std's multi-threaded
//! global executor would otherwise wake a second thread for every
//! message.
//!
//! The command line, payload, CPU count and result lines are
//! [`ably_net::bench_peer`]'s, shared with the blocking peer.

use std::future::{Future, ready};
use std::pin::pin;
use std::time::{Duration, Instant};

pub use ably_net::bench_peer::Fallible;
use ably_net::bench_peer::{
    Args, LIMIT, Usage, now_us, payload, pub_result, send_time, sub_result,
};
use futures_util::future::{Either, select};
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::{ClientOptions, ConnectionState, Realtime, Runtime, until};

/// Where a peer's client driver runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverPlacement {
    /// Spawned on the runtime ([`Realtime::new`]).
    Spawned,
    /// Polled in the peer's own task ([`Realtime::with_driver`]).
    InTask,
}

/// Runs one peer with `args` (the command line after the program name)
/// on the runtime `R`, which must be current, with its client's driver
/// placed as `placement`; prints its lines to stdout.
pub async fn run<R: Runtime>(args: Vec<String>, placement: DriverPlacement) -> Fallible<()> {
    let args = Args::parse(&args)?;
    let options: ClientOptions = args.options()?;
    match placement {
        DriverPlacement::Spawned => peer::<R>(&args, Realtime::new(options)?).await,
        DriverPlacement::InTask => {
            let (client, driver) = Realtime::<R>::with_driver(options)?;
            match select(pin!(peer::<R>(&args, client)), driver).await {
                Either::Left((result, _)) => result,
                Either::Right(((), _)) => Err("the client's driver ended early".into()),
            }
        }
    }
}

/// One peer's work with `client`.
async fn peer<R: Runtime>(args: &Args, client: Realtime<R>) -> Fallible<()> {
    let count = args.count()?;
    let runtime = R::current()?;
    client
        .connection()
        .wait_for(ConnectionState::Connected, LIMIT)
        .await?;
    let channel = client.channels().get(args.flag("channel")?);
    let line = match args.role.as_str() {
        "sub" => {
            let mut messages = channel.subscribe().await?;
            let used0 = Usage::now()?;
            println!("ready");
            // One time limit for the whole run, not a timer per message (as
            // the ably-js peer's listener has none).
            let receive = async {
                let mut latencies = Vec::with_capacity(count);
                let mut first_us = 0;
                for i in 0..count {
                    let m = messages
                        .recv()
                        .await
                        .ok_or_else(|| format!("the client ended after {i} of {count} messages"))?;
                    let at = now_us();
                    if i == 0 {
                        first_us = at;
                    }
                    let sent = m.data.as_str().and_then(send_time);
                    latencies.push(at.saturating_sub(sent.ok_or("a message without a send time")?));
                }
                Ok::<_, String>((first_us, latencies))
            };
            let (first_us, latencies) =
                until(&runtime, Instant::now() + LIMIT, receive)
                    .await
                    .ok_or_else(|| format!("{count} messages did not come in time"))??;
            let last_us = now_us();
            sub_result(first_us, last_us, latencies, Usage::since(used0)?)
        }
        "pub" => {
            let (window, rate) = (args.window()?, args.rate()?);
            channel.attach().await?;
            let used0 = Usage::now()?;
            let start_us = now_us();
            let start = Instant::now();
            let channel = &channel;
            let published = publish_windowed(&runtime, count, window, rate, start, || async {
                channel.publish("m", payload()).await.map(drop)
            });
            until(&runtime, start + LIMIT, published)
                .await
                .ok_or("the publisher ran out of time")??;
            pub_result(count, start_us, now_us(), Usage::since(used0)?)
        }
        other => return Err(format!("unknown role {other}").into()),
    };
    println!("{line}");
    client.close().await?;
    Ok(())
}

/// Calls `publish` `count` times with at most `window` calls unfinished,
/// the `i`-th (from 0) not before `start + i / rate` when `rate` is
/// positive; the first error ends it.
async fn publish_windowed<F, Fut, E>(
    runtime: &dyn Runtime,
    count: usize,
    window: usize,
    rate: f64,
    start: Instant,
    publish: F,
) -> Result<(), E>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let publish = &publish;
    stream::iter(0..count)
        .map(|i| async move {
            if rate > 0.0 {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                runtime.sleep_until(due).await;
            }
            publish().await
        })
        .buffer_unordered(window.max(1))
        .try_for_each(|()| ready(Ok(())))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::Threads;
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll};

    /// Pending once (waking itself), then ready: a publish awaiting its ACK.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// Publishes in flight now and at most, calls made.
    #[derive(Default)]
    struct Tally {
        now: usize,
        most: usize,
        calls: usize,
    }

    fn windowed(count: usize, window: usize, fail_at: Option<usize>) -> (Result<(), usize>, Tally) {
        let tally = Mutex::new(Tally::default());
        let publish = || async {
            let call = {
                let mut t = tally.lock().expect("tally");
                t.now += 1;
                t.most = t.most.max(t.now);
                t.calls += 1;
                t.calls
            };
            YieldOnce(false).await;
            tally.lock().expect("tally").now -= 1;
            if Some(call) == fail_at {
                return Err(call);
            }
            Ok(())
        };
        let run = publish_windowed(&Threads, count, window, 0.0, Instant::now(), publish);
        let result = futures_executor::block_on(run);
        (result, tally.into_inner().expect("tally"))
    }

    #[test]
    fn the_publisher_keeps_the_window_full_and_no_fuller() {
        let (result, tally) = windowed(100, 16, None);
        assert_eq!(result, Ok(()));
        assert_eq!(tally.calls, 100);
        assert_eq!(tally.most, 16);
        assert_eq!(tally.now, 0);
        let (_, tally) = windowed(3, 16, None);
        assert_eq!((tally.calls, tally.most), (3, 3));
        let (_, tally) = windowed(10, 0, None);
        assert_eq!((tally.calls, tally.most), (10, 1), "a window of 0 is 1");
    }

    #[test]
    fn a_failed_publish_ends_the_publisher() {
        let (result, tally) = windowed(100, 4, Some(5));
        assert_eq!(result, Err(5));
        assert!(tally.calls < 100, "{} calls", tally.calls);
    }

    #[test]
    fn the_publisher_paces_to_the_rate() {
        let start = Instant::now();
        let starts = Mutex::new(Vec::new());
        let publish = || async {
            starts.lock().expect("starts").push(Instant::now());
            Ok::<(), ()>(())
        };
        // 5 messages at 200/s: the last one is due 20 ms after the start.
        let run = publish_windowed(&Threads, 5, 4, 200.0, start, publish);
        assert_eq!(futures_executor::block_on(run), Ok(()));
        let starts = starts.into_inner().expect("starts");
        assert_eq!(starts.len(), 5);
        let mut sorted = starts.clone();
        sorted.sort();
        for (i, at) in sorted.iter().enumerate() {
            let due = start + Duration::from_millis(5 * i as u64);
            assert!(*at >= due, "message {i} went {:?} early", due - *at);
        }
    }
}
