//! Per-conversation state: status, participants, metadata, counters, and the coalescing, ordering
//! and sequence state that belongs to the conversation (so ending or evicting it frees all of it).
//!
//! ```
//! use gcstream_core::conversation::{is_end_status, Conversations};
//! let mut table = Conversations::default();
//! let (state, created, evicted) = table.touch("c1", 1_000, 10);
//! state.count_utterance("EXTERNAL", 3, 0, 500);
//! assert!(created && evicted.is_none());
//! let summary = table.remove("c1").unwrap().summary("c1", "ended", 2_000);
//! assert_eq!((summary.utterances, summary.words), (1, 3));
//! assert!(is_end_status("SESSION_ENDED") && is_end_status("terminated"));
//! ```
//!
//! Memory is bounded two ways: at most `max_conversations` are tracked (the least recently active
//! is evicted to make room), and a conversation with no input for the idle time is evicted on
//! `tick`. Both evictions are announced with a `ConversationUpdate(kind="evicted")`.

use std::collections::HashMap;

use crate::coalesce::PendingSet;
use crate::record::{ConversationUpdate, Participant};
use crate::reorder::Lanes;
use crate::sequence::SeqTracker;

/// True for a status that means the conversation is over: `SESSION_ENDED` on the real topic, and
/// the words seed 004's `statusChange` uses (`ended`, `terminated`, `disconnected`, …).
pub fn is_end_status(status: &str) -> bool {
    [
        "SESSION_ENDED",
        "ENDED",
        "TERMINATED",
        "DISCONNECTED",
        "CLOSED",
        "COMPLETED",
    ]
    .iter()
    .any(|s| s.eq_ignore_ascii_case(status))
}

/// Everything the engine knows about one conversation.
#[derive(Debug, Default)]
pub struct ConversationState {
    pub status: Option<String>,
    pub communication_id: Option<String>,
    pub participants: Vec<Participant>,
    /// Sorted by key.
    pub metadata: Vec<(String, String)>,
    /// (channel, utterances, words) in order of first appearance.
    pub channels: Vec<(String, u64, u64)>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Receive time of the latest input (for idle eviction).
    pub last_seen_ms: i64,
    pub pending: PendingSet,
    pub lanes: Lanes,
    pub sequence: SeqTracker,
}

impl ConversationState {
    /// Count one final utterance.
    pub fn count_utterance(&mut self, channel: &str, words: u64, start_ms: i64, end_ms: i64) {
        match self.channels.iter_mut().find(|c| c.0 == channel) {
            Some(c) => {
                c.1 += 1;
                c.2 += words;
            }
            None => self.channels.push((channel.to_owned(), 1, words)),
        }
        self.first_ms = Some(self.first_ms.map_or(start_ms, |f| f.min(start_ms)));
        self.last_ms = Some(self.last_ms.map_or(end_ms, |l| l.max(end_ms)));
    }

    /// Merge metadata entries (a key seen again takes the new value).
    pub fn merge_metadata(&mut self, entries: Vec<(String, String)>) {
        for (k, v) in entries {
            match self
                .metadata
                .binary_search_by(|(key, _)| key.as_str().cmp(&k))
            {
                Ok(i) => self.metadata[i].1 = v,
                Err(i) => self.metadata.insert(i, (k, v)),
            }
        }
    }

    /// A `ConversationUpdate` carrying the whole state (for `ended`, `evicted`, `metadata`, …).
    pub fn summary(&self, id: &str, kind: &str, at_ms: i64) -> ConversationUpdate {
        ConversationUpdate {
            conversation_id: id.to_owned(),
            kind: kind.to_owned(),
            status: self.status.clone(),
            communication_id: self.communication_id.clone(),
            topic: None,
            at_ms,
            participants: self.participants.clone(),
            utterances: self.channels.iter().map(|c| c.1).sum(),
            words: self.channels.iter().map(|c| c.2).sum(),
            first_ms: self.first_ms,
            last_ms: self.last_ms,
            metadata: self.metadata.clone(),
            utterances_by_channel: self.channels.iter().map(|c| (c.0.clone(), c.1)).collect(),
            words_by_channel: self.channels.iter().map(|c| (c.0.clone(), c.2)).collect(),
            reason: None,
        }
    }
}

/// A bare update about a conversation (no counters).
pub fn update(id: &str, kind: &str, at_ms: i64) -> ConversationUpdate {
    ConversationUpdate {
        conversation_id: id.to_owned(),
        kind: kind.to_owned(),
        status: None,
        communication_id: None,
        topic: None,
        at_ms,
        participants: Vec::new(),
        utterances: 0,
        words: 0,
        first_ms: None,
        last_ms: None,
        metadata: Vec::new(),
        utterances_by_channel: Vec::new(),
        words_by_channel: Vec::new(),
        reason: None,
    }
}

/// The table of tracked conversations.
#[derive(Debug, Default)]
pub struct Conversations {
    /// Looked up several times per frame: a fast hash, seeded per process.
    map: HashMap<String, ConversationState, foldhash::fast::RandomState>,
}

impl Conversations {
    /// How many conversations are tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when none is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The state of a conversation, created on first sight (second value `true`). When the table
    /// is full, the least recently active conversation is removed to make room and returned.
    pub fn touch(
        &mut self,
        id: &str,
        now_ms: i64,
        max: usize,
    ) -> (
        &mut ConversationState,
        bool,
        Option<(String, ConversationState)>,
    ) {
        let mut evicted = None;
        let created = !self.map.contains_key(id);
        if created {
            if self.map.len() >= max {
                // O(n), but only when the table is full; ties broken by id for determinism.
                let oldest = self
                    .map
                    .iter()
                    .min_by(|a, b| (a.1.last_seen_ms, a.0).cmp(&(b.1.last_seen_ms, b.0)))
                    .map(|(k, _)| k.clone());
                evicted = oldest.and_then(|k| self.map.remove_entry(&k));
            }
            self.map.insert(id.to_owned(), ConversationState::default());
        }
        let state = self.map.get_mut(id).expect("present or inserted above");
        state.last_seen_ms = state.last_seen_ms.max(now_ms);
        (state, created, evicted)
    }

    /// Mark a tracked conversation active at `now_ms` (as [`Conversations::touch`] does); false
    /// when it is not tracked. One lookup, for the common case of a conversation already known.
    pub fn refresh(&mut self, id: &str, now_ms: i64) -> bool {
        let Some(state) = self.map.get_mut(id) else {
            return false;
        };
        state.last_seen_ms = state.last_seen_ms.max(now_ms);
        true
    }

    /// The state of a tracked conversation.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut ConversationState> {
        self.map.get_mut(id)
    }

    /// Stop tracking a conversation.
    pub fn remove(&mut self, id: &str) -> Option<ConversationState> {
        self.map.remove(id)
    }

    /// Ids of conversations matching `pred`, sorted (so output order never depends on hashing).
    pub fn ids_where(&self, pred: impl Fn(&ConversationState) -> bool) -> Vec<String> {
        let mut ids: Vec<String> = self
            .map
            .iter()
            .filter(|(_, c)| pred(c))
            .map(|(k, _)| k.clone())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Every tracked conversation.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut ConversationState)> {
        self.map.iter_mut()
    }
}
