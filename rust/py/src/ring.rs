//! `Ring`: a `gcstream_core::ring::Ring` of Python objects (records), with byte sizes estimated
//! from the record's own strings.

use std::str::FromStr;

use gcstream_core::engine::ConfigError as CoreConfigError;
use gcstream_core::record::Word;
use gcstream_core::ring::{FullPolicy, Push, Ring, RingConfig, RingError};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::config_error;
use crate::records::{PyControl, PyConversationUpdate, PyGap, PyPartial, PyRejected, PyUtterance};

#[pyclass(name = "Ring", module = "gcstream._core")]
pub struct PyRing {
    inner: Ring<Py<PyAny>>,
    names: Vec<String>,
}

fn ring_config_error(e: &RingError) -> PyErr {
    config_error(&CoreConfigError {
        field: e.field.into(),
        message: e.message.clone(),
    })
}

fn misuse(e: &RingError) -> PyErr {
    if e.field == "sink" {
        PyIndexError::new_err(e.to_string())
    } else {
        PyValueError::new_err(e.to_string())
    }
}

fn words_bytes(words: &[Word]) -> usize {
    words.iter().map(|w| size_of::<Word>() + w.word.len()).sum()
}

/// What a record holds in memory, roughly: its struct plus its strings. Other objects count 64.
fn estimate_bytes(obj: &Bound<'_, PyAny>) -> usize {
    const OBJECT: usize = 64;
    if let Ok(u) = obj.cast::<PyUtterance>() {
        let u = &u.get().0;
        return OBJECT
            + size_of_val(u)
            + u.conversation_id.len()
            + u.utterance_id.len()
            + u.text.len()
            + u.decorated_text.len()
            + words_bytes(&u.words)
            + words_bytes(&u.decorated_words)
            + u.pii.len() * 48;
    }
    if let Ok(p) = obj.cast::<PyPartial>() {
        let p = &p.get().0;
        return OBJECT
            + size_of_val(p)
            + p.conversation_id.len()
            + p.utterance_id.len()
            + p.text.len();
    }
    if let Ok(c) = obj.cast::<PyConversationUpdate>() {
        let c = &c.get().0;
        return OBJECT
            + size_of_val(c)
            + c.conversation_id.len()
            + c.participants.len() * 128
            + c.metadata.len() * 64;
    }
    if let Ok(r) = obj.cast::<PyRejected>() {
        let r = &r.get().0;
        return OBJECT + size_of_val(r) + r.sample.len() + r.message.len();
    }
    if obj.cast::<PyGap>().is_ok() || obj.cast::<PyControl>().is_ok() {
        return OBJECT + 128;
    }
    OBJECT
}

#[pymethods]
impl PyRing {
    #[new]
    #[pyo3(signature = (
        sinks, /, *, capacity_records = 65_536, capacity_bytes = 67_108_864, high_watermark = 0.8,
        low_watermark = 0.5, policy = "backpressure",
    ))]
    fn py_new(
        sinks: Vec<String>,
        capacity_records: usize,
        capacity_bytes: usize,
        high_watermark: f64,
        low_watermark: f64,
        policy: &str,
    ) -> PyResult<Self> {
        let policy = FullPolicy::from_str(policy).map_err(|message| {
            config_error(&CoreConfigError {
                field: "policy".into(),
                message,
            })
        })?;
        let config = RingConfig {
            capacity_records,
            capacity_bytes,
            high_watermark,
            low_watermark,
            policy,
        };
        let inner = Ring::new(config, sinks.len()).map_err(|e| ring_config_error(&e))?;
        Ok(Self {
            inner,
            names: sinks,
        })
    }

    /// Push records in order; returns how many were taken (stored, or dropped by policy). Under
    /// backpressure it stops at the first record that does not fit: retry the rest later.
    #[pyo3(signature = (records, /))]
    fn push_many(&mut self, records: &Bound<'_, PyList>) -> usize {
        let mut taken = 0;
        for item in records.iter() {
            let bytes = estimate_bytes(&item);
            if let Push::Full(_) = self.inner.push(item.unbind(), bytes) {
                break;
            }
            taken += 1;
        }
        taken
    }

    /// Up to `max` records `sink` has not passed, oldest first; the cursor does not move.
    #[pyo3(signature = (sink, max = 1024, /))]
    fn read<'py>(&self, py: Python<'py>, sink: usize, max: usize) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.read(sink, max).map(|o| o.clone_ref(py)))
    }

    /// Move `sink` past `n` records it has delivered; returns how many records were freed.
    #[pyo3(signature = (sink, n, /))]
    fn advance(&mut self, sink: usize, n: usize) -> PyResult<usize> {
        self.inner.advance(sink, n).map_err(|e| misuse(&e))
    }

    /// Stop tracking `sink`; returns how many records it had not read.
    #[pyo3(signature = (sink, /))]
    fn detach(&mut self, sink: usize) -> PyResult<u64> {
        self.inner.detach(sink).map_err(|e| misuse(&e))
    }

    #[pyo3(signature = (sink, /))]
    fn lag(&self, sink: usize) -> u64 {
        self.inner.lag(sink)
    }

    #[getter]
    fn paused(&self) -> bool {
        self.inner.paused()
    }

    #[getter]
    fn occupancy(&self) -> f64 {
        self.inner.occupancy()
    }

    #[getter]
    fn bytes(&self) -> usize {
        self.inner.bytes()
    }

    #[getter]
    fn sinks(&self) -> Vec<String> {
        self.names.clone()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Counters, occupancy and per-sink `cursor`, `lag`, `delivered`, `dropped`, `attached`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.inner.counters();
        let d = PyDict::new(py);
        d.set_item("records", self.inner.len())?;
        d.set_item("bytes", self.inner.bytes())?;
        d.set_item("occupancy", self.inner.occupancy())?;
        d.set_item("paused", self.inner.paused())?;
        d.set_item("head", self.inner.head())?;
        d.set_item("tail", self.inner.tail())?;
        d.set_item("pushed", c.pushed)?;
        d.set_item("refused", c.refused)?;
        d.set_item("dropped_newest", c.dropped_newest)?;
        d.set_item("dropped_oldest", c.dropped_oldest)?;
        d.set_item("pauses", c.pauses)?;
        d.set_item("resumes", c.resumes)?;
        d.set_item("peak_records", c.peak_records)?;
        d.set_item("peak_bytes", c.peak_bytes)?;
        let sinks = PyDict::new(py);
        for (i, name) in self.names.iter().enumerate() {
            let s = PyDict::new(py);
            let (delivered, dropped) = self.inner.sink_counters(i).unwrap_or_default();
            s.set_item("cursor", self.inner.cursor(i))?;
            s.set_item("attached", self.inner.cursor(i).is_some())?;
            s.set_item("lag", self.inner.lag(i))?;
            s.set_item("delivered", delivered)?;
            s.set_item("dropped", dropped)?;
            sinks.set_item(name, s)?;
        }
        d.set_item("sinks", sinks)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "Ring({:?}, capacity_records={}, capacity_bytes={}, high_watermark={}, low_watermark={}, policy={:?})",
            self.names,
            c.capacity_records,
            c.capacity_bytes,
            c.high_watermark,
            c.low_watermark,
            c.policy.as_str()
        )
    }
}
