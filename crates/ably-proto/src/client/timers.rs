//! The core's deadlines: one per [`TimerKind`], kept as plain data.

use super::io::TimerKind;
use super::time::Instant;

/// Every kind, each at its [`slot`].
const KINDS: [TimerKind; 10] = [
    TimerKind::ConnectTimeout,
    TimerKind::Retry,
    TimerKind::Suspend,
    TimerKind::Idle,
    TimerKind::CloseTimeout,
    TimerKind::Ping,
    TimerKind::Auth,
    TimerKind::Reauth,
    TimerKind::Channel,
    TimerKind::Rest,
];

/// Where a kind's deadline is kept.
fn slot(kind: TimerKind) -> usize {
    match kind {
        TimerKind::ConnectTimeout => 0,
        TimerKind::Retry => 1,
        TimerKind::Suspend => 2,
        TimerKind::Idle => 3,
        TimerKind::CloseTimeout => 4,
        TimerKind::Ping => 5,
        TimerKind::Auth => 6,
        TimerKind::Reauth => 7,
        TimerKind::Channel => 8,
        TimerKind::Rest => 9,
    }
}

/// Deadlines by kind, one slot each: every received frame re-arms the idle
/// timer (RTN23a), so setting one is a store. Setting a kind replaces its
/// deadline.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers([Option<Instant>; KINDS.len()]);

impl Timers {
    pub(crate) fn set(&mut self, kind: TimerKind, at: Instant) {
        self.0[slot(kind)] = Some(at);
    }

    pub(crate) fn cancel(&mut self, kind: TimerKind) {
        self.0[slot(kind)] = None;
    }

    /// Every deadline with its kind.
    fn deadlines(&self) -> impl Iterator<Item = (Instant, TimerKind)> + '_ {
        KINDS
            .iter()
            .zip(&self.0)
            .filter_map(|(kind, at)| at.map(|at| (at, *kind)))
    }

    /// Removes and returns the kinds whose deadline is at or before `now`,
    /// earliest first.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<TimerKind> {
        if self.next().is_none_or(|(at, _)| at > now) {
            return Vec::new(); // the common case: nothing due
        }
        let mut due: Vec<(Instant, TimerKind)> =
            self.deadlines().filter(|(at, _)| *at <= now).collect();
        due.sort();
        for (_, kind) in &due {
            self.cancel(*kind);
        }
        due.into_iter().map(|(_, k)| k).collect()
    }

    /// The earliest deadline and its kind.
    pub(crate) fn next(&self) -> Option<(Instant, TimerKind)> {
        self.deadlines().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_slot() {
        for (i, kind) in KINDS.iter().enumerate() {
            assert_eq!(slot(*kind), i, "{kind:?}");
        }
    }

    #[test]
    fn expires_the_due_kinds_earliest_first() {
        let mut t = Timers::default();
        t.set(TimerKind::Idle, Instant::from_millis(30));
        t.set(TimerKind::Ping, Instant::from_millis(10));
        t.set(TimerKind::Retry, Instant::from_millis(50));
        t.set(TimerKind::Idle, Instant::from_millis(20)); // replaces 30
        assert_eq!(t.next(), Some((Instant::from_millis(10), TimerKind::Ping)));
        assert_eq!(
            t.expire(Instant::from_millis(20)),
            vec![TimerKind::Ping, TimerKind::Idle]
        );
        assert!(t.expire(Instant::from_millis(40)).is_empty());
        t.cancel(TimerKind::Retry);
        assert_eq!(t.next(), None);
    }
}
