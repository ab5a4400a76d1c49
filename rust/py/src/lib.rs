//! PyO3 bindings for `gcstream-core`, built as `gcstream._core`.
//!
//! This crate only converts arguments and maps errors; every decision lives in the core.
//! Users import `gcstream`, never this module.

mod encode;
mod engine;
mod errors;
mod framing;
mod input;
mod records;
mod redact;
mod ring;

use pyo3::prelude::*;

// The engine makes and frees many small strings and vectors per frame (ids, words, records);
// mimalloc's thread-local free lists halve what the system allocator costs for that pattern.
// Built with `local_dynamic_tls`: the extension is dlopen'ed, where initial-exec TLS may not fit.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::encode::{decode_jsonl, encode_jsonl, encode_line_protocol, record_keys};
    #[pymodule_export]
    use super::engine::PyEngine;
    #[pymodule_export]
    use super::framing::PyFrameAssembler;
    #[pymodule_export]
    use super::records::{
        PyControl, PyConversationUpdate, PyGap, PyPartial, PyParticipant, PyPiiFinding, PyRejected,
        PyUtterance, PyWord,
    };
    #[pymodule_export]
    use super::redact::PyRedactor;
    #[pymodule_export]
    use super::ring::PyRing;

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add(
            "build_profile",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        )?;
        Ok(())
    }
}
