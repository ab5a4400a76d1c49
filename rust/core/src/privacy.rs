//! Applying redaction to records before they leave the engine.
//!
//! PLACEHOLDER API (the redactor lands in `redact/`): the engine calls these methods at fixed
//! points, and this module decides what is redacted and whether a final utterance is held for a
//! short, bounded time so that PII split across consecutive utterances can be removed from both.
//!
//! Engine contract:
//! - every final `Utterance` goes through [`Privacy::utterance`], which returns the utterances that
//!   are ready (possibly none now, possibly earlier held ones); order per (conversation, channel) is kept;
//! - [`Privacy::tick`] releases utterances whose hold expired; [`Privacy::flush`] releases all;
//!   [`Privacy::end_conversation`] releases one conversation's;
//! - [`Privacy::partial`] redacts interim text in place (partials are never held);
//! - [`Privacy::text`] redacts free text (rejected samples, error messages).

use crate::engine::ConfigError;
use crate::record::{Partial, Utterance};

/// Redaction options.
#[derive(Clone, Debug)]
pub struct PrivacyConfig {
    /// Turn redaction off entirely (tests of raw decoding only; never the default).
    pub enabled: bool,
    /// Built-in kinds to detect: `ssn`, `phone`, `email`, `credit_card`.
    pub kinds: Vec<String>,
    /// Replacement tag per kind name, overriding `[SSN]`, `[PHONE]`, `[EMAIL]`, `[CREDIT_CARD]`.
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
            kinds: ["ssn", "phone", "email", "credit_card"].map(String::from).to_vec(),
            tags: Vec::new(),
            custom: Vec::new(),
            spoken: true,
            hold_ms: 3_000,
        }
    }
}

/// Redaction state of an engine.
#[derive(Debug)]
pub struct Privacy {
    config: PrivacyConfig,
}

impl Privacy {
    /// Validate the configuration (custom patterns, kind names).
    pub fn new(config: PrivacyConfig) -> Result<Self, ConfigError> {
        Ok(Self { config })
    }

    /// The options in force.
    pub fn config(&self) -> &PrivacyConfig {
        &self.config
    }

    /// Redact a final utterance; returns the utterances ready to emit, in order.
    pub fn utterance(&mut self, u: Utterance, _now_ms: i64) -> Vec<Utterance> {
        vec![u]
    }

    /// Release held utterances whose hold has expired.
    pub fn tick(&mut self, _now_ms: i64) -> Vec<Utterance> {
        Vec::new()
    }

    /// Release everything held.
    pub fn flush(&mut self) -> Vec<Utterance> {
        Vec::new()
    }

    /// Release everything held for one conversation (it ended or was evicted).
    pub fn end_conversation(&mut self, _conversation_id: &str) -> Vec<Utterance> {
        Vec::new()
    }

    /// Redact interim text in place.
    pub fn partial(&mut self, _p: &mut Partial) {}

    /// Redact free text.
    pub fn text(&self, text: &str) -> String {
        text.to_owned()
    }

    /// PII findings counted so far, by kind.
    pub fn counts(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}
