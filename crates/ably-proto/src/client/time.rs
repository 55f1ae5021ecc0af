//! Time as the driver gives it to the core.
//!
//! The core never reads a clock. Every input carries a [`Now`]: a point on
//! the driver's monotonic clock, for timers, and the wall-clock time in
//! milliseconds since the epoch, for tokens and timestamps.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the driver's monotonic clock, as the time since an origin the
/// driver picks (for example the moment it created the client).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The instant `since_origin` after the driver's origin.
    pub const fn from_origin(since_origin: Duration) -> Instant {
        Instant(since_origin)
    }

    /// The instant `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(Duration::from_millis(ms))
    }

    /// The time since the origin.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// The time from `earlier` to this instant, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

/// The current time, passed with every input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Now {
    /// The monotonic clock.
    pub instant: Instant,
    /// Wall-clock milliseconds since the Unix epoch.
    pub wall_ms: i64,
}

impl Now {
    /// A time; `wall_ms` is the wall clock at `instant`.
    pub const fn new(instant: Instant, wall_ms: i64) -> Now {
        Now { instant, wall_ms }
    }

    /// The same moment moved forward by `d` on both clocks (for tests and
    /// simulations).
    pub fn advanced(self, d: Duration) -> Now {
        Now {
            instant: self.instant + d,
            wall_ms: self.wall_ms.saturating_add(d.as_millis() as i64),
        }
    }
}
