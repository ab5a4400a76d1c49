"""``gcstream query``: search the SQLite store by conversation, time range, speaker or text.

::

    rows = search(Path("gcstream-demo/gcstream.db"), Query(speaker="customer", text="card"))

The store is written by the SQLite sink; this module only reads it (the database is opened
read-only) and adapts to its columns: it looks for the table holding utterances
(``conversation_id`` and ``utterance_id`` columns), and for a time column (``end_ms`` or
``start_ms``), a channel column and a text column (``decorated_text`` or ``text``). Text in the
store is already redacted, so nothing this prints can carry PII the engine removed.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from gcstream.exceptions import ConfigError

__all__ = ["RELATIVE_TIME", "Query", "StoreLayout", "inspect_store", "parse_time", "print_table", "search"]

_SPEAKER_CHANNELS: Final = {
    "agent": ("INTERNAL",),
    "customer": ("EXTERNAL",),
    "both": ("BOTH",),
    "unknown": ("UNKNOWN", ""),
}
RELATIVE_TIME: Final = re.compile(r"^-?(\d+(?:\.\d+)?)([smhd])$")
"""A time ago: ``15m``, ``2h``, ``1d``, ``30s``; the leading ``-`` is optional."""
_UNIT_MS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_time(value: str, *, now_ms: int | None = None) -> int:
    """Parse ``--since``/``--until``: epoch ms, ISO-8601 (``2024-06-01T10:00:00Z``), or a time
    ago (``15m``, ``2h``, ``1d``, ``30s``; ``-15m`` means the same).

    Raises:
        ConfigError: None of those forms.
    """
    value = value.strip()
    if value.isdigit():
        return int(value)
    m = RELATIVE_TIME.match(value)
    if m:
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return now - int(float(m.group(1)) * _UNIT_MS[m.group(2)])
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"cannot read time {value!r}: use a time ago (15m, 2h, 1d), ISO-8601 or epoch ms", field="time"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for; every criterion is optional and they combine with AND.

    Attributes:
        conversation: A conversation id or a prefix of one.
        since_ms: Utterances starting at or after this epoch ms.
        until_ms: Utterances starting before this epoch ms.
        speaker: ``agent``, ``customer``, ``both`` or ``unknown``.
        text: Words the utterance contains (case-insensitive substring).
        limit: At most this many rows, oldest first.
    """

    conversation: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    speaker: str | None = None
    text: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class StoreLayout:
    """Where things are in the store (found by :func:`inspect_store`)."""

    table: str
    columns: tuple[str, ...]
    time_column: str | None
    channel_column: str | None
    text_column: str | None


def _connect(db: Path) -> sqlite3.Connection:
    if not db.is_file():
        raise ConfigError(f"no SQLite store at {db} (run `gcstream demo` or give --db)", field="db")
    # As a URI, percent-encoded: a "?" or "#" in the path would otherwise start the query or fragment.
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        # SQLite reads the file only at the first statement: a file that is not a database (an
        # audit log given by mistake) or cannot be read fails here, with the store named.
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ConfigError(f"{db} is not a readable SQLite store ({exc})", field="db") from None
    conn.row_factory = sqlite3.Row
    return conn


def inspect_store(conn: sqlite3.Connection) -> StoreLayout:
    """Find the utterances table and its columns.

    Raises:
        ConfigError: No table with ``conversation_id`` and ``utterance_id`` columns.
    """
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    candidates: list[tuple[str, tuple[str, ...]]] = []
    for table in tables:
        cols = tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{table}")'))
        if "conversation_id" in cols and "utterance_id" in cols:
            candidates.append((table, cols))
    if not candidates:
        raise ConfigError("the store has no utterances table (conversation_id, utterance_id)", field="db")
    # Prefer a table named like utterances over, say, a partials table.
    table, cols = sorted(candidates, key=lambda tc: (not tc[0].startswith("utterance"), tc[0]))[0]

    def first(*names: str) -> str | None:
        return next((n for n in names if n in cols), None)

    return StoreLayout(
        table=table,
        columns=cols,
        time_column=first("start_ms", "end_ms", "received_at_ms"),
        channel_column=first("channel", "speaker"),
        text_column=first("decorated_text", "text"),
    )


def search(db: Path, query: Query) -> list[dict[str, Any]]:
    """Run ``query`` against the store at ``db``; returns rows as dicts, oldest first.

    Raises:
        ConfigError: No store at ``db``, no utterances table, or a criterion the store cannot
            answer (e.g. ``text`` when it keeps no text column).
    """
    if query.limit < 1:
        raise ConfigError("limit must be >= 1", field="limit")
    with _connect(db) as conn:
        layout = inspect_store(conn)
        where: list[str] = []
        params: list[Any] = []
        if query.conversation:
            where.append("conversation_id LIKE ? ESCAPE '\\'")
            params.append(_like_prefix(query.conversation))
        for bound, op in ((query.since_ms, ">="), (query.until_ms, "<")):
            if bound is not None:
                if layout.time_column is None:
                    raise ConfigError("the store keeps no utterance times", field="since")
                where.append(f'"{layout.time_column}" {op} ?')
                params.append(bound)
        if query.speaker:
            channels = _SPEAKER_CHANNELS.get(query.speaker)
            if channels is None:
                raise ConfigError(f"unknown speaker {query.speaker!r}", field="speaker")
            if layout.channel_column is None:
                raise ConfigError("the store keeps no channel column", field="speaker")
            col = layout.channel_column
            if col == "speaker":
                where.append('"speaker" = ?')
                params.append(query.speaker)
            else:
                where.append(f'UPPER("{col}") IN ({", ".join("?" * len(channels))})')
                params.extend(channels)
        if query.text:
            if layout.text_column is None:
                raise ConfigError("the store keeps no text column", field="text")
            where.append(f"\"{layout.text_column}\" LIKE ? ESCAPE '\\'")
            params.append("%" + _like_escape(query.text) + "%")
        sql = f'SELECT * FROM "{layout.table}"'
        if where:
            sql += " WHERE " + " AND ".join(where)
        if layout.time_column:
            sql += f' ORDER BY "{layout.time_column}"'
        sql += " LIMIT ?"
        params.append(query.limit)
        return [_row(dict(row)) for row in conn.execute(sql, params)]


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """Drop the stored copy of the whole record and decode JSON list columns."""
    row.pop("record", None)
    flags = row.get("flags")
    if isinstance(flags, str) and flags.startswith("["):
        with contextlib.suppress(ValueError):
            row["flags"] = json.loads(flags)
    return row


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"


def _when(ms: Any) -> str:
    if not isinstance(ms, int):
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def print_table(rows: list[dict[str, Any]], out: IO[str]) -> None:
    """Print rows as a rich table: time, conversation, speaker, latency, confidence, text."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"gcstream query — {len(rows)} utterance(s)", expand=True)
    for column in ("time (UTC)", "conversation", "speaker", "latency", "conf", "text"):
        table.add_column(column, overflow="fold")
    for r in rows:
        channel = str(r.get("channel") or r.get("speaker") or "")
        speaker = {"INTERNAL": "agent", "EXTERNAL": "customer"}.get(channel.upper(), channel.lower())
        latency = r.get("latency_ms")
        conf = r.get("confidence")
        table.add_row(
            _when(r.get("start_ms", r.get("end_ms"))),
            str(r.get("conversation_id", ""))[:8],
            speaker,
            "" if latency is None else f"{latency / 1000:.1f} s",
            "" if conf is None else f"{conf:.2f}",
            str(r.get("decorated_text") or r.get("text") or ""),
        )
    Console(file=out, width=160).print(table)
