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
import signal
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gcstream._aio import cancel_and_wait
from gcstream._core import Engine, Partial, Ring, Utterance
from gcstream._delivery import SinkReport, SinkRunner
from gcstream.exceptions import ConfigError
from gcstream.sinks import FailureAuditor, RejectionAuditor, Sink, check_sinks
from gcstream.sinks.spool import Spool, SpoolFsync, SpoolFullPolicy

__all__ = ["Pipeline", "PipelineReport", "SinkReport"]

FullPolicy = Literal["backpressure", "drop_newest", "drop_oldest"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


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
            SinkRunner(
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
