"""SqliteSink: schema, upserts, WAL, indexes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from gcstream.sinks.sqlite import SqliteSink

from sinks.services import records, utterances

TIMEOUT = 10.0


async def test_upserts_are_idempotent(tmp_path: Path) -> None:
    recs = records(3, 4)
    db_path = tmp_path / "gc.db"
    sink = SqliteSink(db_path)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        await sink.write(recs)
        await sink.write(recs)
        await sink.flush()
        await sink.aclose()
    db = sqlite3.connect(db_path)
    utts = utterances(recs)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("SELECT COUNT(*) FROM utterances").fetchone() == (len(utts),)
    assert db.execute("SELECT COUNT(*) FROM conversations").fetchone() == (3,)
    u = utts[0]
    row = db.execute(
        "SELECT text, channel, start_ms, latency_ms FROM utterances WHERE utterance_id=?", (u.utterance_id,)
    ).fetchone()
    assert row == (u.text, u.channel, u.start_ms, u.latency_ms)
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"utterances_by_time", "utterances_by_conversation_time", "conversations_by_time"} <= indexes
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM utterances WHERE conversation_id=? ORDER BY start_ms", ("x",)
    ).fetchall()
    assert "utterances_by_conversation_time" in str(plan)
    db.close()


async def test_reopen_keeps_rows(tmp_path: Path) -> None:
    recs = records(1, 3)
    for _ in range(2):
        sink = SqliteSink(tmp_path / "gc.db")
        async with asyncio.timeout(TIMEOUT):
            await sink.open()
            await sink.write(recs)
            await sink.aclose()
    db = sqlite3.connect(tmp_path / "gc.db")
    assert db.execute("SELECT COUNT(*) FROM utterances").fetchone() == (len(utterances(recs)),)
    db.close()
