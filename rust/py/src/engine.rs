//! `Engine`: argument conversion around `gcstream_core::engine`.

use std::str::FromStr;

use gcstream_core::decode::WireFormat;
use gcstream_core::engine::{ConfigError as CoreConfigError, Engine, EngineConfig};
use gcstream_core::framing::FramingConfig;
use gcstream_core::metrics::{Histogram, Stats};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::config_error;
use crate::framing::parse_mode;
use crate::input::with_bytes;
use crate::records::records_to_list;

#[pyclass(name = "Engine", module = "gcstream._core")]
pub struct PyEngine {
    inner: Engine,
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (
        wire_format = "notifications", *, mode = "message", max_document_bytes = 1_048_576, max_depth = 128,
        dedup_capacity = 1_048_576, max_conversations = 100_000, conversation_idle_ms = 21_600_000,
    ))]
    fn py_new(
        wire_format: &str,
        mode: &str,
        max_document_bytes: usize,
        max_depth: usize,
        dedup_capacity: usize,
        max_conversations: usize,
        conversation_idle_ms: i64,
    ) -> PyResult<Self> {
        let wire_format = WireFormat::from_str(wire_format)
            .map_err(|message| config_error(&CoreConfigError { field: "wire_format".into(), message }))?;
        let mode = parse_mode(mode).map_err(|e| config_error(&e))?;
        let config = EngineConfig {
            wire_format,
            framing: FramingConfig { mode, max_document_bytes, max_depth },
            dedup_capacity,
            max_conversations,
            conversation_idle_ms,
        };
        Engine::new(config).map(|inner| Self { inner }).map_err(|e| config_error(&e))
    }

    #[pyo3(signature = (frame, /, *, received_at_ms))]
    fn feed<'py>(&mut self, py: Python<'py>, frame: &Bound<'py, PyAny>, received_at_ms: i64) -> PyResult<Bound<'py, PyList>> {
        let records = with_bytes(frame, |b| self.inner.feed(b, received_at_ms))?;
        records_to_list(py, records)
    }

    /// Feed many frames received at the same time; one crossing for the whole batch.
    #[pyo3(signature = (frames, /, *, received_at_ms))]
    fn feed_many<'py>(&mut self, py: Python<'py>, frames: &Bound<'py, PyAny>, received_at_ms: i64) -> PyResult<Bound<'py, PyList>> {
        let mut records = Vec::new();
        for frame in frames.try_iter()? {
            with_bytes(&frame?, |b| self.inner.feed_into(b, received_at_ms, &mut records))?;
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
        stats_dict(py, self.inner.stats())
    }

    #[getter]
    fn wire_format(&self) -> &'static str {
        self.inner.config().wire_format.as_str()
    }

    fn __repr__(&self) -> String {
        format!("Engine(wire_format={:?})", self.inner.config().wire_format.as_str())
    }
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
    d.set_item("confidence_min", (s.confidence_count > 0).then_some(s.confidence_min))?;
    d.set_item("words_per_second", s.words_per_second())?;
    d.set_item("conversations_active", s.conversations_active)?;
    Ok(d)
}
