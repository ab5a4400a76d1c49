//! The one place where core errors become Python exceptions (classes in `gcstream.exceptions`).

use gcstream_core::engine::ConfigError as CoreConfigError;
use gcstream_core::framing::FramingError as CoreFramingError;
use pyo3::prelude::*;

pyo3::import_exception!(gcstream.exceptions, ConfigError);
pyo3::import_exception!(gcstream.exceptions, FramingError);

/// A configuration the core refused: `gcstream.ConfigError(message, field=...)`.
pub fn config_error(err: &CoreConfigError) -> PyErr {
    ConfigError::new_err((err.to_string(), err.field.clone()))
}

/// A collected framing error as an exception instance (not raised): `FramingError(message, kind, offset)`.
pub fn framing_error(py: Python<'_>, err: &CoreFramingError) -> Py<PyAny> {
    let e = FramingError::new_err((err.to_string(), err.kind.as_str(), err.offset));
    e.into_value(py).into_any()
}
