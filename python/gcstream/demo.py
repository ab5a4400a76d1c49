"""``gcstream demo`` and the runtime it shares with ``gcstream run``.

The demo is the real thing on the embedded default: it starts the simulator on loopback, connects
to it exactly as it would to Genesys Cloud (OAuth, channel, subscriptions, WebSocket, discovery),
feeds every frame through the engine (redaction, coalescing, quality gates), delivers the records
to the JSONL audit log and SQLite in ``--out``, serves the live captions page, shows progress and
ends with a summary. Finally it checks its own outputs against the simulator's ground truth: not
one PII value the simulated callers spoke may appear in them.

::

    gcstream demo                          # ~40 s, 4 calls of ~28 s, page on 127.0.0.1:8765
    gcstream demo --conversations 8 --duration 90 --serve

Theory of operation of :class:`Runtime` (also used by ``gcstream run``): ``start`` builds the
engine from the config, starts the web server, and runs one :class:`~gcstream.pipeline.Pipeline`
task: the notifications source feeds the engine, whose records go to the configured sinks, the
captions hub and the runtime's own counters; ``stop`` asks the pipeline to stop, which drains
what was read to every sink and closes the source; ``stop_web`` then stops the web server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import gcstream
from gcstream.config import GcstreamConfig, load_config
from gcstream.exceptions import ConfigError, GcstreamError
from gcstream.metrics import Metrics
from gcstream.pipeline import Pipeline, PipelineReport
from gcstream.sinks.captions import CaptionsSink
from gcstream.sources.notifications import NotificationsSource
from gcstream.web import CaptionsHub, WebServer

if TYPE_CHECKING:
    from gcstream.simulator import Simulator

__all__ = [
    "DEFAULT_OUT",
    "DemoOptions",
    "DemoResult",
    "Runtime",
    "call_plan",
    "leak_check",
    "run_demo",
]

log = logging.getLogger("gcstream.demo")

DEFAULT_OUT: Final = Path("gcstream-demo")
DEMO_CLIENT_ID: Final = "gcstream-demo"
DEMO_CLIENT_SECRET: Final = "demo-secret-4f1c9a7e"
"""The simulator's OAuth client for the demo; the logging test greps every log line for it."""
DEMO_CALL_LENGTH: Final = 28.0
"""Simulated seconds a demo call lasts: enough for a phone number and often an e-mail address or
an SSN, short enough for calls to start and end within the default 45 s run."""


def build_sinks(cfg: GcstreamConfig) -> list[Any]:
    """The sinks ``[sinks.*]`` enables, constructed (not opened), in delivery order.

    Raises:
        ConfigError: A sink rejects its settings.
    """
    s = cfg.sinks
    sinks: list[Any] = []
    if s.jsonl.enabled:
        from gcstream.sinks.jsonl import JsonlSink

        sinks.append(
            JsonlSink(
                s.jsonl.path,
                kinds=frozenset(s.jsonl.kinds),
                max_bytes=s.jsonl.max_bytes,
                max_age=s.jsonl.max_age,
                fsync=s.jsonl.fsync,
                fsync_interval=s.jsonl.fsync_interval,
            )
        )
    if s.sqlite.enabled:
        from gcstream.sinks.sqlite import SqliteSink

        sinks.append(SqliteSink(s.sqlite.path, durable=s.sqlite.durable))
    if s.influx.enabled:
        from gcstream.sinks.influx import InfluxSink

        i = s.influx
        sinks.append(
            InfluxSink(
                i.url,
                api=i.api,
                database=i.database,
                org=i.org,
                bucket=i.bucket,
                token=i.token.get_secret_value() if i.token else None,
                username=i.username,
                password=i.password.get_secret_value() if i.password else None,
                measurement=i.measurement,
                batch_points=i.batch_points,
                max_split_requests=i.max_split_requests,
            )
        )
    if s.webhook.enabled:
        from gcstream.sinks.webhook import WebhookSink

        w = s.webhook
        sinks.append(
            WebhookSink(
                w.url,
                token=w.token.get_secret_value() if w.token else None,
                breaker_threshold=w.breaker_threshold,
                breaker_reset=w.breaker_reset,
                concurrency=w.concurrency,
            )
        )
    if s.nats.enabled:
        from gcstream.sinks import nats as nats_sink

        n = s.nats
        sinks.append(nats_sink.NatsSink(list(n.servers), stream=n.stream, subject_prefix=n.subject_prefix))
    return sinks


OBSERVER: Final = "gcstream-observer"


class ObserverSink:
    """A sink that only counts (the runtime's own figures and the demo's progress display)."""

    kinds = frozenset({"utterance", "partial", "conversation_update", "rejected"})

    def __init__(self, observe: Callable[[Any], None], name: str = OBSERVER) -> None:
        self.name = name
        self._observe = observe

    async def open(self) -> None:
        """Nothing to open."""

    async def write(self, batch: Any) -> None:
        """Count ``batch``."""
        for record in batch:
            self._observe(record)

    async def flush(self) -> None:
        """Nothing buffered."""

    async def aclose(self) -> None:
        """Nothing to release."""


# -- the runtime --------------------------------------------------------------------------------


@dataclass(slots=True)
class RunCounters:
    """What the runtime counts itself (the engine counts everything else)."""

    started_at: float = field(default_factory=time.monotonic)
    stopped_at: float | None = None
    conversations_seen: set[str] = field(default_factory=set)
    conversations_ended: set[str] = field(default_factory=set)
    records: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def elapsed(self) -> float:
        """Seconds from start to stop (or now)."""
        return (self.stopped_at or time.monotonic()) - self.started_at

    def observe(self, record: Any) -> None:
        """Count one record."""
        self.records[type(record).__name__] += 1
        match record:
            case gcstream.Utterance() | gcstream.Partial():
                self.conversations_seen.add(record.conversation_id)
                for flag in record.flags:
                    self.flagged[flag] += 1
            case gcstream.ConversationUpdate():
                self.conversations_seen.add(record.conversation_id)
                if record.kind in ("ended", "call_ended"):
                    self.conversations_ended.add(record.conversation_id)
            case gcstream.Rejected():
                self.rejected[record.reason] += 1


class Runtime:
    """One ingesting process: engine, pipeline (source and sinks), captions hub, web server, metrics.

    Args:
        cfg: The validated configuration.
        on_record: Called with every record the pipeline delivers (the demo's progress display).
    """

    def __init__(self, cfg: GcstreamConfig, *, on_record: Callable[[Any], None] | None = None) -> None:
        self.cfg = cfg
        self.engine = gcstream.Engine(**cfg.engine_kwargs())
        self.metrics = Metrics()
        self.metrics.watch_engine(self.engine.stats)
        self.hub = CaptionsHub(stats=self.engine.stats)
        self.metrics.watch("captions", self.hub.stats)
        self.counters = RunCounters()
        self.pipeline: Pipeline | None = None
        self.report: PipelineReport | None = None
        self._source: NotificationsSource | None = None
        self._on_record = on_record
        self.web: WebServer | None = None
        self.url: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.finished = asyncio.Event()

    async def start(self) -> None:
        """Serve HTTP (if configured) and start the pipeline in the background.

        The source connects inside the pipeline task: a connection that cannot be set up (bad
        credentials, unreachable API) ends the task, sets :attr:`finished` and is kept in
        :attr:`error`.

        Raises:
            ConfigError: A sink rejects its settings.
            OSError: The HTTP address could not be bound.
        """
        address = self.cfg.http.address()
        if address is not None:
            self.web = WebServer(self.hub, self.metrics, health=self._health)
            self.url = await self.web.start(*address)
        captions = [CaptionsSink(self.hub)] if self.cfg.http.captions and self.web is not None else []
        self.counters = RunCounters()
        p, s = self.cfg.pipeline, self.cfg.sinks
        self._source = NotificationsSource(self.cfg.genesys)
        pipeline = self.pipeline = Pipeline(
            self._source,
            self.engine,
            [*build_sinks(self.cfg), *captions, ObserverSink(self._observe)],
            ring_records=p.ring_capacity,
            high_watermark=p.high_watermark,
            low_watermark=p.low_watermark,
            full_policy=p.overflow,
            spool_dir=s.spool_dir,
            spool_max_bytes=s.spool_max_bytes,
            shutdown_timeout=p.shutdown_timeout,
            tick_interval=self.cfg.engine.tick_interval_ms / 1000,
        )
        self.metrics.watch("pipeline", lambda: pipeline_metrics(pipeline.metrics(), p.ring_capacity))
        self.metrics.watch("source", self._source_stats)
        self._task = asyncio.create_task(self._run_pipeline(pipeline), name="gcstream-pipeline")

    def _observe(self, record: Any) -> None:
        self.counters.observe(record)
        if self._on_record is not None:
            self._on_record(record)

    async def _run_pipeline(self, pipeline: Pipeline) -> None:
        try:
            self.report = await pipeline.run()
        except asyncio.CancelledError:
            raise
        except GcstreamError as exc:
            # An expected failure (credentials refused, a permission missing, a peer that cannot
            # be reached): the caller reports it in one line (``gcstream run`` prints it), so no
            # traceback here.
            log.debug("pipeline stopped: %s: %s", type(exc).__name__, exc)
            self.error = exc
        except Exception as exc:  # a bug: reported by the caller, with its traceback in the log
            log.exception("pipeline failed")
            self.error = exc
        finally:
            self.finished.set()

    def _source_stats(self) -> Mapping[str, Any]:
        raw: Mapping[str, Any] = self._source.stats() if self._source is not None else {}
        return source_metrics(raw, self.cfg.genesys.requests_per_minute)

    def _health(self) -> Mapping[str, Any]:
        return {
            "conversations_active": len(self.counters.conversations_seen - self.counters.conversations_ended),
            "records": sum(self.counters.records.values()),
            "ingesting": self._task is not None and not self._task.done(),
        }

    async def stop(self) -> None:
        """Stop reading, drain everything read to every sink and disconnect (the pipeline's
        shutdown); the web server stays up until :meth:`stop_web`."""
        if self.pipeline is not None:
            self.pipeline.stop("stop")
        if self._task is not None:
            await self._task
        self.counters.stopped_at = time.monotonic()

    async def stop_web(self) -> None:
        """Stop serving the page (after :meth:`stop`, when nobody needs it any more)."""
        if self.web is not None:
            await self.web.stop()
            self.web = None

    def summary(self) -> dict[str, Any]:
        """The run's figures: the same numbers ``/metrics`` exposes, arranged for people."""
        snap = self.metrics.snapshot()
        eng: Mapping[str, Any] = snap.get("engine", {})
        c = self.counters
        elapsed = max(c.elapsed, 1e-9)
        records: Mapping[str, int] = eng.get("records", {})
        utterances = int(records.get("utterance", 0))
        lat = eng.get("latency_ms") or {}
        src = snap.get("source", {})
        return {
            "elapsed_s": round(elapsed, 2),
            "conversations": {
                "seen": len(c.conversations_seen),
                "ended": len(c.conversations_ended),
                "in_progress": len(c.conversations_seen - c.conversations_ended),
            },
            "records": dict(records),
            "utterances": utterances,
            "words": eng.get("words", 0),
            "pii_redacted": dict(eng.get("pii", {})),
            "latency_ms": {k: lat.get(k) for k in ("count", "mean", "p50", "p95", "p99", "max")},
            "throughput": {
                "utterances_per_s": round(utterances / elapsed, 2),
                "frames_per_s": round(float(eng.get("frames", 0)) / elapsed, 2),
                "bytes_per_s": round(float(eng.get("bytes", 0)) / elapsed, 1),
                "words_per_s_of_speech": eng.get("words_per_second"),
            },
            "confidence": {"mean": eng.get("confidence_mean"), "min": eng.get("confidence_min")},
            "flagged": dict(eng.get("flags", {})),
            "rejected": dict(eng.get("rejected", {})),
            "duplicates_dropped": eng.get("duplicates", 0),
            "source": {
                k: src.get(k) for k in ("reconnects", "frames", "sockets_open", "channels", "subscriptions")
            }
            | {"rest": src.get("rest", {})},
            "pipeline": dict(snap.get("pipeline", {})),
            "captions": dict(snap.get("captions", {})),
        }


def pipeline_metrics(raw: Mapping[str, Any], capacity: int | None = None) -> dict[str, Any]:
    """Map ``Pipeline.metrics()`` onto the shape :class:`Metrics` reads."""
    ring = dict(raw.get("ring") or {})
    sinks = {}
    for name, st in (raw.get("sinks") or {}).items():
        if name == OBSERVER:
            continue  # the runtime's own counter, not a destination
        sinks[name] = {
            "written": st.get("delivered"),
            "lag": st.get("lag"),
            "spool_records": st.get("spool_pending"),
            "errors": st.get("failures"),
            "rejected": st.get("rejected"),
            "lost": st.get("lost"),
            "state": st.get("state"),
        }
    return {
        "ring": {
            "capacity": capacity,
            "occupancy": ring.get("records"),
            "paused": raw.get("paused"),
        },
        "records_in": raw.get("records"),
        "dropped": (ring.get("dropped_newest") or 0) + (ring.get("dropped_oldest") or 0),
        "sinks": sinks,
    }


def source_metrics(raw: Mapping[str, Any], budget: int) -> dict[str, Any]:
    """Map ``NotificationsSource.stats()`` onto the shape :class:`Metrics` reads."""
    channels = raw.get("channels")
    return {
        "reconnects": raw.get("reconnects"),
        "frames": raw.get("frames"),
        "bytes": raw.get("bytes"),
        "sockets_open": raw.get("sockets_open"),
        "channels": len(channels) if isinstance(channels, (list, tuple)) else channels,
        "subscriptions": raw.get("topics"),
        "rest": {
            "requests": raw.get("rest_requests"),
            "rate_limited": raw.get("rest_rate_limited"),
            "budget_used": raw.get("rest_budget_used", raw.get("rest_in_window")),
            "budget_limit": budget,
        },
    }


# -- leak check ---------------------------------------------------------------------------------


def pii_needles(ground_truth: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Every PII value the simulator sent, in each form it was spoken or written, with its kind."""
    needles: dict[str, str] = {}
    for utterance in ground_truth:
        for item in utterance.get("pii", ()):
            for key in ("value", "spoken", "written"):
                value = item.get(key)
                if isinstance(value, str) and len(value.strip()) >= 4:
                    needles[value.strip().lower()] = str(item.get("kind", "unknown"))
    return needles


def _found(needle: str, text: str) -> bool:
    """Is ``needle`` in ``text``? A one-word value (a surname such as "king") counts only as a
    whole word: "looking" does not leak it. Other values (digits, phrases) count anywhere."""
    if needle.isalpha():
        return re.search(rf"(?<![a-z]){re.escape(needle)}(?![a-z])", text) is not None
    return needle in text


def leak_check(paths: Iterable[Path], needles: Mapping[str, str]) -> dict[str, Any]:
    """Search files for ground-truth PII values (case-insensitive; one-word values as whole words).

    Returns:
        ``{"values": N, "files": [...], "leaks": [{"file", "values_found", "kinds"}...]}``; the
        leaked values themselves are never returned, only where and of which kind.
    """
    scanned: list[str] = []
    leaks: list[dict[str, Any]] = []
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace").lower()
        scanned.append(str(path))
        kinds = Counter(kind for n, kind in needles.items() if _found(n, text))
        if kinds:
            leaks.append({"file": str(path), "values_found": sum(kinds.values()), "kinds": dict(kinds)})
    return {"values": len(needles), "files": scanned, "leaks": leaks}


def leaked_kinds(check: Mapping[str, Any]) -> set[str]:
    """The PII kinds found anywhere by :func:`leak_check`."""
    return {k for leak in check["leaks"] for k in leak["kinds"]}


# -- the demo -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``gcstream demo`` was asked to do.

    Attributes:
        out: Directory for the audit log, SQLite database, log file and summary.
        conversations: Simulated calls; they overlap, their starts staggered (see
            :func:`call_plan`).
        duration: Seconds of traffic before the demo stops and summarises (it stops earlier
            once every call has ended).
        http: ``HOST:PORT`` of the captions page ("" for none; port 0 picks one).
        serve: Keep the page up after the summary until Ctrl-C.
        speed: Simulated seconds per real second (1 = real time, realistic latency).
        seed: Makes calls and PII deterministic.
        config: An optional TOML file for engine/redaction/gates/sinks settings.
        faults: A simulator fault spec (``drop:every=20s,dup:p=0.05``).
        progress: Show the live progress display.
        call_length: Simulated seconds a call lasts, on average, if the run is long enough
            (see :func:`call_plan`).
    """

    out: Path = DEFAULT_OUT
    conversations: int = 4
    duration: float = 45.0
    http: str = "127.0.0.1:8765"
    serve: bool = False
    speed: float = 1.0
    seed: int = 7
    config: Path | None = None
    faults: str | None = None
    progress: bool = True
    call_length: float = DEMO_CALL_LENGTH


def call_plan(opts: DemoOptions) -> tuple[float, float]:
    """How long the demo's calls last and how far apart they start, in simulated seconds.

    The run covers ``duration * speed`` simulated seconds. Calls last ``call_length`` seconds on
    average (at most 65 % of the run, at least 10) and start one after another, as far apart as
    lets the last of them end before the run does (with a margin for calls longer than average
    and for the end of the transcription session), but no further apart than half a call, so
    that they overlap. With the defaults: four calls of about 28 s starting about 3 s apart, all
    ended after about 40 s, when the demo stops.

    Returns:
        ``(call_length, start_interval)``.
    """
    span = opts.duration * opts.speed
    call = max(10.0, min(opts.call_length, 0.65 * span))
    room = span - 1.2 * call - 2.0
    interval = room / (opts.conversations - 1) if opts.conversations > 1 else 0.0
    return call, max(0.5, min(interval, call / 2))


@dataclass(slots=True)
class DemoResult:
    """What the demo produced."""

    summary: dict[str, Any]
    url: str | None
    out: Path
    files: dict[str, str]
    ground_truth: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """What the simulator sent, unredacted: kept in memory for checks, never written out."""


def demo_config(opts: DemoOptions, base_url: str, queues: Iterable[str]) -> GcstreamConfig:
    """The configuration the demo runs with: ``opts.config`` (if any), pointed at the simulator
    and at ``opts.out``. ``GENESYS_CLOUD_*`` variables are ignored: the demo never touches a real org."""
    env = {k: v for k, v in os.environ.items() if k.startswith("GCSTREAM_")}
    out = opts.out
    return load_config(
        opts.config,
        env=env,
        genesys={
            "base_url": base_url,
            "region": None,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "queues": tuple(queues),
            "channel_state_path": None,
        },
        overrides={
            "http": {"listen": opts.http or ""},
            "sinks": {
                "jsonl": {"enabled": True, "path": str(out / "audit.jsonl")},
                "sqlite": {"enabled": True, "path": str(out / "gcstream.db")},
                "spool_dir": str(out / "spool"),
            },
            "logging": {"file": str(out / "gcstream.log"), "format": "json"},
        },
    )


async def run_demo(
    opts: DemoOptions,
    *,
    on_ready: Callable[[str | None], None] | None = None,
    stop: asyncio.Event | None = None,
    console: Any = None,
) -> DemoResult:
    """Run the demo to the end and return its summary.

    Args:
        opts: What to run.
        on_ready: Called with the captions URL once the page is up (before traffic starts).
        stop: Set it to end the run early (Ctrl-C does the same in the CLI).
        console: A ``rich.console.Console`` for progress; None for no display.

    Raises:
        ConfigError: ``opts.config`` is invalid, or a value the simulator cannot honour (a bad
            ``faults`` spec, a ``speed`` of 0 or less, negative ``conversations``).
        OSError: The HTTP port is taken (give another with ``--http``, or port 0).
    """
    from gcstream.logging import configure, register_secret
    from gcstream.simulator import OAuthClient, Simulator, SimulatorConfig

    out = opts.out
    stop = stop or asyncio.Event()
    register_secret(DEMO_CLIENT_SECRET)
    call_length, start_interval = call_plan(opts)
    sim_cfg = SimulatorConfig(
        seed=opts.seed,
        clients=(OAuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),),
        conversations=opts.conversations,
        max_conversations=opts.conversations,
        start_interval=start_interval,
        time_scale=opts.speed,
        conversation_duration=call_length,
        faults=opts.faults,
        autostart=False,
    )
    try:
        sim_cfg.validate()
    except ValueError as exc:
        # The options came from the caller (``gcstream demo``'s flags): a mistake, not a bug.
        raise ConfigError(f"demo options: {exc}", field="demo") from None
    out.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        sim = await stack.enter_async_context(Simulator(sim_cfg))
        cfg = demo_config(opts, sim.base_url, sim.directory.queue_ids)
        log_file = cfg.logging.file
        handler = configure(cfg.logging.level, cfg.logging.format, path=str(log_file) if log_file else None)
        stack.callback(_remove_handler, handler)
        log.info(
            "demo starting",
            extra={
                "conversations": opts.conversations,
                "duration_s": opts.duration,
                "speed": opts.speed,
                "call_length_s": call_length,
                "start_interval_s": start_interval,
            },
        )
        display = _Progress(console, opts) if console is not None and opts.progress else None
        runtime = Runtime(cfg, on_record=display.observe if display else None)
        await runtime.start()
        stack.push_async_callback(runtime.stop_web)
        if on_ready is not None:
            on_ready(runtime.url)
        sim.start_traffic()
        deadline = time.monotonic() + opts.duration
        try:
            async with _maybe(display, runtime):
                while not stop.is_set() and time.monotonic() < deadline and not runtime.finished.is_set():
                    if _all_done(sim, runtime, opts.conversations):
                        break
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.25):
                            await stop.wait()
                    if display is not None:
                        display.refresh(runtime, deadline)
        finally:
            await runtime.stop()
        if runtime.error is not None:
            raise runtime.error
        summary = runtime.summary()
        files = {
            "audit_log": str(cfg.sinks.jsonl.path),
            "sqlite": str(cfg.sinks.sqlite.path),
            "log": str(log_file),
            "summary": str(out / "summary.json"),
        }
        summary["outputs"] = files
        summary["ground_truth"] = {
            "utterances_sent": len(sim.ground_truth),
            "pii_values_sent": sum(len(u.get("pii", ())) for u in sim.ground_truth),
        }
        for h in list(logging.getLogger("gcstream").handlers):
            h.flush()
        check = leak_check(
            [Path(files["audit_log"]), Path(files["sqlite"]), Path(files["log"])],
            pii_needles(sim.ground_truth),
        )
        redacted = set(cfg.redaction.kinds)
        summary["leak_check"] = {
            "values_checked": check["values"],
            "files": check["files"],
            "leaks": check["leaks"],
            # Kinds the engine is configured to redact that still appear: a real failure.
            "redacted_kinds_leaked": sorted(leaked_kinds(check) & redacted),
            # Kinds outside the redactor's scope (e.g. person names when `person_name` is not
            # in [redaction] kinds) that appear.
            "unredacted_kinds_present": sorted(leaked_kinds(check) - redacted),
        }
        Path(files["summary"]).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        log.info(
            "demo finished", extra={"elapsed_s": summary["elapsed_s"], "utterances": summary["utterances"]}
        )
        if opts.serve and runtime.url:
            if console is not None:
                print_summary(summary, console, url=runtime.url)
                console.print(f"[bold]Captions still served at {runtime.url}[/] — Ctrl-C to quit.")
            await stop.wait()
        return DemoResult(
            summary=summary, url=runtime.url, out=out, files=files, ground_truth=list(sim.ground_truth)
        )


def _remove_handler(handler: logging.Handler) -> None:
    logging.getLogger("gcstream").removeHandler(handler)
    handler.close()


def _all_done(sim: Simulator, runtime: Runtime, expected: int) -> bool:
    """True once every simulated call was published and has ended in the engine too."""
    return sim.traffic_finished and len(runtime.counters.conversations_ended) >= expected


@contextlib.asynccontextmanager
async def _maybe(display: _Progress | None, runtime: Runtime) -> AsyncIterator[None]:
    if display is None:
        yield
        return
    with display.live():
        yield


class _Progress:
    """The rich live display: a progress bar over the duration and the running figures."""

    def __init__(self, console: Any, opts: DemoOptions) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = console
        self.progress = Progress(
            TextColumn("[bold]demo[/]"),
            BarColumn(),
            TextColumn("{task.fields[figures]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("demo", total=opts.duration, figures="starting…")
        self._utterances = 0

    def live(self) -> Any:
        return self.progress

    def observe(self, record: Any) -> None:
        if isinstance(record, gcstream.Utterance):
            self._utterances += 1

    def refresh(self, runtime: Runtime, deadline: float) -> None:
        eng = runtime.engine.stats()
        lat = eng.get("latency_ms") or {}
        pii = sum((eng.get("pii") or {}).values())
        c = runtime.counters
        active = len(c.conversations_seen - c.conversations_ended)
        p50 = lat.get("p50")
        figures = (
            f"calls {active} live / {len(c.conversations_ended)} ended · utterances {self._utterances} · "
            f"PII redacted {pii} · p50 {'-' if p50 is None else f'{p50 / 1000:.1f} s'}"
        )
        self.progress.update(self.task, completed=max(0.0, c.elapsed), figures=figures)


def print_summary(summary: Mapping[str, Any], console: Any, *, url: str | None = None) -> None:
    """Print the demo summary as rich tables."""
    from rich.table import Table

    def ms(v: Any) -> str:
        return "-" if v is None else (f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.0f} ms")

    conv = summary["conversations"]
    lat = summary["latency_ms"]
    thr = summary["throughput"]
    t = Table(title="gcstream demo — summary", show_header=False, title_justify="left", min_width=60)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("elapsed", f"{summary['elapsed_s']:.1f} s")
    t.add_row(
        "conversations", f"{conv['seen']} ({conv['ended']} ended, {conv['in_progress']} in progress at stop)"
    )
    t.add_row("utterances", f"{summary['utterances']} ({summary['words']} words)")
    pii = summary["pii_redacted"]
    t.add_row(
        "PII redacted",
        f"{sum(pii.values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(pii.items())) if pii else "0",
    )
    t.add_row(
        "latency p50 / p95 / p99", f"{ms(lat.get('p50'))} / {ms(lat.get('p95'))} / {ms(lat.get('p99'))}"
    )
    t.add_row(
        "throughput",
        f"{thr['utterances_per_s']} utterances/s · {thr['frames_per_s']} frames/s · "
        f"{thr['bytes_per_s']:.0f} B/s",
    )
    conf = summary["confidence"]
    if conf.get("mean") is not None:
        t.add_row("confidence", f"mean {conf['mean']:.3f} · min {conf['min']:.3f}")
    flagged = summary["flagged"]
    t.add_row("flagged", ", ".join(f"{k} {v}" for k, v in sorted(flagged.items())) or "none")
    rejected = summary["rejected"]
    t.add_row("rejected", ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())) or "none")
    t.add_row("duplicates dropped", str(summary["duplicates_dropped"]))
    src = summary["source"]
    rest = src.get("rest") or {}
    t.add_row(
        "source",
        f"reconnects {src.get('reconnects') or 0} · REST {rest.get('requests') or 0} requests "
        f"(budget {rest.get('budget_limit')}/min, 429s {rest.get('rate_limited') or 0})",
    )
    sinks = (summary.get("pipeline") or {}).get("sinks") or {}
    for name, st in sorted(sinks.items()):
        t.add_row(f"sink {name}", ", ".join(f"{k} {v}" for k, v in st.items()))
    leak = summary.get("leak_check")
    if leak:
        bad = leak.get("redacted_kinds_leaked") or []
        other = leak.get("unredacted_kinds_present") or []
        if not leak["leaks"]:
            n = leak["values_checked"]
            verdict = f"[green]none of the {n} PII values the callers spoke is in the outputs[/]"
        elif bad:
            where = ", ".join(x["file"] for x in leak["leaks"])
            verdict = f"[red]LEAK of {', '.join(bad)} in {where}[/]"
        else:
            verdict = "[green]no SSN, phone, e-mail or card value in the outputs[/]"
        if other:
            verdict += f"\n[yellow]not redacted by design/config: {', '.join(other)}[/]"
        t.add_row("PII leak check", verdict)
    for label, path in (summary.get("outputs") or {}).items():
        t.add_row(label.replace("_", " "), path)
    if url:
        t.add_row("captions", url)
    console.print(t)
