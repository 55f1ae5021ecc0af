//! The core's deadlines: one per [`TimerKind`], kept as plain data.

use std::collections::BTreeMap;

use super::io::TimerKind;
use super::time::Instant;

/// Deadlines by kind. Setting a kind replaces its deadline.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers(BTreeMap<TimerKind, Instant>);

impl Timers {
    pub(crate) fn set(&mut self, kind: TimerKind, at: Instant) {
        self.0.insert(kind, at);
    }

    pub(crate) fn cancel(&mut self, kind: TimerKind) {
        self.0.remove(&kind);
    }

    /// Removes and returns the kinds whose deadline is at or before `now`,
    /// earliest first.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<TimerKind> {
        if self.next().is_none_or(|(at, _)| at > now) {
            return Vec::new(); // the common case: nothing due
        }
        let mut due: Vec<(Instant, TimerKind)> = self
            .0
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, at)| (*at, *k))
            .collect();
        due.sort();
        for (_, kind) in &due {
            self.0.remove(kind);
        }
        due.into_iter().map(|(_, k)| k).collect()
    }

    /// The earliest deadline and its kind.
    pub(crate) fn next(&self) -> Option<(Instant, TimerKind)> {
        self.0.iter().map(|(k, at)| (*at, *k)).min()
    }
}
