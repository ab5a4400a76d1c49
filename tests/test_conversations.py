"""Per-conversation state, summaries and bounded memory."""

from __future__ import annotations

import json

import gcstream
from reference_stream import _envelope


def _status(conv: str, status: str) -> bytes:
    return json.dumps(
        {
            "topicName": f"v2.conversations.{conv}.transcription",
            "eventBody": {"conversationId": conv, "status": {"offsetMs": 0, "status": status}},
        }
    ).encode()


def test_summary_when_a_conversation_ends() -> None:
    eng = gcstream.Engine("notifications")
    out = []
    for i, ch in enumerate(("EXTERNAL", "INTERNAL", "EXTERNAL")):
        out += eng.feed(
            _envelope("c", "m", f"u{i}", ch, i * 3000, 1000, ["a", "b", "c"], True),
            received_at_ms=1_774_055_390_000,
        )
    out += eng.feed(_status("c", "SESSION_ENDED"), received_at_ms=1_774_055_391_000)
    end = out[-1]
    assert (end.kind, end.status, end.utterances, end.words) == ("ended", "SESSION_ENDED", 3, 9)
    assert end.utterances_by_channel == {"EXTERNAL": 2, "INTERNAL": 1}
    assert end.words_by_channel == {"EXTERNAL": 6, "INTERNAL": 3}
    assert end.first_ms == 1_774_055_376_019 and end.last_ms == 1_774_055_376_019 + 7000
    assert sum(isinstance(r, gcstream.Utterance) for r in out) == 3  # the window was flushed first
    s = eng.stats()
    assert (s["conversations_active"], s["conversations_ended"]) == (0, 1)


def test_status_repeats_are_counted_not_repeated() -> None:
    eng = gcstream.Engine("notifications")
    first = eng.feed(_status("c", "SESSION_ONGOING"), received_at_ms=0)
    assert [(r.kind, r.status) for r in first] == [("started", None), ("status", "SESSION_ONGOING")]
    assert eng.feed(_status("c", "SESSION_ONGOING"), received_at_ms=1) == []
    assert eng.stats()["status_repeats"] == 1


def test_capacity_and_idle_eviction_are_announced() -> None:
    eng = gcstream.Engine("notifications", max_conversations=10, conversation_idle_ms=60_000)
    out = []
    for i in range(25):
        out += eng.feed(_status(f"c{i:02}", "SESSION_ONGOING"), received_at_ms=i)
    evicted = [r for r in out if isinstance(r, gcstream.ConversationUpdate) and r.kind == "evicted"]
    assert [(r.conversation_id, r.reason) for r in evicted] == [(f"c{i:02}", "capacity") for i in range(15)]
    assert eng.stats()["conversations_active"] == 10
    idle = eng.tick(24 + 60_001)
    assert len(idle) == 10 and all(r.reason == "idle" for r in idle)
    assert eng.stats()["conversations_active"] == 0


def test_eviction_flushes_pending_partials() -> None:
    eng = gcstream.Engine("notifications", conversation_idle_ms=1000)
    eng.feed(_envelope("c", "m", "u", "EXTERNAL", 0, 500, ["hi"], False), received_at_ms=0)
    out = eng.tick(2000)
    assert [(type(r).__name__, getattr(r, "state", None) or r.kind) for r in out] == [
        ("Partial", "expired"),
        ("ConversationUpdate", "evicted"),
    ]


def test_a_replay_after_the_end_brings_nothing_back() -> None:
    eng = gcstream.Engine("notifications")
    at = 1_774_055_390_000
    said = [
        _envelope("c", "m", "u0", "EXTERNAL", 0, 1000, ["hel"], False),
        _envelope("c", "m", "u0", "EXTERNAL", 0, 1000, ["hello"], True),
        _status("c", "SESSION_ENDED"),
    ]
    out = [r for frame in said + said for r in eng.feed(frame, received_at_ms=at)] + eng.finish()
    assert [u.kind for u in out if isinstance(u, gcstream.ConversationUpdate)] == [
        "started",
        "status",
        "ended",
    ]
    assert [u.text for u in out if isinstance(u, gcstream.Utterance)] == ["hello"]
    s = eng.stats()
    assert (s["conversations_ended"], s["duplicates"], s["stale_partials"]) == (1, 1, 1)
    # What it did not say before its end still arrives, flagged.
    late = eng.feed(_envelope("c", "m", "u1", "EXTERNAL", 2000, 1000, ["bye"], True), received_at_ms=at)
    late += eng.finish()
    assert [(u.text, u.flags) for u in late if isinstance(u, gcstream.Utterance)] == [("bye", ("after_end",))]
