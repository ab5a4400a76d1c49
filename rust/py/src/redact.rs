//! `Redactor`: argument conversion around `gcstream_core::redact`.

use std::collections::HashMap;

use gcstream_core::privacy::build_redactor;
use gcstream_core::record::PiiFinding;
use gcstream_core::redact::Redactor;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::engine::privacy_config;
use crate::errors::config_error;
use crate::records::PyPiiFinding;

#[pyclass(name = "Redactor", module = "gcstream._core", frozen)]
pub struct PyRedactor {
    inner: Redactor,
    kinds: Vec<String>,
}

/// Character offset of a byte offset (Python indexes strings by code point).
fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].chars().count()
}

#[pymethods]
impl PyRedactor {
    #[new]
    #[pyo3(signature = (*, kinds = None, tags = None, custom = None, spoken = true))]
    fn py_new(
        kinds: Option<Vec<String>>,
        tags: Option<HashMap<String, String>>,
        custom: Option<Vec<(String, String, Option<String>)>>,
        spoken: bool,
    ) -> PyResult<Self> {
        let config = privacy_config(true, kinds, tags, custom, spoken, 0);
        let inner = build_redactor(&config).map_err(|e| config_error(&e))?;
        let mut kinds = config.kinds.clone();
        kinds.extend(config.custom.iter().map(|(name, _, _)| name.clone()));
        Ok(Self { inner, kinds })
    }

    /// The text with every finding replaced by its tag (the same `str` object when there is none).
    #[pyo3(signature = (text, /))]
    fn redact<'py>(&self, text: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyString>> {
        let s = text.to_str()?;
        let found = self.inner.scan(s);
        if found.is_empty() && text.is_exact_instance_of::<PyString>() {
            // Most utterances hold no PII: no copy, no new object (a `str` is immutable).
            return Ok(text.clone());
        }
        Ok(PyString::new(text.py(), &self.inner.replace(s, &found)))
    }

    /// `redact` over many texts in one call (each on its own, as `redact` does it): the same
    /// list of results without a Python call per text.
    #[pyo3(signature = (texts, /))]
    fn redact_many<'py>(&self, texts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = texts.py();
        if texts.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "redact_many takes an iterable of str, not one str (use redact)",
            ));
        }
        let mut out = Vec::with_capacity(texts.len().unwrap_or(0));
        for (i, item) in texts.try_iter()?.enumerate() {
            let item = item?;
            let Ok(text) = item.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "redact_many: item {i} is {}, not str",
                    item.get_type().name()?
                )));
            };
            out.push(self.redact(text)?);
        }
        PyList::new(py, out)
    }

    /// Where PII is: kind and span (code points); never the value.
    #[pyo3(signature = (text, /))]
    fn scan(&self, text: &str) -> Vec<PyPiiFinding> {
        self.inner
            .scan(text)
            .into_iter()
            .map(|f| {
                PyPiiFinding(PiiFinding {
                    kind: self.inner.kind_name(f.kind).to_owned(),
                    field: "text",
                    start: char_offset(text, f.start),
                    end: char_offset(text, f.end),
                })
            })
            .collect()
    }

    /// Redact a token list (a transcript's words): a token that is part of PII becomes its tag.
    #[pyo3(signature = (tokens, /))]
    #[allow(clippy::needless_pass_by_value)] // PyO3 extracts a list argument as an owned Vec.
    fn redact_tokens(&self, tokens: Vec<String>) -> Vec<String> {
        // PyO3 extracts the list into an owned Vec; each token is then reused or replaced.
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let flags = self.inner.scan_tokens(&refs);
        tokens
            .iter()
            .zip(flags)
            .map(|(t, flag)| flag.map_or_else(|| t.clone(), |kind| self.inner.tag(kind).to_owned()))
            .collect()
    }

    /// The kinds this redactor detects (built-in names, then custom pattern names).
    #[getter]
    fn kinds(&self) -> Vec<String> {
        self.kinds.clone()
    }

    fn __repr__(&self) -> String {
        format!("Redactor(kinds={:?})", self.kinds)
    }
}
