//! Frozen record classes. Each wraps the core record and converts a field only when it is read,
//! so a record crosses into Python as one object, not a tree of dicts.

use gcstream_core::record::{
    Control, ConversationUpdate, Gap, Partial, Participant, PiiFinding, Record, Rejected,
    Utterance, Word,
};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// Defines a frozen pyclass around a core type with getters, `__match_args__`, `__eq__`,
/// `__repr__` and `to_dict()`, all driven by one field list.
macro_rules! record_class {
    (
        $wrapper:ident, $name:literal, $inner:ty,
        match_args = [$($m:literal),* $(,)?],
        fields = { $($field:ident => |$s:ident, $py:ident| $conv:expr),* $(,)? }
    ) => {
        #[pyclass(frozen, name = $name, module = "gcstream._core", skip_from_py_object)]
        #[derive(Clone)]
        pub struct $wrapper(pub $inner);

        #[pymethods]
        impl $wrapper {
            $(
                #[getter]
                fn $field<'py>(&self, $py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                    let $s = &self.0;
                    ($conv).into_bound_py_any($py)
                }
            )*

            #[classattr]
            fn __match_args__(py: Python<'_>) -> PyResult<Py<PyTuple>> {
                Ok(PyTuple::new(py, [$($m),*])?.unbind())
            }

            /// The record as plain Python values (lists and dicts all the way down).
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                $( d.set_item(stringify!($field), to_plain(&self.$field(py)?)?)?; )*
                Ok(d)
            }

            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other.cast::<Self>().is_ok_and(|o| o.get().0 == self.0)
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                $( parts.push(format!("{}={}", stringify!($field), self.$field(py)?.repr()?)); )*
                Ok(format!("{}({})", $name, parts.join(", ")))
            }
        }
    };
}

/// Nested record objects (words, findings, participants) become dicts in `to_dict()`.
fn to_plain<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(list) = value.cast::<PyList>() {
        let out = PyList::empty(value.py());
        for item in list.iter() {
            if item.hasattr("to_dict")? {
                out.append(item.call_method0("to_dict")?)?;
            } else {
                out.append(item)?;
            }
        }
        return Ok(out.into_any());
    }
    Ok(value.clone())
}

fn words(list: &[Word]) -> Vec<PyWord> {
    list.iter().cloned().map(PyWord).collect()
}

record_class!(PyWord, "Word", Word,
    match_args = ["word", "offset_ms", "duration_ms", "confidence"],
    fields = {
        word => |s, py| s.word.as_str(),
        offset_ms => |s, py| s.offset_ms,
        duration_ms => |s, py| s.duration_ms,
        confidence => |s, py| s.confidence,
    }
);

record_class!(PyPiiFinding, "PiiFinding", PiiFinding,
    match_args = ["kind", "field", "start", "end"],
    fields = {
        kind => |s, py| s.kind.as_str(),
        field => |s, py| s.field,
        start => |s, py| s.start,
        end => |s, py| s.end,
    }
);

record_class!(PyParticipant, "Participant", Participant,
    match_args = ["id", "purpose", "user_id", "queue_id", "ended"],
    fields = {
        id => |s, py| s.id.as_str(),
        purpose => |s, py| s.purpose.as_deref(),
        user_id => |s, py| s.user_id.as_deref(),
        queue_id => |s, py| s.queue_id.as_deref(),
        ended => |s, py| s.ended,
    }
);

record_class!(PyUtterance, "Utterance", Utterance,
    match_args = ["conversation_id", "communication_id", "utterance_id", "channel", "text"],
    fields = {
        conversation_id => |s, py| s.conversation_id.as_str(),
        communication_id => |s, py| s.communication_id.as_deref(),
        utterance_id => |s, py| s.utterance_id.as_str(),
        channel => |s, py| s.channel.as_str(),
        text => |s, py| s.text.as_str(),
        decorated_text => |s, py| s.decorated_text.as_str(),
        words => |s, py| words(&s.words),
        decorated_words => |s, py| words(&s.decorated_words),
        confidence => |s, py| s.confidence,
        language => |s, py| s.language.as_deref(),
        start_ms => |s, py| s.start_ms,
        end_ms => |s, py| s.end_ms,
        received_at_ms => |s, py| s.received_at_ms,
        latency_ms => |s, py| s.latency_ms,
        event_time_ms => |s, py| s.event_time_ms,
        offset_ms => |s, py| s.offset_ms,
        duration_ms => |s, py| s.duration_ms,
        organization_id => |s, py| s.organization_id.as_deref(),
        engine => |s, py| s.engine.as_deref(),
        pii => |s, py| s.pii.iter().cloned().map(PyPiiFinding).collect::<Vec<_>>(),
        flags => |s, py| PyTuple::new(py, &s.flags)?,
    }
);

record_class!(PyPartial, "Partial", Partial,
    match_args = ["conversation_id", "communication_id", "utterance_id", "channel", "text"],
    fields = {
        conversation_id => |s, py| s.conversation_id.as_str(),
        communication_id => |s, py| s.communication_id.as_deref(),
        utterance_id => |s, py| s.utterance_id.as_str(),
        channel => |s, py| s.channel.as_str(),
        text => |s, py| s.text.as_str(),
        confidence => |s, py| s.confidence,
        start_ms => |s, py| s.start_ms,
        end_ms => |s, py| s.end_ms,
        received_at_ms => |s, py| s.received_at_ms,
        flags => |s, py| PyTuple::new(py, &s.flags)?,
        state => |s, py| s.state.as_str(),
    }
);

record_class!(PyConversationUpdate, "ConversationUpdate", ConversationUpdate,
    match_args = ["conversation_id", "kind", "status"],
    fields = {
        conversation_id => |s, py| s.conversation_id.as_str(),
        kind => |s, py| s.kind.as_str(),
        status => |s, py| s.status.as_deref(),
        communication_id => |s, py| s.communication_id.as_deref(),
        topic => |s, py| s.topic.as_deref(),
        at_ms => |s, py| s.at_ms,
        participants => |s, py| s.participants.iter().cloned().map(PyParticipant).collect::<Vec<_>>(),
        utterances => |s, py| s.utterances,
        words => |s, py| s.words,
        first_ms => |s, py| s.first_ms,
        last_ms => |s, py| s.last_ms,
        metadata => |s, py| s.metadata.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        utterances_by_channel => |s, py| s.utterances_by_channel.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        words_by_channel => |s, py| s.words_by_channel.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        reason => |s, py| s.reason.as_deref(),
    }
);

record_class!(PyGap, "Gap", Gap,
    match_args = ["stream", "kind", "expected", "got", "count"],
    fields = {
        stream => |s, py| s.stream.as_str(),
        kind => |s, py| s.kind.as_str(),
        expected => |s, py| s.expected,
        got => |s, py| s.got,
        count => |s, py| s.count,
        at_ms => |s, py| s.at_ms,
    }
);

record_class!(PyRejected, "Rejected", Rejected,
    match_args = ["reason", "offset", "sample"],
    fields = {
        reason => |s, py| s.reason.as_str(),
        offset => |s, py| s.offset,
        sample => |s, py| s.sample.as_str(),
        message => |s, py| s.message.as_str(),
    }
);

record_class!(PyControl, "Control", Control,
    match_args = ["kind", "topic", "message"],
    fields = {
        kind => |s, py| s.kind.as_str(),
        topic => |s, py| s.topic.as_deref(),
        message => |s, py| s.message.as_deref(),
        code => |s, py| s.code.as_deref(),
        received_at_ms => |s, py| s.received_at_ms,
    }
);

/// One core record as its Python class.
pub fn record_to_py(py: Python<'_>, record: Record) -> PyResult<Py<PyAny>> {
    match record {
        Record::Utterance(r) => PyUtterance(r).into_py_any(py),
        Record::Partial(r) => PyPartial(r).into_py_any(py),
        Record::ConversationUpdate(r) => PyConversationUpdate(r).into_py_any(py),
        Record::Gap(r) => PyGap(r).into_py_any(py),
        Record::Rejected(r) => PyRejected(r).into_py_any(py),
        Record::Control(r) => PyControl(r).into_py_any(py),
    }
}

/// A batch of records as a Python list.
pub fn records_to_list(py: Python<'_>, records: Vec<Record>) -> PyResult<Bound<'_, PyList>> {
    let items = records
        .into_iter()
        .map(|r| record_to_py(py, r))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}
