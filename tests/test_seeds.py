"""The seed wire formats (DESIGN §5), each decoded into the same records, from its tutorial's payloads."""

from __future__ import annotations

import json

import gcstream
import pytest
from hypothesis import given
from hypothesis import strategies as st

T0 = 1_718_447_400_000  # 2024-06-15T10:30:00Z


def _run(eng: gcstream.Engine, frames: list[bytes | str], at: int = T0) -> list[object]:
    out: list[object] = []
    for f in frames:
        out += eng.feed(f, received_at_ms=at)
    return out + eng.finish()


def _of(records: list[object], cls: type) -> list:  # type: ignore[type-arg]
    return [r for r in records if isinstance(r, cls)]


def test_interaction_seed_000() -> None:
    frames = [
        b'{"type":"subscribed"}',
        b'{"type":"transcription","interactionId":"i-1","mediaTimestamp":"2024-06-15T10:30:00.000Z","text":"I need","confidence":0.7,"final":false,"mediaType":"audio/ulaw"}',
        b'{"type":"transcription","interactionId":"i-1","mediaTimestamp":"2024-06-15T10:30:00.400Z","text":"I need help","confidence":0.92,"final":true,"mediaType":"audio/ulaw"}',
        b'{"type":"error","message":"bad subscription"}',
    ]
    out = _run(gcstream.Engine("interaction"), frames, T0 + 500)
    assert [c.kind for c in _of(out, gcstream.Control)] == ["subscribed", "subscribe_error"]
    [p] = _of(out, gcstream.Partial)
    [u] = _of(out, gcstream.Utterance)
    assert (u.conversation_id, u.text, u.latency_ms, u.flags) == ("i-1", "I need help", 100, ())
    assert u.utterance_id == p.utterance_id  # the partial's utterance is the one the final closes


def test_media_seed_001_arrays_and_sequences() -> None:
    def msg(seq: int, text: str, partial: bool) -> dict[str, object]:
        return {
            "eventType": "transcription",
            "eventSequence": seq,
            "mediaSessionId": "a1b2",
            "transcript": text,
            "isPartial": partial,
            "timestamp": f"2024-06-15T10:30:0{seq}.000Z",
        }

    frames = [
        json.dumps([msg(1, "hel", True), msg(2, "hello", False)]),
        json.dumps([msg(5, "again", False), msg(2, "hello", False)]),
    ]
    eng = gcstream.Engine("media")
    out = _run(eng, frames, T0 + 9000)
    assert [u.text for u in _of(out, gcstream.Utterance)] == ["hello", "again"]
    assert [(g.kind, g.expected, g.got, g.count) for g in _of(out, gcstream.Gap)] == [
        ("missing", 3, 5, 2),
        ("duplicate", 6, 2, 1),
    ]
    assert eng.stats()["gaps"] == {"missing": 2, "duplicate": 1}


def test_segments_seed_002() -> None:
    doc = {
        "type": "transcription",
        "conversationId": "c-2",
        "participantId": "agent-7",
        "language": "en-us",
        "segments": [
            {"text": "how can", "startTime": 1.0, "endTime": 1.6, "confidence": 0.9},
            {"text": "I help", "startTime": 1.6, "endTime": 2.0, "confidence": 0.7},
        ],
        "isPartial": False,
        "interruptionDetected": False,
        "audioQuality": {
            "snrDb": 22.5,
            "jitterMs": 12,
            "packetLossPercent": 0.1,
            "detectedLanguage": "en-US",
        },
        "timestamp": "2024-06-15T10:30:02.000Z",
    }
    [u] = _of(_run(gcstream.Engine("segments"), [json.dumps(doc)], T0 + 2500), gcstream.Utterance)
    assert (u.channel, u.text, u.flags, u.end_ms, u.latency_ms) == (
        "agent-7",
        "how can I help",
        (),
        T0 + 2000,
        500,
    )
    assert abs(u.confidence - 0.8) < 1e-9


def test_fragments_seed_003() -> None:
    frames = [
        '{"utteranceId":"u-9","speaker":"customer","text":"My order ","confidence":0.8,"startTime":"2024-06-15T10:30:00.000Z","endTime":"2024-06-15T10:30:00.800Z","isFinal":false}',
        '{"utteranceId":"u-9","speaker":"customer","text":"is late","confidence":0.95,"endTime":"2024-06-15T10:30:01.500Z","isFinal":true}',
        '{"speaker":"customer","text":"no id"}',
    ]
    out = _run(gcstream.Engine("fragments"), frames, T0 + 2000)
    [u] = _of(out, gcstream.Utterance)
    assert (u.text, u.confidence, u.start_ms, u.end_ms) == ("My order is late", 0.95, T0, T0 + 1500)
    assert [r.reason for r in _of(out, gcstream.Rejected)] == ["missing_field"]


def test_conversation_events_seed_004_split_across_frames() -> None:
    docs = [
        {
            "conversationId": "c-4",
            "type": "participants",
            "data": [{"id": "p1", "purpose": "customer"}, {"id": "p2", "purpose": "agent"}],
        },
        {"conversationId": "c-4", "type": "metadata", "data": {"queue": "billing", "priority": 2}},
        {
            "conversationId": "c-4",
            "type": "transcript",
            "timestamp": "2024-06-15T10:30:02.000Z",
            "data": {
                "utteranceId": "u1",
                "channel": "EXTERNAL",
                "text": "hi there",
                "isFinal": True,
                "offsetMs": 0,
                "durationMs": 1000,
            },
        },
        {"conversationId": "c-4", "type": "statusChange", "data": {"status": "ended"}},
    ]
    stream = "".join(json.dumps(d) for d in docs)
    eng = gcstream.Engine("conversation-events")  # stream mode by default for this format
    chunks = [stream[i : i + 13] for i in range(0, len(stream), 13)]
    out = _run(eng, chunks, T0 + 3000)
    assert not _of(out, gcstream.Rejected)
    [u] = _of(out, gcstream.Utterance)
    assert u.text == "hi there"
    end = _of(out, gcstream.ConversationUpdate)[-1]
    assert (end.kind, end.status, end.utterances, end.metadata) == (
        "ended",
        "ended",
        1,
        {"priority": "2", "queue": "billing"},
    )
    assert [p.id for p in end.participants] == ["p1", "p2"]
    assert end.utterances_by_channel == {"EXTERNAL": 1}


def test_every_seed_format_is_accepted_by_name() -> None:
    for name in ("interaction", "media", "segments", "fragments", "conversation-events"):
        assert gcstream.Engine(name).wire_format == name


def _media_event(seq: int, i: int) -> dict[str, object]:
    return {
        "eventType": "transcription",
        "eventSequence": seq,
        "mediaSessionId": "s1",
        "transcript": f"t{i}",
        "isPartial": False,
        "timestamp": f"2024-06-15T10:{30 + i // 60}:{i % 60:02}.000Z",
    }


@pytest.mark.parametrize(
    ("numbers", "kinds"),
    [
        ([2, 1, 3, 4], ["reordered"]),  # the stream's first two events swapped
        ([1, 2, 3, 4, 5, 2, 3, 4], ["reset"]),  # the sender restarts; its new event 1 is lost
        ([1, 2, 1, 2, 3], ["reset"]),  # the sender restarts early
        ([3, 1, 2, 4, 5], ["reordered", "reordered"]),  # first three rotated: 3 is not missing
    ],
)
def test_media_seed_001_sequences_keep_every_event(numbers: list[int], kinds: list[str]) -> None:
    eng = gcstream.Engine("media", pii_hold_ms=0)
    frames = [json.dumps([_media_event(n, i)]) for i, n in enumerate(numbers)]
    out = _run(eng, frames, T0 + 3_600_000)
    assert sorted(u.text for u in _of(out, gcstream.Utterance)) == [f"t{i}" for i in range(len(numbers))]
    assert [g.kind for g in _of(out, gcstream.Gap)] == kinds


@given(st.data())
def test_media_seed_001_shuffled_repeats_drop_only_repeats(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 60))
    repeats = data.draw(st.lists(st.integers(1, n), max_size=10))
    # Each number's event is the same whenever it is sent, so a repeat is a true repeat.
    sends = data.draw(st.permutations([*range(1, n + 1), *repeats]))
    eng = gcstream.Engine("media", pii_hold_ms=0)
    out = _run(eng, [json.dumps([_media_event(k, k)]) for k in sends], T0 + 3_600_000)
    assert sorted(u.text for u in _of(out, gcstream.Utterance)) == sorted(f"t{k}" for k in range(1, n + 1))
    kinds = [g.kind for g in _of(out, gcstream.Gap)]
    assert "reset" not in kinds
    assert kinds.count("duplicate") == len(repeats)
