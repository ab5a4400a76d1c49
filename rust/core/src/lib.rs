//! The sans-I/O core of gcstream.
//!
//! Everything in this crate is a pure function of the bytes and calls it is given: no sockets, no
//! clocks (time is passed in as epoch milliseconds), no threads and no Python. The asyncio layer in
//! `python/gcstream` owns I/O; the binding crate `gcstream-py` only converts arguments.
//!
//! ```
//! use gcstream_core::engine::{Engine, EngineConfig};
//! use gcstream_core::record::Record;
//!
//! let mut engine = Engine::new(EngineConfig::default()).unwrap();
//! let frame = br#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;
//! let records = engine.feed(frame, 1_700_000_000_000);
//! assert!(matches!(&records[0], Record::Control(c) if c.kind == "heartbeat"));
//! ```

pub mod coalesce;
pub mod conversation;
pub mod decode;
pub mod encode;
pub mod engine;
pub mod framing;
pub mod metrics;
pub mod privacy;
pub mod quality;
pub mod record;
pub mod redact;
pub mod reorder;
pub mod ring;
pub mod sample;
pub mod sequence;
pub mod timefmt;

/// Helpers shared by the unit tests of several modules.
#[cfg(test)]
pub(crate) mod testing {
    /// xorshift64 from `seed`: the same sequence on every run, so a randomised test is repeatable.
    pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }
}
