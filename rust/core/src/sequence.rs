//! Sequence tracking for streams that number their events (seed 001 `eventSequence`).
//!
//! Each number comes with the event's *identity*: a hash of what the event says (the engine hashes
//! the decoder's event key, which holds the timestamp, with the text), so that the same number
//! sent again can be told from a new event that reuses it.
//!
//! ```
//! use gcstream_core::sequence::{SeqOutcome, SeqTracker};
//! let mut t = SeqTracker::default();
//! assert_eq!(t.observe(2, 0xb), SeqOutcome::First);
//! assert_eq!(t.observe(1, 0xa), SeqOutcome::Reordered { expected: 3, got: 1 });
//! assert_eq!(t.observe(5, 0xe), SeqOutcome::Missing { expected: 3, got: 5, count: 2 });
//! assert_eq!(t.observe(4, 0xd), SeqOutcome::Reordered { expected: 6, got: 4 });
//! assert_eq!(t.observe(4, 0xd), SeqOutcome::Duplicate { expected: 6, got: 4 }); // the only drop
//! assert_eq!(t.observe(1, 0xf), SeqOutcome::Reset { expected: 6, got: 1 }); // a new event 1
//! assert_eq!(t.observe(2, 0x10), SeqOutcome::InOrder);
//! ```
//!
//! # Theory of operation
//!
//! A tracker is **fresh** until its first number, which it takes as the stream's start (joining a
//! stream mid-way is not a loss). After that it is **tracking**: it knows the highest number seen
//! and the identity of each number it has seen in the window of [`WINDOW`] numbers ending at the
//! highest (a number in the window that has not arrived is a hole). Each number is then exactly
//! one of:
//!
//! - `highest + 1`: in order;
//! - above that: the numbers in between are **missing** (one `Gap` with their count);
//! - in the window and seen with the same identity: a **duplicate**, the only event dropped;
//! - in the window and seen with another identity: the sender **restarted** its numbering (a new
//!   socket, whose first events may be lost): the tracker starts again from this number;
//! - in the window and a hole: it arrived **reordered** (processed and remembered). This includes
//!   numbers below the first one seen: the stream's first events can arrive late too;
//! - below the window: too old to be a reorder, and no memory says it is a repeat, so the sender
//!   **restarted**, as above.
//!
//! Only a certain repeat is dropped: whenever the tracker cannot remember, it lets the event
//! through, and the engine's de-duplication of finals still catches a repeat it let through.
//! Memory is bounded by the window: one 8-byte identity per number, [`WINDOW`] at most per stream,
//! allocated only as far as the stream has gone.
//!
//! The engine also resets every tracker when a new subscription is acknowledged.

use std::collections::VecDeque;
use std::num::NonZeroU64;

/// How many numbers, ending at the highest, are remembered per stream: the deepest reorder that
/// is recognised, and how far back a repeat is recognised (and dropped) as a duplicate.
pub const WINDOW: usize = 512;

/// The number senders give their first event: a fresh tracker that sees it (or a lower one) is at
/// the stream's start, not joining it mid-way.
pub const START: i64 = 1;

/// What one sequence number says about the stream (see the module docs): `First` is the first
/// number of a stream joined mid-way; `Missing` counts the numbers skipped before `got`. Only a
/// `Duplicate` event is to be dropped; every other outcome's event is processed.
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
    /// Identities of the numbers `highest + 1 - seen.len() ..= highest`; `None` is a hole.
    seen: VecDeque<Option<NonZeroU64>>,
}

impl SeqTracker {
    /// Classify sequence number `n` of the event with identity `identity` and update the state.
    pub fn observe(&mut self, n: i64, identity: u64) -> SeqOutcome {
        // A hash of 0 shares its slot value with u64::MAX: one more collision in 2^64.
        let id = NonZeroU64::new(identity).unwrap_or(NonZeroU64::MAX);
        let Some(highest) = self.highest else {
            self.restart(n, id);
            return if n <= START {
                SeqOutcome::InOrder
            } else {
                SeqOutcome::First
            };
        };
        let expected = highest.saturating_add(1);
        if n > highest {
            self.advance(highest, n, id);
            let count = n.abs_diff(highest) - 1;
            return if count == 0 {
                SeqOutcome::InOrder
            } else {
                SeqOutcome::Missing {
                    expected,
                    got: n,
                    count,
                }
            };
        }
        // How far below the highest `n` is: 0 is the highest itself.
        let back = highest.abs_diff(n);
        if back >= WINDOW as u64 {
            self.restart(n, id);
            return SeqOutcome::Reset { expected, got: n };
        }
        let back = back as usize;
        while self.seen.len() <= back {
            self.seen.push_front(None);
        }
        let at = self.seen.len() - 1 - back;
        match self.seen[at] {
            None => {
                self.seen[at] = Some(id);
                SeqOutcome::Reordered { expected, got: n }
            }
            Some(seen) if seen == id => SeqOutcome::Duplicate { expected, got: n },
            Some(_) => {
                self.restart(n, id);
                SeqOutcome::Reset { expected, got: n }
            }
        }
    }

    /// Forget everything: the next number starts the stream again.
    pub fn reset(&mut self) {
        self.highest = None;
        self.seen.clear();
    }

    /// Start the stream again from `n`.
    fn restart(&mut self, n: i64, id: NonZeroU64) {
        self.seen.clear();
        self.seen.push_back(Some(id));
        self.highest = Some(n);
    }

    /// Move the highest number from `highest` up to `n`, leaving holes for the numbers skipped.
    fn advance(&mut self, highest: i64, n: i64, id: NonZeroU64) {
        let skipped = n.abs_diff(highest) - 1;
        if skipped >= WINDOW as u64 {
            self.seen.clear();
        }
        // At most WINDOW - 1 holes: any more would fall out of the window at once.
        let holes = skipped.min(WINDOW as u64 - 1) as usize;
        self.seen.extend(std::iter::repeat_n(None, holes));
        self.seen.push_back(Some(id));
        while self.seen.len() > WINDOW {
            self.seen.pop_front();
        }
        self.highest = Some(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    /// Observe each (number, identity) and return the outcomes.
    fn run(t: &mut SeqTracker, events: &[(i64, u64)]) -> Vec<SeqOutcome> {
        events.iter().map(|&(n, id)| t.observe(n, id)).collect()
    }

    /// Events numbered as given, each a distinct event (its own identity).
    fn distinct(numbers: &[i64]) -> Vec<(i64, u64)> {
        numbers.iter().zip(100..).map(|(&n, id)| (n, id)).collect()
    }

    #[test]
    fn huge_jump_is_bounded() {
        let mut t = SeqTracker::default();
        t.observe(1, 1);
        assert_eq!(
            t.observe(1_000_000_000, 2),
            SeqOutcome::Missing {
                expected: 2,
                got: 1_000_000_000,
                count: 999_999_998
            }
        );
        assert!(t.seen.len() <= WINDOW);
        assert_eq!(
            t.observe(999_999_999, 3),
            SeqOutcome::Reordered {
                expected: 1_000_000_001,
                got: 999_999_999
            }
        );
        assert_eq!(t.seen.len(), WINDOW);
    }

    #[test]
    fn first_number_is_the_start() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(40, 1), SeqOutcome::First);
        assert_eq!(t.observe(41, 2), SeqOutcome::InOrder);
    }

    #[test]
    fn first_two_swapped_are_a_reorder() {
        let mut t = SeqTracker::default();
        let got = run(&mut t, &distinct(&[2, 1, 3, 4]));
        assert_eq!(
            got,
            [
                SeqOutcome::First,
                SeqOutcome::Reordered {
                    expected: 3,
                    got: 1
                },
                SeqOutcome::InOrder,
                SeqOutcome::InOrder
            ]
        );
    }

    #[test]
    fn first_three_rotated_are_reorders_not_a_reset() {
        let mut t = SeqTracker::default();
        let got = run(&mut t, &distinct(&[3, 1, 2, 4, 5]));
        assert_eq!(
            got,
            [
                SeqOutcome::First,
                SeqOutcome::Reordered {
                    expected: 4,
                    got: 1
                },
                SeqOutcome::Reordered {
                    expected: 4,
                    got: 2
                },
                SeqOutcome::InOrder,
                SeqOutcome::InOrder
            ]
        );
    }

    #[test]
    fn restart_whose_first_event_is_lost() {
        let mut t = SeqTracker::default();
        let got = run(&mut t, &distinct(&[1, 2, 3, 4, 5, 2, 3, 4]));
        assert_eq!(
            got[5..],
            [
                SeqOutcome::Reset {
                    expected: 6,
                    got: 2
                },
                SeqOutcome::InOrder,
                SeqOutcome::InOrder
            ]
        );
    }

    #[test]
    fn early_restart() {
        let mut t = SeqTracker::default();
        let got = run(&mut t, &distinct(&[1, 2, 1, 2, 3]));
        assert_eq!(
            got[1..],
            [
                SeqOutcome::InOrder,
                SeqOutcome::Reset {
                    expected: 3,
                    got: 1
                },
                SeqOutcome::InOrder,
                SeqOutcome::InOrder
            ]
        );
    }

    #[test]
    fn only_the_same_event_again_is_a_duplicate() {
        let mut t = SeqTracker::default();
        run(&mut t, &[(1, 1), (2, 2), (4, 4)]);
        assert_eq!(
            t.observe(2, 2),
            SeqOutcome::Duplicate {
                expected: 5,
                got: 2
            }
        );
        assert_eq!(
            t.observe(3, 3),
            SeqOutcome::Reordered {
                expected: 5,
                got: 3
            }
        );
        assert_eq!(
            t.observe(3, 3),
            SeqOutcome::Duplicate {
                expected: 5,
                got: 3
            }
        );
        assert_eq!(
            t.observe(4, 4),
            SeqOutcome::Duplicate {
                expected: 5,
                got: 4
            }
        );
    }

    #[test]
    fn a_long_stream_that_restarts_is_reset_at_once() {
        let mut t = SeqTracker::default();
        let numbers: Vec<i64> = (1..=2000).chain(1..=3).collect();
        let got = run(&mut t, &distinct(&numbers));
        assert_eq!(
            got[2000..],
            [
                SeqOutcome::Reset {
                    expected: 2001,
                    got: 1
                },
                SeqOutcome::InOrder,
                SeqOutcome::InOrder
            ]
        );
        assert!(t.seen.len() <= WINDOW);
    }

    /// Any shuffle (within the window) of 1..=N with some events repeated: every distinct event is
    /// processed exactly once, only repeats are dropped, and nothing is called a reset.
    #[test]
    fn shuffles_with_repeats_lose_nothing() {
        let mut next = xorshift(0x5eed_0001);
        for round in 0..300 {
            let n = 1 + (next() % 300) as i64;
            let mut events: Vec<(i64, u64)> = (1..=n).map(|k| (k, k as u64 * 7919)).collect();
            for _ in 0..(next() % 20) {
                let k = (next() % n as u64) as usize;
                events.push(events[k]);
            }
            for i in (1..events.len()).rev() {
                events.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            let mut t = SeqTracker::default();
            let mut processed = Vec::new();
            for &(k, id) in &events {
                match t.observe(k, id) {
                    SeqOutcome::Duplicate { got, .. } => assert!(processed.contains(&got)),
                    SeqOutcome::Reset { .. } => panic!("round {round}: false reset at {k}"),
                    _ => processed.push(k),
                }
            }
            processed.sort_unstable();
            assert_eq!(processed, (1..=n).collect::<Vec<_>>(), "round {round}");
        }
    }
}
