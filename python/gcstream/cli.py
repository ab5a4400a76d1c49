"""The ``gcstream`` command line.

Subcommands:
    replay     decode a capture file and print its records (JSON Lines or a table)
    simulate   run the local Genesys Cloud simulator
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any

import gcstream
from gcstream.exceptions import ConfigError, GcstreamError

CHUNK_BYTES = 1 << 16


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
    wire_format: str = "notifications",
    framing: str = "auto",
    received_at_ms: int | None = None,
) -> Iterator[gcstream.Record]:
    """Decode a capture file and yield its records.

    Args:
        path: A capture: one message per line, or a raw concatenated stream of documents.
        wire_format: The engine's wire format.
        framing: ``lines`` (one message per line: a bad line never affects its neighbours),
            ``stream`` (documents may span lines), or ``auto`` (``lines`` when the first line is a
            whole document).
        received_at_ms: The receive time to stamp on every frame; defaults to the wall clock.
    """
    if framing == "auto":
        framing = "lines" if _is_line_delimited(path) else "stream"
    if framing not in ("lines", "stream"):
        raise ConfigError(f"unknown framing {framing!r}; expected auto, lines or stream", "framing")
    engine = gcstream.Engine(wire_format, mode="message" if framing == "lines" else "stream")

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
                    "utterance", r.conversation_id[:8], r.channel, str(r.latency_ms), f"{r.confidence:.2f}",
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
    records = replay_records(path, wire_format=args.wire_format, framing=args.framing)
    if args.format == "table":
        _print_table(records, sys.stdout)
    else:
        write = sys.stdout.write
        for r in records:
            write(json.dumps(_record_dict(r), ensure_ascii=False) + "\n")
    return 0


def _add_replay(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="decode a capture file and print its records")
    p.add_argument("file", nargs="?", help="capture file: one message per line, or a concatenated stream")
    p.add_argument("--sample", action="store_true", help="replay the small capture shipped with gcstream")
    p.add_argument("--wire-format", default="notifications", choices=gcstream.WIRE_FORMATS)
    p.add_argument("--framing", default="auto", choices=("auto", "lines", "stream"))
    p.add_argument("--format", default="jsonl", choices=("jsonl", "table"))
    p.set_defaults(func=_cmd_replay)


def _add_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gcstream.simulator import cli as simulator_cli

    p = sub.add_parser("simulate", help="run the local Genesys Cloud simulator")
    simulator_cli.add_arguments(p)
    p.set_defaults(func=simulator_cli.run)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="gcstream", description="Genesys Cloud real-time transcription: redacted, coalesced, delivered."
    )
    parser.add_argument("--version", action="version", version=f"gcstream {gcstream.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_replay(sub)
    _add_simulate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gcstream`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except GcstreamError as exc:
        print(f"gcstream {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
