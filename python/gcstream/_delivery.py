"""Delivery to one sink, for :class:`~gcstream.pipeline.Pipeline`: read batches from the sink's
cursor in the ring, write them, retry with backoff or spool on failure, set refused records aside
in the dead-letter file, log failures throttled, and account for every record in a
:class:`SinkReport` (the rules are in :mod:`gcstream.pipeline`'s module docs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcstream._core import record_keys
from gcstream.exceptions import SinkError, SinkRejectedError
from gcstream.genesys.retry import Backoff
from gcstream.logging import mask_urls
from gcstream.sinks import Sink, describe_failure, kind_of
from gcstream.sinks.dead_letter import DeadLetters
from gcstream.sinks.spool import Spool, SpoolFull

if TYPE_CHECKING:
    from gcstream._core import _Record as Record
    from gcstream.pipeline import Pipeline

__all__ = ["MESSAGE_CHARS", "SinkReport", "SinkRunner"]

log = logging.getLogger("gcstream.pipeline")

MESSAGE_CHARS = 300
"""How much of an error message a log line carries."""


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


class SinkRunner:
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
                # The report's error says why these records are lost (the exit line shows it).
                self.report.error = describe_failure(
                    name, f"cannot write the dead-letter file {letters.path}", e
                )
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
                    f"set aside in {kept}"
                    if kept
                    else "not kept (no dead-letter file)"
                    if letters is None
                    else "not kept (the dead-letter file cannot be written)",
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
            message = describe_failure(self.sink.name, f"cannot spool to {self.spool.directory}", e)
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
                self.report.error = describe_failure(self.sink.name, "flush failed", e)
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
                self.report.error = describe_failure(self.sink.name, "could not spool at shutdown", e)
        self.report.lost += len(wanted)
        self.p.ring.advance(self.i, len(batch))
