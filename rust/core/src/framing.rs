//! PLACEHOLDER — replaced by the incremental validating assembler (being written in parallel).
//! Same public API; this version re-validates with serde_json and is neither linear nor bounded.

use std::fmt;

/// How frames map to documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Each fed chunk is exactly one document.
    Message,
    /// Documents may span chunks; several may share one.
    Stream,
}

/// Limits and mode.
#[derive(Clone, Debug)]
pub struct FramingConfig {
    pub mode: Mode,
    pub max_document_bytes: usize,
    pub max_depth: usize,
}

impl Default for FramingConfig {
    fn default() -> Self {
        Self { mode: Mode::Stream, max_document_bytes: 1 << 20, max_depth: 128 }
    }
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramingErrorKind {
    UnexpectedByte,
    Truncated,
    TrailingData,
    Empty,
    DocumentTooLarge,
    TooDeep,
}

impl FramingErrorKind {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnexpectedByte => "unexpected_byte",
            Self::Truncated => "truncated",
            Self::TrailingData => "trailing_data",
            Self::Empty => "empty",
            Self::DocumentTooLarge => "document_too_large",
            Self::TooDeep => "too_deep",
        }
    }
}

/// A framing error with the offset of the first bad byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramingError {
    pub kind: FramingErrorKind,
    pub offset: u64,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.as_str(), self.offset)
    }
}

impl std::error::Error for FramingError {}

/// Placeholder assembler.
#[derive(Debug)]
pub struct FrameAssembler {
    config: FramingConfig,
    buf: Vec<u8>,
    errors: Vec<FramingError>,
}

impl FrameAssembler {
    pub fn new(config: FramingConfig) -> Self {
        Self { config, buf: Vec::new(), errors: Vec::new() }
    }

    pub fn feed(&mut self, chunk: &[u8], on_document: &mut impl FnMut(&[u8])) {
        match self.config.mode {
            Mode::Message => match serde_json::from_slice::<&serde_json::value::RawValue>(chunk) {
                Ok(raw) => on_document(raw.get().as_bytes()),
                Err(_) => self.errors.push(FramingError { kind: FramingErrorKind::UnexpectedByte, offset: 0 }),
            },
            Mode::Stream => {
                self.buf.extend_from_slice(chunk);
                let mut consumed = 0;
                let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<&serde_json::value::RawValue>();
                while let Some(Ok(raw)) = it.next() {
                    on_document(raw.get().as_bytes());
                    consumed = it.byte_offset();
                }
                self.buf.drain(..consumed);
            }
        }
    }

    pub fn finish(&mut self, _on_document: &mut impl FnMut(&[u8])) {
        if self.buf.iter().any(|b| !b.is_ascii_whitespace()) {
            self.errors.push(FramingError { kind: FramingErrorKind::Truncated, offset: 0 });
        }
        self.buf.clear();
    }

    pub fn take_errors(&mut self) -> Vec<FramingError> {
        std::mem::take(&mut self.errors)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn bytes_buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn reset(&mut self) {
        self.buf.clear();
        self.errors.clear();
    }
}
