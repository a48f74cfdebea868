//! The rotation record a session row carries (`sessions.rotations`): when each recent generation
//! of its refresh token was rotated out, so that a retry inside the reuse interval is honoured
//! and a later one is treated as reuse.
//!
//! Generations rotated out in the same second share one entry: `(second, generation)` says that
//! the generations from `generation` up to the next entry's were rotated out at `second`. A
//! session rotating steadily therefore carries about one entry per second of the interval, on
//! the row that the rotation updates anyway. (These records used to be a table of their own, one
//! row per generation: each rotation wrote and pruned a second B-tree, which cost a third of a
//! refresh's throughput.)
//!
//! Stored as text, `second:generation` pairs separated by spaces, in generation order. Text
//! that does not parse is left out: a generation with no record counts as reuse, never as a
//! retry.

use crate::core::clock::Timestamp;

/// The most entries a row keeps: a session rotating more than once a second under a reuse
/// interval longer than this many seconds keeps the latest ones (older generations then count as
/// reuse, the safe side).
pub const MAX_ENTRIES: usize = 128;

/// A session's rotation record, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotations(Vec<(Timestamp, i64)>);

impl Rotations {
    pub fn parse(text: &str) -> Rotations {
        Rotations(
            text.split(' ')
                .filter_map(|pair| {
                    let (second, generation) = pair.split_once(':')?;
                    Some((second.parse().ok()?, generation.parse().ok()?))
                })
                .collect(),
        )
    }

    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 18);
        for (i, (second, generation)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&second.to_string());
            out.push(':');
            out.push_str(&generation.to_string());
        }
        out
    }

    /// When `generation` (already rotated out) was rotated out, if that is still on record.
    pub fn rotated_at(&self, generation: i64) -> Option<Timestamp> {
        self.0
            .iter()
            .rev()
            .find(|(_, first)| *first <= generation)
            .map(|(second, _)| *second)
    }

    /// Records that `generation`, the newest so far, was rotated out at `at`, and forgets the
    /// generations rotated out before `keep_since`: those before the first entry still inside
    /// the interval (entries are in generation order; a clock read a second early can put one
    /// slightly out of time order, and it is kept with its neighbours).
    pub fn record(&mut self, generation: i64, at: Timestamp, keep_since: Timestamp) {
        if self.0.last().is_none_or(|(second, _)| *second != at) {
            self.0.push((at, generation));
        }
        let first_kept = self
            .0
            .iter()
            .position(|(second, _)| *second >= keep_since)
            .unwrap_or(self.0.len() - 1);
        let over_cap = self.0.len().saturating_sub(MAX_ENTRIES);
        self.0.drain(..first_kept.max(over_cap));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_of_one_second_share_an_entry() {
        let mut r = Rotations::default();
        for (generation, at) in [(0, 100), (1, 100), (2, 101), (3, 101), (4, 105)] {
            r.record(generation, at, 0);
        }
        assert_eq!(r.to_text(), "100:0 101:2 105:4");
        let times: Vec<_> = (0..5).map(|g| r.rotated_at(g)).collect();
        assert_eq!(
            times,
            [Some(100), Some(100), Some(101), Some(101), Some(105)]
        );
    }

    #[test]
    fn recording_forgets_what_left_the_interval() {
        let mut r = Rotations::default();
        for (generation, at) in [(0, 100), (1, 101), (2, 102), (3, 110)] {
            r.record(generation, at, at - 8);
        }
        // The last rotation, at 110, keeps what was rotated out at 102 or later.
        assert_eq!(r.to_text(), "102:2 110:3");
        assert_eq!(r.rotated_at(0), None);
        assert_eq!(r.rotated_at(1), None);
        assert_eq!(r.rotated_at(2), Some(102));
        r.record(4, 200, 190);
        assert_eq!(r.to_text(), "200:4", "the newest is always kept");
    }

    #[test]
    fn an_early_clock_keeps_each_generation_exact() {
        let mut r = Rotations::default();
        r.record(0, 100, 0);
        r.record(1, 99, 0);
        assert_eq!((r.rotated_at(0), r.rotated_at(1)), (Some(100), Some(99)));
    }

    #[test]
    fn the_record_is_capped() {
        let mut r = Rotations::default();
        for g in 0..(MAX_ENTRIES as i64 + 10) {
            r.record(g, 1000 + g, 0);
        }
        assert_eq!(r.0.len(), MAX_ENTRIES);
        assert_eq!(r.rotated_at(9), None);
        assert_eq!(r.rotated_at(10), Some(1010));
    }

    #[test]
    fn text_round_trips_and_garbage_is_no_record() {
        let r = Rotations::parse("100:0 101:2");
        assert_eq!(Rotations::parse(&r.to_text()), r);
        assert_eq!(Rotations::parse(""), Rotations::default());
        let bad = Rotations::parse("x:1 100:zz 7");
        assert_eq!(bad, Rotations::default());
        assert_eq!(bad.rotated_at(1), None);
    }
}
