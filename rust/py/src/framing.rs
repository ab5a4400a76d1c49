//! `FrameAssembler`: argument conversion around `gcstream_core::framing`.

use gcstream_core::engine::ConfigError as CoreConfigError;
use gcstream_core::framing::{FrameAssembler, FramingConfig, Mode};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{config_error, framing_error};
use crate::input::with_bytes;

pub fn parse_mode(mode: &str) -> Result<Mode, CoreConfigError> {
    match mode {
        "message" => Ok(Mode::Message),
        "stream" => Ok(Mode::Stream),
        other => Err(CoreConfigError {
            field: "mode".into(),
            message: format!("unknown mode {other:?}; expected \"message\" or \"stream\""),
        }),
    }
}

#[pyclass(name = "FrameAssembler", module = "gcstream._core")]
pub struct PyFrameAssembler {
    inner: FrameAssembler,
    mode: String,
}

#[pymethods]
impl PyFrameAssembler {
    #[new]
    #[pyo3(signature = (mode = "stream", *, max_document_bytes = 1_048_576, max_depth = 128))]
    fn py_new(mode: &str, max_document_bytes: usize, max_depth: usize) -> PyResult<Self> {
        let parsed = parse_mode(mode).map_err(|e| config_error(&e))?;
        if max_document_bytes == 0 || max_depth == 0 {
            let field = if max_depth == 0 {
                "max_depth"
            } else {
                "max_document_bytes"
            };
            return Err(config_error(&CoreConfigError {
                field: field.into(),
                message: "must be at least 1".into(),
            }));
        }
        let inner = FrameAssembler::new(FramingConfig {
            mode: parsed,
            max_document_bytes,
            max_depth,
        });
        Ok(Self {
            inner,
            mode: mode.to_owned(),
        })
    }

    #[pyo3(signature = (chunk, /))]
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        chunk: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let mut docs = Vec::new();
        with_bytes(chunk, |b| {
            self.inner
                .feed(b, &mut |doc| docs.push(PyBytes::new(py, doc)));
        })?;
        Ok(docs)
    }

    fn finish<'py>(&mut self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        let mut docs = Vec::new();
        self.inner
            .finish(&mut |doc| docs.push(PyBytes::new(py, doc)));
        docs
    }

    fn take_errors(&mut self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.inner
            .take_errors()
            .iter()
            .map(|e| framing_error(py, e))
            .collect()
    }

    #[getter]
    fn bytes_buffered(&self) -> usize {
        self.inner.bytes_buffered()
    }

    #[getter]
    fn mode(&self) -> &str {
        &self.mode
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        format!("FrameAssembler(mode={:?})", self.mode)
    }
}
