//! What a wake-up costs on this machine: the CPU time a thread is charged
//! each time it sleeps and is woken, by a timer or by a socket. `bench
//! client` measures it in the same run as the clients, because at a fixed
//! rate of 1,000 messages/s most of a client's CPU per message is such
//! wake-ups (a publisher's timer and ACK, a subscriber's message), and
//! their price depends on the machine far more than on the client: on a
//! shared virtual machine a timer wake-up can cost tens of µs.
//!
//! CPU time is the thread's time on a CPU from
//! `/proc/thread-self/schedstat` (ns), so Linux only; elsewhere nothing is
//! measured.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// CPU per wake-up, in µs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WakeCost {
    /// A thread sleeping until the next millisecond, woken by its timer.
    pub timer_us: f64,
    /// A thread blocked in `recv` on a loopback UDP socket, woken by a
    /// datagram another thread sends every millisecond.
    pub socket_us: f64,
}

/// Wake-ups measured of each kind.
const WAKES: u32 = 2_000;

/// Both costs, over [`WAKES`] wake-ups each (about 4 s in all); `None`
/// where the thread's CPU time cannot be read.
pub(crate) fn measure() -> Option<WakeCost> {
    Some(WakeCost {
        timer_us: timer_wakes(WAKES)?,
        socket_us: socket_wakes(WAKES)?,
    })
}

/// This thread's time on a CPU, in ns.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// CPU per wake-up of a thread sleeping until each of `n` milliseconds.
fn timer_wakes(n: u32) -> Option<f64> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let cpu0 = thread_cpu_ns()?;
        for i in 1..=n {
            let due = start + Duration::from_millis(u64::from(i));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        Some((thread_cpu_ns()? - cpu0) as f64 / 1e3 / f64::from(n))
    })
    .join()
    .ok()?
}

/// CPU per wake-up of a thread receiving `n` datagrams, one a millisecond.
fn socket_wakes(n: u32) -> Option<f64> {
    let receiver = UdpSocket::bind("127.0.0.1:0").ok()?;
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let to = receiver.local_addr().ok()?;
    let sender = UdpSocket::bind("127.0.0.1:0").ok()?;
    let receiving = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        // From the first datagram on, as the sender starts meanwhile.
        receiver.recv(&mut buf).ok()?;
        let cpu0 = thread_cpu_ns()?;
        for _ in 0..n {
            receiver.recv(&mut buf).ok()?;
        }
        Some((thread_cpu_ns()? - cpu0) as f64 / 1e3 / f64::from(n))
    });
    let start = Instant::now();
    for i in 0..=n {
        let due = start + Duration::from_millis(u64::from(i));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        if sender.send_to(b"wake", to).is_err() {
            break;
        }
    }
    receiving.join().ok()?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_charged_for_its_wake_ups() {
        if thread_cpu_ns().is_none() {
            return; // not Linux
        }
        // Few wake-ups: the figures are not checked, only that both kinds
        // are measured and are real CPU time.
        let timer = timer_wakes(20).expect("timer wake-ups measured");
        let socket = socket_wakes(20).expect("socket wake-ups measured");
        assert!(timer > 0.0 && socket > 0.0, "{timer} {socket}");
    }
}
