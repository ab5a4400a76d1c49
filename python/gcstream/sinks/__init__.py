"""Where records go: one file per sink, all behind the small :class:`Sink` protocol.

A sink receives batches of records (already redacted by the engine) from its own cursor on the
pipeline's ring, and must be **at-least-once with idempotent keys**: writing the same record twice
(after a retry, or when a spool is replayed) never produces a second row, point, line or message.
Every record has a key (:func:`record_keys`, computed in the core):

================  =================================================================
record            key
================  =================================================================
Utterance         ``utterance/{conversation}/{communication or -}/{utterance id}``
Partial           the utterance key + ``/{received_at_ms}/{end_ms}`` (one per revision)
ConversationUpdate ``conversation/{conversation}/{kind}/{at_ms}``
Gap               ``gap/{stream}/{kind}/{expected}/{got}``
Rejected          ``rejected/{reason}/{offset or -}/{hash of the redacted sample}``
Control           ``control/{kind}/{received_at_ms}/{topic or -}``
================  =================================================================

Sinks: :class:`~gcstream.sinks.jsonl.JsonlSink` (audit log), :class:`~gcstream.sinks.sqlite.SqliteSink`
(embedded store), :class:`~gcstream.sinks.influx.InfluxSink` (v1 and v2 write APIs),
:class:`~gcstream.sinks.webhook.WebhookSink` (knowledge sync) and
:class:`~gcstream.sinks.nats.NatsSink` (JetStream). A sink that is down is spooled to disk by the
pipeline (:class:`~gcstream.sinks.spool.Spool`) and catches up in order when it returns.

Transient or permanent — the rule every sink follows when ``write`` fails:

* **Transient** (:class:`~gcstream.exceptions.SinkError`): the sink, its peer or the disk is in
  trouble, whatever the records — connection refused, timeout, HTTP 408/425/429/5xx, disk full,
  database locked, and also credentials or a URL the peer refuses (HTTP 401/403/404/405/407: not
  the record's fault). The whole batch is retried with backoff, or spooled, and nothing is lost.
* **Permanent** (:class:`~gcstream.exceptions.SinkRejectedError`, a subclass): the peer refused
  *these records* and would refuse them again — any other HTTP 4xx (400, 413, 422, ...), a
  SQLite constraint or value error, a NATS message over ``max_payload``. The sink still stores
  every other record of the batch and names the refused ones (``rejected``: position -> reason
  class). The pipeline sets them aside in a dead-letter file (``{spool_dir}/{sink}.rejected.jsonl``),
  counts them, audits a ``sink_rejected`` entry per record, logs a warning, and goes on with the
  next record: one bad record never blocks a sink, nor, through the ring, the others.

Per sink: JSONL never refuses a record (every failure is the disk's); SQLite refuses on
``IntegrityError``/``DataError`` (found by writing the batch again one record per transaction);
InfluxDB bisects a refused request down to the refused points; the webhook refuses the one
utterance its request carried; NATS refuses a record over the server's ``max_payload``. A sink you
write should raise the same two errors.

Writing a sink::

    class PrintSink:
        name = "print"
        kinds = frozenset({"utterance"})

        async def open(self) -> None: ...
        async def write(self, batch: Sequence[gcstream.Record]) -> None:
            for r in batch:
                print(r.text)
        async def flush(self) -> None: ...
        async def aclose(self) -> None: ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from gcstream._core import (
    Control,
    ConversationUpdate,
    Gap,
    Partial,
    Rejected,
    Utterance,
    decode_jsonl,
    encode_jsonl,
    encode_line_protocol,
    record_keys,
)
from gcstream.exceptions import SinkError
from gcstream.logging import mask_urls

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = [
    "ALL_KINDS",
    "KIND_OF",
    "FailureAuditor",
    "RejectionAuditor",
    "Sink",
    "SinkError",
    "decode_jsonl",
    "encode_jsonl",
    "encode_line_protocol",
    "kind_of",
    "record_keys",
]

KIND_OF: Final[dict[type, str]] = {
    Utterance: "utterance",
    Partial: "partial",
    ConversationUpdate: "conversation_update",
    Gap: "gap",
    Rejected: "rejected",
    Control: "control",
}
"""Record class -> kind name, as used in ``Sink.kinds`` and in the JSON Lines ``type``."""

ALL_KINDS: Final = frozenset(KIND_OF.values())
"""Every record kind."""


def kind_of(record: object) -> str:
    """Return the kind name of a record (``utterance``, ``partial``, ...).

    Raises:
        TypeError: ``record`` is not a gcstream record.
    """
    try:
        return KIND_OF[type(record)]
    except KeyError:
        raise TypeError(f"expected a gcstream record, got {type(record).__name__}") from None


@runtime_checkable
class Sink(Protocol):
    """A destination for records.

    Attributes:
        name: Unique within a pipeline; names its spool directory and its metrics.
        kinds: The record kinds it wants (see :data:`ALL_KINDS`); the pipeline filters for it.
    """

    name: str
    kinds: frozenset[str]

    async def open(self) -> None:
        """Connect / create files and tables. Raise :class:`SinkError` if that is impossible."""

    async def write(self, batch: Sequence[Record]) -> None:
        """Deliver ``batch`` (in order, possibly empty) idempotently.

        Raises:
            SinkError: Nothing or only part of the batch is known to be stored; the pipeline
                retries or spools the whole batch, which is safe because writes are idempotent.
        """

    async def flush(self) -> None:
        """Make everything written so far durable (fsync, send buffered points)."""

    async def aclose(self) -> None:
        """Flush and release connections and files. Safe to call twice."""


@runtime_checkable
class FailureAuditor(Protocol):
    """A sink that also records other sinks' failures (the JSONL audit log does)."""

    name: str

    async def audit_failure(self, sink: str, error: str, *, records: int, action: str) -> None:
        """Append a ``sink_failure`` entry: which sink, why, how many records, what was done."""


@runtime_checkable
class RejectionAuditor(Protocol):
    """A sink that also records the records other sinks refused for good (the JSONL audit log)."""

    name: str

    async def audit_rejected(
        self, sink: str, *, reason: str, key: str, error: str, dead_letter: str | None
    ) -> None:
        """Append a ``sink_rejected`` entry: which sink, the reason class, the record key, the
        error and the dead-letter file the record went to (None: it could not be kept)."""


def check_sinks(sinks: Sequence[Sink]) -> None:
    """Refuse duplicate names and unknown kinds.

    Raises:
        ConfigError: A problem with the sink list.
    """
    from gcstream.exceptions import ConfigError

    seen: set[str] = set()
    for s in sinks:
        if not s.name or "/" in s.name or s.name.startswith("."):
            raise ConfigError(f"bad sink name {s.name!r}", "sinks")
        if s.name in seen:
            raise ConfigError(f"two sinks are named {s.name!r}", "sinks")
        seen.add(s.name)
        unknown = set(s.kinds) - ALL_KINDS
        if unknown:
            raise ConfigError(f"sink {s.name!r} wants unknown kinds {sorted(unknown)}", "sinks")


def fail(sink: str, message: str, cause: BaseException | None = None) -> SinkError:
    """Build a :class:`SinkError` whose message names the sink and the cause, with the credentials
    of any URL in it masked (the message goes to the audit log, the report and the log)."""
    return SinkError(describe_failure(sink, message, cause), sink=sink)


def describe_failure(sink: str, message: str, cause: BaseException | None = None) -> str:
    """``"{sink}: {message} ({cause class}: {cause})"``, URL credentials masked."""
    text = f"{sink}: {message}"
    if cause is not None:
        text += f" ({type(cause).__name__}: {cause})"
    return mask_urls(text)
