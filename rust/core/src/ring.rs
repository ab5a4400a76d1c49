//! The bounded buffer between the engine and the sinks.
//!
//! A [`Ring`] holds records in arrival order, bounded both in records and in bytes. Every sink
//! reads through its own cursor; a slot is freed only when every attached sink has passed it, so
//! the slowest sink sets the pace. Watermarks with hysteresis tell the reader of the socket when
//! to stop (occupancy at or above `high`) and when to resume (at or below `low`).
//!
//! ```
//! use gcstream_core::ring::{Push, Ring, RingConfig};
//!
//! let config = RingConfig { capacity_records: 4, high_watermark: 0.75, low_watermark: 0.25, ..RingConfig::default() };
//! let mut ring: Ring<&str> = Ring::new(config, 2).unwrap();
//! assert!(matches!(ring.push("a", 1), Push::Accepted));
//! ring.push("b", 1);
//! ring.push("c", 1);
//! assert!(ring.paused()); // 3 of 4 slots: the reader should stop pulling from the socket
//! assert_eq!(ring.read(0, 10).copied().collect::<Vec<_>>(), ["a", "b", "c"]);
//! ring.advance(0, 3).unwrap();
//! assert_eq!(ring.len(), 3); // sink 1 has not read yet, so nothing is freed
//! ring.advance(1, 3).unwrap();
//! assert!(ring.is_empty() && !ring.paused());
//! ```

use std::collections::VecDeque;
use std::fmt;

/// What the ring does with a record that does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullPolicy {
    /// Refuse it and hand it back: the caller waits for space (and stops reading its source).
    Backpressure,
    /// Drop the incoming record, counted in `dropped_newest`.
    DropNewest,
    /// Evict the oldest records to make room, even if some sinks have not read them; each
    /// eviction is counted globally and, per sink, in the `dropped` of every sink that missed it.
    DropOldest,
}

impl FullPolicy {
    /// The configuration name: `backpressure`, `drop_newest` or `drop_oldest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backpressure => "backpressure",
            Self::DropNewest => "drop_newest",
            Self::DropOldest => "drop_oldest",
        }
    }
}

impl std::str::FromStr for FullPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "backpressure" => Ok(Self::Backpressure),
            "drop_newest" => Ok(Self::DropNewest),
            "drop_oldest" => Ok(Self::DropOldest),
            other => Err(format!(
                "unknown full policy {other:?}; expected backpressure, drop_newest or drop_oldest"
            )),
        }
    }
}

/// Capacity, watermarks and full policy of a [`Ring`].
#[derive(Clone, Debug)]
pub struct RingConfig {
    /// At most this many records are held.
    pub capacity_records: usize,
    /// At most this many bytes (as estimated by the caller for each record) are held.
    pub capacity_bytes: usize,
    /// Occupancy (the larger of the record and byte fractions) at which the ring pauses the reader.
    pub high_watermark: f64,
    /// Occupancy at which a paused ring lets the reader resume. Must be below `high_watermark`.
    pub low_watermark: f64,
    pub policy: FullPolicy,
}

impl Default for RingConfig {
    fn default() -> Self {
        Self {
            capacity_records: 65_536,
            capacity_bytes: 64 << 20,
            high_watermark: 0.8,
            low_watermark: 0.5,
            policy: FullPolicy::Backpressure,
        }
    }
}

/// A configuration or call the ring refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingError {
    /// The setting or argument at fault (`capacity_records`, `sink`, `n`, …).
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for RingError {}

/// The result of [`Ring::push`].
#[derive(Debug, PartialEq, Eq)]
pub enum Push<T> {
    /// Stored.
    Accepted,
    /// Stored after evicting this many of the oldest records (`drop_oldest`).
    AcceptedDroppingOldest(usize),
    /// Not stored and counted (`drop_newest`).
    DroppedNewest,
    /// Not stored: the ring is full and the policy is backpressure. The record comes back.
    Full(T),
}

/// Counters of a ring since it was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RingCounters {
    pub pushed: u64,
    pub dropped_newest: u64,
    pub dropped_oldest: u64,
    /// Pushes refused under backpressure (each retried record counts again).
    pub refused: u64,
    /// Times the ring crossed the high watermark (reader told to stop) and the low one (resume).
    pub pauses: u64,
    pub resumes: u64,
    /// The most records and bytes ever held at once.
    pub peak_records: usize,
    pub peak_bytes: usize,
}

/// One sink's position. `None` once detached: a detached sink holds no slots.
#[derive(Clone, Debug)]
struct Cursor {
    next: Option<u64>,
    delivered: u64,
    dropped: u64,
}

/// A bounded multi-reader FIFO. See the module documentation.
///
/// # Theory of operation
///
/// Records get consecutive sequence numbers. `slots[0]` holds sequence `head`; the next push
/// gets `head + slots.len()` (the *tail*). Each cursor is the sequence number its sink reads
/// next, between `head` and the tail. After any cursor moves, the front is trimmed up to the
/// smallest attached cursor, which is what frees memory. With no attached cursor every record is
/// freed as soon as it is pushed.
///
/// The reader state has two values and changes only at the watermarks, never between them:
///
/// * `Flowing` → `Paused` when a push leaves occupancy ≥ `high_watermark`;
/// * `Paused` → `Flowing` when a trim leaves occupancy ≤ `low_watermark`.
///
/// Occupancy is the larger of `len / capacity_records` and `bytes / capacity_bytes`. When a record
/// does not fit, the policy decides: backpressure returns it (`Push::Full`), `drop_newest` counts
/// and discards it, `drop_oldest` evicts from the front (moving lagging cursors forward and
/// counting what each of them lost). An empty ring always accepts one record, however large, so an
/// oversized record cannot wedge a backpressured pipeline.
pub struct Ring<T> {
    config: RingConfig,
    slots: VecDeque<(T, usize)>,
    head: u64,
    bytes: usize,
    cursors: Vec<Cursor>,
    paused: bool,
    counters: RingCounters,
}

impl<T> Ring<T> {
    /// An empty ring with `sinks` cursors, numbered from 0, all at the start.
    pub fn new(config: RingConfig, sinks: usize) -> Result<Self, RingError> {
        let err = |field, message: &str| {
            Err(RingError {
                field,
                message: message.to_owned(),
            })
        };
        if config.capacity_records == 0 {
            return err("capacity_records", "must be at least 1");
        }
        if config.capacity_bytes == 0 {
            return err("capacity_bytes", "must be at least 1");
        }
        let (lo, hi) = (config.low_watermark, config.high_watermark);
        if !(0.0..=1.0).contains(&hi) || hi <= 0.0 {
            return err("high_watermark", "must be in (0, 1]");
        }
        if !(0.0..1.0).contains(&lo) || lo >= hi {
            return err("low_watermark", "must be in [0, high_watermark)");
        }
        let cursors = (0..sinks)
            .map(|_| Cursor {
                next: Some(0),
                delivered: 0,
                dropped: 0,
            })
            .collect();
        Ok(Self {
            slots: VecDeque::with_capacity(config.capacity_records.min(1 << 16)),
            config,
            head: 0,
            bytes: 0,
            cursors,
            paused: false,
            counters: RingCounters::default(),
        })
    }

    pub fn config(&self) -> &RingConfig {
        &self.config
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes held (the sum of the sizes given to `push`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of cursors (attached or not).
    pub fn sinks(&self) -> usize {
        self.cursors.len()
    }

    /// Sequence number of the oldest record held.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// Sequence number the next pushed record will get.
    pub fn tail(&self) -> u64 {
        self.head + self.slots.len() as u64
    }

    /// The larger of the record and byte fill fractions, in `[0, 1]` (above 1 only for one
    /// oversized record).
    pub fn occupancy(&self) -> f64 {
        let r = self.slots.len() as f64 / self.config.capacity_records as f64;
        let b = self.bytes as f64 / self.config.capacity_bytes as f64;
        r.max(b)
    }

    /// True between crossing the high watermark and falling back to the low one: the reader
    /// should not pull more input.
    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn counters(&self) -> &RingCounters {
        &self.counters
    }

    fn fits(&self, bytes: usize) -> bool {
        self.slots.is_empty()
            || (self.slots.len() < self.config.capacity_records
                && self.bytes + bytes <= self.config.capacity_bytes)
    }

    /// Store one record whose size the caller estimates as `bytes`.
    pub fn push(&mut self, item: T, bytes: usize) -> Push<T> {
        let mut evicted = 0;
        if !self.fits(bytes) {
            match self.config.policy {
                FullPolicy::Backpressure => {
                    self.counters.refused += 1;
                    return Push::Full(item);
                }
                FullPolicy::DropNewest => {
                    self.counters.dropped_newest += 1;
                    return Push::DroppedNewest;
                }
                FullPolicy::DropOldest => {
                    while !self.fits(bytes) {
                        self.evict_front();
                        evicted += 1;
                    }
                }
            }
        }
        self.slots.push_back((item, bytes));
        self.bytes += bytes;
        self.counters.pushed += 1;
        self.counters.peak_records = self.counters.peak_records.max(self.slots.len());
        self.counters.peak_bytes = self.counters.peak_bytes.max(self.bytes);
        if !self.cursors.iter().any(|c| c.next.is_some()) {
            // Nobody will read it: free it now so a sink-less ring never fills.
            self.trim();
        }
        if !self.paused && self.occupancy() >= self.config.high_watermark {
            self.paused = true;
            self.counters.pauses += 1;
        }
        if evicted > 0 {
            Push::AcceptedDroppingOldest(evicted)
        } else {
            Push::Accepted
        }
    }

    /// Evict the oldest record; every cursor still before it loses it.
    fn evict_front(&mut self) {
        if let Some((_, b)) = self.slots.pop_front() {
            self.bytes -= b;
            let seq = self.head;
            self.head += 1;
            self.counters.dropped_oldest += 1;
            for c in &mut self.cursors {
                if let Some(next) = c.next.as_mut().filter(|n| **n <= seq) {
                    *next = seq + 1;
                    c.dropped += 1;
                }
            }
        }
    }

    fn check_sink(&self, sink: usize) -> Result<u64, RingError> {
        match self.cursors.get(sink) {
            Some(Cursor { next: Some(n), .. }) => Ok(*n),
            Some(_) => Err(RingError {
                field: "sink",
                message: format!("sink {sink} is detached"),
            }),
            None => Err(RingError {
                field: "sink",
                message: format!("no sink {sink}; the ring has {}", self.cursors.len()),
            }),
        }
    }

    /// Up to `max` records that `sink` has not passed yet, oldest first. Reading does not move the
    /// cursor: call [`Ring::advance`] once they are safely delivered (or spooled).
    ///
    /// A detached or unknown sink reads nothing.
    pub fn read(&self, sink: usize, max: usize) -> impl ExactSizeIterator<Item = &T> {
        let start = self
            .check_sink(sink)
            .map_or(self.slots.len(), |n| (n - self.head) as usize);
        let end = start.saturating_add(max).min(self.slots.len());
        self.slots.range(start..end).map(|(item, _)| item)
    }

    /// Records `sink` has not passed yet.
    pub fn lag(&self, sink: usize) -> u64 {
        self.check_sink(sink).map_or(0, |n| self.tail() - n)
    }

    /// The sequence number `sink` reads next (`None` once detached).
    pub fn cursor(&self, sink: usize) -> Option<u64> {
        self.cursors.get(sink).and_then(|c| c.next)
    }

    /// Records acknowledged by `sink` with `advance`, and records it lost to `drop_oldest`.
    pub fn sink_counters(&self, sink: usize) -> Option<(u64, u64)> {
        self.cursors.get(sink).map(|c| (c.delivered, c.dropped))
    }

    /// Move `sink` past its next `n` records (they are delivered or spooled) and free what no
    /// sink needs any more. Returns the records freed.
    pub fn advance(&mut self, sink: usize, n: usize) -> Result<usize, RingError> {
        let next = self.check_sink(sink)?;
        let lag = self.tail() - next;
        if n as u64 > lag {
            return Err(RingError {
                field: "n",
                message: format!("cannot advance sink {sink} by {n}: only {lag} unread"),
            });
        }
        let c = &mut self.cursors[sink];
        c.next = Some(next + n as u64);
        c.delivered += n as u64;
        Ok(self.trim())
    }

    /// Stop tracking `sink` (it failed for good, or was removed): it no longer holds slots.
    /// Returns how many records it had not read.
    pub fn detach(&mut self, sink: usize) -> Result<u64, RingError> {
        let lag = self.lag(sink);
        self.check_sink(sink)?;
        self.cursors[sink].next = None;
        self.trim();
        Ok(lag)
    }

    /// Free the front up to the smallest attached cursor and update the reader state.
    fn trim(&mut self) -> usize {
        let min = self
            .cursors
            .iter()
            .filter_map(|c| c.next)
            .min()
            .unwrap_or_else(|| self.tail());
        let mut freed = 0;
        while self.head < min {
            let Some((_, b)) = self.slots.pop_front() else {
                break;
            };
            self.bytes -= b;
            self.head += 1;
            freed += 1;
        }
        if self.paused && self.occupancy() <= self.config.low_watermark {
            self.paused = false;
            self.counters.resumes += 1;
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(cap: usize, policy: FullPolicy, sinks: usize) -> Ring<u32> {
        let config = RingConfig {
            capacity_records: cap,
            high_watermark: 0.75,
            low_watermark: 0.25,
            policy,
            ..RingConfig::default()
        };
        Ring::new(config, sinks).unwrap()
    }

    #[test]
    fn backpressure_returns_the_record() {
        let mut r = ring(2, FullPolicy::Backpressure, 1);
        assert_eq!(r.push(1, 1), Push::Accepted);
        assert_eq!(r.push(2, 1), Push::Accepted);
        assert_eq!(r.push(3, 1), Push::Full(3));
        assert_eq!(r.counters().refused, 1);
        r.advance(0, 1).unwrap();
        assert_eq!(r.push(3, 1), Push::Accepted);
        assert_eq!(r.read(0, 9).copied().collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn hysteresis() {
        let mut r = ring(4, FullPolicy::Backpressure, 1);
        for i in 0..3 {
            r.push(i, 1);
        }
        assert!(r.paused());
        r.advance(0, 1).unwrap(); // 2/4 = 0.5: still above low
        assert!(r.paused());
        r.advance(0, 1).unwrap(); // 1/4 = 0.25: resume
        assert!(!r.paused());
        r.push(9, 1); // 2/4: below high, stays flowing
        assert!(!r.paused());
        assert_eq!((r.counters().pauses, r.counters().resumes), (1, 1));
    }

    #[test]
    fn bytes_bound() {
        let config = RingConfig {
            capacity_bytes: 10,
            ..RingConfig::default()
        };
        let mut r: Ring<u32> = Ring::new(config, 1).unwrap();
        assert_eq!(r.push(1, 6), Push::Accepted);
        assert_eq!(r.push(2, 6), Push::Full(2));
        r.advance(0, 1).unwrap();
        assert_eq!(
            r.push(2, 60),
            Push::Accepted,
            "an empty ring takes one oversized record"
        );
        assert!(r.paused());
    }

    #[test]
    fn drop_oldest_counts_per_sink() {
        let mut r = ring(2, FullPolicy::DropOldest, 2);
        r.push(1, 1);
        r.push(2, 1);
        r.advance(0, 2).unwrap();
        assert_eq!(r.len(), 2, "sink 1 still holds both");
        assert_eq!(r.push(3, 1), Push::AcceptedDroppingOldest(1));
        assert_eq!(r.sink_counters(1), Some((0, 1)));
        assert_eq!(r.sink_counters(0), Some((2, 0)));
        assert_eq!(r.read(1, 9).copied().collect::<Vec<_>>(), [2, 3]);
        assert_eq!(r.read(0, 9).copied().collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn drop_newest_counts() {
        let mut r = ring(1, FullPolicy::DropNewest, 1);
        r.push(1, 1);
        assert_eq!(r.push(2, 1), Push::DroppedNewest);
        assert_eq!(r.counters().dropped_newest, 1);
    }

    #[test]
    fn detach_frees() {
        let mut r = ring(4, FullPolicy::Backpressure, 2);
        r.push(1, 1);
        r.advance(0, 1).unwrap();
        assert_eq!(r.detach(1), Ok(1));
        assert!(r.is_empty());
        assert_eq!(r.read(1, 5).len(), 0);
        assert!(r.advance(1, 0).is_err());
    }

    #[test]
    fn over_advance_is_refused() {
        let mut r = ring(4, FullPolicy::Backpressure, 1);
        r.push(1, 1);
        assert_eq!(r.advance(0, 2).unwrap_err().field, "n");
        assert_eq!(r.advance(3, 0).unwrap_err().field, "sink");
    }

    #[test]
    fn bad_watermarks() {
        let c = RingConfig {
            high_watermark: 0.5,
            low_watermark: 0.5,
            ..RingConfig::default()
        };
        assert_eq!(Ring::<u8>::new(c, 1).err().unwrap().field, "low_watermark");
    }
}
