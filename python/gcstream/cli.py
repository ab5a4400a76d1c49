"""The ``gcstream`` command line.

Subcommands:
    demo          the whole pipeline on the built-in simulator, with live captions and a summary
    run           ingest a real Genesys Cloud org (``--config gcstream.toml``)
    check-config  validate a config file and print the effective settings (secrets masked)
    query         search the SQLite store (conversation, time range, speaker, text)
    replay        decode a capture file and print its records (JSON Lines or a table)
    simulate      run the local Genesys Cloud simulator
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import gcstream
from gcstream.exceptions import ConfigError, GcstreamError

if TYPE_CHECKING:
    from gcstream.config import GcstreamConfig

CHUNK_BYTES = 1 << 16
log = logging.getLogger("gcstream.cli")


# -- argument types: a user mistake is reported by argparse in one line, with exit status 2 -------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def _fault_spec(text: str) -> str:
    """Check a simulator fault spec when the command line is read (the demo parses it again later,
    inside the event loop, where a mistake would surface as a traceback)."""
    from gcstream.simulator.faults import FaultPlan

    try:
        FaultPlan.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _record_dict(record: gcstream.Record) -> dict[str, Any]:
    return {"type": type(record).__name__, **record.to_dict()}


def sample_capture_path() -> Path:
    """The capture shipped with the package (two short calls, with PII, a duplicate and a bad frame)."""
    return Path(str(resources.files("gcstream") / "data" / "sample-capture.jsonl"))


def _is_line_delimited(path: Path) -> bool:
    """True when the first non-blank line of the file is one whole JSON document."""
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                probe = gcstream.FrameAssembler("message")
                docs = probe.feed(line)
                return bool(docs) and not probe.take_errors()
    return False


def replay_records(
    path: Path,
    *,
    wire_format: str | None = None,
    framing: str = "auto",
    received_at_ms: int | None = None,
    engine_options: Mapping[str, Any] | None = None,
) -> Iterator[gcstream.Record]:
    """Decode a capture file and yield its records, redacted as ``gcstream run`` would.

    Args:
        path: A capture: one message per line, or a raw concatenated stream of documents.
        wire_format: The engine's wire format; wins over the one in ``engine_options``
            (``notifications`` by default).
        framing: ``lines`` (one message per line: a bad line never affects its neighbours),
            ``stream`` (documents may span lines), or ``auto`` (``lines`` when the first line is a
            whole document). It decides the engine's ``mode``.
        received_at_ms: The receive time to stamp on every frame; defaults to the wall clock.
        engine_options: ``gcstream.Engine`` keyword arguments, e.g. from
            :func:`gcstream.config.load_engine_kwargs`; by default ``gcstream run``'s, which
            redact every PII kind, person names included (``Engine()`` alone leaves names).
    """
    from gcstream.config import load_engine_kwargs

    if framing == "auto":
        framing = "lines" if _is_line_delimited(path) else "stream"
    if framing not in ("lines", "stream"):
        raise ConfigError(f"unknown framing {framing!r}; expected auto, lines or stream", "framing")
    kwargs = dict(engine_options) if engine_options is not None else load_engine_kwargs(env={})
    if wire_format is not None:
        kwargs["wire_format"] = wire_format
    kwargs["mode"] = "message" if framing == "lines" else "stream"
    engine = gcstream.Engine(**kwargs)

    def now() -> int:
        return received_at_ms if received_at_ms is not None else time.time_ns() // 1_000_000

    with path.open("rb") as f:
        if framing == "lines":
            for line in f:
                if line.strip():
                    yield from engine.feed(line, received_at_ms=now())
        else:
            while chunk := f.read(CHUNK_BYTES):
                yield from engine.feed(chunk, received_at_ms=now())
    yield from engine.finish()
    yield from engine.tick(now())


def _latency(ms: int) -> str:
    """A capture replayed later has no receive times (frames are stamped with the wall clock), so
    latencies of more than a day say nothing about the call: show them as such."""
    return str(ms) if ms < 86_400_000 else "n/a (replay)"


def _print_table(records: Iterator[gcstream.Record], out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="gcstream replay", expand=True)
    for column in ("kind", "conversation", "channel", "latency ms", "conf", "text / detail"):
        table.add_column(column, overflow="fold")
    for r in records:
        match r:
            case gcstream.Utterance():
                table.add_row(
                    "utterance",
                    r.conversation_id[:8],
                    r.channel,
                    _latency(r.latency_ms),
                    f"{r.confidence:.2f}",
                    r.text + (f"  [{', '.join(r.flags)}]" if r.flags else ""),
                )
            case gcstream.Partial():
                table.add_row("partial", r.conversation_id[:8], r.channel, "", f"{r.confidence:.2f}", r.text)
            case gcstream.ConversationUpdate():
                detail = r.status or ""
                if r.kind in ("ended", "evicted"):
                    detail = f"{detail} utterances={r.utterances} words={r.words}".strip()
                table.add_row(f"conversation:{r.kind}", r.conversation_id[:8], "", "", "", detail)
            case gcstream.Rejected():
                table.add_row(f"rejected:{r.reason}", "", "", "", "", f"at byte {r.offset}: {r.sample}")
            case gcstream.Control():
                table.add_row(f"control:{r.kind}", "", "", "", "", r.message or r.topic or "")
            case gcstream.Gap():
                table.add_row(f"gap:{r.kind}", r.stream, "", "", "", f"expected {r.expected}, got {r.got}")
    Console(file=out, width=160).print(table)


def _cmd_replay(args: argparse.Namespace) -> int:
    if args.sample:
        path = sample_capture_path()
    elif args.file:
        path = Path(args.file)
    else:
        print("gcstream replay: give a FILE or --sample", file=sys.stderr)
        return 2
    if not path.is_file():
        print(f"gcstream replay: no such file: {path}", file=sys.stderr)
        return 2
    from gcstream.config import load_engine_kwargs

    # As `gcstream run` reads them: the file (if any), then GCSTREAM_* variables.
    options = load_engine_kwargs(args.config)
    records = replay_records(path, wire_format=args.wire_format, framing=args.framing, engine_options=options)
    if args.format == "table":
        _print_table(records, sys.stdout)
    else:
        write = sys.stdout.write
        for r in records:
            write(json.dumps(_record_dict(r), ensure_ascii=False) + "\n")
    return 0


def _add_replay(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replay",
        help="decode a capture file and print its records",
        description="Decode a capture through the engine and print its records, redacted as "
        "`gcstream run` redacts them: every PII kind, person names included, or the [redaction] "
        "(and [engine], [gates]) tables of --config.",
    )
    p.add_argument("file", nargs="?", help="capture file: one message per line, or a concatenated stream")
    p.add_argument("--sample", action="store_true", help="replay the small capture shipped with gcstream")
    p.add_argument(
        "--config",
        "-c",
        default=None,
        help="TOML config whose [engine], [gates] and [redaction] to use (the rest is ignored)",
    )
    p.add_argument(
        "--wire-format",
        default=None,
        choices=gcstream.WIRE_FORMATS,
        help="default: the config's [engine] wire_format, else notifications",
    )
    p.add_argument("--framing", default="auto", choices=("auto", "lines", "stream"))
    p.add_argument("--format", default="jsonl", choices=("jsonl", "table"))
    p.set_defaults(func=_cmd_replay)


def _add_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gcstream.simulator import cli as simulator_cli

    p = sub.add_parser("simulate", help="run the local Genesys Cloud simulator")
    simulator_cli.add_arguments(p)
    p.set_defaults(func=simulator_cli.run)


def _cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console

    from gcstream.demo import DemoOptions, print_summary, run_demo

    opts = DemoOptions(
        out=Path(args.out),
        conversations=args.conversations,
        duration=args.duration,
        http=args.http,
        serve=args.serve,
        speed=args.speed,
        seed=args.seed,
        config=Path(args.config) if args.config else None,
        faults=args.faults,
        progress=not args.quiet,
    )
    console = Console(stderr=False)

    def ready(url: str | None) -> None:
        if url and not args.quiet:
            console.print(f"[bold green]Live captions:[/] {url}/   (metrics: {url}/metrics)")
        if url and args.open:
            import webbrowser

            webbrowser.open(url + "/")

    async def main() -> int:
        stop = asyncio.Event()
        _install_signal_handlers(stop)
        result = await run_demo(opts, on_ready=ready, stop=stop, console=console if not args.quiet else None)
        if args.json:
            sys.stdout.write(json.dumps(result.summary, indent=2, default=str) + "\n")
        elif not (args.serve and not args.quiet):
            print_summary(result.summary, console)
        leaked = result.summary.get("leak_check", {}).get("redacted_kinds_leaked")
        return 3 if leaked else 0

    return asyncio.run(main())


def _install_signal_handlers(stop: Any) -> None:
    import asyncio
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on the built-in simulator, with live captions and a summary",
        description="Start the simulator on loopback, ingest its calls through the full pipeline "
        "(redaction, coalescing, quality gates) into SQLite and a JSONL audit log, serve live "
        "captions, and end with a summary. Defaults finish in under a minute.",
    )
    p.add_argument("--out", default="gcstream-demo", help="output directory (default ./gcstream-demo)")
    p.add_argument(
        "--conversations", type=_positive_int, default=4, metavar="N", help="concurrent calls (default 4)"
    )
    p.add_argument(
        "--duration", type=_positive_float, default=45.0, metavar="S", help="seconds of traffic (default 45)"
    )
    p.add_argument(
        "--http",
        default="127.0.0.1:8765",
        metavar="HOST:PORT",
        help="captions page address (default 127.0.0.1:8765; port 0 picks one; '' for none)",
    )
    p.add_argument("--serve", action="store_true", help="keep the captions page up after the summary")
    p.add_argument("--open", action="store_true", help="open the captions page in a browser")
    p.add_argument(
        "--speed",
        type=_positive_float,
        default=1.0,
        help="simulated seconds per second (default 1: real time)",
    )
    p.add_argument("--seed", type=int, default=7, help="makes calls and PII deterministic")
    p.add_argument("--config", default=None, help="TOML file for engine/redaction/gates/sinks settings")
    p.add_argument(
        "--faults", type=_fault_spec, default=None, help="simulator faults, e.g. drop:every=20s,dup:p=0.05"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_demo)


RUN_STOP_GRACE_S = 15.0
"""How long ``gcstream run`` gives a stop beyond ``[pipeline] shutdown_timeout`` (which bounds the
sinks' drain): closing the source (unsubscribing, itself bounded at 5 s, and the sockets) and the
sinks. Past it the process exits anyway, saying so."""


async def _check_local_sinks(cfg: Any) -> None:
    """Fail at start-up, naming the setting, when a file sink or the spool directory cannot be
    written: otherwise the first records would find out, and the run would spool (or retry) for
    ever instead of stopping with an error.

    Raises:
        ConfigError: ``sinks.jsonl.path``, ``sinks.sqlite.path`` or ``sinks.spool_dir`` is unusable.
    """
    import tempfile

    from gcstream.demo import build_sinks
    from gcstream.sinks.jsonl import JsonlSink
    from gcstream.sinks.sqlite import SqliteSink

    spool = Path(cfg.sinks.spool_dir)
    try:
        spool.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=spool):
            pass
    except OSError as exc:
        raise ConfigError(
            f"sinks.spool_dir: cannot write the spool directory {str(spool)!r} ({exc.strerror or exc})",
            field="sinks.spool_dir",
        ) from None
    for sink in build_sinks(cfg):
        if not isinstance(sink, JsonlSink | SqliteSink):
            continue  # network sinks that are down are spooled, not fatal
        field = f"sinks.{'jsonl' if isinstance(sink, JsonlSink) else 'sqlite'}.path"
        try:
            await sink.open()
        except GcstreamError as exc:
            raise ConfigError(f"{field}: {exc}", field=field) from None
        finally:
            with contextlib.suppress(Exception):
                await sink.aclose()


def _require_targets(cfg: GcstreamConfig) -> None:
    """Refuse a configuration that names nothing to transcribe.

    With no queue, user or conversation, ``gcstream run`` subscribes to nothing and nothing ever
    adds a target, so it would run for ever without a record or a warning (an empty
    ``queues = []`` or a forgotten ``GENESYS_CLOUD_QUEUES``). The library's ``connect()`` keeps
    allowing it: a caller there may add subscriptions of its own.

    Raises:
        ConfigError: ``genesys.queues``, ``genesys.users`` and ``genesys.conversations`` are all empty.
    """
    g = cfg.genesys
    if not (g.queues or g.users or g.conversations):
        raise ConfigError(
            "genesys: no queue, user or conversation to transcribe: set genesys.queues, genesys.users "
            "or genesys.conversations (or GENESYS_CLOUD_QUEUES / _USERS / _CONVERSATIONS, comma-separated)",
            field="genesys.queues",
        )


def _cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from gcstream.config import load_config
    from gcstream.demo import Runtime
    from gcstream.logging import configure

    overrides: dict[str, Any] = {}
    if args.http is not None:
        overrides["http"] = {"listen": args.http}
    if args.log_level:
        overrides["logging"] = {"level": args.log_level}
    cfg = load_config(args.config, overrides=overrides)
    _require_targets(cfg)
    log_file = cfg.logging.file
    try:
        configure(
            cfg.logging.level,
            cfg.logging.format,
            path=str(log_file) if log_file else None,
            secrets=(cfg.genesys.client_secret.get_secret_value(),),
        )
    except OSError as exc:
        raise ConfigError(
            f"logging.file: cannot open the log file {str(log_file)!r} ({exc.strerror or exc})",
            field="logging.file",
        ) from None

    g = cfg.genesys
    log.debug(
        "configuration loaded: %d queue(s), %d user(s), %d conversation(s); sinks %s; http %s",
        len(g.queues),
        len(g.users),
        len(g.conversations),
        ", ".join(cfg.sinks.enabled()) or "none",
        cfg.http.listen or "off",
    )

    async def main() -> int:
        stop = asyncio.Event()
        _install_signal_handlers(stop)
        await _check_local_sinks(cfg)
        log.debug("file sinks and spool directory are writable; starting the pipeline")
        runtime = Runtime(cfg)
        await runtime.start()
        if runtime.url:
            print(f"gcstream run: captions {runtime.url}/  metrics {runtime.url}/metrics", file=sys.stderr)
        limit = cfg.pipeline.shutdown_timeout + RUN_STOP_GRACE_S
        timed_out = False
        try:
            stopped = asyncio.create_task(stop.wait())
            finished = asyncio.create_task(runtime.finished.wait())
            await asyncio.wait({stopped, finished}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            finished.cancel()
            if stop.is_set():
                log.debug(
                    "stop requested: draining to the sinks (shutdown_timeout %g s), then disconnecting",
                    cfg.pipeline.shutdown_timeout,
                )
            else:
                log.debug("the pipeline ended on its own; stopping")
        finally:
            # The pipeline bounds the drain itself (shutdown_timeout, then it spools what is
            # left); this only guards against a stop that cannot finish at all. A TimeoutError
            # must not escape: it is an OSError, which main() would print as an empty message.
            try:
                async with asyncio.timeout(limit):
                    await runtime.stop()
            except TimeoutError:
                timed_out = True
            log.debug("pipeline stopped; closing the web server")
            await runtime.stop_web()
        if runtime.error is not None:
            raise runtime.error
        if timed_out:
            print(
                f"gcstream run: stopping took longer than {limit:g} s (shutdown_timeout "
                f"{cfg.pipeline.shutdown_timeout:g} s + {RUN_STOP_GRACE_S:g} s); records not yet "
                "written or spooled may be lost",
                file=sys.stderr,
            )
            return 1
        report = runtime.report
        if report is not None and report.exit_code != 0:
            print(
                f"gcstream run: {report.lost} record(s) lost by the sinks and {report.dropped} dropped by "
                f"the ring (overflow = {cfg.pipeline.overflow!r}); see the audit log",
                file=sys.stderr,
            )
            return report.exit_code
        return 0

    return asyncio.run(main())


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="ingest a Genesys Cloud org as configured",
        description="Connect to Genesys Cloud with the settings in --config (environment variables "
        "win over the file) and deliver records to the configured sinks until SIGINT/SIGTERM. "
        "Exit status: 0 after SIGINT/SIGTERM once everything read was delivered, spooled (a sink "
        "still down: the next run delivers it) or set aside as refused for good (a dead-letter file "
        "beside the spool); a warning says what is left in a spool or set aside. 1 if records were "
        "lost (or the stop overran); 2 for a configuration error (no queue, user or conversation to "
        "transcribe is one) or a connection that cannot be set up (credentials refused, permission "
        "missing, peer unreachable).",
    )
    p.add_argument("--config", "-c", default=None, help="TOML config file (see examples/gcstream.toml)")
    p.add_argument("--http", default=None, metavar="HOST:PORT", help="override [http] listen ('' for none)")
    p.add_argument("--log-level", default=None, choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.set_defaults(func=_cmd_run)


def _cmd_check_config(args: argparse.Namespace) -> int:
    from gcstream.config import describe, load_config

    cfg = load_config(args.config)
    _require_targets(cfg)  # what `gcstream run` refuses is an error here too
    gcstream.Engine(**cfg.engine_kwargs())  # what the engine refuses (a pattern Rust cannot compile) too
    if args.format == "json":
        sys.stdout.write(json.dumps(describe(cfg), indent=2) + "\n")
    else:
        from gcstream.regions import endpoints_for

        ep = endpoints_for(region=cfg.genesys.region, base_url=cfg.genesys.base_url)
        sinks = ", ".join(cfg.sinks.enabled()) or "none"
        print(f"{args.config or '(no file)'}: OK")
        print(f"  genesys   {ep!r}")
        print(f"  client    {cfg.genesys.client_id} (secret set)")
        print(
            f"  targets   {len(cfg.genesys.queues)} queues, {len(cfg.genesys.users)} users, "
            f"{len(cfg.genesys.conversations)} conversations"
        )
        print(f"  sinks     {sinks}")
        print(f"  http      {cfg.http.listen or 'off'}")
    return 0


def _add_check_config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check-config", help="validate a config file and show the effective settings")
    p.add_argument("config", nargs="?", default=None, help="TOML config file")
    p.add_argument("--format", default="text", choices=("text", "json"))
    p.set_defaults(func=_cmd_check_config)


def _cmd_query(args: argparse.Namespace) -> int:
    from gcstream.query import Query, parse_time, print_table, search

    db = Path(args.db)
    q = Query(
        conversation=args.conversation,
        since_ms=parse_time(args.since) if args.since else None,
        until_ms=parse_time(args.until) if args.until else None,
        speaker=args.speaker,
        text=args.text,
        limit=args.limit,
    )
    rows = search(db, q)
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    elif args.format == "jsonl":
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str) + "\n")
    else:
        print_table(rows, sys.stdout)
    return 0


def _add_query(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("query", help="search the SQLite store")
    p.add_argument("--db", default="gcstream-demo/gcstream.db", help="SQLite file (default: the demo's)")
    p.add_argument("--conversation", "-C", default=None, help="conversation id (a prefix is enough)")
    p.add_argument(
        "--since",
        default=None,
        metavar="TIME",
        help="from this time: a time ago (15m, 2h, 1d; -15m too), ISO-8601 (2024-06-01T10:00Z) or epoch ms",
    )
    p.add_argument("--until", default=None, metavar="TIME", help="up to this time (same forms as --since)")
    p.add_argument("--speaker", default=None, choices=("agent", "customer", "both", "unknown"))
    p.add_argument("--text", default=None, help="words the utterance contains (case-insensitive)")
    p.add_argument("--limit", type=_positive_int, default=100, help="at most this many rows (default 100)")
    p.add_argument("--format", default="table", choices=("table", "json", "jsonl"))
    p.set_defaults(func=_cmd_query)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="gcstream", description="Genesys Cloud real-time transcription: redacted, coalesced, delivered."
    )
    parser.add_argument("--version", action="version", version=f"gcstream {gcstream.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_demo(sub)
    _add_run(sub)
    _add_check_config(sub)
    _add_query(sub)
    _add_replay(sub)
    _add_simulate(sub)
    return parser


_TIME_OPTIONS: Final = ("--since", "--until")


def _join_times_ago(argv: Sequence[str]) -> list[str]:
    """Write ``--since -15m`` as ``--since=-15m``.

    argparse takes a separate value that starts with ``-`` (and is not a plain negative number)
    for an option of its own, and fails with "expected one argument"; joined to its option with
    ``=`` it is read as the value.
    """
    from gcstream.query import RELATIVE_TIME

    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if arg in _TIME_OPTIONS and nxt.startswith("-") and RELATIVE_TIME.match(nxt):
            out.append(f"{arg}={nxt}")
            i += 2
        else:
            out.append(arg)
            i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gcstream`` command."""
    args = build_parser().parse_args(_join_times_ago(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"gcstream {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except GcstreamError as exc:
        print(f"gcstream {args.command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gcstream {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
