//! Applying redaction to records before they leave the engine.
//!
//! The redactor ([`crate::redact`]) finds PII in one text. This module applies it to every text
//! field of a record — `text`, `decorated_text`, `words[].word`, `decorated_words[].word` — and
//! handles PII that is split across consecutive utterances of one conversation channel ("four one
//! one one" … "one one one one …"), which is how callers really read card numbers out.
//!
//! ```
//! use gcstream_core::privacy::{Privacy, PrivacyConfig};
//! let p = Privacy::new(PrivacyConfig::default()).unwrap();
//! assert_eq!(p.text("my card is 4111 1111 1111 1111"), "my card is [CREDIT_CARD]");
//! ```
//!
//! # Theory of operation: the hold window
//!
//! Each (conversation, channel) is a *lane* with two parts:
//!
//! - **released tail**: about the last [`TAIL_BYTES`] bytes already emitted on the lane. It is context
//!   only, used when it ends in something open or when the new utterance starts as a
//!   continuation ("at gmail dot com"): PII that starts there is found and removed from the *new*
//!   utterance, but what was emitted cannot be recalled.
//! - **held**: up to [`MAX_HELD`] final utterances not yet emitted.
//!
//! When a final utterance arrives, the lane scans `released tail + held + new` as one text, and
//! every finding is applied to each segment it touches. Then:
//!
//! - if the new utterance *ends* in something that may be the start of PII (a run of digits or
//!   number words, spelled letters, "at", "dot", "plus"), it joins `held`, to be completed by the
//!   next utterance of the lane;
//! - otherwise the held utterances and the new one are released, in order.
//!
//! On release, the four fields are made to agree through word timings: a token spoken while
//! PII is spoken in the other word list is PII too (the raw and decorated lists tokenise digits
//! differently, so a value one field's rules catch could otherwise survive in the other).
//!
//! Person names (when `person_name` is enabled) are held the same way: a final that ends in a
//! name cue ("my name is", "last name is", "that is", or "it is john smith", which a spelling may
//! confirm next) waits for the next one, so "yeah it is john smith" | "that is" | "smith s m i t h"
//! is redacted in all three. And since the other party usually asks for the name, an utterance
//! that asks ("can i have your first and last name") marks the conversation: the next
//! utterances of the *other* channels that start within [`ANSWER_WINDOW_MS`] of its end are
//! scanned as answers, where "it is X Y" gives a name (see [`Redactor::scan_answering`]); held
//! utterances of those channels are rescanned when the request arrives after the answer.
//!
//! Held utterances are also released on `tick` once the first of them has waited `hold_ms`, when
//! `MAX_HELD` is reached, when the conversation ends or is evicted, and on `flush`. So an entity
//! split over up to `MAX_HELD + 1` utterances that arrive within `hold_ms` of each other is
//! redacted in all of them; most utterances end in ordinary words and are never held.
//!
//! Partial (interim) text is never held: it is redacted on its own, and what it ends in that
//! may be the start of PII still being spoken — a run of digit tokens of three tokens or four
//! digits ("4111 1111", "078-05-"), an address ("john.smith@gmail", "john dot smith at gmail"),
//! a name cue — is masked as [`PENDING_TAG`] until the next interim result or the final shows
//! more. A caption may be over-masked for a moment; it never shows the start of a value.

use std::collections::{BTreeMap, HashMap};

/// Lanes and requests are looked up for every utterance: a fast hash, seeded per process.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use crate::engine::ConfigError;
use crate::record::{Partial, PiiFinding, Utterance, Word};
use crate::redact::{self, CustomPattern, Finding, PiiKind, Redactor, RedactorConfig};

/// Words of already-emitted word lists kept per lane as context for the next utterance.
pub const TAIL_WORDS: usize = 40;
/// Bytes of already-emitted text kept per lane as context (about 40 spoken words: a spoken card
/// number is 16 or more words).
pub const TAIL_BYTES: usize = 320;
/// Most utterances held at once per lane.
pub const MAX_HELD: usize = 6;
/// Replaces the end of interim text that may be PII still being spoken (a number, an email
/// address, a name).
pub const PENDING_TAG: &str = "[PENDING]";
/// An utterance of another channel that starts between this long before and
/// [`ANSWER_WINDOW_MS`] after the end of a request for a name may be the answer.
pub const ANSWER_LEAD_MS: i64 = 5_000;
/// See [`ANSWER_LEAD_MS`].
pub const ANSWER_WINDOW_MS: i64 = 20_000;
/// Utterances per conversation taken as answers to one request for a name.
pub const MAX_ANSWERS: u8 = 2;

/// Redaction options.
#[derive(Clone, Debug)]
pub struct PrivacyConfig {
    /// Turn redaction off entirely (tests of raw decoding only; never the default).
    pub enabled: bool,
    /// Built-in kinds to detect: `ssn`, `phone`, `email`, `credit_card`, `person_name`
    /// (default: the first four).
    pub kinds: Vec<String>,
    /// Replacement tag per kind name, overriding `[SSN]`, `[PHONE]`, `[EMAIL]`, `[CREDIT_CARD]`,
    /// `[PERSON_NAME]`.
    pub tags: Vec<(String, String)>,
    /// Custom patterns: (name, regex, tag).
    pub custom: Vec<(String, String, Option<String>)>,
    /// Detect spoken forms ("four one one one", "john dot smith at gmail dot com").
    pub spoken: bool,
    /// How long a final utterance that ends in a possible PII prefix may be held, waiting for the
    /// next utterance of the same conversation channel. 0 disables holding.
    pub hold_ms: i64,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            kinds: ["ssn", "phone", "email", "credit_card"]
                .map(String::from)
                .to_vec(),
            tags: Vec::new(),
            custom: Vec::new(),
            spoken: true,
            hold_ms: 10_000,
        }
    }
}

/// Build the redactor for a privacy configuration, with errors naming the setting.
pub fn build_redactor(config: &PrivacyConfig) -> Result<Redactor, ConfigError> {
    let mut kinds = Vec::new();
    for name in &config.kinds {
        let kind = PiiKind::BUILTIN
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| ConfigError {
                field: "pii_kinds".into(),
                message: format!(
                    "unknown PII kind {name:?}; expected some of: ssn, phone, email, credit_card, \
                     person_name"
                ),
            })?;
        kinds.push(kind);
    }
    let redactor_config = RedactorConfig {
        kinds,
        tags: config.tags.iter().cloned().collect::<HashMap<_, _>>(),
        custom: config
            .custom
            .iter()
            .map(|(name, pattern, tag)| CustomPattern {
                name: name.clone(),
                pattern: pattern.clone(),
                tag: tag.clone(),
            })
            .collect(),
        spoken: config.spoken,
    };
    Redactor::new(redactor_config).map_err(|e| ConfigError {
        field: format!("pii.{}", e.field),
        message: e.message,
    })
}

/// Findings gathered for one held utterance, per field.
#[derive(Debug, Default)]
struct Marks {
    text: Vec<Finding>,
    decorated: Vec<Finding>,
    words: Vec<Option<PiiKind>>,
    decorated_words: Vec<Option<PiiKind>>,
}

#[derive(Debug)]
struct Held {
    utterance: Utterance,
    marks: Marks,
    /// May answer a request for a name made on another channel.
    answer: bool,
}

/// The last request for a name in a conversation.
#[derive(Debug)]
struct NameRequest {
    channel: String,
    end_ms: i64,
    /// Answers still to take.
    left: u8,
}

impl NameRequest {
    /// Is `u` (of another channel, in time) an answer? Takes one of the answers left.
    fn take(&mut self, u: &Utterance) -> bool {
        let ok = self.left > 0
            && u.channel != self.channel
            && u.start_ms >= self.end_ms.saturating_sub(ANSWER_LEAD_MS)
            && u.start_ms <= self.end_ms.saturating_add(ANSWER_WINDOW_MS);
        if ok {
            self.left -= 1;
        }
        ok
    }
}

#[derive(Debug, Default)]
struct Lane {
    tail: String,
    decorated_tail: String,
    tail_words: Vec<String>,
    decorated_tail_words: Vec<String>,
    held: Vec<Held>,
    deadline_ms: i64,
}

/// Redaction state of an engine.
#[derive(Debug)]
pub struct Privacy {
    config: PrivacyConfig,
    redactor: Option<Redactor>,
    /// Lanes by conversation, then by channel: a final finds its lane without building a key,
    /// and a conversation's end finds its lanes without a walk over every lane.
    lanes: FastMap<String, FastMap<String, Lane>>,
    counts: BTreeMap<String, u64>,
    /// Per conversation, its last request for a name (only with `person_name`).
    name_requests: FastMap<String, NameRequest>,
}

impl Privacy {
    /// Validate the configuration (custom patterns, kind names, tags).
    pub fn new(config: PrivacyConfig) -> Result<Self, ConfigError> {
        if config.hold_ms < 0 {
            return Err(ConfigError {
                field: "pii_hold_ms".into(),
                message: "must be 0 or more".into(),
            });
        }
        let redactor = if config.enabled {
            Some(build_redactor(&config)?)
        } else {
            None
        };
        Ok(Self {
            config,
            redactor,
            lanes: FastMap::default(),
            counts: BTreeMap::new(),
            name_requests: FastMap::default(),
        })
    }

    /// The options in force.
    pub fn config(&self) -> &PrivacyConfig {
        &self.config
    }

    /// Redact a final utterance; returns the utterances ready to emit, in order per lane.
    pub fn utterance(&mut self, u: Utterance, now_ms: i64) -> Vec<Utterance> {
        let Some(redactor) = self.redactor.as_ref() else {
            return vec![u];
        };
        let names = redactor.detects(PiiKind::PersonName);
        let asks =
            names && (redactor.asks_for_name(&u.text) || redactor.asks_for_name(&u.decorated_text));
        let answer = names
            && self
                .name_requests
                .get_mut(&u.conversation_id)
                .is_some_and(|r| r.take(&u));
        let request = asks.then(|| {
            (
                u.conversation_id.clone(),
                NameRequest {
                    channel: u.channel.clone(),
                    end_ms: u.end_ms,
                    left: MAX_ANSWERS,
                },
            )
        });
        if !self.lanes.contains_key(&u.conversation_id) {
            self.lanes
                .insert(u.conversation_id.clone(), FastMap::default());
        }
        let channels = self
            .lanes
            .get_mut(&u.conversation_id)
            .expect("inserted above");
        if !channels.contains_key(&u.channel) {
            channels.insert(u.channel.clone(), Lane::default());
        }
        let lane = channels.get_mut(&u.channel).expect("inserted above");
        let risky = self.config.hold_ms > 0
            && (ends_risky(&u.text)
                || ends_risky(&u.decorated_text)
                || (names && name_open_in_lane(redactor, lane, &u)));
        lane.held.push(Held {
            utterance: u,
            marks: Marks::default(),
            answer,
        });
        scan_lane(redactor, lane);
        let mut out = Vec::new();
        if risky && lane.held.len() < MAX_HELD {
            if lane.held.len() == 1 {
                lane.deadline_ms = now_ms.saturating_add(self.config.hold_ms);
            }
        } else {
            release(redactor, lane, &mut self.counts, &mut out);
        }
        if let Some((conversation, mut request)) = request {
            // An answer may have arrived first: it is still held (it ends in a cue or in the
            // name words after one), so scan it again as an answer.
            let mut others: Vec<(&String, &mut Lane)> = self
                .lanes
                .get_mut(&conversation)
                .into_iter()
                .flat_map(|channels| channels.iter_mut())
                .filter(|(channel, l)| **channel != request.channel && !l.held.is_empty())
                .collect();
            others.sort_by(|a, b| a.0.cmp(b.0));
            for (_, lane) in others {
                let mut changed = false;
                for h in &mut lane.held {
                    if !h.answer && request.take(&h.utterance) {
                        h.answer = true;
                        changed = true;
                    }
                }
                if changed {
                    scan_lane(redactor, lane);
                }
            }
            self.name_requests.insert(conversation, request);
        }
        out
    }

    /// Release held utterances whose hold has expired.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Utterance> {
        let mut out = Vec::new();
        let Some(redactor) = self.redactor.as_ref() else {
            return out;
        };
        let mut due: Vec<(&String, &String, &mut Lane)> = self
            .lanes
            .iter_mut()
            .flat_map(|(c, channels)| channels.iter_mut().map(move |(ch, l)| (c, ch, l)))
            .filter(|(_, _, l)| !l.held.is_empty() && l.deadline_ms <= now_ms)
            .collect();
        due.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, lane) in due {
            release(redactor, lane, &mut self.counts, &mut out);
        }
        out
    }

    /// Release everything held and forget all lanes.
    pub fn flush(&mut self) -> Vec<Utterance> {
        let mut out = Vec::new();
        let Some(redactor) = self.redactor.as_ref() else {
            return out;
        };
        let mut conversations: Vec<(String, FastMap<String, Lane>)> = self.lanes.drain().collect();
        conversations.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, channels) in conversations {
            release_lanes(redactor, channels, &mut self.counts, &mut out);
        }
        self.name_requests.clear();
        out
    }

    /// Release everything held for one conversation (it ended or was evicted) and forget its lanes.
    pub fn end_conversation(&mut self, conversation_id: &str) -> Vec<Utterance> {
        let mut out = Vec::new();
        let Some(redactor) = self.redactor.as_ref() else {
            return out;
        };
        if let Some(channels) = self.lanes.remove(conversation_id) {
            release_lanes(redactor, channels, &mut self.counts, &mut out);
        }
        self.name_requests.remove(conversation_id);
        out
    }

    /// Redact interim text in place; a number, an email address or a name still being spoken
    /// at its end is masked as [`PENDING_TAG`].
    pub fn partial(&mut self, p: &mut Partial) {
        let Some(redactor) = self.redactor.as_ref() else {
            return;
        };
        // An interim answer to a request for a name is scanned as one (without taking one of
        // the answers: the final will).
        let answering = redactor.detects(PiiKind::PersonName)
            && self.name_requests.get(&p.conversation_id).is_some_and(|r| {
                r.left > 0
                    && p.channel != r.channel
                    && p.start_ms >= r.end_ms.saturating_sub(ANSWER_LEAD_MS)
                    && p.start_ms <= r.end_ms.saturating_add(ANSWER_WINDOW_MS)
            });
        let answers: &[usize] = if answering { &[0] } else { &[] };
        let found = redactor.scan_answering(&p.text, answers);
        // Findings are sorted and disjoint: the text after the last one comes through as it was.
        let mut floor = 0;
        if let Some(last) = found.last() {
            let unchanged = p.text.len() - last.end;
            p.text = redactor.replace(&p.text, &found);
            floor = p.text.len() - unchanged;
        }
        let name_at = redactor.name_pending(&p.text);
        mask_pending_tail(&mut p.text, floor, name_at);
    }

    /// Redact free text (rejected samples, error messages).
    pub fn text(&self, text: &str) -> String {
        match &self.redactor {
            Some(r) => r.redact(text).0,
            None => text.to_owned(),
        }
    }

    /// The redactor in use (None when redaction is disabled).
    pub fn redactor(&self) -> Option<&Redactor> {
        self.redactor.as_ref()
    }

    /// PII entities redacted so far, by kind.
    pub fn counts(&self) -> Vec<(String, u64)> {
        self.counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Utterances currently held, across all lanes (for tests and metrics).
    pub fn held(&self) -> usize {
        self.lanes
            .values()
            .flat_map(FastMap::values)
            .map(|l| l.held.len())
            .sum()
    }
}

/// Does `u` end in a name cue, read after the end of what its lane said before ("yeah it" |
/// "is aaron abbott": a spelling may follow)?
fn name_open_in_lane(redactor: &Redactor, lane: &Lane, u: &Utterance) -> bool {
    let (prev, prev_decorated) = match lane.held.last() {
        Some(h) => (
            h.utterance.text.as_str(),
            h.utterance.decorated_text.as_str(),
        ),
        None => (lane.tail.as_str(), lane.decorated_tail.as_str()),
    };
    let open = |prev: &str, text: &str| {
        if prev.is_empty() {
            return redactor.name_open(text);
        }
        // The last few words before are enough: the rule looks back a dozen tokens.
        let mut from = prev.len().saturating_sub(96);
        while !prev.is_char_boundary(from) {
            from += 1;
        }
        redactor.name_open(&format!("{} {text}", &prev[from..]))
    };
    open(prev, &u.text) || open(prev_decorated, &u.decorated_text)
}

/// Scan `tail + held texts` of a lane as one text per field and record every finding on each
/// held segment it touches.
///
/// Two shortcuts keep this to about one pass over the new text per field: the released tail is
/// context only when it ends in something that may continue into the next utterance (otherwise
/// no entity can span the boundary), and a word list that spells out its transcript token for
/// token takes its marks from the transcript's findings instead of a second scan.
fn scan_lane(redactor: &Redactor, lane: &mut Lane) {
    let texts: Vec<&str> = lane
        .held
        .iter()
        .map(|h| h.utterance.text.as_str())
        .collect();
    let answers: Vec<bool> = lane.held.iter().map(|h| h.answer).collect();
    let text_context = context(redactor, &lane.tail, &texts);
    let text_found = scan_segments(redactor, text_context, &texts, &answers);
    // Without digits or punctuation to decorate, the decorated transcript is the transcript:
    // the same input has the same context and the same findings, so one scan does for both.
    let same_texts = lane
        .held
        .iter()
        .all(|h| h.utterance.decorated_text == h.utterance.text);
    let same_found = same_texts
        && (lane.decorated_tail == lane.tail
            || context(redactor, &lane.decorated_tail, &texts) == text_context);
    let decorated_found = (!same_found).then(|| {
        let decorated: Vec<&str> = lane
            .held
            .iter()
            .map(|h| h.utterance.decorated_text.as_str())
            .collect();
        let decorated_context = context(redactor, &lane.decorated_tail, &decorated);
        scan_segments(redactor, decorated_context, &decorated, &answers)
    });
    let decorated_found = decorated_found.as_ref().unwrap_or(&text_found);

    // A word list that spells out its transcript takes its marks from the transcript's findings
    // (worked out per utterance below); otherwise the lists are scanned as tokens.
    let word_flags = (!lane
        .held
        .iter()
        .all(|h| aligned(&h.utterance.words, &h.utterance.text)))
    .then(|| {
        let lists: Vec<&[Word]> = lane
            .held
            .iter()
            .map(|h| h.utterance.words.as_slice())
            .collect();
        scan_word_segments(redactor, word_context(&lane.tail_words), &lists, &answers)
    });
    let decorated_flags = (!lane
        .held
        .iter()
        .all(|h| aligned(&h.utterance.decorated_words, &h.utterance.decorated_text)))
    .then(|| {
        let lists: Vec<&[Word]> = lane
            .held
            .iter()
            .map(|h| h.utterance.decorated_words.as_slice())
            .collect();
        scan_word_segments(
            redactor,
            word_context(&lane.decorated_tail_words),
            &lists,
            &answers,
        )
    });
    for (i, (held, t)) in lane.held.iter_mut().zip(&text_found).enumerate() {
        let d = &decorated_found[i];
        let (from_text, from_decorated);
        let w = if let Some(scanned) = &word_flags {
            &scanned[i]
        } else {
            from_text = flags_from_findings(&held.utterance.text, t);
            &from_text
        };
        let dw = if let Some(scanned) = &decorated_flags {
            &scanned[i]
        } else {
            from_decorated = flags_from_findings(&held.utterance.decorated_text, d);
            &from_decorated
        };
        merge_findings(&mut held.marks.text, t);
        merge_findings(&mut held.marks.decorated, d);
        or_flags(&mut held.marks.words, w);
        or_flags(&mut held.marks.decorated_words, dw);
    }
}

/// The released tail as context: all of it when its last word may continue into the next
/// utterance (or it ends in a name cue), or when the next utterance starts as the continuation of
/// something ("at gmail dot com", "dot smith", digits, letters being spelled); nothing otherwise.
fn context<'t>(redactor: &Redactor, tail: &'t str, segments: &[&str]) -> &'t str {
    let tail_open = last_token(tail).is_some_and(ends_risky) || redactor.name_open(tail);
    let next_continues = segments
        .first()
        .is_some_and(|s| starts_risky(s) || redactor.name_continues(s));
    if tail_open || next_continues {
        tail
    } else {
        ""
    }
}

/// The released word-list tail as context (kept only when it ends in something open).
fn word_context(tail: &[String]) -> &[String] {
    // `push_tail_words` keeps words only while they end in something open.
    tail
}

/// True when the word list is exactly the text split on single spaces.
fn aligned(words: &[Word], text: &str) -> bool {
    // Compared in place, word after word with one space between (splitting the text was a third
    // of a final's privacy cost). Byte by byte: words are a few letters long, where a call to
    // `memcmp` costs more than the comparison. A word that holds a space is not aligned, even
    // when the bytes agree: the text splits differently.
    let text = text.as_bytes();
    let mut at = 0;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            if text.get(at) != Some(&b' ') {
                return false;
            }
            at += 1;
        }
        let w = w.word.as_bytes();
        let Some(spoken) = text.get(at..at + w.len()) else {
            return false;
        };
        if spoken.iter().zip(w).any(|(&t, &w)| t != w || t == b' ') {
            return false;
        }
        at += w.len();
    }
    !words.is_empty() && at == text.len()
}

/// Per-token marks for a text whose tokens are separated by single spaces.
fn flags_from_findings(text: &str, findings: &[Finding]) -> Vec<Option<PiiKind>> {
    // No findings: no marks (an empty list marks nothing, see `apply_words`).
    if findings.is_empty() {
        return Vec::new();
    }
    let mut flags = Vec::new();
    let mut start = 0;
    for token in text.split(' ') {
        let end = start + token.len();
        flags.push(
            findings
                .iter()
                .find(|f| f.start < end && f.end > start)
                .map(|f| f.kind),
        );
        start = end + 1;
    }
    flags
}

/// Findings per segment (spans in the segment's own coordinates) when `tail` and the segments
/// are joined with single spaces. `answers[i]`: segment `i` may answer a request for a name.
fn scan_segments(
    redactor: &Redactor,
    tail: &str,
    segments: &[&str],
    answers: &[bool],
) -> Vec<Vec<Finding>> {
    if let ("", [only]) = (tail, segments) {
        let at: &[usize] = if answers.first() == Some(&true) {
            &[0]
        } else {
            &[]
        };
        return vec![redactor.scan_answering(only, at)];
    }
    let mut joined = tail.to_owned();
    let mut bounds = Vec::with_capacity(segments.len());
    for s in segments {
        if !joined.is_empty() {
            joined.push(' ');
        }
        let start = joined.len();
        joined.push_str(s);
        bounds.push((start, joined.len()));
    }
    let at: Vec<usize> = bounds
        .iter()
        .zip(answers)
        .filter(|(_, a)| **a)
        .map(|(b, _)| b.0)
        .collect();
    let findings = redactor.scan_answering(&joined, &at);
    bounds
        .iter()
        .map(|&(start, end)| {
            findings
                .iter()
                .filter(|f| f.start < end && f.end > start)
                .map(|f| Finding {
                    kind: f.kind,
                    start: f.start.max(start) - start,
                    end: f.end.min(end) - start,
                })
                .collect()
        })
        .collect()
}

fn scan_word_segments(
    redactor: &Redactor,
    tail: &[String],
    lists: &[&[Word]],
    answers: &[bool],
) -> Vec<Vec<Option<PiiKind>>> {
    let mut tokens: Vec<&str> = tail.iter().map(String::as_str).collect();
    let mut bounds = Vec::with_capacity(lists.len());
    for list in lists {
        let start = tokens.len();
        tokens.extend(list.iter().map(|w| w.word.as_str()));
        bounds.push((start, tokens.len()));
    }
    if tokens.is_empty() {
        return bounds.iter().map(|_| Vec::new()).collect();
    }
    let at: Vec<usize> = bounds
        .iter()
        .zip(answers)
        .filter(|(_, a)| **a)
        .map(|(b, _)| b.0)
        .collect();
    let flags = redactor.scan_tokens_answering(&tokens, &at);
    bounds
        .iter()
        .map(|&(start, end)| flags[start..end].to_vec())
        .collect()
}

fn merge_findings(into: &mut Vec<Finding>, found: &[Finding]) {
    into.extend_from_slice(found);
    into.sort_by_key(|f| (f.start, f.end));
    let mut merged: Vec<Finding> = Vec::with_capacity(into.len());
    for f in into.drain(..) {
        match merged.last_mut() {
            Some(last) if f.start < last.end => {
                if f.end - f.start > last.end - last.start {
                    last.kind = f.kind;
                }
                last.end = last.end.max(f.end);
            }
            _ => merged.push(f),
        }
    }
    *into = merged;
}

fn or_flags(into: &mut Vec<Option<PiiKind>>, flags: &[Option<PiiKind>]) {
    if into.len() < flags.len() {
        into.resize(flags.len(), None);
    }
    for (slot, flag) in into.iter_mut().zip(flags) {
        if slot.is_none() {
            *slot = *flag;
        }
    }
}

/// Make the four fields agree, using word timings: a token of `words` or `decoratedWords` that
/// is spoken while PII is spoken in the other list is PII too, and a transcript token whose word
/// is PII is redacted in the transcript. The two lists tokenise differently ("two one nine" vs
/// "219", or digits regrouped across utterances), so a value that only one field's rules catch
/// would otherwise survive in the other.
fn harmonize(u: &Utterance, marks: &mut Marks) {
    fn spans(
        words: &[Word],
        flags: &[Option<PiiKind>],
    ) -> impl Iterator<Item = (i64, i64, PiiKind)> {
        words
            .iter()
            .zip(flags)
            .filter(|(w, _)| w.duration_ms > 0)
            .filter_map(|(w, f)| f.map(|k| (w.offset_ms, w.offset_ms + w.duration_ms, k)))
    }
    fn mark(words: &[Word], flags: &mut Vec<Option<PiiKind>>, pii: &[(i64, i64, PiiKind)]) {
        for (i, w) in words.iter().enumerate() {
            // Without timings (seed formats, synthetic input) there is nothing to align on.
            if w.duration_ms <= 0 || flags.get(i).copied().flatten().is_some() {
                continue;
            }
            let (start, end) = (w.offset_ms, w.offset_ms + w.duration_ms);
            if let Some(&(_, _, kind)) = pii.iter().find(|(s, e, _)| start < *e && end > *s) {
                if flags.len() < words.len() {
                    flags.resize(words.len(), None);
                }
                flags[i] = Some(kind);
            }
        }
    }
    fn text_findings(
        text: &str,
        words: &[Word],
        flags: &[Option<PiiKind>],
        findings: &mut Vec<Finding>,
    ) {
        if !flags.iter().any(Option::is_some) || !aligned(words, text) {
            return;
        }
        let mut start = 0;
        let mut found = Vec::new();
        for (token, flag) in text
            .split(' ')
            .zip(flags.iter().chain(std::iter::repeat(&None)))
        {
            let end = start + token.len();
            if let Some(kind) = flag {
                found.push(Finding {
                    kind: *kind,
                    start,
                    end,
                });
            }
            start = end + 1;
        }
        merge_findings(findings, &found);
    }
    let mut pii: Vec<(i64, i64, PiiKind)> = spans(&u.words, &marks.words).collect();
    pii.extend(spans(&u.decorated_words, &marks.decorated_words));
    if pii.is_empty() {
        return;
    }
    mark(&u.words, &mut marks.words, &pii);
    mark(&u.decorated_words, &mut marks.decorated_words, &pii);
    text_findings(&u.text, &u.words, &marks.words, &mut marks.text);
    text_findings(
        &u.decorated_text,
        &u.decorated_words,
        &marks.decorated_words,
        &mut marks.decorated,
    );
}

/// Release the lanes of one conversation, in channel order.
fn release_lanes(
    redactor: &Redactor,
    channels: FastMap<String, Lane>,
    counts: &mut BTreeMap<String, u64>,
    out: &mut Vec<Utterance>,
) {
    let mut lanes: Vec<(String, Lane)> = channels.into_iter().collect();
    lanes.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, mut lane) in lanes {
        release(redactor, &mut lane, counts, out);
    }
}

/// Emit every held utterance of a lane, redacted, and move its text into the released tail.
fn release(
    redactor: &Redactor,
    lane: &mut Lane,
    counts: &mut BTreeMap<String, u64>,
    out: &mut Vec<Utterance>,
) {
    for held in lane.held.drain(..) {
        let Held {
            mut utterance,
            mut marks,
            ..
        } = held;
        harmonize(&utterance, &mut marks);
        push_tail(&mut lane.tail, &utterance.text);
        push_tail(&mut lane.decorated_tail, &utterance.decorated_text);
        push_tail_words(
            &mut lane.tail_words,
            &utterance.words,
            redactor.name_open(&utterance.text),
        );
        push_tail_words(
            &mut lane.decorated_tail_words,
            &utterance.decorated_words,
            redactor.name_open(&utterance.decorated_text),
        );
        let mut per_kind: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for f in &marks.text {
            per_kind
                .entry(redactor.kind_name(f.kind).to_owned())
                .or_default()
                .0 += 1;
        }
        for f in &marks.decorated {
            per_kind
                .entry(redactor.kind_name(f.kind).to_owned())
                .or_default()
                .1 += 1;
        }
        for (kind, (a, b)) in per_kind {
            *counts.entry(kind).or_insert(0) += a.max(b);
        }
        let mut pii = Vec::new();
        utterance.text = apply(
            redactor,
            std::mem::take(&mut utterance.text),
            &marks.text,
            "text",
            &mut pii,
        );
        let decorated = std::mem::take(&mut utterance.decorated_text);
        utterance.decorated_text = apply(
            redactor,
            decorated,
            &marks.decorated,
            "decorated_text",
            &mut pii,
        );
        apply_words(
            redactor,
            &mut utterance.words,
            &marks.words,
            "words",
            &mut pii,
        );
        apply_words(
            redactor,
            &mut utterance.decorated_words,
            &marks.decorated_words,
            "decorated_words",
            &mut pii,
        );
        utterance.pii = pii;
        out.push(utterance);
    }
}

/// Keep roughly the last [`TAIL_BYTES`] bytes of what was released on a lane, cut at a word
/// boundary, in one reused buffer (trimmed only when it has grown to twice that, so the cost is
/// amortised).
fn push_tail(tail: &mut String, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if !tail.is_empty() {
        tail.push(' ');
    }
    tail.push_str(text);
    if tail.len() > 2 * TAIL_BYTES {
        let from = tail.len() - TAIL_BYTES;
        let cut = tail[from..].find(' ').map_or(tail.len(), |i| from + i + 1);
        tail.drain(..cut);
    }
}

/// Keep the last [`TAIL_WORDS`] released words of a lane while they end in something open (the
/// last word may continue, or `name_open`: the text ends in a name cue).
fn push_tail_words(tail: &mut Vec<String>, words: &[Word], name_open: bool) {
    if !name_open && !words.last().is_some_and(|w| ends_risky(&w.word)) {
        tail.clear();
        return;
    }
    // Only the last `TAIL_WORDS` can stay: the others are not copied to be dropped.
    let kept = &words[words.len().saturating_sub(TAIL_WORDS)..];
    tail.extend(kept.iter().map(|w| w.word.to_string()));
    if tail.len() > TAIL_WORDS {
        tail.drain(..tail.len() - TAIL_WORDS);
    }
}

/// Replace each finding's span with its tag; record the spans in characters of the original.
fn apply(
    redactor: &Redactor,
    text: String,
    findings: &[Finding],
    field: &'static str,
    pii: &mut Vec<PiiFinding>,
) -> String {
    if findings.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for f in findings {
        let (start, end) = (f.start.min(text.len()), f.end.min(text.len()));
        if start < last || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        out.push_str(&text[last..start]);
        out.push_str(redactor.tag(f.kind));
        pii.push(PiiFinding {
            kind: redactor.kind_name(f.kind).to_owned(),
            field,
            start: text[..start].chars().count(),
            end: text[..end].chars().count(),
        });
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

fn apply_words(
    redactor: &Redactor,
    words: &mut [Word],
    flags: &[Option<PiiKind>],
    field: &'static str,
    pii: &mut Vec<PiiFinding>,
) {
    let mut i = 0;
    while i < words.len() {
        let Some(kind) = flags.get(i).copied().flatten() else {
            i += 1;
            continue;
        };
        let start = i;
        while i < words.len() && flags.get(i).copied().flatten() == Some(kind) {
            words[i].word = redactor.tag(kind).into();
            i += 1;
        }
        pii.push(PiiFinding {
            kind: redactor.kind_name(kind).to_owned(),
            field,
            start,
            end: i,
        });
    }
}

/// `token` without the bytes around it that are not ASCII letters or digits (a character
/// outside ASCII is trimmed whole: all its bytes are).
fn trim_to_alphanumeric(token: &str) -> &str {
    let b = token.as_bytes();
    let Some(start) = b.iter().position(u8::is_ascii_alphanumeric) else {
        return "";
    };
    let end = b
        .iter()
        .rposition(u8::is_ascii_alphanumeric)
        .map_or(start, |i| i + 1);
    // Both ends are ASCII bytes, so both are character boundaries.
    &token[start..end]
}

/// Digits (with `-`, `.` or a dash outside ASCII between them, as the redactor groups them), or
/// a number word ("oh", "double", "twenty", …).
fn is_digitish(token: &str) -> bool {
    let trimmed = trim_to_alphanumeric(token);
    let t = trimmed.as_bytes();
    match t.first() {
        None => false,
        Some(b'0'..=b'9') => trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.' || redact::is_dash(c)),
        Some(_) if t.len() > 9 => false,
        Some(_) => {
            let mut lower = [0u8; 9];
            for (l, b) in lower.iter_mut().zip(t) {
                *l = b.to_ascii_lowercase();
            }
            matches!(
                &lower[..t.len()],
                b"zero"
                    | b"oh"
                    | b"o"
                    | b"one"
                    | b"two"
                    | b"three"
                    | b"four"
                    | b"five"
                    | b"six"
                    | b"seven"
                    | b"eight"
                    | b"nine"
                    | b"ten"
                    | b"eleven"
                    | b"twelve"
                    | b"thirteen"
                    | b"fourteen"
                    | b"fifteen"
                    | b"sixteen"
                    | b"seventeen"
                    | b"eighteen"
                    | b"nineteen"
                    | b"twenty"
                    | b"thirty"
                    | b"forty"
                    | b"fifty"
                    | b"sixty"
                    | b"seventy"
                    | b"eighty"
                    | b"ninety"
                    | b"hundred"
                    | b"double"
                    | b"triple"
            )
        }
    }
}

/// Whitespace as `char::is_whitespace` has it, for ASCII bytes (tab, line feed, vertical tab,
/// form feed, carriage return, space).
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r')
}

/// Words that join the parts of a spoken email address ("john dot smith at gmail").
const JOINERS: [&str; 6] = ["at", "dot", "plus", "underscore", "dash", "hyphen"];

fn is_joiner(token: &str) -> bool {
    JOINERS.iter().any(|j| j.eq_ignore_ascii_case(token))
}

/// Fillers a speaker puts between the parts of a number or an address.
const FILLERS: [&str; 4] = ["uh", "um", "er", "ah"];

fn is_filler(token: &str) -> bool {
    FILLERS.iter().any(|f| f.eq_ignore_ascii_case(token))
}

/// `token` without the characters around it that are neither ASCII letters, digits nor `@`.
fn bare(token: &str) -> &str {
    token.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '@')
}

/// A byte that is not ASCII, where [`ascii_token_before`] cannot tell a letter from a space.
struct NotAscii;

/// The byte range of the last token of `b` ending at or before `end`, split as
/// `split_whitespace` splits, read by bytes while they are ASCII (a byte that is not may be a
/// letter or a space such as U+00A0: the caller then splits the text by characters). Both ends
/// are ASCII bytes or the text's ends, so character boundaries.
fn ascii_token_before(b: &[u8], mut end: usize) -> Result<Option<(usize, usize)>, NotAscii> {
    while end > 0 && is_ascii_space(b[end - 1]) {
        end -= 1;
    }
    if end == 0 {
        return Ok(None);
    }
    let mut start = end;
    while start > 0 && !is_ascii_space(b[start - 1]) {
        if !b[start - 1].is_ascii() {
            return Err(NotAscii);
        }
        start -= 1;
    }
    Ok(Some((start, end)))
}

/// The last two tokens of `text` that are not fillers (the last first), split as
/// `split_whitespace` splits; `None` when a byte it would have to look at is not ASCII. Most
/// texts end in ASCII, and the walk stops after two tokens, so most of a long text is never read.
fn last_two_tokens(text: &str) -> Option<[Option<&str>; 2]> {
    let mut out = [None, None];
    let (mut end, mut found) = (text.len(), 0);
    while found < 2 {
        let Some((start, token_end)) = ascii_token_before(text.as_bytes(), end).ok()? else {
            break;
        };
        let token = &text[start..token_end];
        if !is_filler(token) {
            out[found] = Some(token);
            found += 1;
        }
        end = start;
    }
    Some(out)
}

/// Does the text end in something that may be the first part of PII? The last word is open
/// (digits, a number word, a spelled letter, "at", "dot", "plus", …), or the one before it is a
/// joiner ("… at gmail", "… dot smith"): an email being spoken. Fillers ("uh") are passed over.
fn ends_risky(text: &str) -> bool {
    let [last, before] = last_two_tokens(text).unwrap_or_else(|| {
        let mut tokens = text.split_whitespace().rev().filter(|t| !is_filler(t));
        [tokens.next(), tokens.next()]
    });
    let Some(last) = last else {
        return false;
    };
    let last = bare(last);
    is_digitish(last)
        || last.bytes().any(|b| b.is_ascii_digit())
        || is_joiner(last)
        || (last.len() == 1 && last.bytes().all(|b| b.is_ascii_alphabetic()))
        || last.ends_with('@')
        || before.is_some_and(|before| is_joiner(bare(before)))
}

/// The last token of `text`, split as `split_whitespace` splits (read by bytes while they are
/// ASCII, see [`ascii_token_before`]).
fn last_token(text: &str) -> Option<&str> {
    match ascii_token_before(text.as_bytes(), text.len()) {
        Ok(range) => range.map(|(start, end)| &text[start..end]),
        Err(NotAscii) => text.split_whitespace().next_back(),
    }
}

/// The first token of `text`, split as `split_whitespace` splits, read by bytes while they are
/// ASCII (see [`ascii_token_before`]).
fn first_token(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let start = b.iter().position(|&c| !is_ascii_space(c))?;
    let len = b[start..]
        .iter()
        .position(|&c| !c.is_ascii() || is_ascii_space(c))
        .unwrap_or(b.len() - start);
    match b.get(start + len) {
        Some(c) if !c.is_ascii() => text.split_whitespace().next(),
        // Both ends are ASCII bytes or the text's ends: character boundaries.
        _ => Some(&text[start..start + len]),
    }
}

/// Does the text start as the continuation of something: "at gmail dot com", "dot smith",
/// digits, a spelled letter?
fn starts_risky(text: &str) -> bool {
    const JOINERS: [&str; 7] = [
        "at",
        "dot",
        "underscore",
        "dash",
        "hyphen",
        "double",
        "triple",
    ];
    let Some(first) = first_token(text) else {
        return false;
    };
    let bare = bare(first);
    is_digitish(bare)
        || bare.bytes().any(|b| b.is_ascii_digit())
        || bare.starts_with('@')
        || JOINERS.iter().any(|j| j.eq_ignore_ascii_case(bare))
        // A spelled letter, but not the words "a" and "i" that start so many sentences.
        || (bare.len() == 1 && bare.bytes().all(|b| b.is_ascii_alphabetic() && !b"aAiI".contains(&b)))
}

/// The byte range of the last token of `text` ending at or before `end`, split as
/// `split_whitespace` splits: by bytes while they are ASCII (see [`ascii_token_before`]), by
/// characters otherwise. `end` is a character boundary, and so are both ends of the range.
fn token_before(text: &str, end: usize) -> Option<(usize, usize)> {
    if let Ok(range) = ascii_token_before(text.as_bytes(), end) {
        return range;
    }
    let head = text[..end].trim_end();
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    (!head.is_empty()).then_some((start, head.len()))
}

/// The tokens of `text` from the last to the first, each as (its byte offset, the token without
/// the punctuation around it, see [`bare`]), fillers left out.
fn tokens_back(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut end = text.len();
    std::iter::from_fn(move || {
        let (start, token_end) = token_before(text, end)?;
        end = start;
        Some((start, bare(&text[start..token_end])))
    })
    .filter(|(_, token)| !is_filler(token))
}

/// Where a trailing number that may still be being spoken starts in `text`: a run of digit
/// tokens ([`is_digitish`]) of three tokens or more, or of four digits or more ("411111111111",
/// "078-05-", "41 11"; a number word counts as one digit). A single small number ("at 5",
/// "room 12") is left: it reveals nothing, and captions would flicker on every count.
fn digits_pending(text: &str) -> Option<usize> {
    let (mut run, mut tokens, mut digits) = (None, 0, 0);
    for (start, token) in tokens_back(text) {
        if !is_digitish(token) {
            break;
        }
        run = Some(start);
        tokens += 1;
        digits += match token.bytes().filter(u8::is_ascii_digit).count() {
            0 => 1,
            n => n,
        };
    }
    run.filter(|_| tokens >= 3 || digits >= 4)
}

/// Where a trailing email address that may still be being spoken starts in `text`: a last token
/// with an `@` ("john.smith@gmail"), or a spoken address ("john dot smith at gmail"), read back
/// from the end over joiners and the words they join. The last word counts when the token before
/// it joins it ("… at gmail"), unless it is a number ("see you at 5" is a time).
fn email_pending(text: &str) -> Option<usize> {
    // `@` alone or at a token's edge joins like "at": "john @ gmail", "john@ gmail", "john @gmail".
    let joins_before = |t: &str| is_joiner(t) || t.starts_with('@');
    let joins_after = |t: &str| is_joiner(t) || t.ends_with('@');
    let mut tokens = tokens_back(text).peekable();
    let (mut run, last) = tokens.next()?;
    let last_in = is_joiner(last)
        || last.contains('@')
        || (!is_digitish(last) && tokens.peek().is_some_and(|&(_, t)| joins_after(t)));
    if !last_in {
        return None;
    }
    let mut after = last;
    for (start, token) in tokens {
        if !(is_joiner(token) || token.contains('@') || joins_before(after)) {
            break;
        }
        run = start;
        after = token;
    }
    Some(run)
}

/// Mask what interim text ends in that may be PII still being spoken — a number or an email
/// address (see [`digits_pending`], [`email_pending`]), read after `floor` (the end of the
/// last redaction: a tag is not PII) — or a name being given (`name_at`, from
/// [`Redactor::name_pending`]), in place, as [`PENDING_TAG`]. Over-masking lasts until the next
/// interim result; the final is redacted with its whole context. Allocates nothing when nothing
/// is masked.
fn mask_pending_tail(text: &mut String, floor: usize, name_at: Option<usize>) {
    let end = name_at.unwrap_or(text.len());
    let tail = text.get(floor..end).unwrap_or_default();
    let pending = [digits_pending(tail), email_pending(tail)]
        .into_iter()
        .flatten()
        .min();
    let cut = match (pending, name_at) {
        (Some(start), _) => {
            // Keep one space between what is shown and the tag, as the speaker's words had.
            let kept = text[..floor + start].trim_end().len();
            let space = text[kept..].chars().next().filter(|c| c.is_whitespace());
            if kept == 0 {
                0
            } else {
                kept + space.map_or(0, char::len_utf8)
            }
        }
        (None, Some(at)) => at,
        (None, None) => return,
    };
    text.truncate(cut);
    text.push_str(PENDING_TAG);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utt(id: &str, text: &str) -> Utterance {
        Utterance {
            conversation_id: "c".into(),
            communication_id: None,
            utterance_id: id.into(),
            channel: "EXTERNAL".into(),
            text: text.into(),
            decorated_text: text.into(),
            words: text
                .split(' ')
                .map(|w| Word {
                    word: w.into(),
                    offset_ms: 0,
                    duration_ms: 0,
                    confidence: 1.0,
                })
                .collect(),
            decorated_words: Vec::new(),
            confidence: 1.0,
            language: None,
            start_ms: 0,
            end_ms: 0,
            received_at_ms: 0,
            latency_ms: 0,
            event_time_ms: None,
            offset_ms: 0,
            duration_ms: 0,
            organization_id: None,
            engine: None,
            pii: Vec::new(),
            flags: Vec::new(),
        }
    }

    #[test]
    fn digitish_tokens_are_digits_or_number_words() {
        for yes in [
            "4",
            "4111,",
            "(415)",
            "4-1.1",
            "Four",
            "oh",
            "O",
            "DOUBLE",
            "seventeen",
            "é4",
        ] {
            assert!(is_digitish(yes), "{yes}");
        }
        for no in [
            "",
            "...",
            "one1",
            "1a",
            "seventeens",
            "ohh",
            "at",
            "é",
            "x86",
        ] {
            assert!(!is_digitish(no), "{no}");
        }
    }

    #[test]
    fn a_word_list_is_aligned_when_it_spells_the_text_token_for_token() {
        let words = |list: &[&str]| -> Vec<Word> {
            list.iter()
                .map(|w| Word {
                    word: (*w).into(),
                    offset_ms: 0,
                    duration_ms: 0,
                    confidence: 1.0,
                })
                .collect()
        };
        assert!(aligned(&words(&["my", "card"]), "my card"));
        assert!(aligned(&words(&["a", "", "b"]), "a  b"));
        assert!(!aligned(&words(&["my", "card"]), "my card is"));
        assert!(!aligned(&words(&["my", "card", "is"]), "my card"));
        assert!(!aligned(&words(&["my card"]), "my card"));
        assert!(!aligned(&words(&["new york", "city"]), "new york city"));
        assert!(!aligned(&words(&["my", "card"]), "my  card"));
        assert!(!aligned(&words(&[]), ""));
        assert!(aligned(&words(&[""]), ""));
    }

    #[test]
    fn tokens_read_by_bytes_are_the_tokens_split_whitespace_gives() {
        // Pieces with every ASCII space, spaces outside ASCII (U+0085, U+00A0, U+3000), a
        // separator that is not a space (U+001C), letters outside ASCII, fillers and joiners.
        const PIECES: [&str; 24] = [
            "uh", "UM", "er", "at", "dot", "4", "four", "x", "a", "é", "@", "gmail", ",", " ",
            "  ", "\t", "\n", "\r", "\u{b}", "\u{c}", "\u{1c}", "\u{85}", "\u{a0}", "\u{3000}",
        ];
        // The same texts on every run.
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15_u64);
        let mut by_bytes = 0;
        for _ in 0..50_000 {
            let len = next() % 7;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            assert_eq!(
                last_token(&text),
                text.split_whitespace().next_back(),
                "{text:?}"
            );
            assert_eq!(
                first_token(&text),
                text.split_whitespace().next(),
                "{text:?}"
            );
            let mut end = text.len();
            let walked: Vec<&str> = std::iter::from_fn(|| {
                let (start, token_end) = token_before(&text, end)?;
                end = start;
                Some(&text[start..token_end])
            })
            .collect();
            let split: Vec<&str> = text.split_whitespace().rev().collect();
            assert_eq!(walked, split, "{text:?}");
            let mut kept = text.split_whitespace().rev().filter(|t| !is_filler(t));
            let expected = [kept.next(), kept.next()];
            match last_two_tokens(&text) {
                Some(found) => {
                    assert_eq!(found, expected, "{text:?}");
                    by_bytes += 1;
                }
                None => assert!(!text.is_ascii(), "gave up on ASCII: {text:?}"),
            }
        }
        // Most texts are read by bytes; the rest by characters.
        assert!(by_bytes > 20_000, "{by_bytes}");
    }

    #[test]
    fn ends_and_starts_that_may_continue_into_pii() {
        for open in [
            "my card is four one",
            "it is 4111",
            "john dot smith at gmail",
            "write to john at",
            "the letter b",
            "four uh",
            "smith@",
            "call me on five\u{a0}five",
        ] {
            assert!(ends_risky(open), "{open:?}");
        }
        for closed in [
            "thanks for calling",
            "",
            "  ",
            "uh um",
            "at the desk",
            "café",
        ] {
            assert!(!ends_risky(closed), "{closed:?}");
        }
        for continues in [
            "at gmail dot com",
            " dot smith",
            "4111 1111",
            "b as in boy",
            "\u{a0}double five",
        ] {
            assert!(starts_risky(continues), "{continues:?}");
        }
        for fresh in ["a card", "I think so", "thanks", "", "éclair"] {
            assert!(!starts_risky(fresh), "{fresh:?}");
        }
    }

    #[test]
    fn masks_a_trailing_run_of_three_digit_tokens() {
        let masked = |text: &str| {
            let mut t = text.to_owned();
            mask_pending_tail(&mut t, 0, None);
            t
        };
        assert_eq!(masked("my card is four one one"), "my card is [PENDING]");
        assert_eq!(masked("four one one"), "[PENDING]");
        assert_eq!(masked(" 4 1 1"), "[PENDING]");
        assert_eq!(masked("card  4  1 1"), "card [PENDING]");
        // Whitespace and dashes outside ASCII, as the redactor reads them.
        assert_eq!(masked("card 4111\u{a0}1111\u{202f}1111"), "card [PENDING]");
        assert_eq!(
            masked("card\u{3000}4111 1111\u{2011}2222 3"),
            "card\u{3000}[PENDING]"
        );
        assert_eq!(masked("caf\u{e9} 4 1 1"), "caf\u{e9} [PENDING]");
        assert_eq!(masked("4111\u{2019}1111 1 1"), "4111\u{2019}1111 1 1");
        assert_eq!(masked("my card is four one"), "my card is four one");
        assert_eq!(masked("four one one thanks"), "four one one thanks");
        assert_eq!(masked(""), "");
    }

    #[test]
    fn pending_tails_are_read_after_the_last_redaction_and_before_a_name() {
        let masked = |text: &str, floor: usize, name_at: Option<usize>| {
            let mut t = text.to_owned();
            mask_pending_tail(&mut t, floor, name_at);
            t
        };
        // A tag before `floor` is neither read nor masked.
        assert_eq!(masked("[EMAIL] at 4111", 7, None), "[EMAIL] at [PENDING]");
        assert_eq!(
            masked("reach me at [EMAIL]", 19, None),
            "reach me at [EMAIL]"
        );
        assert_eq!(masked("[PHONE] dot com", 7, None), "[PHONE] [PENDING]");
        // A name cue masks from where it starts, or from a number before it.
        assert_eq!(masked("that is smith s", 0, Some(8)), "that is [PENDING]");
        assert_eq!(
            masked("call 4111 1111 that is", 0, Some(15)),
            "call [PENDING]"
        );
    }

    #[test]
    fn card_split_over_two_utterances_is_redacted_in_both() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        assert!(
            p.utterance(utt("1", "my card is four one one one one one one one"), 0)
                .is_empty(),
            "held"
        );
        let out = p.utterance(utt("2", "one one one one one one one one thanks"), 100);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].text, "my card is [CREDIT_CARD]");
        assert_eq!(out[1].text, "[CREDIT_CARD] thanks");
        assert!(
            out[0]
                .words
                .iter()
                .all(|w| !w.word.contains("one") && !w.word.contains("four"))
        );
        assert_eq!(p.counts(), vec![("credit_card".to_owned(), 2)]);
    }

    #[test]
    fn ordinary_utterances_are_not_held() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        assert_eq!(
            p.utterance(utt("1", "thanks for calling how can i help"), 0)
                .len(),
            1
        );
        assert_eq!(p.held(), 0);
    }

    #[test]
    fn hold_expires_on_tick() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        assert!(
            p.utterance(utt("1", "my number is six one seven"), 0)
                .is_empty()
        );
        assert!(p.tick(9_999).is_empty());
        assert_eq!(p.tick(10_000).len(), 1);
    }

    #[test]
    fn interim_text_masks_a_number_being_spoken() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        assert_eq!(shown(&mut p, "it is four one one one"), "it is [PENDING]");
    }

    /// The interim text `p` shows for `text`.
    fn shown(p: &mut Privacy, text: &str) -> String {
        let mut partial = Partial {
            conversation_id: "c".into(),
            communication_id: None,
            utterance_id: "u".into(),
            channel: "EXTERNAL".into(),
            text: text.into(),
            confidence: 1.0,
            start_ms: 0,
            end_ms: 0,
            received_at_ms: 0,
            flags: Vec::new(),
            state: "interim".into(),
        };
        p.partial(&mut partial);
        partial.text
    }

    #[test]
    fn interim_text_masks_digits_being_spoken_in_few_tokens() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        for (text, masked) in [
            // The reviewer's cases: one long token, a social or a card with dashes.
            (
                "my card number is 411111111111",
                "my card number is [PENDING]",
            ),
            ("my social is 078-05-", "my social is [PENDING]"),
            ("my card is 4111-1111-1111", "my card is [PENDING]"),
            ("my card is 411111111111", "my card is [PENDING]"),
            // Four digits over two tokens, punctuation on them, a filler between them.
            ("my card is 41 11", "my card is [PENDING]"),
            ("my card is 4111, 1111,", "my card is [PENDING]"),
            ("my card is 4111 uh", "my card is [PENDING]"),
            ("my card is 4111 uh 1111", "my card is [PENDING]"),
            // Spaces outside ASCII between the tokens, and before the run.
            (
                "my card is\u{a0}4111\u{a0}1111",
                "my card is\u{a0}[PENDING]",
            ),
            ("call é\u{3000}4 1 5", "call é\u{3000}[PENDING]"),
            // Only what follows the last redaction is masked.
            (
                "my card is 4111 1111 1111 1111 and 41",
                "my card is [CREDIT_CARD] and 41",
            ),
            (
                "my card is 4111 1111 1111 1111 and 4111",
                "my card is [CREDIT_CARD] and [PENDING]",
            ),
        ] {
            assert_eq!(shown(&mut p, text), masked, "{text:?}");
        }
    }

    #[test]
    fn interim_text_masks_an_email_being_spoken() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        for (text, masked) in [
            ("my email is john.smith@gmail", "my email is [PENDING]"),
            ("my email is john.smith@", "my email is [PENDING]"),
            ("my email is john.smith@gmail.", "my email is [PENDING]"),
            (
                "my email is john dot smith at gmail",
                "my email is [PENDING]",
            ),
            (
                "my email is john dot smith at gmail.",
                "my email is [PENDING]",
            ),
            ("my email is john dot smith at", "my email is [PENDING]"),
            ("my email is john dot smith", "my email is [PENDING]"),
            ("my email is john underscore smith", "my email is [PENDING]"),
            ("my email is john uh at gmail", "my email is [PENDING]"),
            ("my email is john @ gmail", "my email is [PENDING]"),
            ("my email is john @gmail", "my email is [PENDING]"),
            (
                "my email is john\u{a0}dot\u{a0}smith",
                "my email is [PENDING]",
            ),
            // A finished address is redacted, and nothing around it masked.
            ("reach me at john.smith@gmail.com", "reach me at [EMAIL]"),
        ] {
            assert_eq!(shown(&mut p, text), masked, "{text:?}");
        }
    }

    #[test]
    fn ordinary_interim_text_is_shown() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        for text in [
            "I have 2 kids",
            "see you at 5",
            "see you at five",
            "two plus two",
            "it costs 250",
            "my card is four one",
            "room 12 b",
            "thanks for calling how can i help",
            "",
        ] {
            assert_eq!(shown(&mut p, text), text, "{text:?}");
        }
    }

    #[test]
    fn unknown_kind_is_a_config_error() {
        let config = PrivacyConfig {
            kinds: vec!["passport".into()],
            ..PrivacyConfig::default()
        };
        let err = Privacy::new(config).unwrap_err();
        assert_eq!(err.field, "pii_kinds");
        assert!(err.message.contains("person_name"), "{}", err.message);
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    fn names() -> Privacy {
        let mut config = PrivacyConfig::default();
        config.kinds.push("person_name".into());
        Privacy::new(config).unwrap()
    }

    /// An utterance with word timings 300 ms apart from `start_ms`, the decorated side
    /// capitalising spelled letters and the word before them.
    fn said(id: &str, channel: &str, text: &str, start_ms: i64) -> Utterance {
        let words: Vec<Word> = text
            .split(' ')
            .enumerate()
            .map(|(i, w)| Word {
                word: w.into(),
                offset_ms: start_ms + 300 * i as i64,
                duration_ms: 250,
                confidence: 1.0,
            })
            .collect();
        let decorated_words: Vec<Word> = words
            .iter()
            .map(|w| Word {
                word: if w.word.len() == 1 {
                    w.word.to_uppercase()
                } else {
                    w.word.clone()
                },
                ..w.clone()
            })
            .collect();
        let decorated_text = decorated_words
            .iter()
            .map(|w| w.word.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Utterance {
            conversation_id: "c".into(),
            communication_id: None,
            utterance_id: id.into(),
            channel: channel.into(),
            text: text.into(),
            decorated_text,
            words,
            decorated_words,
            confidence: 1.0,
            language: None,
            start_ms,
            end_ms: start_ms + 300 * text.split(' ').count() as i64,
            received_at_ms: 0,
            latency_ms: 0,
            event_time_ms: None,
            offset_ms: start_ms,
            duration_ms: 300 * text.split(' ').count() as i64,
            organization_id: None,
            engine: None,
            pii: Vec::new(),
            flags: Vec::new(),
        }
    }

    fn no_name_left(u: &Utterance, names: &[&str]) {
        for field in [&u.text, &u.decorated_text] {
            for n in names {
                assert!(
                    !field.to_lowercase().split(' ').any(|w| w == *n),
                    "{n:?} in {field:?}"
                );
            }
        }
        for w in u.words.iter().chain(&u.decorated_words) {
            assert!(
                !names.contains(&w.word.to_lowercase().as_str()),
                "{:?} in the word lists",
                w.word
            );
            assert!(w.duration_ms > 0, "timings kept");
        }
    }

    #[test]
    fn a_name_given_over_three_utterances_is_redacted_in_all_of_them() {
        let mut p = names();
        assert!(
            p.utterance(said("1", "EXTERNAL", "yeah it is john smith", 0), 0)
                .is_empty(),
            "held: it ends in name words after a cue"
        );
        assert!(
            p.utterance(said("2", "EXTERNAL", "that is", 2_000), 2_000)
                .is_empty(),
            "held: it ends in a cue"
        );
        assert!(
            p.utterance(said("3", "EXTERNAL", "smith s m i t h", 3_000), 3_000)
                .is_empty(),
            "held: it ends in a spelled letter"
        );
        let out = p.tick(10_000);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].text, "yeah it is [PERSON_NAME]");
        assert_eq!(out[0].decorated_text, "yeah it is [PERSON_NAME]");
        assert_eq!(out[1].text, "that is");
        assert_eq!(out[2].text, "[PERSON_NAME]");
        assert_eq!(out[2].decorated_text, "[PERSON_NAME]");
        for u in &out {
            no_name_left(u, &["john", "smith", "s", "m", "i", "t", "h"]);
        }
        assert_eq!(out[0].words.len(), 5, "one tag per word, timings kept");
        assert_eq!(p.counts(), vec![("person_name".to_owned(), 2)]);
    }

    #[test]
    fn without_person_name_names_are_left_and_not_held() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        let out = p.utterance(said("1", "EXTERNAL", "yeah it is john smith", 0), 0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "yeah it is john smith");
    }

    #[test]
    fn an_answer_to_the_other_partys_request_is_a_name() {
        let mut p = names();
        let ask = "sure can i have your first and last name please";
        assert_eq!(p.utterance(said("1", "INTERNAL", ask, 0), 0).len(), 1);
        let out = p.utterance(
            said("2", "EXTERNAL", "yeah it's john smith thanks", 3_500),
            5_000,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "yeah it's [PERSON_NAME] thanks");
        no_name_left(&out[0], &["john", "smith"]);
        // The same words without a request stay.
        let mut p = names();
        let out = p.utterance(
            said("2", "EXTERNAL", "yeah it's john smith thanks", 3_500),
            5_000,
        );
        assert_eq!(out[0].text, "yeah it's john smith thanks");
    }

    #[test]
    fn an_answer_that_arrives_before_the_request_is_rescanned() {
        let mut p = names();
        // The answer ends in name words after a cue: held.
        assert!(
            p.utterance(said("2", "EXTERNAL", "yeah it's john smith", 3_500), 5_000)
                .is_empty()
        );
        let ask = "can i have your first and last name please";
        assert_eq!(p.utterance(said("1", "INTERNAL", ask, 0), 6_000).len(), 1);
        let out = p.tick(20_000);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "yeah it's [PERSON_NAME]");
        no_name_left(&out[0], &["john", "smith"]);
    }

    #[test]
    fn interim_text_masks_a_name_being_spelled() {
        let mut p = names();
        let mut partial = Partial {
            conversation_id: "c".into(),
            communication_id: None,
            utterance_id: "u".into(),
            channel: "EXTERNAL".into(),
            text: "that is smith s m i".into(),
            confidence: 1.0,
            start_ms: 0,
            end_ms: 0,
            received_at_ms: 0,
            flags: Vec::new(),
            state: "interim".into(),
        };
        p.partial(&mut partial);
        assert_eq!(partial.text, "that is [PENDING]");
        partial.text = "hi my name is alex".into();
        p.partial(&mut partial);
        assert_eq!(partial.text, "hi my name is [PERSON_NAME]");
    }
}

#[cfg(test)]
mod harmonize_tests {
    use super::*;

    fn timed(text: &str, start_ms: i64) -> Vec<Word> {
        text.split(' ')
            .enumerate()
            .map(|(i, w)| Word {
                word: w.into(),
                offset_ms: start_ms + 300 * i as i64,
                duration_ms: 250,
                confidence: 1.0,
            })
            .collect()
    }

    fn utterance(
        id: &str,
        raw: &str,
        decorated: &str,
        raw_words: Vec<Word>,
        decorated_words: Vec<Word>,
    ) -> Utterance {
        Utterance {
            conversation_id: "c".into(),
            communication_id: None,
            utterance_id: id.into(),
            channel: "EXTERNAL".into(),
            text: raw.into(),
            decorated_text: decorated.into(),
            words: raw_words,
            decorated_words,
            confidence: 1.0,
            language: None,
            start_ms: 0,
            end_ms: 0,
            received_at_ms: 0,
            latency_ms: 0,
            event_time_ms: None,
            offset_ms: 0,
            duration_ms: 0,
            organization_id: None,
            engine: None,
            pii: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// Words as `split_whitespace` splits (at spaces outside ASCII too), timed like [`timed`].
    fn timed_split(text: &str, start_ms: i64) -> Vec<Word> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| Word {
                word: w.into(),
                offset_ms: start_ms + 300 * i as i64,
                duration_ms: 250,
                confidence: 1.0,
            })
            .collect()
    }

    #[test]
    fn values_grouped_by_spaces_outside_ascii_leave_no_field() {
        let no_digit = |u: &Utterance| {
            let words = u
                .words
                .iter()
                .chain(&u.decorated_words)
                .map(|w| w.word.as_str());
            [u.text.as_str(), u.decorated_text.as_str()]
                .into_iter()
                .chain(words)
                .all(|f| !f.chars().any(|c| c.is_ascii_digit()))
        };
        for sp in ['\u{a0}', '\u{202f}', '\u{2009}', '\u{3000}'] {
            let text =
                format!("my card is 4111{sp}1111{sp}1111{sp}1111 phone 212{sp}555\u{2011}0187");
            // Word lists that keep each value in one entry, and lists that split at `sp`.
            for words in [timed(&text, 0), timed_split(&text, 0)] {
                let u = utterance("1", &text, &text, words.clone(), words);
                let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
                let out = p
                    .flush()
                    .into_iter()
                    .chain(p.utterance(u, 0))
                    .chain(p.flush());
                let out: Vec<Utterance> = out.collect();
                assert_eq!(out.len(), 1);
                assert_eq!(
                    out[0].decorated_text,
                    "my card is [CREDIT_CARD] phone [PHONE]"
                );
                assert!(no_digit(&out[0]), "{:?}", out[0]);
            }
            // Split over two utterances: the end of the first (read by characters, as it is not
            // ASCII) keeps it open for the second.
            let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
            let first = format!("my card is 4111{sp}1111");
            let second = format!("1111{sp}1111 thanks");
            let u1 = utterance(
                "1",
                &first,
                &first,
                timed(&first, 0),
                timed_split(&first, 0),
            );
            let u2 = utterance(
                "2",
                &second,
                &second,
                timed(&second, 900),
                timed_split(&second, 900),
            );
            let mut out = p.utterance(u1, 0);
            out.extend(p.utterance(u2, 100));
            out.extend(p.flush());
            assert_eq!(out.len(), 2);
            assert_eq!(out[0].decorated_text, "my card is [CREDIT_CARD]");
            assert_eq!(out[1].decorated_text, "[CREDIT_CARD] thanks");
            assert!(out.iter().all(no_digit), "{out:?}");
        }
    }

    #[test]
    fn a_value_only_the_spoken_form_reveals_is_removed_from_the_decorated_form_too() {
        // The decorated form groups the SSN's digits in a way no written-SSN rule accepts.
        let raw = "my ssn is two one nine oh nine one two three four ok";
        let decorated = "my ssn is 2 1 9 0 9 1 2 3 4 ok";
        let u = utterance("1", raw, decorated, timed(raw, 0), timed(decorated, 0));
        let mut p = Privacy::new(PrivacyConfig {
            hold_ms: 0,
            ..PrivacyConfig::default()
        })
        .unwrap();
        let out = p.utterance(u, 0);
        assert_eq!(out[0].text, "my ssn is [SSN] ok");
        assert!(
            !out[0].decorated_text.chars().any(|c| c.is_ascii_digit()),
            "{}",
            out[0].decorated_text
        );
        assert!(
            out[0]
                .decorated_words
                .iter()
                .all(|w| !w.word.chars().any(|c| c.is_ascii_digit()))
        );
    }

    #[test]
    fn an_email_whose_local_part_was_already_released_is_still_removed_from_the_rest() {
        let mut p = Privacy::new(PrivacyConfig::default()).unwrap();
        let first = p.utterance(
            utterance("1", "john", "john", timed("john", 0), timed("john", 0)),
            0,
        );
        assert_eq!(first.len(), 1, "an ordinary word is not held");
        let rest = "at gmail dot com thanks";
        let out = p.utterance(
            utterance("2", rest, rest, timed(rest, 1_000), timed(rest, 1_000)),
            1_000,
        );
        assert_eq!(out[0].text, "[EMAIL] thanks");
    }
}
