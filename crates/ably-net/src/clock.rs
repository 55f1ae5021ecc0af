//! The time and randomness the core is fed.

use std::time::{SystemTime, UNIX_EPOCH};

use ably_proto::client::{Instant, Now};

/// A monotonic origin plus the wall clock: gives the core its [`Now`].
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: std::time::Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock whose monotonic time starts now.
    pub fn new() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// The monotonic and wall-clock time now.
    pub fn now(&self) -> Now {
        Now::new(Instant::from_origin(self.origin.elapsed()), wall_ms())
    }

    /// The `std` instant of a core instant, to arm a runtime's timer.
    pub fn to_std(&self, at: Instant) -> std::time::Instant {
        self.origin + at.since_origin()
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A 32-byte seed from the operating system for the core's RNG.
pub fn os_seed() -> [u8; 32] {
    use rand_core::{OsRng, RngCore};
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    seed
}

/// An 8-byte nonce from the operating system, for TokenRequests (RSA9).
pub fn os_nonce() -> [u8; 8] {
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(&os_seed()[..8]);
    nonce
}
