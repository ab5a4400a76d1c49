//! Sequence tracking for streams that number their events (seed 001 `eventSequence`).
//!
//! ```
//! use gcstream_core::sequence::{SeqOutcome, SeqTracker};
//! let mut t = SeqTracker::default();
//! assert_eq!(t.observe(1), SeqOutcome::InOrder);
//! assert_eq!(t.observe(4), SeqOutcome::Missing { expected: 2, got: 4, count: 2 });
//! assert_eq!(t.observe(3), SeqOutcome::Reordered { expected: 5, got: 3 });
//! assert_eq!(t.observe(3), SeqOutcome::Duplicate { expected: 5, got: 3 });
//! assert_eq!(t.observe(1), SeqOutcome::Reset { expected: 5, got: 1 });
//! ```
//!
//! # Theory of operation
//!
//! A tracker is **fresh** until its first number, which it takes as the stream's start (joining a
//! stream mid-way is not a loss). After that it is **tracking**: it knows the highest number seen
//! and the set of numbers skipped below it (bounded to [`MAX_MISSING`], the oldest forgotten
//! first). Each number is then exactly one of:
//!
//! - `highest + 1`: in order;
//! - above that: the numbers in between are **missing** (one `Gap` with their count);
//! - below it and in the missing set: it arrived **reordered** (removed from the set, processed);
//! - below it and not missing: a **duplicate** (the event is dropped);
//! - at or below [`RESTART_MAX`] while the stream is well past it: the sender **restarted** its
//!   numbering (a new socket): the tracker starts again from this number.
//!
//! The engine also resets every tracker when a new subscription is acknowledged.

use std::collections::BTreeSet;

/// How many skipped numbers are remembered per stream, to tell a reordered event from a duplicate.
pub const MAX_MISSING: usize = 1024;

/// A number this low after the stream passed `2 * RESTART_MAX` means the sender started again.
pub const RESTART_MAX: i64 = 1;

/// What one sequence number says about the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqOutcome {
    First,
    InOrder,
    Missing { expected: i64, got: i64, count: u64 },
    Reordered { expected: i64, got: i64 },
    Duplicate { expected: i64, got: i64 },
    Reset { expected: i64, got: i64 },
}

/// The sequence state of one stream.
#[derive(Clone, Debug, Default)]
pub struct SeqTracker {
    highest: Option<i64>,
    missing: BTreeSet<i64>,
}

impl SeqTracker {
    /// Classify one sequence number and update the state.
    pub fn observe(&mut self, n: i64) -> SeqOutcome {
        let Some(highest) = self.highest else {
            self.highest = Some(n);
            return if n <= RESTART_MAX {
                SeqOutcome::InOrder
            } else {
                SeqOutcome::First
            };
        };
        let expected = highest.saturating_add(1);
        if n == expected {
            self.highest = Some(n);
            return SeqOutcome::InOrder;
        }
        if n > expected {
            let count = (n - expected) as u64;
            let from = expected.max(n - MAX_MISSING as i64);
            self.missing.extend(from..n);
            while self.missing.len() > MAX_MISSING {
                self.missing.pop_first();
            }
            self.highest = Some(n);
            return SeqOutcome::Missing {
                expected,
                got: n,
                count,
            };
        }
        if self.missing.remove(&n) {
            return SeqOutcome::Reordered { expected, got: n };
        }
        if n <= RESTART_MAX && highest > 2 * RESTART_MAX {
            self.reset();
            self.highest = Some(n);
            return SeqOutcome::Reset { expected, got: n };
        }
        SeqOutcome::Duplicate { expected, got: n }
    }

    /// Forget everything: the next number starts the stream again.
    pub fn reset(&mut self) {
        self.highest = None;
        self.missing.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_jump_is_bounded() {
        let mut t = SeqTracker::default();
        t.observe(1);
        assert_eq!(
            t.observe(1_000_000_000),
            SeqOutcome::Missing {
                expected: 2,
                got: 1_000_000_000,
                count: 999_999_998
            }
        );
        assert!(t.missing.len() <= MAX_MISSING);
        assert_eq!(
            t.observe(999_999_999),
            SeqOutcome::Reordered {
                expected: 1_000_000_001,
                got: 999_999_999
            }
        );
    }

    #[test]
    fn first_number_is_the_start() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(40), SeqOutcome::First);
        assert_eq!(t.observe(41), SeqOutcome::InOrder);
    }
}
