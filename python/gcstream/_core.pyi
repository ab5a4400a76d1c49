"""Stub of the Rust extension ``gcstream._core``. Import from ``gcstream``, not from here."""

from collections.abc import Iterable
from typing import Any, ClassVar, Literal, final

from gcstream.exceptions import FramingError

__all__ = [
    "Control",
    "ConversationUpdate",
    "Engine",
    "FrameAssembler",
    "Gap",
    "Participant",
    "Partial",
    "PiiFinding",
    "Rejected",
    "Utterance",
    "Word",
    "__version__",
    "build_profile",
]

__version__: str
build_profile: Literal["debug", "release"]

_BytesLike = bytes | bytearray | memoryview | str

@final
class FrameAssembler:
    """Splits a byte stream into complete JSON documents, validating as it goes.

    ``message`` mode: each chunk is exactly one WebSocket message holding one document.
    ``stream`` mode: documents may span chunks and several may share one chunk. State is kept
    across chunks (nothing is re-scanned), memory is bounded by ``max_document_bytes``, and errors
    are collected rather than raised so the good documents in the same chunk survive.

    Args:
        mode: ``"stream"`` or ``"message"``.
        max_document_bytes: Larger documents become a ``document_too_large`` error.
        max_depth: Deeper nesting becomes a ``too_deep`` error.

    Raises:
        ConfigError: An unknown mode or a zero limit.
    """

    def __new__(
        cls,
        mode: Literal["stream", "message"] = "stream",
        *,
        max_document_bytes: int = 1048576,
        max_depth: int = 128,
    ) -> FrameAssembler: ...
    def feed(self, chunk: _BytesLike, /) -> list[bytes]:
        """Feed one chunk; returns the documents it completed, in order.

        Call ``take_errors()`` afterwards to see what was rejected, and ``finish()`` at the end.
        """
    def finish(self) -> list[bytes]:
        """End of input: a pending top-level number completes; an unfinished document becomes a
        ``truncated`` error."""
    def take_errors(self) -> list[FramingError]:
        """The errors collected since the last call (each has ``kind`` and ``offset``)."""
    def reset(self) -> None:
        """Forget any partial document and collected errors."""
    @property
    def bytes_buffered(self) -> int:
        """Bytes held for a document that spans chunks (never more than ``max_document_bytes``)."""
    @property
    def mode(self) -> str: ...

@final
class Engine:
    """The whole hot path: framing, decoding, redaction, coalescing and metrics.

    Feed every received frame with the time it arrived; call ``tick`` now and then so that
    waiting state expires; call ``finish`` at the end of the stream. Every method returns the
    records it completed; text in them is already redacted.

    Args:
        wire_format: ``notifications`` (Genesys WebSocket) or ``eventbridge``.
        mode: ``message`` (one document per frame) or ``stream`` (documents span frames).
        max_document_bytes: Larger documents are rejected.
        max_depth: Deeper nesting is rejected.
        dedup_capacity: How many utterance keys are remembered to drop repeats.
        max_conversations: Conversations tracked at once; beyond it the least recently active
            is evicted (with a ``ConversationUpdate(kind="evicted")``).
        conversation_idle_ms: A conversation silent this long is evicted on ``tick``.

    Raises:
        ConfigError: An option that cannot work.
    """

    def __new__(
        cls,
        wire_format: str = "notifications",
        *,
        mode: Literal["message", "stream"] = "message",
        max_document_bytes: int = 1048576,
        max_depth: int = 128,
        dedup_capacity: int = 1048576,
        max_conversations: int = 100000,
        conversation_idle_ms: int = 21600000,
    ) -> Engine: ...
    def feed(self, frame: _BytesLike, /, *, received_at_ms: int) -> list[_Record]:
        """Feed one received frame; returns the records it completed. Never raises on bad input:
        it becomes ``Rejected`` records and the frames around it are unaffected."""
    def feed_many(self, frames: Iterable[_BytesLike], /, *, received_at_ms: int) -> list[_Record]:
        """Feed several frames received together, crossing into Rust once."""
    def tick(self, now_ms: int, /) -> list[_Record]:
        """Advance time to ``now_ms``: expire what waited too long."""
    def finish(self) -> list[_Record]:
        """End of the stream: flush everything pending."""
    def stats(self) -> dict[str, Any]:
        """Counters and histograms: ``records`` by kind, ``rejected`` by reason, ``duplicates``,
        ``latency_ms`` (count, mean, min, max, p50, p95, p99, buckets), confidence, PII by kind."""
    @property
    def wire_format(self) -> str: ...

@final
class Word:
    """One timed token; a redacted token carries the tag (``[CREDIT_CARD]``)."""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def word(self) -> str: ...
    @property
    def offset_ms(self) -> int: ...
    @property
    def duration_ms(self) -> int: ...
    @property
    def confidence(self) -> float: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class PiiFinding:
    """Where PII was found (kind, field, span in the unredacted field); never the value."""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def kind(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Participant:
    """A conversation participant announced by a discovery topic."""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def id(self) -> str: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def queue_id(self) -> str | None: ...
    @property
    def ended(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Utterance:
    """A final utterance, once per (conversation, communication, utterance id); text redacted.

    ``end_ms`` is ``sessionStartTimeMs + offsetMs + durationMs``; ``latency_ms`` is
    ``received_at_ms - end_ms``.
    """

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def conversation_id(self) -> str: ...
    @property
    def communication_id(self) -> str | None: ...
    @property
    def utterance_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def decorated_text(self) -> str: ...
    @property
    def words(self) -> list[Word]: ...
    @property
    def decorated_words(self) -> list[Word]: ...
    @property
    def confidence(self) -> float: ...
    @property
    def language(self) -> str | None: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...
    @property
    def received_at_ms(self) -> int: ...
    @property
    def latency_ms(self) -> int: ...
    @property
    def event_time_ms(self) -> int | None: ...
    @property
    def offset_ms(self) -> int: ...
    @property
    def duration_ms(self) -> int: ...
    @property
    def organization_id(self) -> str | None: ...
    @property
    def engine(self) -> str | None: ...
    @property
    def pii(self) -> list[PiiFinding]: ...
    @property
    def flags(self) -> tuple[str, ...]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Partial:
    """Interim text of an utterance that is not final yet (for captions); redacted."""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def conversation_id(self) -> str: ...
    @property
    def communication_id(self) -> str | None: ...
    @property
    def utterance_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...
    @property
    def received_at_ms(self) -> int: ...
    @property
    def flags(self) -> tuple[str, ...]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class ConversationUpdate:
    """A conversation changed: ``started``, ``status``, ``discovered``, ``call_ended``, ``ended``
    (with a summary), ``evicted``."""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def conversation_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def communication_id(self) -> str | None: ...
    @property
    def topic(self) -> str | None: ...
    @property
    def at_ms(self) -> int: ...
    @property
    def participants(self) -> list[Participant]: ...
    @property
    def utterances(self) -> int: ...
    @property
    def words(self) -> int: ...
    @property
    def first_ms(self) -> int | None: ...
    @property
    def last_ms(self) -> int | None: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Gap:
    """Lost (``missing``), ``duplicate`` or ``reordered`` sequence numbers on a numbered stream."""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def stream(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def expected(self) -> int: ...
    @property
    def got(self) -> int: ...
    @property
    def count(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Rejected:
    """Input that could not be used. ``sample`` is redacted and truncated."""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def reason(self) -> str: ...
    @property
    def offset(self) -> int | None: ...
    @property
    def sample(self) -> str: ...
    @property
    def message(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Control:
    """A protocol event: ``heartbeat``, ``pong``, ``socket_closing``, ``subscribed``, ``token_revoked``, …"""

    __match_args__: ClassVar[tuple[str, ...]]
    @property
    def kind(self) -> str: ...
    @property
    def topic(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def code(self) -> str | None: ...
    @property
    def received_at_ms(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

_Record = Utterance | Partial | ConversationUpdate | Gap | Rejected | Control
