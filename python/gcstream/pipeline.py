"""source → engine → ring → sinks, with backpressure to the socket and a clean shutdown.

::

    pipeline = gcstream.Pipeline(
        source,                                   # a gcstream.sources.Source, or any async
        gcstream.Engine(wire_format="notifications"),  # iterable of frames (bytes / str / Frame)
        [JsonlSink("audit.jsonl"), SqliteSink("gcstream.db"), InfluxSink(url, api="v1", database="cc")],
        spool_dir="spool",
    )
    report = await pipeline.run(handle_signals=True)   # returns after SIGINT/SIGTERM or end of input
    raise SystemExit(report.exit_code)

# Theory of operation

*Ingest* (one task) pulls frames from the source, groups consecutive frames from the same
connection received in the same millisecond (up to ``batch_frames``), feeds each group to the
engine in one call (``feed_many``) and pushes the records into the :class:`~gcstream._core.Ring`
in one call. Control and conversation records go back to the source (``source.react``).

*Backpressure.* The ring pauses at ``high_watermark`` and resumes at ``low_watermark``. While it is
paused the reader does not pull from the source, so the source's small frame buffer fills, its
socket readers stop reading, and TCP pushes back on the server: memory stays bounded by the ring
plus a few frames. A batch the ring refuses (backpressure policy) waits for space; nothing is
dropped unless ``full_policy`` says so (``drop_newest``/``drop_oldest``), and then it is counted.

*Sinks.* One task per sink reads batches from its own cursor, filters the kinds the sink wants,
writes, and advances the cursor only after the write returned. A sink whose write fails (after
the sink's own retries) is retried with backoff; if a spool is configured, the batch goes to the
sink's on-disk spool instead and the cursor advances, and from then on new records queue behind
the spool (order is kept) until a delivery from the spool succeeds and it has caught up. Without
a spool, the failing sink holds its cursor and the ring fills: the source is paused rather than
anything dropped. A spool that cannot be written (disk full, permission denied) detaches the sink
with a clear error (its undelivered records are counted as lost) so the other sinks keep going.
Every failure is audited in the JSONL audit log if there is one, and logged on the
``gcstream.pipeline`` logger: a warning when a sink starts failing (its name, the error class, a
short message with credentials masked), then at most one line per ``log_interval`` seconds with a
count, and an info line when it recovers.

*Refused records.* A sink that refuses records for good
(:class:`~gcstream.exceptions.SinkRejectedError`; see :mod:`gcstream.sinks` for which errors are
permanent) stored the rest of its batch: the refused records are set aside in its dead-letter
file, ``{dead_letter_dir}/{sink}.rejected.jsonl`` (one ``sink_rejected`` envelope per line with the
record inside, already redacted), audited as ``sink_rejected`` entries naming sink, reason and
key, counted (``rejected``) and logged (throttled like failures), and delivery goes on with the
next record. Without a dead-letter directory they are counted as lost.

*Shutdown* (``stop()``, SIGINT or SIGTERM, or the end of the source): stop pulling, feed the
frames already pulled, ``engine.finish()``, push, then let every sink drain its cursor and flush.
After ``shutdown_timeout`` seconds, whatever a sink still has not written goes to its spool (or,
without a spool, is reported as lost). :class:`PipelineReport` says what was delivered, spooled,
set aside and lost per sink; ``exit_code`` is 0 when nothing was lost. Records left in a spool (a
sink still down at exit: the next run delivers them) and records set aside are not lost, and a
warning at exit says how many and where.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gcstream._aio import cancel_and_wait
from gcstream._core import Engine, Partial, Ring, Utterance, record_keys
from gcstream.exceptions import ConfigError, SinkError, SinkRejectedError
from gcstream.genesys.retry import Backoff
from gcstream.logging import mask_urls
from gcstream.sinks import FailureAuditor, RejectionAuditor, Sink, check_sinks, describe_failure, kind_of
from gcstream.sinks.dead_letter import DeadLetters
from gcstream.sinks.spool import Spool, SpoolFsync, SpoolFull, SpoolFullPolicy

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["Pipeline", "PipelineReport", "SinkReport"]

FullPolicy = Literal["backpressure", "drop_newest", "drop_oldest"]

log = logging.getLogger("gcstream.pipeline")

MESSAGE_CHARS = 300
"""How much of an error message a log line carries."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class SinkReport:
    """What one sink got.

    Attributes:
        name: The sink.
        state: ``running``, ``retrying``, ``spooling``, ``drained``, ``failed`` or ``closed``.
        delivered: Records written to the sink (after kind filtering), spool replays included.
        spooled: Records written to its spool since start.
        spool_pending: Records in its spool now (to be delivered by the next run if not caught up).
        lost: Records it will never get: no spool at shutdown timeout, or detached after a fatal
            error, or dropped by a ``drop_oldest`` ring or spool.
        failures: Failed write attempts.
        rejected: Records it refused for good, set aside in ``dead_letter`` (counted as lost too
            when there is no dead-letter file).
        dead_letter: Its dead-letter file, once something was set aside.
        error: The last error, if any.
    """

    name: str
    state: str = "starting"
    delivered: int = 0
    spooled: int = 0
    spool_pending: int = 0
    lost: int = 0
    failures: int = 0
    rejected: int = 0
    dead_letter: str | None = None
    error: str | None = None


@dataclass
class PipelineReport:
    """The outcome of :meth:`Pipeline.run`.

    Attributes:
        frames: Frames pulled from the source.
        records: Records the engine produced.
        dropped: Records the ring dropped by policy (``drop_newest``/``drop_oldest``).
        stopped_by: ``signal``, ``stop`` or ``end_of_input``.
        timed_out: The shutdown timeout expired before every sink drained.
        sinks: Per-sink reports, by name.
        ring: The ring's final counters.
    """

    frames: int = 0
    records: int = 0
    dropped: int = 0
    stopped_by: str = "end_of_input"
    timed_out: bool = False
    sinks: dict[str, SinkReport] = field(default_factory=dict)
    ring: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Records lost by any sink."""
        return sum(s.lost for s in self.sinks.values())

    @property
    def rejected(self) -> int:
        """Records refused for good by any sink (set aside in dead-letter files)."""
        return sum(s.rejected for s in self.sinks.values())

    @property
    def spool_pending(self) -> int:
        """Records still in some sink's spool (the next run delivers them)."""
        return sum(s.spool_pending for s in self.sinks.values())

    @property
    def exit_code(self) -> int:
        """0 when every record reached every sink, its spool or its dead-letter file, else 1."""
        return 0 if self.lost == 0 and self.dropped == 0 else 1


class _Throttle:
    """Says when a repeated event deserves a log line: the first time, then at most once per
    ``interval`` seconds, with how many happened in between."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.since: float | None = None  # the first event of the current run of events
        self.total = 0
        self.unlogged = 0
        self._logged_at = 0.0

    def event(self) -> bool:
        """Count one event; True when it should be logged now (then :attr:`unlogged` says how many
        events the line stands for)."""
        now = time.monotonic()
        first = self.since is None
        if first:
            self.since = now
        self.total += 1
        self.unlogged += 1
        if first or now - self._logged_at >= self.interval:
            self._logged_at = now
            return True
        return False

    def logged(self) -> int:
        """The events the line being written stands for; resets that count."""
        n, self.unlogged = self.unlogged, 0
        return n

    def reset(self) -> tuple[int, float]:
        """End the run of events: ``(events, seconds since the first)``."""
        out = (self.total, time.monotonic() - (self.since or time.monotonic()))
        self.since, self.total, self.unlogged = None, 0, 0
        return out


def _error_class(e: BaseException) -> str:
    """The class of the innermost cause: ``OSError``, ``ClientConnectorError``, ``SinkError``."""
    while e.__cause__ is not None:
        e = e.__cause__
    return type(e).__name__


def _short(message: str) -> str:
    message = mask_urls(message)
    return message if len(message) <= MESSAGE_CHARS else message[: MESSAGE_CHARS - 1] + "…"


class _SinkRunner:
    """The task that moves records from one cursor into one sink (see the module docs)."""

    def __init__(self, pipeline: Pipeline, index: int, sink: Sink, spool: Spool | None) -> None:
        self.p = pipeline
        self.i = index
        self.sink = sink
        self.spool = spool
        self.report = SinkReport(sink.name)
        self.wake = asyncio.Event()
        self.backoff = Backoff(initial=pipeline.retry_initial, maximum=pipeline.retry_max)
        self.next_retry = 0.0
        self.failing_since: float | None = None
        self.failure_log = _Throttle(pipeline.log_interval)
        self.rejection_log = _Throttle(pipeline.log_interval)
        self.rejection_reasons: dict[str, int] = {}
        directory = pipeline.dead_letter_dir
        self.dead_letters = None if directory is None else DeadLetters(directory, sink.name)
        self.opened = False
        self.draining = False
        self.task: asyncio.Task[None] | None = None

    # -- delivery ---------------------------------------------------------------------------

    async def deliver(self, records: Sequence[Record], *, action: str) -> bool:
        """Write ``records``; on failure audit it, schedule the next try and return False.

        Records the sink refused for good are set aside, and the rest count as delivered.
        """
        refused: SinkRejectedError | None = None
        try:
            if not self.opened:
                async with asyncio.timeout(self.p.sink_timeout):
                    await self.sink.open()
                self.opened = True
            if records:
                async with asyncio.timeout(self.p.sink_timeout):
                    await self.sink.write(records)
        except asyncio.CancelledError:
            raise
        except SinkRejectedError as e:
            refused = e
        except Exception as e:
            # Masked: the message goes to the audit log, the report, /metrics and the log.
            if isinstance(e, SinkError):
                message = mask_urls(str(e))
            else:
                message = describe_failure(self.sink.name, "failed", e)
            self.report.failures += 1
            self.report.error = message
            now = time.monotonic()
            self.failing_since = self.failing_since or now
            self.next_retry = now + self.backoff.next_delay()
            self.log_failure(e, message)
            await self.p.audit(self.sink.name, message, records=len(records), action=action)
            return False
        set_aside = 0
        if refused is not None:
            set_aside = await self.set_aside(records, refused)
        self.report.delivered += len(records) - set_aside
        self.backoff.reset()
        if self.failing_since is not None:
            failures, seconds = self.failure_log.reset()
            log.info(
                "sink %s recovered after %d failed attempt(s) over %.1f s",
                self.sink.name,
                failures,
                seconds,
                extra={"sink": self.sink.name},
            )
        self.failing_since = None
        self.next_retry = 0.0
        return True

    def log_failure(self, error: BaseException, message: str) -> None:
        """A warning when the sink starts failing, then at most one per ``log_interval``."""
        throttle = self.failure_log
        if not throttle.event():
            return
        name, cls, short = self.sink.name, _error_class(error), _short(message)
        extra = {"sink": name, "error_class": cls}
        if throttle.total == 1:
            throttle.logged()
            log.warning("sink %s is failing: %s: %s", name, cls, short, extra=extra)
        else:
            since = time.monotonic() - (throttle.since or 0.0)
            log.warning(
                "sink %s still failing: %d more failed attempt(s), %d over %.0f s; last: %s: %s",
                name,
                throttle.logged(),
                throttle.total,
                since,
                cls,
                short,
                extra=extra,
            )

    async def set_aside(self, records: Sequence[Record], refused: SinkRejectedError) -> int:
        """Put the records the sink refused for good in its dead-letter file, audit and log them;
        returns how many (positions out of range are ignored: the rest counts as delivered)."""
        positions = sorted(i for i in refused.rejected if 0 <= i < len(records))
        if not positions:
            return 0
        name = self.sink.name
        error = _short(str(refused))
        chosen = [records[i] for i in positions]
        keys = record_keys(chosen)
        reasons = [refused.rejected[i] for i in positions]
        letters = self.dead_letters
        kept: str | None = None
        if letters is not None:
            try:
                await asyncio.to_thread(letters.append, chosen, keys=keys, reasons=reasons, error=error)
                kept = str(letters.path)
                self.report.dead_letter = kept
            except OSError as e:
                log.error(
                    "sink %s: cannot write the dead-letter file %s (%s: %s); %d refused record(s) lost",
                    name,
                    letters.path,
                    type(e).__name__,
                    e,
                    len(chosen),
                    extra={"sink": name},
                )
        if kept is None:
            self.report.lost += len(chosen)
        self.report.rejected += len(chosen)
        for key, reason in zip(keys, reasons, strict=True):
            self.rejection_reasons[reason] = self.rejection_reasons.get(reason, 0) + 1
            await self.p.audit_rejected(name, reason=reason, key=key, error=error, dead_letter=kept)
            throttle = self.rejection_log
            if throttle.event():
                n, where = (
                    throttle.logged(),
                    f"set aside in {kept}" if kept else "not kept (no dead-letter file)",
                )
                extra = {"sink": name, "reason": reason}
                if throttle.total == 1:
                    log.warning(
                        "sink %s refused a record for good (%s, key %s), %s; delivery goes on",
                        *(name, reason, key, where),
                        extra=extra,
                    )
                else:
                    log.warning(
                        "sink %s refused %d more record(s) for good, %d in all (last: %s, key %s), %s",
                        *(name, n, throttle.total, reason, key, where),
                        extra=extra,
                    )
        return len(chosen)

    def wanted(self, batch: list[Any]) -> list[Any]:
        kinds = self.sink.kinds
        return [r for r in batch if kind_of(r) in kinds]

    def advance(self, n: int) -> None:
        self.p.ring.advance(self.i, n)
        self.p.space.set()

    def fail(self, message: str) -> None:
        """Detach for good: the other sinks keep going."""
        log.error("sink %s detached: %s", self.sink.name, _short(message), extra={"sink": self.sink.name})
        self.report.state = "failed"
        self.report.error = message
        self.report.lost += self.p.ring.detach(self.i)
        self.p.space.set()

    async def spool_append(self, records: list[Any]) -> bool:
        """Append to the spool. False when the spool is full (policy ``block``): retry later."""
        assert self.spool is not None
        dropped_before = self.spool.dropped
        try:
            await asyncio.to_thread(self.spool.append, records)
        except SpoolFull as e:
            self.report.error = f"{self.sink.name}: {e}"
            self.next_retry = time.monotonic() + self.backoff.next_delay()
            return False
        except OSError as e:
            message = f"{self.sink.name}: cannot spool to {self.spool.directory} ({type(e).__name__}: {e})"
            await self.p.audit(self.sink.name, message, records=len(records), action="failed")
            self.fail(message)
            return False
        self.report.spooled += len(records)
        self.report.lost += self.spool.dropped - dropped_before
        self.report.state = "spooling"
        return True

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        if self.spool is not None:
            try:
                await asyncio.to_thread(self.spool.open)
            except OSError as e:
                self.fail(f"{self.sink.name}: cannot open spool {self.spool.directory} ({e})")
                return
        self.report.state = "running"
        ring = self.p.ring
        while self.report.state != "failed":
            now = time.monotonic()
            spool = self.spool
            # 1. Catch up from the spool when a retry is due (while shutting down only if the
            #    sink works: spooled records are safe where they are).
            due = now >= self.next_retry and not (self.draining and self.failing_since)
            if spool is not None and spool.pending and due:
                records, token = await asyncio.to_thread(spool.read, self.p.batch_records)
                if await self.deliver(records, action="spooled"):
                    await asyncio.to_thread(spool.commit, token)
                    if not spool.pending:
                        self.report.state = "running"
                    continue
            # 2. New records from the ring.
            batch = ring.read(self.i, self.p.batch_records)
            if batch:
                wanted = self.wanted(batch)
                if spool is not None and spool.pending:
                    if await self.spool_append(wanted):
                        self.advance(len(batch))
                        continue
                elif now >= self.next_retry or self.failing_since is None:
                    action = "spooled" if spool is not None else "retrying"
                    if await self.deliver(wanted, action=action):
                        self.advance(len(batch))
                        self.report.state = "running"
                        continue
                    if spool is not None:
                        if await self.spool_append(wanted):
                            self.advance(len(batch))
                        continue
                    self.report.state = "retrying"
                    limit = self.p.give_up_after
                    since = self.failing_since
                    if limit is not None and since is not None and time.monotonic() - since >= limit:
                        self.fail(f"{self.report.error} (gave up after {limit:g} s)")
                        return
            elif self.draining and not (spool is not None and spool.pending and not self.failing_since):
                await self.finish()
                return
            if self.report.state == "failed":
                return
            # 3. Wait for new records or the next retry.
            self.wake.clear()
            timeout = max(0.0, self.next_retry - time.monotonic()) if self.failing_since else 1.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.001)):
                    await self.wake.wait()

    async def finish(self) -> None:
        """Everything is delivered or spooled: flush the sink."""
        if self.opened:
            try:
                async with asyncio.timeout(self.p.sink_timeout):
                    await self.sink.flush()
            except Exception as e:
                self.report.error = f"{self.sink.name}: flush failed ({type(e).__name__}: {e})"
        self.report.state = "drained"

    def log_outcome(self) -> None:
        """At exit: a warning for records left in the spool, set aside or lost."""
        rep, name = self.report, self.sink.name
        extra = {"sink": name}
        if rep.spool_pending and self.spool is not None:
            log.warning(
                "sink %s: %d record(s) remain spooled in %s (%s); the next run delivers them",
                name,
                rep.spool_pending,
                self.spool.directory,
                _short(rep.error or "no error"),
                extra=extra,
            )
        if rep.rejected:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.rejection_reasons.items()))
            where = f"set aside in {rep.dead_letter}" if rep.dead_letter else "not kept"
            log.warning(
                "sink %s refused %d record(s) for good (%s), %s",
                name,
                rep.rejected,
                reasons,
                where,
                extra=extra,
            )
        if rep.lost:
            log.error(
                "sink %s lost %d record(s) (%s)", name, rep.lost, _short(rep.error or rep.state), extra=extra
            )

    async def rescue(self) -> None:
        """After the shutdown timeout: spool what the sink has not written, or count it lost."""
        if self.report.state == "failed":
            return
        lag = self.p.ring.lag(self.i)
        if lag == 0:
            return
        batch = self.p.ring.read(self.i, lag)
        wanted = self.wanted(batch)
        if self.spool is not None:
            try:
                await asyncio.to_thread(self.spool.append, wanted)
                self.report.spooled += len(wanted)
                self.p.ring.advance(self.i, len(batch))
                return
            except (OSError, SpoolFull) as e:
                self.report.error = f"{self.sink.name}: could not spool at shutdown ({e})"
        self.report.lost += len(wanted)
        self.p.ring.advance(self.i, len(batch))


class Pipeline:
    """Run a source through an engine into sinks (see the module docs).

    Args:
        source: A :class:`gcstream.sources.Source` (entered as an async context manager, told
            about control records with ``react``), or any async iterable of frames: ``bytes``,
            ``str``, ``(data, received_at_ms)`` pairs or objects with ``data`` and
            ``received_at_ms``.
        engine: The engine; its wire format must match the source.
        sinks: Destinations; names must be unique.
        ring_records: Ring capacity in records.
        ring_bytes: Ring capacity in bytes (estimated per record).
        high_watermark: Ring occupancy at which reading the source stops.
        low_watermark: Ring occupancy at which reading resumes.
        full_policy: ``backpressure`` (default), ``drop_newest`` or ``drop_oldest`` (counted).
        batch_frames: Most frames per engine call.
        batch_records: Most records per sink write.
        spool_dir: Directory for the sinks' spools (one subdirectory per sink); None: no spool.
        spool_max_bytes: Cap per sink spool.
        spool_segment_bytes: Spool segment size (default: 4 MiB, or ``spool_max_bytes`` when that
            is smaller).
        spool_fsync: ``always``, ``segment`` or ``never``.
        spool_full: ``block`` (back-pressure) or ``drop_oldest`` (counted as lost).
        shutdown_timeout: Seconds from stop to exit; what is undelivered then is spooled.
        retry_initial: First retry delay of a failing sink, seconds.
        retry_max: Largest retry delay, seconds.
        give_up_after: Seconds a sink without a spool may fail before it is detached (None:
            retry for ever, holding the source back).
        sink_timeout: Seconds one ``open``/``write``/``flush`` call may take.
        tick_interval: Seconds between ``engine.tick`` calls.
        dead_letter_dir: Where each sink's ``{name}.rejected.jsonl`` goes (default: ``spool_dir``;
            with neither, records refused for good are counted as lost).
        log_interval: Least seconds between two log lines about the same sink's failures (or
            refused records); the line says how many there were in between.
    """

    def __init__(
        self,
        source: AsyncIterable[Any],
        engine: Engine,
        sinks: Sequence[Sink],
        *,
        ring_records: int = 65_536,
        ring_bytes: int = 64 << 20,
        high_watermark: float = 0.8,
        low_watermark: float = 0.5,
        full_policy: FullPolicy = "backpressure",
        batch_frames: int = 256,
        batch_records: int = 1024,
        spool_dir: str | Path | None = None,
        spool_max_bytes: int = 256 << 20,
        spool_segment_bytes: int | None = None,
        spool_fsync: SpoolFsync = "always",
        spool_full: SpoolFullPolicy = "block",
        shutdown_timeout: float = 30.0,
        retry_initial: float = 0.5,
        retry_max: float = 10.0,
        give_up_after: float | None = None,
        sink_timeout: float = 60.0,
        tick_interval: float = 1.0,
        dead_letter_dir: str | Path | None = None,
        log_interval: float = 30.0,
    ) -> None:
        check_sinks(sinks)
        if batch_frames < 1 or batch_records < 1:
            raise ConfigError("batch_frames and batch_records must be >= 1", "batch_frames")
        if shutdown_timeout <= 0:
            raise ConfigError("shutdown_timeout must be > 0", "shutdown_timeout")
        self.source = source
        self.engine = engine
        self.sinks = list(sinks)
        self.ring = Ring(
            [s.name for s in sinks],
            capacity_records=ring_records,
            capacity_bytes=ring_bytes,
            high_watermark=high_watermark,
            low_watermark=low_watermark,
            policy=full_policy,
        )
        self.batch_frames = batch_frames
        self.batch_records = batch_records
        self.shutdown_timeout = shutdown_timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.give_up_after = give_up_after
        self.sink_timeout = sink_timeout
        self.tick_interval = tick_interval
        self.log_interval = log_interval
        chosen_dir = dead_letter_dir if dead_letter_dir is not None else spool_dir
        self.dead_letter_dir = None if chosen_dir is None else Path(chosen_dir)
        self.space = asyncio.Event()
        self._stop = asyncio.Event()
        self._stopped_by = "end_of_input"
        self._frames: deque[tuple[Any, int, Any, Any]] = deque()
        self._frames_ready = asyncio.Event()
        self._source_done = False
        self._source_error: BaseException | None = None
        self.report = PipelineReport()
        self.paused_reads = 0
        self._runners = [
            _SinkRunner(
                self,
                i,
                s,
                None
                if spool_dir is None
                else Spool(
                    Path(spool_dir) / s.name,
                    max_bytes=spool_max_bytes,
                    segment_bytes=spool_segment_bytes,
                    fsync=spool_fsync,
                    on_full=spool_full,
                ),
            )
            for i, s in enumerate(sinks)
        ]
        self._auditors = [s for s in sinks if isinstance(s, FailureAuditor)]
        self._rejection_auditors = [s for s in sinks if isinstance(s, RejectionAuditor)]

    # -- control ----------------------------------------------------------------------------

    def stop(self, reason: str = "stop") -> None:
        """Ask the pipeline to stop reading, drain and exit (idempotent; safe from a signal)."""
        if not self._stop.is_set():
            self._stopped_by = reason
            self._stop.set()
            self._frames_ready.set()
            self.space.set()

    @property
    def paused(self) -> bool:
        """True while the ring holds the source back."""
        return bool(self.ring.paused)

    def metrics(self) -> dict[str, Any]:
        """A snapshot: frames, records, ring occupancy and counters, and per sink its state,
        ``lag`` (records behind the head of the ring), delivered/spooled/pending/lost/failures."""
        ring = self.ring.stats()
        sinks = {}
        for r in self._runners:
            rep = r.report
            sinks[rep.name] = {
                "state": rep.state,
                "lag": ring["sinks"][rep.name]["lag"],
                "delivered": rep.delivered,
                "spooled": rep.spooled,
                "spool_pending": r.spool.pending_records if r.spool is not None else 0,
                "lost": rep.lost,
                "failures": rep.failures,
                "rejected": rep.rejected,
                "error": rep.error,
            }
        return {
            "frames": self.report.frames,
            "records": self.report.records,
            "paused": ring["paused"],
            "paused_reads": self.paused_reads,
            "ring": {k: v for k, v in ring.items() if k != "sinks"},
            "sinks": sinks,
        }

    async def audit(self, sink: str, error: str, *, records: int, action: str) -> None:
        """Record a sink failure in every audit log but the failing sink's own."""
        for a in self._auditors:
            if a.name != sink:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.sink_timeout):
                        await a.audit_failure(sink, error, records=records, action=action)

    async def audit_rejected(
        self, sink: str, *, reason: str, key: str, error: str, dead_letter: str | None
    ) -> None:
        """Record a refused record in every audit log but the refusing sink's own."""
        for a in self._rejection_auditors:
            if a.name != sink:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.sink_timeout):
                        await a.audit_rejected(
                            sink, reason=reason, key=key, error=error, dead_letter=dead_letter
                        )

    # -- run --------------------------------------------------------------------------------

    async def run(self, *, handle_signals: bool = False) -> PipelineReport:
        """Run until the source ends or :meth:`stop` (or SIGINT/SIGTERM with ``handle_signals``).

        Returns:
            The report; ``report.exit_code`` is what a CLI should exit with.
        """
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop, "signal")
        try:
            async with contextlib.AsyncExitStack() as stack:
                source: AsyncIterable[Any] | None = self.source
                if hasattr(source, "__aenter__"):
                    source = await self._enter_source(stack, source)
                if source is not None:
                    for r in self._runners:
                        r.task = asyncio.create_task(r.run(), name=f"gcstream-sink-{r.sink.name}")
                    reader = asyncio.create_task(self._read(source), name="gcstream-reader")
                    try:
                        await self._ingest(source)
                    finally:
                        await cancel_and_wait(reader)
                    await self._shutdown()
                else:
                    for r in self._runners:  # stopped while connecting: no sink was opened
                        r.report.state = "closed"
        finally:
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
        if self._source_error is not None and self._stopped_by == "end_of_input":
            self._stopped_by = "source_error"
        self.report.stopped_by = self._stopped_by
        self.report.ring = {k: v for k, v in self.ring.stats().items() if k != "sinks"}
        ring = self.report.ring
        self.report.dropped = int(ring["dropped_newest"]) + int(ring["dropped_oldest"])
        self.report.sinks = {r.report.name: r.report for r in self._runners}
        for r in self._runners:
            r.report.lost += int(self.ring.stats()["sinks"][r.report.name]["dropped"])
            if r.spool is not None:
                r.report.spool_pending = r.spool.pending_records
            r.log_outcome()
        if self._source_error is not None:
            raise self._source_error
        return self.report

    async def _enter_source(self, stack: contextlib.AsyncExitStack, source: Any) -> AsyncIterable[Any] | None:
        """Enter (connect) the source; returns None when :meth:`stop` comes first.

        Connecting can take long (retries, ``Retry-After`` waits): a stop (SIGTERM) must not wait
        for it. The connection is then abandoned (the source cleans up after a cancelled start).
        """
        entering = asyncio.ensure_future(stack.enter_async_context(source))
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({entering, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            await cancel_and_wait(entering, stopping, timeout=self.shutdown_timeout)
            raise
        stopping.cancel()
        if entering.done():
            entered: AsyncIterable[Any] = entering.result()  # the source's start-up error, if any
            return entered
        # The source cleans up after a cancelled start; if its start finished regardless, the
        # stack closes it.
        await cancel_and_wait(entering, timeout=self.shutdown_timeout)
        return None

    async def _read(self, source: AsyncIterable[Any]) -> None:
        """Pull frames while the ring is not paused and the frame queue has room."""
        it: AsyncIterator[Any] = aiter(source)
        limit = 2 * self.batch_frames
        try:
            while not self._stop.is_set():
                while (self.ring.paused or len(self._frames) >= limit) and not self._stop.is_set():
                    if self.ring.paused:
                        self.paused_reads += 1
                    self.space.clear()
                    await self.space.wait()
                if self._stop.is_set():
                    break
                try:
                    item = await anext(it)
                except StopAsyncIteration:
                    break
                self._frames.append(_frame(item))
                self._frames_ready.set()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._source_error = e
        finally:
            self._source_done = True
            self._frames_ready.set()

    async def _ingest(self, source: Any) -> None:
        react = getattr(source, "react", None)
        next_tick = time.monotonic() + self.tick_interval
        while True:
            if not self._frames:
                if self._source_done or self._stop.is_set():
                    break
                self._frames_ready.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_tick - time.monotonic())):
                        await self._frames_ready.wait()
            if time.monotonic() >= next_tick:
                await self._push(self.engine.tick(_now_ms()))
                next_tick = time.monotonic() + self.tick_interval
            if not self._frames:
                continue
            data, at, origin, last = self._frames.popleft()
            datas = [data]
            while self._frames and len(datas) < self.batch_frames:
                d, a, o, item = self._frames[0]
                if a != at or o is not origin:
                    break
                self._frames.popleft()
                datas.append(d)
                last = item
            self.space.set()  # the reader may be waiting for room in the frame queue
            self.report.frames += len(datas)
            records = self.engine.feed_many(datas, received_at_ms=at)
            if react is not None and origin is not None:
                for r in records:
                    if type(r) is not Utterance and type(r) is not Partial:
                        react(last, r)
            await self._push(records)
        # Drain: frames already pulled were fed above; now what the engine still holds.
        await self._push(self.engine.finish())

    async def _push(self, records: list[Any]) -> None:
        if not records:
            return
        self.report.records += len(records)
        done = self.ring.push_many(records)
        self._wake_sinks()
        while done < len(records):
            if all(r.report.state == "failed" for r in self._runners):
                done += self.ring.push_many(records[done:])  # a sink-less ring frees at once
                continue
            self.space.clear()
            await self.space.wait()
            done += self.ring.push_many(records[done:])
            self._wake_sinks()

    def _wake_sinks(self) -> None:
        for r in self._runners:
            r.wake.set()

    async def _shutdown(self) -> None:
        for r in self._runners:
            r.draining = True
        self._wake_sinks()
        tasks = [r.task for r in self._runners if r.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
            if pending:
                self.report.timed_out = True
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        for r in self._runners:
            await r.rescue()
            if r.report.state not in ("failed", "drained"):
                r.report.state = "closed"
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.sink_timeout):
                    await r.sink.aclose()
            if r.spool is not None:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(r.spool.close)


def _frame(item: Any) -> tuple[Any, int, Any, Any]:
    """``(data, received_at_ms, origin, item)`` from whatever the source yields."""
    if isinstance(item, bytes | str | bytearray | memoryview):
        return item, _now_ms(), None, item
    if isinstance(item, tuple):
        return item[0], int(item[1]), None, item
    return item.data, int(item.received_at_ms), getattr(item, "origin", None), item
