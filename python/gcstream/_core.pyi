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
    "Partial",
    "Participant",
    "PiiFinding",
    "Redactor",
    "Rejected",
    "Ring",
    "Utterance",
    "Word",
    "__version__",
    "build_profile",
    "decode_jsonl",
    "encode_jsonl",
    "encode_line_protocol",
    "record_keys",
]

__version__: str
build_profile: Literal["debug", "release"]

_BytesLike = bytes | bytearray | memoryview | str
_Policy = Literal["flag", "drop", "off"]

@final
class FrameAssembler:
    """Splits a byte stream into complete JSON documents, validating as it goes.

    ``message`` mode: each chunk is exactly one WebSocket message holding one document.
    ``stream`` mode: documents may span chunks and several may share one chunk. State is kept
    across chunks (nothing is re-scanned), memory is bounded by ``max_document_bytes``, and errors
    are collected rather than raised so the good documents in the same chunk survive. In stream
    mode one bad document is one error: a document over a limit is skipped to its end (nothing
    inside it comes out; one cut short gives way after eight limits' worth, at the end of a
    document after it), and after any other error scanning resumes at the next ``{`` or ``[``.

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
        conversation_idle_ms: A conversation silent this long is evicted on ``tick`` (Genesys
            sends a status message every 5 minutes, so the default is three missed ones).
        coalesce: ``replace`` (each interim result carries the whole text so far) or ``concat``
            (pieces to join, seed 003's ``fragments``); by default chosen by wire format.
        partial_timeout_ms: An interim result with no final for this long expires on ``tick``
            (a ``Partial`` with ``state="expired"``).
        reorder_window_ms: Finals are ordered per (conversation, channel) by start time within
            this window; later arrivals are delivered with the ``late`` flag. 0 turns ordering off.
        latency_threshold_ms: Utterances later than this are flagged ``latency_over_threshold``.
        latency_policy: ``flag`` (default), ``drop`` (counted) or ``off``; the same for every
            ``*_policy`` option.
        expected_language: Flag ``language_mismatch`` when the dialect differs (case-insensitive).
        min_snr_db: Audio quality gates (seed ``segments``): ``low_snr``, ``high_jitter``,
            ``packet_loss``.
        codec_allowlist: Media types allowed (seeds ``interaction``, ``media``).
        redact: Redact PII from every text field (on by default; turn off only for raw decoding).
        pii_kinds: Built-in kinds: ``ssn``, ``phone``, ``email``, ``credit_card`` (the default)
            and ``person_name`` (opt-in; ``gcstream run``/``demo`` turn it on): names given after
            a cue ("my name is …", "last name is …", "this is Alex"), spelled ("smith s m i t h":
            the word and its other uses), or in answer to the other party's request for a name
            ("can i have your first and last name" → "it's john smith"). Tag ``[PERSON_NAME]``.
        pii_tags: Replacement tag per kind, e.g. ``{"credit_card": "[CARD]"}``.
        pii_custom: Extra patterns as ``(name, regex, tag or None)``; validated here.
        spoken_pii: Detect spoken forms ("four one one one…", "john dot smith at gmail dot com").
        pii_hold_ms: A final that ends in what may be the start of PII ("my card is four one",
            or with ``person_name`` a name cue: "my name is", "that is", "it is john smith"
            before its spelling) is held up to this long for the next utterance of its channel,
            so an entity split across utterances is redacted in both. 0 disables holding.

    Raises:
        ConfigError: An option that cannot work.
    """

    def __new__(
        cls,
        wire_format: str = "notifications",
        *,
        mode: Literal["message", "stream"] | None = None,
        max_document_bytes: int = 1048576,
        max_depth: int = 128,
        dedup_capacity: int = 1048576,
        max_conversations: int = 100000,
        conversation_idle_ms: int = 900000,
        coalesce: Literal["replace", "concat"] | None = None,
        partial_timeout_ms: int | None = None,
        reorder_window_ms: int | None = None,
        latency_threshold_ms: int | None = None,
        latency_policy: _Policy = "flag",
        confidence_policy: _Policy = "flag",
        expected_language: str | None = None,
        language_policy: _Policy = "flag",
        min_snr_db: float = 15.0,
        max_jitter_ms: float = 50.0,
        max_packet_loss_pct: float = 2.0,
        audio_policy: _Policy = "flag",
        codec_allowlist: list[str] | None = None,
        codec_policy: _Policy = "flag",
        interruption_policy: _Policy = "flag",
        redact: bool = True,
        pii_kinds: list[str] | None = None,
        pii_tags: dict[str, str] | None = None,
        pii_custom: list[tuple[str, str, str | None]] | None = None,
        spoken_pii: bool = True,
        pii_hold_ms: int = 10000,
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
class Redactor:
    """PII redaction on its own: the same detector the engine applies to every record.

    Detects SSNs (structural rules), phone numbers (national and international), emails (with a
    TLD check) and payment cards (13 to 19 digits, brand prefixes, Luhn) in digit form and, with
    ``spoken=True``, as speech recognisers write them ("four one one one…", "oh", "double five",
    "plus forty four…", "john dot smith at gmail dot com"). Digit groups may be separated by
    spaces, ``-``, ``.`` and parentheses, or by their look-alikes outside ASCII: any Unicode
    space (no-break, thin, figure, ideographic, …) and the Unicode hyphens, dashes and minus
    signs (U+2010-U+2014, U+2212, U+FE63, U+FF0D). With ``person_name`` in ``kinds``,
    also person names, found without a model or a name list: a spelling of the word before it
    ("smith s m i t h", "hill h i double l"), which then marks the word's other uses too;
    a spelling or name words after a cue ("my name is o s c a r", "last name is garcia", "the
    name on the account is jane doe"); "this is X" only when X is capitalised. Ordinary speech
    ("my name is on the account", "it is what it is", "dot a b c") is left alone.

    Args:
        kinds: Built-in kinds to detect: ``ssn``, ``phone``, ``email``, ``credit_card`` (the
            default) and ``person_name`` (opt-in).
        tags: Replacement tag per kind name (default ``[SSN]``, ``[PHONE]``, ``[EMAIL]``,
            ``[CREDIT_CARD]``, ``[PERSON_NAME]``).
        custom: Extra patterns as ``(name, regex, tag or None)``.
        spoken: Detect spoken forms.

    Raises:
        ConfigError: An unknown kind, a pattern that does not compile or matches the empty
            string, or a tag that would itself be redacted. ``field`` names the setting.
    """

    def __new__(
        cls,
        *,
        kinds: list[str] | None = None,
        tags: dict[str, str] | None = None,
        custom: list[tuple[str, str, str | None]] | None = None,
        spoken: bool = True,
    ) -> Redactor: ...
    def redact(self, text: str, /) -> str:
        """``text`` with every finding replaced by its tag; ``text`` itself (the same object)
        when it holds no PII."""
    def redact_many(self, texts: Iterable[str], /) -> list[str]:
        """``redact`` applied to each text on its own, in one call: for batches (an archive,
        a file of utterances), where a Python call per text would cost more than the scan.

        Raises:
            TypeError: ``texts`` is a single ``str``, or an item is not a ``str``.
        """
    def scan(self, text: str, /) -> list[PiiFinding]:
        """Findings (kind and code-point span, ``field="text"``); never the value."""
    def redact_tokens(self, tokens: list[str], /) -> list[str]:
        """A token list (a transcript's words) with each token that is part of PII replaced
        by its tag; token count and order are kept, so word timings still line up."""
    @property
    def kinds(self) -> list[str]: ...

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
    @property
    def state(self) -> Literal["interim", "expired", "interrupted", "dropped"]:
        """``interim`` text so far; ``expired`` (no final came); ``interrupted`` (reset);
        ``dropped`` (a policy dropped the final, named in ``flags``)."""
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
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def utterances_by_channel(self) -> dict[str, int]: ...
    @property
    def words_by_channel(self) -> dict[str, int]: ...
    @property
    def reason(self) -> str | None:
        """Why an ``evicted`` conversation was evicted: ``idle`` or ``capacity``."""
    def to_dict(self) -> dict[str, Any]: ...

@final
class Gap:
    """Lost (``missing``), ``duplicate`` or ``reordered`` sequence numbers on a numbered stream,
    or a restart of its numbering (``reset``).

    Only a ``duplicate`` (the same number with the same event again) stands in place of its event,
    which is dropped; a ``reordered`` or ``reset`` event is processed as usual. ``count`` is the
    number of numbers skipped for ``missing``, 1 for ``duplicate`` and ``reordered``, 0 for
    ``reset``.
    """

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
    @property
    def at_ms(self) -> int: ...
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

@final
class Ring:
    """The bounded buffer between the engine and the sinks, one cursor per sink.

    Holds records in order, bounded in records and in (estimated) bytes. A record is freed when
    every attached sink has advanced past it. ``paused`` turns on when occupancy reaches
    ``high_watermark`` and off when it falls to ``low_watermark``: stop reading the source while
    it is on.

    Args:
        sinks: Sink names; sink ``i`` reads with ``read(i)`` and acknowledges with ``advance(i, n)``.
        capacity_records: Most records held.
        capacity_bytes: Most bytes held (records' strings and structs, estimated).
        high_watermark: Occupancy (the larger of the two fill fractions) that pauses the reader.
        low_watermark: Occupancy at which a paused ring lets the reader resume.
        policy: When full: ``backpressure`` (refuse; the caller waits), ``drop_newest`` or
            ``drop_oldest`` (both counted).

    Raises:
        ConfigError: A capacity of 0, watermarks outside ``0 <= low < high <= 1``, an unknown policy.
    """

    def __new__(
        cls,
        sinks: list[str],
        /,
        *,
        capacity_records: int = 65536,
        capacity_bytes: int = 67108864,
        high_watermark: float = 0.8,
        low_watermark: float = 0.5,
        policy: Literal["backpressure", "drop_newest", "drop_oldest"] = "backpressure",
    ) -> Ring: ...
    def push_many(self, records: list[Any], /) -> int:
        """Push records in order; returns how many were taken (stored, or dropped by policy).

        Under backpressure it stops at the first record that does not fit: push the rest
        (``records[n:]``) again once sinks have advanced.
        """
    def read(self, sink: int, max: int = 1024, /) -> list[Any]:
        """Up to ``max`` records sink ``sink`` has not passed, oldest first (the cursor stays)."""
    def advance(self, sink: int, n: int, /) -> int:
        """Move the sink past ``n`` delivered records; returns how many records were freed.

        Raises:
            IndexError: No such sink, or it is detached.
            ValueError: ``n`` is more than the sink has unread.
        """
    def detach(self, sink: int, /) -> int:
        """Stop tracking a sink (it failed for good); returns how many records it had not read."""
    def lag(self, sink: int, /) -> int:
        """Records the sink has not passed (0 once detached)."""
    def stats(self) -> dict[str, Any]:
        """``records``, ``bytes``, ``occupancy``, ``paused``, ``pushed``, ``refused``,
        ``dropped_newest``, ``dropped_oldest``, ``pauses``, ``resumes``, ``peak_records``,
        ``peak_bytes`` and ``sinks`` (per name: ``cursor``, ``attached``, ``lag``,
        ``delivered``, ``dropped``)."""
    @property
    def paused(self) -> bool: ...
    @property
    def occupancy(self) -> float: ...
    @property
    def bytes(self) -> int: ...
    @property
    def sinks(self) -> list[str]: ...
    def __len__(self) -> int: ...

def encode_jsonl(records: Iterable[_Record], /) -> bytes:
    """Records as JSON Lines (schema version 1: ``v``, ``type``, ``key``, then the fields)."""

def encode_line_protocol(records: Iterable[_Record], /, measurement: str = "utterance") -> bytes:
    """The utterances among ``records`` as InfluxDB line protocol (ns timestamps); others skipped."""

def record_keys(records: Iterable[_Record], /) -> list[str]:
    """The idempotency key of each record (``utterance/{conversation}/{communication}/{id}``, ...)."""

def decode_jsonl(data: _BytesLike, /) -> tuple[list[_Record], list[tuple[int, str]]]:
    """Read JSON Lines written by ``encode_jsonl`` back into records.

    Bad lines do not raise: they are returned as ``(byte offset, message)`` pairs.
    """
