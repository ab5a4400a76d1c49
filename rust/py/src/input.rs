//! Bytes-like arguments: `bytes`, `bytearray`, `memoryview` and `str` (as UTF-8).

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// Call `f` with the bytes of `obj`: zero-copy for `bytes` and `str`, one copy for buffers.
pub fn with_bytes<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(f(s.to_str()?.as_bytes()));
    }
    match PyBuffer::<u8>::get(obj) {
        Ok(buf) => {
            let data = buf.to_vec(obj.py())?;
            Ok(f(&data))
        }
        Err(_) => Err(PyTypeError::new_err(format!(
            "expected bytes, bytearray, memoryview or str, got {}",
            obj.get_type().name()?
        ))),
    }
}
