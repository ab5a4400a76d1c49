//! Counters and a latency histogram cheap enough to stay on.
//!
//! The histogram is log-linear: values below 64 get their own bucket, larger values share a bucket
//! with others of the same power of two split into 32 steps, so any quantile is within about 3 %
//! of the true value. Recording is one `leading_zeros` and an increment.
//!
//! ```
//! let mut h = gcstream_core::metrics::Histogram::default();
//! for v in 1..=100 { h.record(v); }
//! let p50 = h.quantile(0.5).unwrap();
//! assert!((48..=53).contains(&p50));
//! ```

use std::collections::BTreeMap;

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
const LINEAR: u64 = 2 * SUB;
// The largest value, u64::MAX, has its top bit at 63: shift 58, so 58 rows of SUB after the linear part.
const BUCKETS: usize = (LINEAR + (63 - SUB_BITS as u64) * SUB) as usize;

/// A log-linear histogram of non-negative integers (milliseconds here).
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: i128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - u64::from(v.leading_zeros());
    let shift = msb - u64::from(SUB_BITS);
    let sub = (v >> shift) - SUB;
    (LINEAR + (shift - 1) * SUB + sub) as usize
}

fn bucket_low(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let shift = (i - LINEAR) / SUB + 1;
    let sub = (i - LINEAR) % SUB;
    u64::try_from(u128::from(SUB + sub) << shift).unwrap_or(u64::MAX)
}

impl Histogram {
    /// Record one value.
    pub fn record(&mut self, v: u64) {
        let i = bucket_of(v).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.total += 1;
        self.sum += i128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The mean, if any value was recorded.
    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    pub fn min(&self) -> Option<u64> {
        (self.total > 0).then_some(self.min)
    }

    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    /// The value at quantile `q` (0..=1): the lower bound of its bucket, clamped to [min, max].
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        if rank >= self.total {
            return Some(self.max);
        }
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_low(i).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Non-empty buckets as (upper bound exclusive, cumulative count), for Prometheus-style export.
    pub fn cumulative(&self) -> Vec<(u64, u64)> {
        let mut seen = 0;
        let mut out = Vec::new();
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                seen += c;
                out.push((bucket_low(i + 1), seen));
            }
        }
        out
    }
}

/// Everything the engine counts. Names are stable: they become `stats()` keys and metric names.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub frames: u64,
    pub bytes: u64,
    pub documents: u64,
    /// Records emitted, by kind (`utterance`, `partial`, …).
    pub records: BTreeMap<&'static str, u64>,
    /// Rejected input, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Control records, by kind (`heartbeat`, `pong`, …).
    pub controls: BTreeMap<String, u64>,
    /// Quality flags raised, by name.
    pub flags: BTreeMap<String, u64>,
    /// PII findings, by kind.
    pub pii: BTreeMap<String, u64>,
    /// Repeated utterance ids that did not produce a second final.
    pub duplicates: u64,
    /// Transcript events decoded (interim and final), before any check.
    pub transcript_events: u64,
    /// Interim results for an utterance whose final was already delivered (no record).
    pub stale_partials: u64,
    /// Records dropped by a quality gate whose policy is `drop`, by flag.
    pub dropped: BTreeMap<String, u64>,
    /// Sequence problems by kind (`missing`, `duplicate`, `reordered`, `reset`): summed `Gap` counts.
    pub gaps: BTreeMap<&'static str, u64>,
    /// Transcripts the source marked as interrupted.
    pub interruptions: u64,
    /// Pending partials closed without a final: expired (timeout, conversation end, finish),
    /// reset by an interruption, or closed because a policy dropped their final. Each is also a
    /// `Partial` record with that state.
    pub partials_expired: u64,
    pub partials_interrupted: u64,
    pub partials_dropped: u64,
    /// Status messages that repeated the known status (no record).
    pub status_repeats: u64,
    pub conversations_ended: u64,
    pub conversations_evicted: u64,
    pub words: u64,
    /// Latency (received − utterance end), ms; negative latencies are counted separately.
    pub latency_ms: Histogram,
    pub negative_latency: u64,
    pub confidence_sum: f64,
    pub confidence_count: u64,
    pub confidence_min: f64,
    /// Sum of utterance durations, ms (for words per second of speech).
    pub speech_ms: u64,
    pub conversations_active: u64,
}

impl Stats {
    pub(crate) fn count_record(&mut self, kind: &'static str) {
        *self.records.entry(kind).or_insert(0) += 1;
    }

    pub(crate) fn count_flag(&mut self, flag: &str) {
        if let Some(n) = self.flags.get_mut(flag) {
            *n += 1;
        } else {
            self.flags.insert(flag.to_owned(), 1);
        }
    }

    pub(crate) fn count_confidence(&mut self, c: f64) {
        if self.confidence_count == 0 || c < self.confidence_min {
            self.confidence_min = c;
        }
        self.confidence_sum += c;
        self.confidence_count += 1;
    }

    /// Mean utterance confidence.
    pub fn confidence_mean(&self) -> Option<f64> {
        (self.confidence_count > 0).then(|| self.confidence_sum / self.confidence_count as f64)
    }

    /// Words per second of speech.
    pub fn words_per_second(&self) -> Option<f64> {
        (self.speech_ms > 0).then(|| self.words as f64 * 1000.0 / self.speech_ms as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 0..10_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 5000.0), (0.95, 9500.0), (0.99, 9900.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!((got - want).abs() / want < 0.04, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.min(), Some(0));
        assert_eq!(h.max(), Some(9999));
    }

    #[test]
    fn huge_values_do_not_panic() {
        let mut h = Histogram::default();
        h.record(u64::MAX);
        h.record(0);
        assert_eq!(h.quantile(1.0), Some(u64::MAX));
    }

    #[test]
    fn buckets_are_monotonic() {
        let mut last = 0;
        for v in (0..1_000_000u64).step_by(7) {
            let b = bucket_of(v);
            assert!(b >= last);
            assert!(bucket_low(b) <= v && v < bucket_low(b + 1), "{v}");
            last = b;
        }
    }
}
