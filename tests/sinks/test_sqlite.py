"""SqliteSink: schema, upserts, WAL, indexes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from gcstream import ConversationUpdate, Utterance
from gcstream.exceptions import SinkRejectedError
from gcstream.sinks import decode_jsonl, encode_jsonl
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


# Rules someone added to the store, each for every utterance with a phone number: a constraint
# (RAISE: IntegrityError), and one that builds a value over SQLite's length limit (SQLITE_TOOBIG,
# which Python raises as DataError).
REFUSING_TRIGGERS = {
    "sqlite_constraint": "SELECT RAISE(ABORT, 'no phone numbers here')",
    "sqlite_data": "SELECT zeroblob(2000000000)",
}


@pytest.mark.parametrize("reason", sorted(REFUSING_TRIGGERS))
async def test_a_record_the_database_refuses_is_reported_and_the_rest_stored(
    tmp_path: Path, reason: str
) -> None:
    db_path = tmp_path / "gc.db"
    sink = SqliteSink(db_path)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
    db = sqlite3.connect(db_path)
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON utterances WHEN NEW.text LIKE '%[PHONE]%' "
        f"BEGIN {REFUSING_TRIGGERS[reason]}; END"
    )
    db.close()
    recs = records(2, 6, phone_every=3)
    with pytest.raises(SinkRejectedError, match=reason) as e:
        async with asyncio.timeout(TIMEOUT):
            await sink.write(recs)
    poison = {i for i, r in enumerate(recs) if type(r) is Utterance and "[PHONE]" in r.text}
    assert poison
    assert e.value.rejected == dict.fromkeys(poison, reason)
    async with asyncio.timeout(TIMEOUT):
        await sink.aclose()
    db = sqlite3.connect(db_path)
    stored = {r[0] for r in db.execute("SELECT utterance_id FROM utterances")}
    assert stored == {u.utterance_id for u in utterances(recs) if "[PHONE]" not in u.text}
    assert db.execute("SELECT COUNT(*) FROM conversations").fetchone() == (2,)
    db.close()
    updates = sum(type(r) is ConversationUpdate for r in recs)
    assert sink.rows_written == len(utterances(recs)) - len(poison) + updates


async def test_an_integer_over_64_bits_is_refused_alone(tmp_path: Path) -> None:
    # Counts are unsigned 64-bit in a record, SQLite's INTEGER is signed: a conversation update
    # read back from JSON Lines (a replayed dead-letter file, another tool's log) can carry a
    # count SQLite cannot hold. That record, and only it, is refused for good.
    recs = records(2, 3)
    (i, update) = next((i, r) for i, r in enumerate(recs) if type(r) is ConversationUpdate)
    line = json.loads(encode_jsonl([update]))
    line["words"] = 2**63
    (huge,), errors = decode_jsonl(json.dumps(line).encode() + b"\n")
    assert not errors and huge.words == 2**63
    batch = [*recs[:i], huge, *recs[i + 1 :]]
    sink = SqliteSink(tmp_path / "gc.db")
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        with pytest.raises(SinkRejectedError, match="sqlite_data") as e:
            await sink.write(batch)
        await sink.aclose()
    assert e.value.rejected == {i: "sqlite_data"}
    db = sqlite3.connect(tmp_path / "gc.db")
    assert db.execute("SELECT COUNT(*) FROM utterances").fetchone() == (len(utterances(recs)),)
    assert db.execute("SELECT MAX(words) FROM conversations").fetchone()[0] < 2**63
    db.close()
