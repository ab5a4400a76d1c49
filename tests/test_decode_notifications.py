"""The ``notifications`` and ``eventbridge`` wire formats (rust/core/src/decode/notifications.rs).

Frames in, records out, through ``gcstream.Engine`` (the decoder has no Python API of its own).
Each test also checks the pure-Python reference decoder, so that the reference stays faithful.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gcstream
import pytest
from reference import ReferenceEngine, record_dict

EXAMPLE = "genesys-examples/transcription-notification-envelope.json"
RECEIVED_AT = 1_774_055_413_000


def feed(
    frame: bytes | dict[str, Any], wire_format: str = "notifications", received_at_ms: int = RECEIVED_AT
) -> list[Any]:
    """Records of one frame, flushed (no reorder window, so finals come out at once)."""
    data = json.dumps(frame).encode() if isinstance(frame, dict) else frame
    engine = gcstream.Engine(wire_format, reorder_window_ms=0)
    return engine.feed(data, received_at_ms=received_at_ms) + engine.finish()


def of_type(records: list[Any], cls: type) -> list[Any]:
    return [r for r in records if isinstance(r, cls)]


def reference_utterances(frame: bytes, wire_format: str = "notifications") -> list[dict[str, Any]]:
    records = ReferenceEngine(wire_format).feed(frame, received_at_ms=RECEIVED_AT)
    return [r for r in records if r["type"] == "Utterance"]


class TestTranscription:
    """``v2.conversations.{id}.transcription`` (research §2.3)."""

    def test_shared_example_decodes_every_field(self, testdata: Path) -> None:
        frame = (testdata / EXAMPLE).read_bytes()
        body = json.loads(frame)["eventBody"]
        result = body["transcripts"][0]
        alternative = result["alternatives"][0]
        (u,) = of_type(feed(frame), gcstream.Utterance)
        assert u.conversation_id == body["conversationId"]
        assert u.communication_id == body["communicationId"]
        assert u.organization_id == body["organizationId"]
        assert u.utterance_id == result["utteranceId"]
        assert u.channel == "EXTERNAL"
        assert u.language == "en-US"
        assert u.engine == "GENESYS/r2d2"
        assert u.text == alternative["transcript"]
        assert u.decorated_text == alternative["decoratedTranscript"]
        assert u.confidence == alternative["confidence"]
        assert [w.to_dict() for w in u.words] == [
            {
                "word": w["word"],
                "offset_ms": w["offsetMs"],
                "duration_ms": w["durationMs"],
                "confidence": w["confidence"],
            }
            for w in alternative["words"]
        ]
        assert [w.word for w in u.decorated_words] == [w["word"] for w in alternative["decoratedWords"]]
        assert (u.offset_ms, u.duration_ms) == (32_300, 3_400)
        assert u.start_ms == 1_774_055_376_019 + 32_300
        assert u.end_ms == 1_774_055_376_019 + 32_300 + 3_400
        assert u.event_time_ms == 1_774_055_412_140  # 2026-03-21T01:10:12.140Z
        assert u.received_at_ms == RECEIVED_AT
        assert u.latency_ms == RECEIVED_AT - u.end_ms
        assert (u.pii, u.flags) == ([], ())
        assert [record_dict(u)] == reference_utterances(frame)

    def test_status_comes_after_the_transcripts(self, testdata: Path) -> None:
        records = feed((testdata / EXAMPLE).read_bytes())
        updates = of_type(records, gcstream.ConversationUpdate)
        assert [u.kind for u in updates] == ["started", "status"]
        assert updates[-1].status == "SESSION_ONGOING"

    def test_times_are_64_bit(self) -> None:
        start = (1 << 53) - 10_000
        frame = _transcription(sessionStartTimeMs=start, offsetMs=1_000, durationMs=2_000)
        (u,) = of_type(feed(frame, received_at_ms=start + 3_500), gcstream.Utterance)
        assert (u.start_ms, u.end_ms, u.latency_ms) == (start + 1_000, start + 3_000, 500)

    def test_status_only_message(self) -> None:
        frame = {
            "topicName": "v2.conversations.c1.transcription",
            "version": "2",
            "eventBody": {
                "conversationId": "c1",
                "sessionStartTimeMs": 1_774_055_376_019,
                "status": {"offsetMs": 0, "status": "SESSION_ONGOING"},
            },
        }
        records = feed(frame)
        assert of_type(records, gcstream.Utterance) == []
        assert [(u.kind, u.status) for u in of_type(records, gcstream.ConversationUpdate)] == [
            ("started", None),
            ("status", "SESSION_ONGOING"),
        ]

    def test_lenient_fields(self) -> None:
        frame = _transcription(offsetMs="1000", durationMs=1500.0, channel="SOMETHING_NEW", extra={"x": [1]})
        (u,) = of_type(feed(frame), gcstream.Utterance)
        assert (u.offset_ms, u.duration_ms, u.channel) == (1000, 1500, "SOMETHING_NEW")

    def test_conversation_id_falls_back_to_the_topic(self) -> None:
        frame = _transcription()
        del frame["eventBody"]["conversationId"]
        (u,) = of_type(feed(frame), gcstream.Utterance)
        assert u.conversation_id == "c1"

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({"transcripts": "nope"}, "invalid_document"),
            ({"transcripts": [{"isFinal": True}]}, "missing_field"),
        ],
    )
    def test_unusable_documents_are_rejected(self, body: dict[str, Any], reason: str) -> None:
        (r,) = feed({"topicName": "v2.conversations.c1.transcription", "eventBody": body})
        assert isinstance(r, gcstream.Rejected)
        assert r.reason == reason


class TestControl:
    """Heartbeats, pongs, system topics, socket replies and unknown topics (research §1.6)."""

    @pytest.mark.parametrize(
        ("frame", "kind", "message", "code"),
        [
            (
                {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}},
                "heartbeat",
                "WebSocket Heartbeat",
                None,
            ),
            ({"topicName": "channel.metadata", "eventBody": {"message": "pong"}}, "pong", "pong", None),
            (
                {"topicName": "v2.system.socket_closing", "eventBody": {"message": "bye"}},
                "socket_closing",
                "bye",
                None,
            ),
            ({"topicName": "v2.system.token_revoked.abc", "eventBody": {}}, "token_revoked", None, None),
            (
                {
                    "topicName": "v2.system.no_longer_subscribed.abc",
                    "eventBody": {"reason": "another_channel_subscribed"},
                },
                "no_longer_subscribed",
                "another_channel_subscribed",
                None,
            ),
            (
                {"topicName": "v2.system.x", "eventBody": {"systemTopicType": "subscription_changed"}},
                "subscription_changed",
                None,
                None,
            ),
            ({"topicName": "v2.subscription.updated", "eventBody": {}}, "subscription_updated", None, None),
            ({"result": "200", "status": "subscribed"}, "subscribed", "subscribed", "200"),
            (
                {"result": "400", "status": "error", "message": "bad topic"},
                "subscribe_error",
                "bad topic",
                "400",
            ),
            (
                {"result": "404", "message": "channel not found"},
                "channel_not_found",
                "channel not found",
                "404",
            ),
            ({"topicName": "v2.analytics.something", "eventBody": {}}, "unknown_topic", None, None),
        ],
    )
    def test_kinds(self, frame: dict[str, Any], kind: str, message: str | None, code: str | None) -> None:
        (c,) = feed(frame)
        assert isinstance(c, gcstream.Control)
        assert (c.kind, c.message, c.code, c.received_at_ms) == (kind, message, code, RECEIVED_AT)
        (expected,) = ReferenceEngine().feed(json.dumps(frame).encode(), received_at_ms=RECEIVED_AT)
        assert record_dict(c) == expected

    def test_shared_heartbeat_and_subscribe_error(self, testdata: Path) -> None:
        (heartbeat,) = feed((testdata / "genesys-examples/channel-metadata-heartbeat.json").read_bytes())
        (error,) = feed((testdata / "genesys-examples/ws-subscribe-error.json").read_bytes())
        assert (heartbeat.kind, error.kind, error.code) == ("heartbeat", "subscribe_error", "400")

    def test_unknown_topics_are_counted_not_rejected(self) -> None:
        engine = gcstream.Engine()
        engine.feed(b'{"topicName":"v2.new.thing","eventBody":{"a":1}}', received_at_ms=1)
        stats = engine.stats()
        assert stats["controls"] == {"unknown_topic": 1}
        assert stats["rejected"] == {}


class TestDiscovery:
    """Queue and user conversation topics announce calls and their end."""

    def test_start_and_end(self) -> None:
        start = {
            "topicName": "v2.routing.queues.q1.conversations",
            "eventBody": {
                "id": "c9",
                "participants": [
                    {"id": "p1", "purpose": "customer", "calls": [{"state": "connected"}]},
                    {"id": "p2", "userId": "u1"},
                ],
            },
        }
        end = {
            "topicName": "v2.users.u1.conversations",
            "eventBody": {
                "id": "c9",
                "participants": [
                    {"id": "p1", "endTime": "2026-03-21T01:10:12.140Z"},
                    {"id": "p2", "calls": [{"state": "disconnected"}]},
                ],
            },
        }
        (started,) = of_type(feed(start), gcstream.ConversationUpdate)
        (ended,) = of_type(feed(end), gcstream.ConversationUpdate)
        assert (started.conversation_id, started.kind, len(started.participants)) == ("c9", "discovered", 2)
        assert started.participants[0].purpose == "customer"
        assert ended.kind == "call_ended"


class TestEventBridge:
    """The same envelope inside ``detail``; a bare envelope is accepted too."""

    def test_detail(self, testdata: Path) -> None:
        envelope = (testdata / EXAMPLE).read_bytes()
        event = (
            b'{"version":"0","detail-type":"v2.conversations.{id}.transcription","detail":' + envelope + b"}"
        )
        (u,) = of_type(feed(event, "eventbridge"), gcstream.Utterance)
        (same,) = of_type(feed(envelope), gcstream.Utterance)
        assert u == same
        assert [record_dict(u)] == reference_utterances(event, "eventbridge")

    def test_bare_envelope(self, testdata: Path) -> None:
        envelope = (testdata / EXAMPLE).read_bytes()
        assert len(of_type(feed(envelope, "eventbridge"), gcstream.Utterance)) == 1


def _transcription(
    extra: dict[str, Any] | None = None, channel: str = "EXTERNAL", **alternative: Any
) -> dict[str, Any]:
    alt = {"confidence": 0.9, "offsetMs": 500, "durationMs": 1500, "transcript": "hello there", **alternative}
    result: dict[str, Any] = {"utteranceId": "u1", "isFinal": True, "channel": channel, "alternatives": [alt]}
    body: dict[str, Any] = {
        "conversationId": "c1",
        "sessionStartTimeMs": alternative.pop("sessionStartTimeMs", 1000),
        "transcripts": [result],
        **(extra or {}),
    }
    alt.pop("sessionStartTimeMs", None)
    return {"topicName": "v2.conversations.c1.transcription", "version": "2", "eventBody": body}
