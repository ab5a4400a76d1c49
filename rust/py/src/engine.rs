//! `Engine`: argument conversion around `gcstream_core::engine`.

use std::collections::HashMap;
use std::str::FromStr;

use gcstream_core::engine::{ConfigError as CoreConfigError, Engine, EngineConfig};
use gcstream_core::framing::FramingConfig;
use gcstream_core::metrics::{Histogram, Stats};
use gcstream_core::privacy::PrivacyConfig;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::config_error;
use crate::framing::parse_mode;
use crate::input::{Input, with_bytes};
use crate::records::records_to_list;

#[pyclass(name = "Engine", module = "gcstream._core")]
pub struct PyEngine {
    inner: Engine,
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (
        wire_format = "notifications", *, mode = None, max_document_bytes = 1_048_576, max_depth = 128,
        dedup_capacity = 1_048_576, max_conversations = 100_000, conversation_idle_ms = 900_000,
        coalesce = None, partial_timeout_ms = None, reorder_window_ms = None,
        latency_threshold_ms = None, latency_policy = "flag", confidence_policy = "flag",
        expected_language = None, language_policy = "flag",
        min_snr_db = 15.0, max_jitter_ms = 50.0, max_packet_loss_pct = 2.0, audio_policy = "flag",
        codec_allowlist = None, codec_policy = "flag", interruption_policy = "flag",
        redact = true, pii_kinds = None, pii_tags = None, pii_custom = None, spoken_pii = true, pii_hold_ms = 10_000,
    ))]
    // One keyword per option, as the stub documents them; each is converted and nothing more.
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        wire_format: &str,
        mode: Option<&str>,
        max_document_bytes: usize,
        max_depth: usize,
        dedup_capacity: usize,
        max_conversations: usize,
        conversation_idle_ms: i64,
        coalesce: Option<&str>,
        partial_timeout_ms: Option<i64>,
        reorder_window_ms: Option<i64>,
        latency_threshold_ms: Option<i64>,
        latency_policy: &str,
        confidence_policy: &str,
        expected_language: Option<String>,
        language_policy: &str,
        min_snr_db: f64,
        max_jitter_ms: f64,
        max_packet_loss_pct: f64,
        audio_policy: &str,
        codec_allowlist: Option<Vec<String>>,
        codec_policy: &str,
        interruption_policy: &str,
        redact: bool,
        pii_kinds: Option<Vec<String>>,
        pii_tags: Option<HashMap<String, String>>,
        pii_custom: Option<Vec<(String, String, Option<String>)>>,
        spoken_pii: bool,
        pii_hold_ms: i64,
    ) -> PyResult<Self> {
        let wire_format = parse("wire_format", wire_format)?;
        let mut config = EngineConfig::for_format(wire_format);
        if let Some(mode) = mode {
            config.framing.mode = parse_mode(mode).map_err(|e| config_error(&e))?;
        }
        config.framing = FramingConfig {
            max_document_bytes,
            max_depth,
            ..config.framing
        };
        config.dedup_capacity = dedup_capacity;
        config.max_conversations = max_conversations;
        config.conversation_idle_ms = conversation_idle_ms;
        if let Some(c) = coalesce {
            config.coalesce = parse("coalesce", c)?;
        }
        config.partial_timeout_ms = partial_timeout_ms.unwrap_or(config.partial_timeout_ms);
        config.reorder_window_ms = reorder_window_ms.unwrap_or(config.reorder_window_ms);
        let q = &mut config.quality;
        q.latency_threshold_ms = latency_threshold_ms.or(q.latency_threshold_ms);
        q.latency_policy = parse("latency_policy", latency_policy)?;
        q.confidence_policy = parse("confidence_policy", confidence_policy)?;
        q.expected_language = expected_language;
        q.language_policy = parse("language_policy", language_policy)?;
        (q.min_snr_db, q.max_jitter_ms, q.max_packet_loss_pct) =
            (min_snr_db, max_jitter_ms, max_packet_loss_pct);
        q.audio_policy = parse("audio_policy", audio_policy)?;
        if let Some(list) = codec_allowlist {
            q.codec_allowlist = list;
        }
        q.codec_policy = parse("codec_policy", codec_policy)?;
        q.interruption_policy = parse("interruption_policy", interruption_policy)?;
        config.privacy = privacy_config(
            redact,
            pii_kinds,
            pii_tags,
            pii_custom,
            spoken_pii,
            pii_hold_ms,
        );
        Engine::new(config)
            .map(|inner| Self { inner })
            .map_err(|e| config_error(&e))
    }

    #[pyo3(signature = (frame, /, *, received_at_ms))]
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
        received_at_ms: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let records = with_bytes(frame, |b| self.inner.feed(b, received_at_ms))?;
        records_to_list(py, records)
    }

    /// Feed many frames received at the same time; one crossing for the whole batch.
    ///
    /// Every item is checked before the first is fed: an item that is not bytes-like raises
    /// `TypeError` with nothing fed, rather than after the engine has consumed (and counted, and
    /// deduplicated) frames whose records the caller would then never get.
    #[pyo3(signature = (frames, /, *, received_at_ms))]
    fn feed_many<'py>(
        &mut self,
        py: Python<'py>,
        frames: &Bound<'py, PyAny>,
        received_at_ms: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let inputs = frames
            .try_iter()?
            .map(|frame| Input::new(&frame?))
            .collect::<PyResult<Vec<_>>>()?;
        let mut records = Vec::new();
        for input in &inputs {
            self.inner
                .feed_into(input.bytes(), received_at_ms, &mut records);
        }
        records_to_list(py, records)
    }

    #[pyo3(signature = (now_ms, /))]
    fn tick<'py>(&mut self, py: Python<'py>, now_ms: i64) -> PyResult<Bound<'py, PyList>> {
        records_to_list(py, self.inner.tick(now_ms))
    }

    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        records_to_list(py, self.inner.finish())
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats())
    }

    #[getter]
    fn wire_format(&self) -> &'static str {
        self.inner.config().wire_format.as_str()
    }

    fn __repr__(&self) -> String {
        format!(
            "Engine(wire_format={:?})",
            self.inner.config().wire_format.as_str()
        )
    }
}

/// The redaction options shared by `Engine` and `Redactor`.
pub fn privacy_config(
    enabled: bool,
    kinds: Option<Vec<String>>,
    tags: Option<HashMap<String, String>>,
    custom: Option<Vec<(String, String, Option<String>)>>,
    spoken: bool,
    hold_ms: i64,
) -> PrivacyConfig {
    let defaults = PrivacyConfig::default();
    let mut tags: Vec<(String, String)> = tags.unwrap_or_default().into_iter().collect();
    tags.sort();
    PrivacyConfig {
        enabled,
        kinds: kinds.unwrap_or(defaults.kinds),
        tags,
        custom: custom.unwrap_or_default(),
        spoken,
        hold_ms,
    }
}

/// Parse a named option with the core's `FromStr`, mapping the error to `ConfigError`.
fn parse<T: FromStr<Err = String>>(field: &str, value: &str) -> PyResult<T> {
    T::from_str(value).map_err(|message| {
        config_error(&CoreConfigError {
            field: field.into(),
            message,
        })
    })
}

fn histogram_dict<'py>(py: Python<'py>, h: &Histogram) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("count", h.count())?;
    d.set_item("mean", h.mean())?;
    d.set_item("min", h.min())?;
    d.set_item("max", h.max())?;
    d.set_item("p50", h.quantile(0.50))?;
    d.set_item("p95", h.quantile(0.95))?;
    d.set_item("p99", h.quantile(0.99))?;
    d.set_item("buckets", h.cumulative())?;
    Ok(d)
}

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("frames", s.frames)?;
    d.set_item("bytes", s.bytes)?;
    d.set_item("documents", s.documents)?;
    d.set_item("records", s.records.clone())?;
    d.set_item("rejected", s.rejected.clone())?;
    d.set_item("controls", s.controls.clone())?;
    d.set_item("flags", s.flags.clone())?;
    d.set_item("pii", s.pii.clone())?;
    d.set_item("duplicates", s.duplicates)?;
    d.set_item("words", s.words)?;
    d.set_item("latency_ms", histogram_dict(py, &s.latency_ms)?)?;
    d.set_item("negative_latency", s.negative_latency)?;
    d.set_item("confidence_mean", s.confidence_mean())?;
    d.set_item(
        "confidence_min",
        (s.confidence_count > 0).then_some(s.confidence_min),
    )?;
    d.set_item("words_per_second", s.words_per_second())?;
    d.set_item("conversations_active", s.conversations_active)?;
    d.set_item("transcript_events", s.transcript_events)?;
    d.set_item("stale_partials", s.stale_partials)?;
    d.set_item("dropped", s.dropped.clone())?;
    d.set_item("gaps", s.gaps.clone())?;
    d.set_item("interruptions", s.interruptions)?;
    d.set_item("partials_expired", s.partials_expired)?;
    d.set_item("partials_interrupted", s.partials_interrupted)?;
    d.set_item("partials_dropped", s.partials_dropped)?;
    d.set_item("status_repeats", s.status_repeats)?;
    d.set_item("conversations_ended", s.conversations_ended)?;
    d.set_item("conversations_evicted", s.conversations_evicted)?;
    Ok(d)
}
