"""gcstream.query against a store written by the real SQLite sink."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import gcstream
import pytest
from gcstream.exceptions import ConfigError
from gcstream.query import Query, parse_time, search
from gcstream.sinks.sqlite import SqliteSink

SESSION = 1704067200000  # 2024-01-01T00:00:00Z


def frame(conv: str, utt: str, channel: str, text: str, offset_ms: int) -> bytes:
    return json.dumps(
        {
            "topicName": f"v2.conversations.{conv}.transcription",
            "version": "2",
            "eventBody": {
                "eventTime": "2024-01-01T00:10:00.000Z",
                "conversationId": conv,
                "communicationId": "c0c0c0c0-0000-4000-8000-000000000000",
                "sessionStartTimeMs": SESSION,
                "transcripts": [
                    {
                        "utteranceId": utt,
                        "isFinal": True,
                        "channel": channel,
                        "alternatives": [
                            {
                                "confidence": 0.9,
                                "offsetMs": offset_ms,
                                "durationMs": 1000,
                                "transcript": text,
                                "decoratedTranscript": text,
                                "words": [],
                                "decoratedWords": [],
                            }
                        ],
                        "dialect": "en-US",
                    }
                ],
                "status": {"offsetMs": 0, "status": "SESSION_ONGOING"},
            },
            "metadata": {"CorrelationId": "x"},
        }
    ).encode()


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    engine = gcstream.Engine("notifications")
    rows = [
        (
            "aaaa1111-0000-4000-8000-000000000001",
            "u1",
            "INTERNAL",
            "thanks for calling how can i help",
            1_000,
        ),
        ("aaaa1111-0000-4000-8000-000000000001", "u2", "EXTERNAL", "my card was charged twice", 5_000),
        ("aaaa1111-0000-4000-8000-000000000001", "u3", "INTERNAL", "let me check that 100% for you", 60_000),
        ("bbbb2222-0000-4000-8000-000000000002", "u4", "EXTERNAL", "i want to update my address", 120_000),
    ]
    records = []
    for conv, utt, channel, text, offset in rows:
        records += engine.feed(
            frame(conv, utt, channel, text, offset), received_at_ms=SESSION + offset + 3000
        )
    records += engine.tick(SESSION + 10 * 60_000) + engine.finish()
    sink = SqliteSink(tmp_path / "gc.db")
    async with asyncio.timeout(10):
        await sink.open()
        await sink.write(
            [r for r in records if isinstance(r, gcstream.Utterance | gcstream.ConversationUpdate)]
        )
        await sink.aclose()
    return tmp_path / "gc.db"


def texts(rows: list[dict[str, object]]) -> list[object]:
    return [r["decorated_text"] for r in rows]


async def test_everything_oldest_first(store: Path) -> None:
    rows = search(store, Query())
    assert len(rows) == 4
    assert [r["start_ms"] for r in rows] == sorted(r["start_ms"] for r in rows)  # type: ignore[type-var]
    assert "record" not in rows[0]
    assert rows[0]["flags"] == [] or isinstance(rows[0]["flags"], list)


async def test_by_conversation_prefix_speaker_and_text(store: Path) -> None:
    assert len(search(store, Query(conversation="aaaa1111"))) == 3
    assert texts(search(store, Query(speaker="customer"))) == [
        "my card was charged twice",
        "i want to update my address",
    ]
    assert texts(search(store, Query(speaker="agent", conversation="aaaa"))) == [
        "thanks for calling how can i help",
        "let me check that 100% for you",
    ]
    assert texts(search(store, Query(text="CARD"))) == ["my card was charged twice"]
    assert texts(search(store, Query(text="100%"))) == ["let me check that 100% for you"]
    assert search(store, Query(text="_")) == []  # LIKE wildcards are literal
    assert search(store, Query(conversation="_")) == []


async def test_by_time_range(store: Path) -> None:
    rows = search(store, Query(since_ms=SESSION + 4_000, until_ms=SESSION + 100_000))
    assert texts(rows) == ["my card was charged twice", "let me check that 100% for you"]
    assert len(search(store, Query(since_ms=parse_time("2024-01-01T00:01:00Z")))) == 2


async def test_limit(store: Path) -> None:
    assert len(search(store, Query(limit=2))) == 2
    with pytest.raises(ConfigError):
        search(store, Query(limit=0))


@pytest.mark.parametrize("odd", ["what?mode=rwc", "take#2", "100%25 done"])
def test_a_store_path_with_uri_characters_is_read_as_a_path(store: Path, tmp_path: Path, odd: str) -> None:
    moved = tmp_path / odd / "gc.db"
    moved.parent.mkdir()
    store.rename(moved)
    assert len(search(moved, Query())) == 4
    assert not (tmp_path / "what").exists()  # no store created at the path cut short by "?"


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no SQLite store"):
        search(tmp_path / "none.db", Query())


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_text('{"type": "Utterance", "text": "hello"}\n' * 100)
    with pytest.raises(ConfigError, match="is not a readable SQLite store") as e:
        search(audit, Query())
    assert e.value.field == "db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1704067200000", 1704067200000),
        ("2024-01-01T00:00:00Z", 1704067200000),
        ("2024-01-01T01:00:00+01:00", 1704067200000),
        ("-15m", 1704067200000 - 900_000),
        ("-2h", 1704067200000 - 7_200_000),
        ("15m", 1704067200000 - 900_000),
        ("1d", 1704067200000 - 86_400_000),
        ("30s", 1704067200000 - 30_000),
        ("1.5h", 1704067200000 - 5_400_000),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text, now_ms=1704067200000) == expected


def test_parse_time_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="cannot read time"):
        parse_time("yesterday")
