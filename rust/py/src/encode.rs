//! Encoders over lists of records: JSON Lines, InfluxDB line protocol, idempotency keys, and the
//! JSON Lines reader the spool replays with. One crossing per batch.

use gcstream_core::encode::{
    RecordRef, parse_json_line, record_key, write_json_line, write_line_protocol,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::input::with_bytes;
use crate::records::{
    PyControl, PyConversationUpdate, PyGap, PyPartial, PyRejected, PyUtterance, record_to_py,
};

/// Call `f` with the core record behind a Python record object.
fn with_record<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(RecordRef<'_>) -> R) -> PyResult<R> {
    if let Ok(r) = obj.cast::<PyUtterance>() {
        return Ok(f(RecordRef::Utterance(&r.get().0)));
    }
    if let Ok(r) = obj.cast::<PyPartial>() {
        return Ok(f(RecordRef::Partial(&r.get().0)));
    }
    if let Ok(r) = obj.cast::<PyConversationUpdate>() {
        return Ok(f(RecordRef::ConversationUpdate(&r.get().0)));
    }
    if let Ok(r) = obj.cast::<PyGap>() {
        return Ok(f(RecordRef::Gap(&r.get().0)));
    }
    if let Ok(r) = obj.cast::<PyRejected>() {
        return Ok(f(RecordRef::Rejected(&r.get().0)));
    }
    if let Ok(r) = obj.cast::<PyControl>() {
        return Ok(f(RecordRef::Control(&r.get().0)));
    }
    Err(PyTypeError::new_err(format!(
        "expected a gcstream record, got {}",
        obj.get_type().name()?
    )))
}

/// Records as JSON Lines (schema version 1), one line each, in order.
#[pyfunction]
#[pyo3(signature = (records, /))]
pub fn encode_jsonl<'py>(
    py: Python<'py>,
    records: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(1024);
    for item in records.try_iter()? {
        with_record(&item?, |r| write_json_line(r, &mut out))?;
    }
    Ok(PyBytes::new(py, &out))
}

/// The utterances among `records` as InfluxDB line protocol; other records are skipped.
#[pyfunction]
#[pyo3(signature = (records, /, measurement = "utterance"))]
pub fn encode_line_protocol<'py>(
    py: Python<'py>,
    records: &Bound<'py, PyAny>,
    measurement: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(1024);
    for item in records.try_iter()? {
        with_record(&item?, |r| {
            if let RecordRef::Utterance(u) = r {
                write_line_protocol(u, measurement, &mut out);
            }
        })?;
    }
    Ok(PyBytes::new(py, &out))
}

/// The idempotency key of each record.
#[pyfunction]
#[pyo3(signature = (records, /))]
pub fn record_keys(records: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    records
        .try_iter()?
        .map(|item| with_record(&item?, |r| record_key(r)))
        .collect()
}

/// Records read back, and `(byte offset, message)` for each line that was not a record.
type Decoded<'py> = (Bound<'py, PyList>, Vec<(usize, String)>);

/// Read JSON Lines written by `encode_jsonl` back into records. Bad lines do not raise: they come
/// back as `(byte offset, message)` pairs beside the records, and blank lines are skipped.
#[pyfunction]
#[pyo3(signature = (data, /))]
pub fn decode_jsonl<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Decoded<'py>> {
    let (records, errors) = with_bytes(data, |bytes| {
        let mut records = Vec::new();
        let mut errors = Vec::new();
        let mut offset = 0;
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            if !line.iter().all(u8::is_ascii_whitespace) {
                match parse_json_line(line) {
                    Ok(r) => records.push(r),
                    Err(e) => errors.push((offset, e.to_string())),
                }
            }
            offset += line.len();
        }
        (records, errors)
    })?;
    let list = PyList::empty(py);
    for r in records {
        list.append(record_to_py(py, r)?)?;
    }
    Ok((list, errors))
}
