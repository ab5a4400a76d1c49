//! Bytes-like arguments: `bytes`, `bytearray`, `memoryview` and `str` (as UTF-8).

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// The bytes of one bytes-like argument, checked and ready to read.
pub enum Input<'py> {
    Bytes(Bound<'py, PyBytes>),
    /// A `str` that encodes to UTF-8 (read in place: CPython keeps the UTF-8 form).
    Str(Bound<'py, PyString>),
    /// A buffer (one copy), or a `str` holding lone surrogates, encoded with `surrogatepass`: its
    /// bytes are not UTF-8, so whatever reads them rejects them as such.
    Owned(Vec<u8>),
}

impl<'py> Input<'py> {
    /// Check `obj` is bytes-like. The only error is a `TypeError` naming the type: the value
    /// itself (a frame, which may hold PII) is never quoted.
    pub fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Self::Bytes(b.clone()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            if s.to_str().is_ok() {
                return Ok(Self::Str(s.clone()));
            }
            // The UnicodeEncodeError just raised quotes the whole string: it is dropped here.
            let encoded = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
            return Ok(Self::Owned(encoded.cast::<PyBytes>()?.as_bytes().to_vec()));
        }
        match PyBuffer::<u8>::get(obj) {
            Ok(buf) => Ok(Self::Owned(buf.to_vec(obj.py())?)),
            Err(_) => Err(PyTypeError::new_err(format!(
                "expected bytes, bytearray, memoryview or str, got {}",
                obj.get_type().name()?
            ))),
        }
    }

    /// The bytes. A `str` is read as the UTF-8 that [`Input::new`] found it has, which CPython
    /// then keeps with the string, so reading it again cannot fail.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b.as_bytes(),
            Self::Str(s) => s.to_str().map_or(&[], str::as_bytes),
            Self::Owned(v) => v,
        }
    }
}

/// Call `f` with the bytes of `obj`: zero-copy for `bytes` and `str`, one copy for buffers.
pub fn with_bytes<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    Ok(f(Input::new(obj)?.bytes()))
}
