//! Coalescing: interim results of one utterance, waiting for their final.
//!
//! Each conversation owns a [`PendingSet`]: the utterances that have had interim results but no
//! final yet. The engine feeds it interim results ([`PendingSet::partial`]) and takes an entry out
//! when the final arrives ([`PendingSet::take`]), when the speaker is interrupted
//! ([`PendingSet::reset_channel`]), when it has waited too long ([`PendingSet::expire`]) or when the
//! conversation ends ([`PendingSet::drain`]). Whether a final was already delivered (a repeated
//! utterance id) is the engine's global de-duplication set, not this module's concern.
//!
//! ```
//! use gcstream_core::coalesce::{CoalesceMode, PendingSet, Piece};
//! let mut set = PendingSet::default();
//! let piece = |text: &'static str| Piece { communication_id: None, utterance_id: "u1", implicit: false, channel: "agent", text, confidence: 0.5, start_ms: 0, end_ms: 10, received_at_ms: 0 };
//! set.partial(CoalesceMode::Concat, &piece("hello "), Vec::new());
//! let p = set.partial(CoalesceMode::Concat, &piece("wor"), Vec::new());
//! assert_eq!(p.text, "hello wor");
//! let done = set.take(None, "u1", false, "agent").unwrap();
//! assert_eq!(done.text, "hello wor");
//! ```
//!
//! # Theory of operation
//!
//! An utterance is in one of three states:
//!
//! - **absent**: nothing known (or its final was delivered: the engine's seen-set says which);
//! - **pending**: interim text received; `Replace` mode keeps the latest text (Genesys and seeds
//!   000–002 resend the whole hypothesis), `Concat` mode appends each piece (seed 003 fragments);
//! - **closed**: left the set through exactly one exit: *final* (merged into the `Utterance`),
//!   *interrupted* (reset by an interruption on its channel), *expired* (no input for the partial
//!   timeout, or the conversation ended or the stream finished). Every exit but *final* becomes a
//!   `Partial` record with that state, so nothing disappears silently.
//!
//! Keys: an utterance with a source id is keyed by (communication, utterance id). Sources without
//! ids (seeds 000, 001) have at most one open utterance per (communication, channel): its id is the
//! source key of its first interim result, and the final that closes it inherits that id.

use crate::decode::{TranscriptEvent, WordEvent};
use crate::record::Partial;

/// How interim results of one utterance combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoalesceMode {
    /// Each interim result replaces the previous one (it carries the whole hypothesis so far).
    Replace,
    /// Each piece is appended to the text so far (seed 003 fragments).
    Concat,
}

impl CoalesceMode {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replace => "replace",
            Self::Concat => "concat",
        }
    }
}

impl std::str::FromStr for CoalesceMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "replace" => Ok(Self::Replace),
            "concat" | "fragments" => Ok(Self::Concat),
            _ => Err(format!(
                "unknown coalesce mode {s:?}; expected one of: replace, concat"
            )),
        }
    }
}

/// One interim or final result, as the engine sees it after quality checks.
#[derive(Clone, Copy, Debug)]
pub struct Piece<'a> {
    pub communication_id: Option<&'a str>,
    pub utterance_id: &'a str,
    pub implicit: bool,
    pub channel: &'a str,
    pub text: &'a str,
    pub confidence: f64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub received_at_ms: i64,
}

/// An utterance that has interim text but no final yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub communication_id: Option<String>,
    /// The id shown on records: the source's, or (implicit ids) the first interim result's key.
    pub utterance_id: String,
    pub implicit: bool,
    pub channel: String,
    pub text: String,
    /// Words of the pieces so far (`Concat` mode only).
    pub words: Vec<WordEvent>,
    /// The latest (`Replace`) or the highest (`Concat`, as seed 003 does) confidence.
    pub confidence: f64,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Flags raised on any piece so far.
    pub flags: Vec<String>,
    pub last_received_ms: i64,
}

impl Pending {
    /// This pending utterance as a `Partial` record in the given state.
    pub fn to_partial(&self, conversation_id: &str, state: &str, received_at_ms: i64) -> Partial {
        let copies = TranscriptEvent {
            conversation_id: conversation_id.to_owned(),
            communication_id: self.communication_id.clone(),
            utterance_id: self.utterance_id.clone(),
            channel: self.channel.clone(),
            text: self.text.clone(),
            ..TranscriptEvent::default()
        };
        self.to_partial_taking(copies, state, received_at_ms)
    }

    /// This pending utterance as a `Partial` record, for the transcript just coalesced into it
    /// (`Replace` mode): the transcript's strings, which the caller no longer needs, become the
    /// record's wherever they are this utterance's too (all of them, unless it was matched by
    /// channel), so the record is built without copying them.
    pub fn to_partial_taking(
        &self,
        t: TranscriptEvent,
        state: &str,
        received_at_ms: i64,
    ) -> Partial {
        fn reuse(mine: String, ours: &str) -> String {
            if mine == ours { mine } else { ours.to_owned() }
        }
        Partial {
            conversation_id: t.conversation_id,
            communication_id: match (t.communication_id, &self.communication_id) {
                (Some(mine), Some(ours)) => Some(reuse(mine, ours)),
                (_, ours) => ours.clone(),
            },
            utterance_id: reuse(t.utterance_id, &self.utterance_id),
            channel: reuse(t.channel, &self.channel),
            text: reuse(t.text, &self.text),
            confidence: self.confidence,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            received_at_ms,
            flags: self.flags.clone(),
            state: state.to_owned(),
        }
    }

    fn matches(
        &self,
        communication_id: Option<&str>,
        utterance_id: &str,
        implicit: bool,
        channel: &str,
    ) -> bool {
        self.implicit == implicit
            && self.communication_id.as_deref() == communication_id
            && if implicit {
                self.channel == channel
            } else {
                self.utterance_id == utterance_id
            }
    }
}

/// The pending utterances of one conversation. Small (one or two per channel), so a vector.
#[derive(Clone, Debug, Default)]
pub struct PendingSet {
    items: Vec<Pending>,
}

impl PendingSet {
    /// How many utterances are pending.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn position(
        &self,
        communication_id: Option<&str>,
        utterance_id: &str,
        implicit: bool,
        channel: &str,
    ) -> Option<usize> {
        self.items
            .iter()
            .position(|p| p.matches(communication_id, utterance_id, implicit, channel))
    }

    /// Record an interim result; returns the pending state it produced (to emit as a `Partial`).
    pub fn partial(
        &mut self,
        mode: CoalesceMode,
        piece: &Piece<'_>,
        flags: Vec<String>,
    ) -> &Pending {
        let Some(i) = self.position(
            piece.communication_id,
            piece.utterance_id,
            piece.implicit,
            piece.channel,
        ) else {
            self.items.push(Pending {
                communication_id: piece.communication_id.map(str::to_owned),
                utterance_id: piece.utterance_id.to_owned(),
                implicit: piece.implicit,
                channel: piece.channel.to_owned(),
                text: piece.text.to_owned(),
                words: Vec::new(),
                confidence: piece.confidence,
                start_ms: piece.start_ms,
                end_ms: piece.end_ms,
                flags,
                last_received_ms: piece.received_at_ms,
            });
            return &self.items[self.items.len() - 1];
        };
        let p = &mut self.items[i];
        match mode {
            CoalesceMode::Replace => {
                piece.text.clone_into(&mut p.text);
                p.confidence = piece.confidence;
                p.start_ms = piece.start_ms;
                p.end_ms = piece.end_ms;
                p.flags = flags;
            }
            CoalesceMode::Concat => {
                p.text.push_str(piece.text);
                p.confidence = p.confidence.max(piece.confidence);
                p.start_ms = p.start_ms.min(piece.start_ms);
                p.end_ms = p.end_ms.max(piece.end_ms);
                merge_flags(&mut p.flags, flags);
            }
        }
        p.last_received_ms = piece.received_at_ms;
        &self.items[i]
    }

    /// Append words to a pending utterance (`Concat` mode keeps the pieces' words for the final).
    pub fn add_words(
        &mut self,
        communication_id: Option<&str>,
        utterance_id: &str,
        words: &[WordEvent],
    ) {
        if let Some(i) = self.position(communication_id, utterance_id, false, "") {
            self.items[i].words.extend_from_slice(words);
        }
    }

    /// Take the pending utterance a final closes, if any.
    pub fn take(
        &mut self,
        communication_id: Option<&str>,
        utterance_id: &str,
        implicit: bool,
        channel: &str,
    ) -> Option<Pending> {
        self.position(communication_id, utterance_id, implicit, channel)
            .map(|i| self.items.remove(i))
    }

    /// Take every pending utterance of one channel (the speaker was interrupted).
    pub fn reset_channel(&mut self, channel: &str) -> Vec<Pending> {
        self.extract(|p| p.channel == channel)
    }

    /// Take every pending utterance that has had no input for `timeout_ms` at `now_ms`.
    pub fn expire(&mut self, now_ms: i64, timeout_ms: i64) -> Vec<Pending> {
        self.extract(|p| now_ms - p.last_received_ms >= timeout_ms)
    }

    /// The earliest time at which [`PendingSet::expire`] would take something.
    pub fn next_expiry(&self, timeout_ms: i64) -> Option<i64> {
        self.items
            .iter()
            .map(|p| p.last_received_ms + timeout_ms)
            .min()
    }

    /// Take everything.
    pub fn drain(&mut self) -> Vec<Pending> {
        std::mem::take(&mut self.items)
    }

    fn extract(&mut self, pred: impl Fn(&Pending) -> bool) -> Vec<Pending> {
        if !self.items.iter().any(&pred) {
            return Vec::new();
        }
        let (taken, kept) = std::mem::take(&mut self.items).into_iter().partition(pred);
        self.items = kept;
        taken
    }
}

/// Add flags not already present, keeping their order.
pub fn merge_flags(into: &mut Vec<String>, more: Vec<String>) {
    for f in more {
        if !into.contains(&f) {
            into.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece<'a>(
        id: &'a str,
        channel: &'a str,
        text: &'a str,
        implicit: bool,
        at: i64,
    ) -> Piece<'a> {
        Piece {
            communication_id: None,
            utterance_id: id,
            implicit,
            channel,
            text,
            confidence: 0.4,
            start_ms: at,
            end_ms: at + 10,
            received_at_ms: at,
        }
    }

    #[test]
    fn replace_keeps_latest_and_implicit_slot_keeps_first_id() {
        let mut set = PendingSet::default();
        set.partial(
            CoalesceMode::Replace,
            &piece("t1", "A", "hel", true, 0),
            Vec::new(),
        );
        let p = set.partial(
            CoalesceMode::Replace,
            &piece("t2", "A", "hello", true, 5),
            Vec::new(),
        );
        assert_eq!((p.utterance_id.as_str(), p.text.as_str()), ("t1", "hello"));
        assert_eq!(set.len(), 1);
        let done = set.take(None, "t3", true, "A").unwrap();
        assert_eq!(done.utterance_id, "t1");
        assert!(set.is_empty());
    }

    #[test]
    fn a_partial_taking_the_transcript_strings_is_the_partial_copying_them() {
        // The same id, an id the slot does not keep (implicit ids), another channel, another
        // communication: the record is the pending utterance's either way.
        for (id, channel, communication, implicit) in [
            ("u1", "A", Some("m1"), false),
            ("t2", "A", Some("m1"), true),
            ("u1", "B", Some("m1"), false),
            ("u1", "A", None, false),
        ] {
            let mut set = PendingSet::default();
            let mut first = piece(if implicit { "t1" } else { "u1" }, "A", "hel", implicit, 0);
            first.communication_id = Some("m1");
            set.partial(CoalesceMode::Replace, &first, vec!["late".to_owned()]);
            let mut next = piece(id, channel, "hello", implicit, 5);
            next.communication_id = communication;
            let p = set.partial(CoalesceMode::Replace, &next, Vec::new());
            let t = TranscriptEvent {
                conversation_id: "c".to_owned(),
                communication_id: communication.map(str::to_owned),
                utterance_id: id.to_owned(),
                channel: channel.to_owned(),
                text: "hello".to_owned(),
                ..TranscriptEvent::default()
            };
            assert_eq!(
                p.to_partial_taking(t, "interim", 9),
                p.to_partial("c", "interim", 9),
                "{id} {channel} {communication:?}"
            );
        }
    }

    #[test]
    fn expire_and_reset_take_only_their_own() {
        let mut set = PendingSet::default();
        set.partial(
            CoalesceMode::Replace,
            &piece("u1", "A", "a", false, 0),
            Vec::new(),
        );
        set.partial(
            CoalesceMode::Replace,
            &piece("u2", "B", "b", false, 100),
            Vec::new(),
        );
        assert_eq!(set.next_expiry(50), Some(50));
        assert_eq!(set.expire(60, 50).len(), 1);
        assert_eq!(set.reset_channel("A").len(), 0);
        assert_eq!(set.reset_channel("B").len(), 1);
        assert!(set.is_empty());
    }
}
