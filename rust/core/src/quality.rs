//! Quality gates: each checks one property of a transcript and, by policy, flags or drops it.
//!
//! The default policy of every gate is [`Policy::Flag`]: the record is delivered with a flag
//! naming the problem. [`Policy::Drop`] is an explicit choice; a dropped record is counted (per
//! flag) in `stats()["dropped"]`, never lost silently. [`Policy::Off`] disables the gate.
//!
//! | gate | flag(s) | default |
//! |---|---|---|
//! | latency (received − utterance end) over a threshold | `latency_over_threshold` | per wire format, see [`default_latency_threshold_ms`] |
//! | confidence outside [0, 1] (clamped either way) | `confidence_out_of_range` | — |
//! | declared language ≠ expected or detected, case-insensitive | `language_mismatch` | no expected language |
//! | audio quality (seed 002) | `low_snr`, `high_jitter`, `packet_loss` | SNR ≥ 15 dB, jitter ≤ 50 ms, loss ≤ 2 % |
//! | codec / media type not allowed (seeds 000, 001) | `codec_not_allowed` | per wire format, see [`default_codec_allowlist`] |
//! | interruption (seed 002) | `interruption` | — |
//!
//! ```
//! use gcstream_core::quality::{Policy, QualityConfig};
//! let q = QualityConfig::default();
//! let mut flags = Vec::new();
//! let (confidence, drop) = q.confidence(Some(1.4), &mut flags);
//! assert_eq!((confidence, drop, flags.as_slice()), (1.0, None, &["confidence_out_of_range".to_owned()][..]));
//! assert_eq!(q.confidence_policy, Policy::Flag);
//! ```

use crate::decode::{AudioQuality, WireFormat};

/// What a gate does when its check fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The gate is disabled.
    Off,
    /// Deliver the record with a flag (the default).
    Flag,
    /// Do not deliver the record; count it under the flag's name.
    Drop,
}

impl Policy {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Flag => "flag",
            Self::Drop => "drop",
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Self::Off),
            "flag" => Ok(Self::Flag),
            "drop" => Ok(Self::Drop),
            _ => Err(format!(
                "unknown policy {s:?}; expected one of: off, flag, drop"
            )),
        }
    }
}

/// The latency threshold a source's normal delivery stays under.
///
/// Genesys publishes transcripts in batches "usually within about 35 s" of speech (research §2.2),
/// or ~2–10 s with low-latency transcription, so for the real API only a delay beyond that window
/// (40 s) is abnormal. Seed 000 sets 800 ms for its interaction stream; the other seed streams are
/// interim-result feeds for which 2 s is already late.
pub fn default_latency_threshold_ms(format: WireFormat) -> i64 {
    match format {
        WireFormat::Notifications | WireFormat::EventBridge => 40_000,
        WireFormat::Interaction => 800,
        WireFormat::Media | WireFormat::Segments | WireFormat::Fragments => 2_000,
        WireFormat::ConversationEvents => 5_000,
    }
}

/// The codecs a source is known to send: seed 000's `supportedCodecs` and seed 001's
/// `SUPPORTED_CODECS`. Other formats carry no media type, so no list applies (empty = anything).
pub fn default_codec_allowlist(format: WireFormat) -> Vec<String> {
    let list: &[&str] = match format {
        WireFormat::Interaction => &["audio/l16;rate=8000", "audio/l16;rate=16000", "audio/ulaw"],
        WireFormat::Media => &["opus", "g729", "pcmu", "pcma"],
        _ => &[],
    };
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Thresholds and policies of every gate.
#[derive(Clone, Debug)]
pub struct QualityConfig {
    /// Flag when received − utterance end exceeds this; `None` disables the check.
    pub latency_threshold_ms: Option<i64>,
    pub latency_policy: Policy,
    /// Confidence is always clamped into [0, 1]; the policy decides about the flag.
    pub confidence_policy: Policy,
    /// The language the stream should be in; compared case-insensitively (`en-US` = `en-us`).
    pub expected_language: Option<String>,
    /// Applies to a mismatch with `expected_language` and with the detected language (seed 002).
    pub language_policy: Policy,
    pub min_snr_db: f64,
    pub max_jitter_ms: f64,
    pub max_packet_loss_pct: f64,
    pub audio_policy: Policy,
    /// Allowed codecs / media types, compared case-insensitively; empty allows anything. A
    /// transcript that names no media type is never flagged.
    pub codec_allowlist: Vec<String>,
    pub codec_policy: Policy,
    /// `Flag` (default) marks interrupted records; `Drop` drops them. Either way the speaker's
    /// pending partials are reset. `Off` ignores the source's interruption signal entirely.
    pub interruption_policy: Policy,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self::for_format(WireFormat::Notifications)
    }
}

impl QualityConfig {
    /// The defaults for one wire format.
    pub fn for_format(format: WireFormat) -> Self {
        Self {
            latency_threshold_ms: Some(default_latency_threshold_ms(format)),
            latency_policy: Policy::Flag,
            confidence_policy: Policy::Flag,
            expected_language: None,
            language_policy: Policy::Flag,
            min_snr_db: 15.0,
            max_jitter_ms: 50.0,
            max_packet_loss_pct: 2.0,
            audio_policy: Policy::Flag,
            codec_allowlist: default_codec_allowlist(format),
            codec_policy: Policy::Flag,
            interruption_policy: Policy::Flag,
        }
    }

    /// Clamp a confidence into [0, 1] (missing or NaN is 0). Returns the value and the flag that
    /// asks for a drop, if any.
    pub fn confidence(
        &self,
        raw: Option<f64>,
        flags: &mut Vec<String>,
    ) -> (f64, Option<&'static str>) {
        match raw {
            None => (0.0, None),
            Some(c) if (0.0..=1.0).contains(&c) => (c, None),
            Some(c) => {
                let clamped = if c.is_nan() { 0.0 } else { c.clamp(0.0, 1.0) };
                (
                    clamped,
                    apply(self.confidence_policy, "confidence_out_of_range", flags),
                )
            }
        }
    }

    /// Latency gate; `latency_ms` is received − utterance end.
    pub fn latency(&self, latency_ms: i64, flags: &mut Vec<String>) -> Option<&'static str> {
        match self.latency_threshold_ms {
            Some(t) if latency_ms > t => {
                apply(self.latency_policy, "latency_over_threshold", flags)
            }
            _ => None,
        }
    }

    /// Language gate: the declared language against the expected one and the detected one.
    pub fn language(
        &self,
        declared: Option<&str>,
        audio: Option<&AudioQuality>,
        flags: &mut Vec<String>,
    ) -> Option<&'static str> {
        let declared = declared?;
        let expected = self
            .expected_language
            .as_deref()
            .is_some_and(|e| !e.eq_ignore_ascii_case(declared));
        let detected = audio
            .and_then(|a| a.detected_language.as_deref())
            .is_some_and(|d| !d.eq_ignore_ascii_case(declared));
        if expected || detected {
            apply(self.language_policy, "language_mismatch", flags)
        } else {
            None
        }
    }

    /// Audio-quality gate (seed 002 thresholds by default).
    pub fn audio(
        &self,
        audio: Option<&AudioQuality>,
        flags: &mut Vec<String>,
    ) -> Option<&'static str> {
        let a = audio?;
        let mut drop = None;
        if a.snr_db.is_some_and(|v| v < self.min_snr_db) {
            drop = drop.or(apply(self.audio_policy, "low_snr", flags));
        }
        if a.jitter_ms.is_some_and(|v| v > self.max_jitter_ms) {
            drop = drop.or(apply(self.audio_policy, "high_jitter", flags));
        }
        if a.packet_loss_pct
            .is_some_and(|v| v > self.max_packet_loss_pct)
        {
            drop = drop.or(apply(self.audio_policy, "packet_loss", flags));
        }
        drop
    }

    /// Codec allowlist gate.
    pub fn codec(&self, media_type: Option<&str>, flags: &mut Vec<String>) -> Option<&'static str> {
        match media_type {
            Some(m)
                if !self.codec_allowlist.is_empty()
                    && !self
                        .codec_allowlist
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(m)) =>
            {
                apply(self.codec_policy, "codec_not_allowed", flags)
            }
            _ => None,
        }
    }

    /// Interruption gate: flags (or asks to drop) a record the source marked as interrupted.
    pub fn interruption(&self, interrupted: bool, flags: &mut Vec<String>) -> Option<&'static str> {
        if interrupted {
            apply(self.interruption_policy, "interruption", flags)
        } else {
            None
        }
    }
}

fn apply(policy: Policy, flag: &'static str, flags: &mut Vec<String>) -> Option<&'static str> {
    match policy {
        Policy::Off => None,
        Policy::Flag => {
            flags.push(flag.to_owned());
            None
        }
        Policy::Drop => {
            flags.push(flag.to_owned());
            Some(flag)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_is_case_insensitive() {
        let q = QualityConfig {
            expected_language: Some("en-US".into()),
            ..QualityConfig::default()
        };
        let mut flags = Vec::new();
        assert_eq!(q.language(Some("en-us"), None, &mut flags), None);
        assert!(flags.is_empty());
        q.language(Some("es-ES"), None, &mut flags);
        assert_eq!(flags, ["language_mismatch"]);
    }

    #[test]
    fn audio_thresholds_and_drop_policy() {
        let q = QualityConfig {
            audio_policy: Policy::Drop,
            ..QualityConfig::default()
        };
        let a = AudioQuality {
            snr_db: Some(15.0),
            jitter_ms: Some(50.0),
            packet_loss_pct: Some(2.0),
            detected_language: None,
        };
        let mut flags = Vec::new();
        assert_eq!(
            q.audio(Some(&a), &mut flags),
            None,
            "thresholds are inclusive"
        );
        let bad = AudioQuality {
            snr_db: Some(14.9),
            packet_loss_pct: Some(2.5),
            ..a
        };
        assert_eq!(q.audio(Some(&bad), &mut flags), Some("low_snr"));
        assert_eq!(flags, ["low_snr", "packet_loss"]);
    }

    #[test]
    fn codecs_per_format() {
        let q = QualityConfig::for_format(WireFormat::Media);
        let mut flags = Vec::new();
        q.codec(Some("OPUS"), &mut flags);
        q.codec(None, &mut flags);
        assert!(flags.is_empty());
        q.codec(Some("g711"), &mut flags);
        assert_eq!(flags, ["codec_not_allowed"]);
        assert!(QualityConfig::default().codec_allowlist.is_empty());
    }
}
