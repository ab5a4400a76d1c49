"""SQLite: the embedded default store, read by ``gcstream query`` and the demo.

The database runs in WAL mode (readers never block the writer) with ``synchronous=NORMAL``
(``FULL`` with ``durable=True``). Every write is an upsert on the natural key, so replaying a
batch changes nothing. One transaction per batch.

Schema (version 1, kept in ``PRAGMA user_version``)::

    CREATE TABLE utterances (
        conversation_id  TEXT NOT NULL,
        communication_id TEXT NOT NULL DEFAULT '',   -- '' when the source has none
        utterance_id     TEXT NOT NULL,
        channel          TEXT NOT NULL,              -- EXTERNAL (customer) / INTERNAL (agent) / ...
        text             TEXT NOT NULL,              -- redacted
        decorated_text   TEXT NOT NULL,              -- redacted
        confidence       REAL,
        language         TEXT,
        start_ms         INTEGER NOT NULL,           -- epoch ms
        end_ms           INTEGER NOT NULL,
        received_at_ms   INTEGER NOT NULL,
        latency_ms       INTEGER NOT NULL,
        duration_ms      INTEGER NOT NULL,
        words            INTEGER NOT NULL,           -- number of words
        pii_count        INTEGER NOT NULL,           -- PII findings (all fields)
        flags            TEXT NOT NULL,              -- JSON list of strings
        record           TEXT NOT NULL,              -- the full record as one JSON Lines line
        PRIMARY KEY (conversation_id, communication_id, utterance_id)
    );
    CREATE INDEX utterances_by_time ON utterances (start_ms);
    CREATE INDEX utterances_by_conversation_time ON utterances (conversation_id, start_ms);

    CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        status          TEXT,                        -- SESSION_ONGOING / SESSION_ENDED / ...
        last_kind       TEXT NOT NULL,               -- started / status / ended / evicted / ...
        first_seen_ms   INTEGER NOT NULL,
        updated_ms      INTEGER NOT NULL,
        ended_ms        INTEGER,
        utterances      INTEGER NOT NULL DEFAULT 0,  -- from the end-of-call summary
        words           INTEGER NOT NULL DEFAULT 0,
        participants    TEXT NOT NULL DEFAULT '[]'   -- JSON list
    );
    CREATE INDEX conversations_by_time ON conversations (updated_ms);

    CREATE TABLE pii_counts (      -- PII per utterance and kind (the largest count over its fields)
        conversation_id  TEXT NOT NULL,
        communication_id TEXT NOT NULL DEFAULT '',
        utterance_id     TEXT NOT NULL,
        kind             TEXT NOT NULL,              -- ssn / phone / email / credit_card / ...
        count            INTEGER NOT NULL,
        start_ms         INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, communication_id, utterance_id, kind)
    );
    CREATE INDEX pii_counts_by_kind_time ON pii_counts (kind, start_ms);

Per-conversation PII totals: ``SELECT kind, SUM(count) FROM pii_counts WHERE conversation_id=?
GROUP BY kind``. Conversation updates are applied in order but never move ``updated_ms``
backwards, so a replay of an older update cannot undo a newer one.

Errors: a locked, full, read-only or missing database is transient (the pipeline retries or
spools). A record the database refuses for good — a constraint (``IntegrityError``: a ``CHECK``
or a trigger someone added) or a value it cannot hold (``DataError``, or ``OverflowError`` for an
integer over 64 bits) — fails the batch's transaction, so the batch is written again one record
per transaction to find the refused ones; those are reported
(:class:`~gcstream.exceptions.SinkRejectedError`) and every other record is stored.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gcstream._core import ConversationUpdate, Utterance, encode_jsonl
from gcstream.exceptions import SinkRejectedError
from gcstream.sinks import fail

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["SCHEMA", "SqliteSink"]

SCHEMA_VERSION: Final = 1
_REFUSALS: Final = (sqlite3.IntegrityError, sqlite3.DataError, OverflowError)
"""Errors about a record, not about the database: retrying the same record cannot help.
``OverflowError`` is Python's own refusal to bind an integer over SQLite's signed 64 bits (a
record's counts are unsigned 64-bit)."""

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS utterances (
    conversation_id TEXT NOT NULL, communication_id TEXT NOT NULL DEFAULT '', utterance_id TEXT NOT NULL,
    channel TEXT NOT NULL, text TEXT NOT NULL, decorated_text TEXT NOT NULL, confidence REAL,
    language TEXT, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, received_at_ms INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL, duration_ms INTEGER NOT NULL, words INTEGER NOT NULL,
    pii_count INTEGER NOT NULL, flags TEXT NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (conversation_id, communication_id, utterance_id)
);
CREATE INDEX IF NOT EXISTS utterances_by_time ON utterances (start_ms);
CREATE INDEX IF NOT EXISTS utterances_by_conversation_time ON utterances (conversation_id, start_ms);
CREATE TABLE IF NOT EXISTS conversations (
    conversation_id TEXT PRIMARY KEY, status TEXT, last_kind TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, ended_ms INTEGER,
    utterances INTEGER NOT NULL DEFAULT 0, words INTEGER NOT NULL DEFAULT 0,
    participants TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS conversations_by_time ON conversations (updated_ms);
CREATE TABLE IF NOT EXISTS pii_counts (
    conversation_id TEXT NOT NULL, communication_id TEXT NOT NULL DEFAULT '', utterance_id TEXT NOT NULL,
    kind TEXT NOT NULL, count INTEGER NOT NULL, start_ms INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, communication_id, utterance_id, kind)
);
CREATE INDEX IF NOT EXISTS pii_counts_by_kind_time ON pii_counts (kind, start_ms);
"""
"""The DDL, idempotent (``IF NOT EXISTS``)."""

_UPSERT_UTTERANCE: Final = """
INSERT INTO utterances VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT (conversation_id, communication_id, utterance_id) DO UPDATE SET
    channel=excluded.channel, text=excluded.text, decorated_text=excluded.decorated_text,
    confidence=excluded.confidence, language=excluded.language, start_ms=excluded.start_ms,
    end_ms=excluded.end_ms, received_at_ms=excluded.received_at_ms, latency_ms=excluded.latency_ms,
    duration_ms=excluded.duration_ms, words=excluded.words, pii_count=excluded.pii_count,
    flags=excluded.flags, record=excluded.record
"""
_UPSERT_PII: Final = """
INSERT INTO pii_counts VALUES (?,?,?,?,?,?)
ON CONFLICT (conversation_id, communication_id, utterance_id, kind) DO UPDATE SET
    count=excluded.count, start_ms=excluded.start_ms
"""
_UPSERT_CONVERSATION: Final = """
INSERT INTO conversations (conversation_id, status, last_kind, first_seen_ms, updated_ms, ended_ms,
                           utterances, words, participants)
VALUES (:id, :status, :kind, :at, :at, :ended, :utterances, :words, :participants)
ON CONFLICT (conversation_id) DO UPDATE SET
    first_seen_ms = MIN(first_seen_ms, excluded.first_seen_ms),
    status      = CASE WHEN excluded.updated_ms >= updated_ms THEN COALESCE(excluded.status, status)
                       ELSE status END,
    last_kind   = CASE WHEN excluded.updated_ms >= updated_ms THEN excluded.last_kind ELSE last_kind END,
    ended_ms    = COALESCE(excluded.ended_ms, ended_ms),
    utterances  = MAX(utterances, excluded.utterances),
    words       = MAX(words, excluded.words),
    participants = CASE WHEN excluded.participants != '[]' THEN excluded.participants
                        ELSE participants END,
    updated_ms  = MAX(updated_ms, excluded.updated_ms)
"""


class SqliteSink:
    """Upsert utterances, conversations and PII counts into a SQLite database.

    Args:
        path: The database file (created with its directory if missing).
        name: The sink's name in the pipeline.
        durable: ``synchronous=FULL`` (fsync at every commit) instead of ``NORMAL`` (fsync at
            checkpoints; a power cut can lose the last commits, a process crash cannot).
        busy_timeout: Seconds to wait for another writer's lock.
    """

    kinds: frozenset[str] = frozenset({"utterance", "conversation_update"})

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str = "sqlite",
        durable: bool = False,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.name = name
        self.durable = durable
        self.busy_timeout = busy_timeout
        self._db: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self.rows_written = 0

    async def open(self) -> None:
        """Create the database and schema; switch to WAL.

        Raises:
            SinkError: The file cannot be created or is not a database.
        """
        try:
            self._db = await asyncio.to_thread(self._open_sync)
        except (OSError, sqlite3.Error) as e:
            raise fail(self.name, f"cannot open database {self.path}", e) from e

    def _open_sync(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout, check_same_thread=False, isolation_level=None
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
            db.executescript(SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error:
            db.close()
            raise
        return db

    async def write(self, batch: Sequence[Record]) -> None:
        """Upsert the batch in one transaction.

        Raises:
            SinkRejectedError: Some records were refused for good (see the module docs); every
                other record is stored.
            SinkError: The database refused (disk full, locked for longer than ``busy_timeout``,
                read-only); the transaction is rolled back.
        """
        utterances = [r for r in batch if type(r) is Utterance]
        updates = [r for r in batch if type(r) is ConversationUpdate]
        if not utterances and not updates:
            return
        rows = _utterance_rows(utterances)
        refused: dict[int, str] = {}
        async with self._lock:
            try:
                try:
                    await asyncio.to_thread(self._write_sync, rows, updates)
                except _REFUSALS:
                    refused = await asyncio.to_thread(self._write_each_sync, batch)
            except (OSError, sqlite3.Error) as e:
                raise fail(self.name, f"cannot write {self.path}", e) from e
        self.rows_written += len(utterances) + len(updates) - len(refused)
        if refused:
            raise SinkRejectedError(
                f"{self.name}: {self.path} refused {len(refused)} of {len(utterances) + len(updates)} "
                f"records ({', '.join(sorted(set(refused.values())))})",
                sink=self.name,
                rejected=refused,
            )

    def _write_each_sync(self, batch: Sequence[Record]) -> dict[int, str]:
        """One transaction per record: position -> reason class of each record refused for good.

        Raises:
            sqlite3.Error: A transient error (locked, disk full): the caller fails the whole batch.
        """
        refused: dict[int, str] = {}
        for i, r in enumerate(batch):
            try:
                if type(r) is Utterance:
                    self._write_sync(_utterance_rows([r]), [])
                elif type(r) is ConversationUpdate:
                    self._write_sync(([], []), [r])
            except sqlite3.IntegrityError:
                refused[i] = "sqlite_constraint"
            except (sqlite3.DataError, OverflowError):
                refused[i] = "sqlite_data"
        return refused

    def _write_sync(
        self, rows: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]], updates: list[ConversationUpdate]
    ) -> None:
        db = self._db
        if db is None:
            raise sqlite3.ProgrammingError("the database is not open")
        utt_rows, pii_rows = rows
        db.execute("BEGIN IMMEDIATE")
        try:
            if utt_rows:
                db.executemany(_UPSERT_UTTERANCE, utt_rows)
            if pii_rows:
                db.executemany(_UPSERT_PII, pii_rows)
            for u in updates:
                db.execute(
                    _UPSERT_CONVERSATION,
                    {
                        "id": u.conversation_id,
                        "status": u.status,
                        "kind": u.kind,
                        "at": u.at_ms,
                        "ended": u.at_ms if u.kind == "ended" else None,
                        "utterances": u.utterances,
                        "words": u.words,
                        "participants": json.dumps([p.to_dict() for p in u.participants]),
                    },
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def flush(self) -> None:
        """Checkpoint the WAL into the database file (commits are already durable per policy)."""
        async with self._lock:
            if self._db is not None:
                try:
                    await asyncio.to_thread(self._db.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as e:
                    raise fail(self.name, "checkpoint failed", e) from e

    async def aclose(self) -> None:
        """Close the connection."""
        async with self._lock:
            db, self._db = self._db, None
            if db is not None:
                await asyncio.to_thread(db.close)


def _utterance_rows(utterances: list[Utterance]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    if not utterances:
        return [], []
    lines = encode_jsonl(utterances).decode().splitlines()
    utt_rows: list[tuple[Any, ...]] = []
    pii_rows: list[tuple[Any, ...]] = []
    for u, line in zip(utterances, lines, strict=True):
        comm = u.communication_id or ""
        pii = u.pii
        conf = u.confidence
        utt_rows.append(
            (
                u.conversation_id,
                comm,
                u.utterance_id,
                u.channel,
                u.text,
                u.decorated_text,
                None if math.isnan(conf) else conf,
                u.language,
                u.start_ms,
                u.end_ms,
                u.received_at_ms,
                u.latency_ms,
                u.duration_ms,
                len(u.words),
                len(pii),
                json.dumps(list(u.flags)),
                line,
            )
        )
        # The same number shows up in several fields (text, decorated text, word lists): count
        # per field and keep, per kind, the largest field count.
        per_field: dict[tuple[str, str], int] = {}
        for f in pii:
            per_field[f.kind, f.field] = per_field.get((f.kind, f.field), 0) + 1
        counts: dict[str, int] = {}
        for (kind, _), n in per_field.items():
            counts[kind] = max(counts.get(kind, 0), n)
        pii_rows.extend(
            (u.conversation_id, comm, u.utterance_id, kind, n, u.start_ms) for kind, n in counts.items()
        )
    return utt_rows, pii_rows
