//! The reorder buffer: final utterances per (conversation, channel), released in `offsetMs` order.
//!
//! Real traffic arrives out of offset order (research, peers §A.5: 771 of 9,048 lines, 19 of them
//! within one channel). Each conversation owns one [`Lanes`], with one lane per channel.
//!
//! ```
//! use gcstream_core::reorder::Lanes;
//! # use gcstream_core::record::Utterance;
//! # fn utt(id: &str, start: i64) -> Utterance { Utterance { conversation_id: "c".into(), communication_id: None, utterance_id: id.into(), channel: "A".into(), text: String::new(), decorated_text: String::new(), words: vec![], decorated_words: vec![], confidence: 1.0, language: None, start_ms: start, end_ms: start + 10, received_at_ms: 0, latency_ms: 0, event_time_ms: None, offset_ms: start, duration_ms: 10, organization_id: None, engine: None, pii: vec![], flags: vec![] } }
//! let mut lanes = Lanes::default();
//! let mut out = Vec::new();
//! lanes.push(1_000, utt("b", 500), 0, &mut out);
//! lanes.push(1_000, utt("a", 100), 0, &mut out);   // earlier offset, later arrival
//! assert!(out.is_empty());                          // both held: nothing is 1 s behind yet
//! lanes.push(1_000, utt("c", 1_600), 0, &mut out);  // a and b are now more than 1 s behind c
//! let ids: Vec<_> = out.iter().map(|u| u.utterance_id.as_str()).collect();
//! assert_eq!(ids, ["a", "b"]);
//! ```
//!
//! # Theory of operation
//!
//! Each lane has a *watermark* (the largest start seen) and a *release point* (the start of the
//! last utterance released). An utterance is in one of three states:
//!
//! - **held**: in the lane, sorted by (start, end, utterance id), while it is less than `window`
//!   behind the watermark and has waited less than `window` of receive time;
//! - **released in order**: when the watermark moves `window` past it, when `tick` finds it has
//!   waited `window` ms of receive time (a quiet channel must not hold its last words forever), or
//!   when the conversation ends or the stream finishes. Everything sorted before it goes first;
//! - **late**: it starts before the release point, so its place has already passed: it is released
//!   at once with the flag `late`. Late utterances are delivered, never dropped.
//!
//! Release depends only on starts (and, for `tick`, receive times), not on arrival order, so any
//! permutation of arrivals within the window releases the same sequence. A window of 0 turns
//! ordering off: every utterance is released as it arrives.

use crate::record::Utterance;

#[derive(Clone, Debug)]
struct Held {
    utterance: Utterance,
    received_at_ms: i64,
}

fn order_key(u: &Utterance) -> (i64, i64, &str) {
    (u.start_ms, u.end_ms, u.utterance_id.as_str())
}

#[derive(Clone, Debug)]
struct Lane {
    channel: String,
    held: Vec<Held>,
    watermark: i64,
    released_to: Option<i64>,
}

impl Lane {
    fn release(&mut self, n: usize, out: &mut Vec<Utterance>) {
        for h in self.held.drain(..n) {
            self.released_to = Some(
                self.released_to
                    .map_or(h.utterance.start_ms, |r| r.max(h.utterance.start_ms)),
            );
            out.push(h.utterance);
        }
    }
}

/// The reorder lanes of one conversation.
#[derive(Clone, Debug, Default)]
pub struct Lanes {
    lanes: Vec<Lane>,
}

impl Lanes {
    /// How many utterances are held.
    pub fn held(&self) -> usize {
        self.lanes.iter().map(|l| l.held.len()).sum()
    }

    /// Add a final utterance; appends what it releases (in order) to `out`.
    pub fn push(
        &mut self,
        window_ms: i64,
        mut u: Utterance,
        received_at_ms: i64,
        out: &mut Vec<Utterance>,
    ) {
        if window_ms <= 0 {
            out.push(u);
            return;
        }
        let i = self
            .lanes
            .iter()
            .position(|l| l.channel == u.channel)
            .unwrap_or_else(|| {
                self.lanes.push(Lane {
                    channel: u.channel.clone(),
                    held: Vec::new(),
                    watermark: i64::MIN,
                    released_to: None,
                });
                self.lanes.len() - 1
            });
        let lane = &mut self.lanes[i];
        if lane.released_to.is_some_and(|r| u.start_ms < r) {
            u.flags.push("late".to_owned());
            out.push(u);
            return;
        }
        lane.watermark = lane.watermark.max(u.start_ms);
        let at = lane
            .held
            .partition_point(|h| order_key(&h.utterance) <= order_key(&u));
        lane.held.insert(
            at,
            Held {
                utterance: u,
                received_at_ms,
            },
        );
        let cutoff = lane.watermark - window_ms;
        let n = lane
            .held
            .partition_point(|h| h.utterance.start_ms <= cutoff);
        lane.release(n, out);
    }

    /// Release, in order, every utterance up to the last one that has waited `window_ms` of
    /// receive time at `now_ms`.
    pub fn release_aged(&mut self, window_ms: i64, now_ms: i64, out: &mut Vec<Utterance>) {
        for lane in &mut self.lanes {
            if let Some(last) = lane
                .held
                .iter()
                .rposition(|h| now_ms - h.received_at_ms >= window_ms)
            {
                lane.release(last + 1, out);
            }
        }
    }

    /// The earliest receive time at which [`Lanes::release_aged`] would release something.
    pub fn next_release(&self, window_ms: i64) -> Option<i64> {
        self.lanes
            .iter()
            .flat_map(|l| l.held.iter())
            .map(|h| h.received_at_ms + window_ms)
            .min()
    }

    /// Release everything, lane by lane, each in order.
    pub fn drain(&mut self, out: &mut Vec<Utterance>) {
        for lane in &mut self.lanes {
            let n = lane.held.len();
            lane.release(n, out);
        }
    }
}
