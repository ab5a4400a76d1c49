"""``gcstream.Engine`` (rust/core/src/engine.rs): frames in, records out.

Framing + decoding + de-duplication seen from Python: bad frames become ``Rejected`` records and
leave their neighbours alone, a repeated utterance is counted instead of repeated, stream mode
gives the same records whatever the split, and the engine agrees with ``tests/reference.py``.
"""

from __future__ import annotations

import json
from typing import Any

import corpus
import gcstream
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import ReferenceEngine, record_dict
from strategies import INPUT_TYPES, as_input, chunked, engine_frames

RECEIVED_AT = 1_774_055_500_000
PONG = b'{"topicName":"channel.metadata","eventBody":{"message":"pong"}}'


def engine(**options: Any) -> gcstream.Engine:
    """An engine that emits finals at once and adds no latency flags: the parts the reference models."""
    return gcstream.Engine(reorder_window_ms=0, latency_policy="off", **options)


def comparable(records: list[Any]) -> list[dict[str, Any]]:
    """What the reference models exactly: utterances, controls and rejections (reason only), in order."""
    out = []
    for r in records:
        d = r if isinstance(r, dict) else record_dict(r)
        if d["type"] in ("Utterance", "Control"):
            out.append(d)
        elif d["type"] == "Rejected":
            out.append({"type": "Rejected", "reason": d["reason"]})
    return out


def split_utterances(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Utterances sorted by key (the privacy stage may delay them) and the other records in order."""
    utterances = sorted(
        (r for r in records if r["type"] == "Utterance"),
        key=lambda r: (r["conversation_id"], str(r["communication_id"]), r["utterance_id"]),
    )
    return utterances, [r for r in records if r["type"] != "Utterance"]


class TestRecords:
    """Byte-exact cases."""

    def test_end_and_latency_arithmetic(self) -> None:
        frame = corpus.envelopes(1)[0]
        (u,) = [
            r for r in engine().feed(frame, received_at_ms=RECEIVED_AT) if isinstance(r, gcstream.Utterance)
        ]
        assert u.start_ms == 1_774_055_376_019 + u.offset_ms
        assert u.end_ms == u.start_ms + u.duration_ms
        assert u.latency_ms == RECEIVED_AT - u.end_ms

    def test_negative_latency_is_kept_and_counted(self) -> None:
        eng = engine()
        frame = corpus.envelopes(1)[0]
        (u,) = [r for r in eng.feed(frame, received_at_ms=0) if isinstance(r, gcstream.Utterance)]
        assert u.latency_ms == -u.end_ms
        assert eng.stats()["negative_latency"] == 1

    def test_a_repeated_utterance_is_counted_not_repeated(self) -> None:
        eng = engine()
        frame = corpus.envelopes(1)[0]
        first = eng.feed(frame, received_at_ms=RECEIVED_AT)
        again = eng.feed(frame, received_at_ms=RECEIVED_AT + 1)
        assert sum(isinstance(r, gcstream.Utterance) for r in first) == 1
        assert not any(isinstance(r, gcstream.Utterance) for r in again)
        assert eng.stats()["duplicates"] == 1

    def test_malformed_frames_are_rejected_and_their_neighbours_unaffected(self) -> None:
        good = corpus.envelopes(2)
        bad = [b'{"topicName":', b"\xff\xfe", b"", good[0][:-1], b"[1,]"]
        eng = engine()
        records = eng.feed(good[0], received_at_ms=RECEIVED_AT)
        rejected = []
        for frame in bad:
            rejected += eng.feed(frame, received_at_ms=RECEIVED_AT)
        records += eng.feed(good[1], received_at_ms=RECEIVED_AT)
        clean = engine()
        expected = clean.feed(good[0], received_at_ms=RECEIVED_AT) + clean.feed(
            good[1], received_at_ms=RECEIVED_AT
        )
        assert records == expected
        assert [type(r) for r in rejected] == [gcstream.Rejected] * len(bad)
        assert all(r.reason and r.message for r in rejected)
        assert sum(eng.stats()["rejected"].values()) == len(bad)

    def test_rejected_sample_is_truncated(self) -> None:
        (r,) = engine().feed(b"[" + b"1," * 1000, received_at_ms=1)
        assert isinstance(r, gcstream.Rejected)
        assert len(r.sample) <= 161

    def test_document_too_large_in_message_mode(self) -> None:
        frame = corpus.envelopes(1)[0]
        (r,) = engine(max_document_bytes=100).feed(frame, received_at_ms=1)
        assert isinstance(r, gcstream.Rejected)
        assert r.reason == "document_too_large"

    def test_stream_mode_rejects_with_stream_offsets(self) -> None:
        eng = engine(mode="stream")
        eng.feed(PONG, received_at_ms=1)
        records = eng.feed(b" nope " + PONG, received_at_ms=1) + eng.finish()
        assert sorted(type(r).__name__ for r in records) == ["Control", "Rejected"]
        (r,) = [r for r in records if isinstance(r, gcstream.Rejected)]
        assert (r.reason, r.offset) == ("unexpected_byte", len(PONG) + 2)  # `n` may start `null`: the `o`

    def test_stream_mode_rejections_come_in_stream_order(self) -> None:
        eng = engine(mode="stream")
        records = eng.feed(PONG + b" nope " + PONG, received_at_ms=1) + eng.finish()
        assert [type(r).__name__ for r in records] == ["Control", "Rejected", "Control"]

    @pytest.mark.parametrize("chunk", [1, 7, None])
    def test_stream_mode_nothing_inside_a_rejected_document_is_decoded(self, chunk: int | None) -> None:
        # A real envelope nested in an oversized and in a too-deep document: one rejection each,
        # no record built from the inner envelope, and the envelopes around them unaffected.
        hidden, before, after = corpus.envelopes(3, seed=5)
        oversized = b'{"pad":"%s","nested":%s}' % (b"x" * 5000, hidden)
        too_deep = b"[" * 200 + hidden + b"]" * 200
        data = b"\n".join([before, oversized, too_deep, after])
        eng = engine(mode="stream", max_document_bytes=4096)
        step = chunk or len(data)
        records = [
            r for i in range(0, len(data), step) for r in eng.feed(data[i : i + step], received_at_ms=1)
        ]
        records += eng.finish()
        clean = engine(mode="stream")
        expected = clean.feed(before + b"\n" + after, received_at_ms=1) + clean.finish()
        rejected = [r for r in records if isinstance(r, gcstream.Rejected)]
        assert [(r.reason, r.offset) for r in rejected] == [
            ("document_too_large", len(before) + 1 + 4096),
            ("too_deep", len(before) + len(oversized) + 2 + 128),
        ]
        assert [r for r in records if not isinstance(r, gcstream.Rejected)] == expected
        assert eng.stats()["documents"] == 2

    def test_stream_mode_truncated_at_finish(self) -> None:
        eng = engine(mode="stream")
        assert eng.feed(PONG + b"\n" + PONG[:10], received_at_ms=1)[0].kind == "pong"
        (r,) = eng.finish()
        assert (r.reason, r.offset) == ("truncated", len(PONG) + 11)

    def test_feed_many_equals_feed_per_frame(self) -> None:
        frames = [*corpus.envelopes(20, seed=3), PONG, b"{bad", *corpus.envelopes(2, seed=3)]
        one = engine()
        many = engine()
        expected = [r for f in frames for r in one.feed(f, received_at_ms=RECEIVED_AT)]
        assert many.feed_many(frames, received_at_ms=RECEIVED_AT) == expected
        assert many.stats()["duplicates"] == 2

    @pytest.mark.parametrize("kind", INPUT_TYPES)
    def test_every_input_type(self, kind: str) -> None:
        (c,) = engine().feed(as_input(PONG, kind), received_at_ms=1)
        assert c.kind == "pong"

    def test_records_are_frozen_and_matchable(self) -> None:
        frame = corpus.envelopes(1)[0]
        u = next(
            r for r in engine().feed(frame, received_at_ms=RECEIVED_AT) if isinstance(r, gcstream.Utterance)
        )
        match u:
            case gcstream.Utterance(conversation_id, _, utterance_id, channel, text):
                assert (conversation_id, utterance_id, channel, text) == (
                    u.conversation_id,
                    u.utterance_id,
                    u.channel,
                    u.text,
                )
        with pytest.raises(AttributeError):
            u.text = "changed"  # type: ignore[misc]

    @pytest.mark.parametrize(
        "junk",
        [
            b'"\xff\xfe"',
            b'"\\ud800"',
            b'"\\x"',
        ],
    )
    def test_message_mode_validates_like_the_assembler(self, junk: bytes) -> None:
        frame = b'{"topicName":"v2.x","junk":' + junk + b"}"
        assert gcstream.FrameAssembler("message").feed(frame) == []
        assert [type(r) for r in engine().feed(frame, received_at_ms=1)] == [gcstream.Rejected]

    def test_floats_are_parsed_exactly(self) -> None:
        frame = b'{"topicName":"v2.conversations.c1.transcription","eventBody":{"transcripts":'
        frame += b'[{"utteranceId":"u","alternatives":[{"confidence":0.9229102708080885}]}]}}'
        (u,) = [r for r in engine().feed(frame, received_at_ms=1) if isinstance(r, gcstream.Utterance)]
        assert u.confidence == 0.9229102708080885

    @pytest.mark.parametrize(
        "options",
        [{"wire_format": "bogus"}, {"mode": "bogus"}, {"max_conversations": 0}, {"max_depth": 0}],
    )
    def test_bad_options_are_config_errors(self, options: dict[str, Any]) -> None:
        with pytest.raises(gcstream.ConfigError):
            gcstream.Engine(**options)


CARD = "4111 1111 1111 1111"
EMAIL = "john.smith@example.com"


def final(conversation: str, utterance: str, text: str) -> bytes:
    body = {
        "conversationId": conversation,
        "transcripts": [
            {
                "utteranceId": utterance,
                "isFinal": True,
                "channel": "EXTERNAL",
                "alternatives": [{"transcript": text}],
            }
        ],
    }
    return json.dumps(
        {"topicName": f"v2.conversations.{conversation}.transcription", "eventBody": body}
    ).encode()


def leaks(records: list[Any]) -> bool:
    seen = repr(records)
    return any(pii in seen for pii in (CARD, "4111", EMAIL, "john.smith"))


class TestBadInput:
    """A bad frame gets a clear record or error, quotes no PII, and loses nothing around it."""

    def test_a_str_with_lone_surrogates_is_rejected_not_raised(self) -> None:
        good = final("c1", "u1", f"my card is {CARD}").decode()
        bad = good.replace("my card", "my \ud800 card")
        eng = engine()
        records = (
            eng.feed(bad, received_at_ms=1) + eng.feed_many([bad, good], received_at_ms=1) + eng.finish()
        )
        rejected = [r for r in records if isinstance(r, gcstream.Rejected)]
        assert [r.reason for r in rejected] == ["invalid_utf8", "invalid_utf8"]
        assert [r.text for r in records if isinstance(r, gcstream.Utterance)] == ["my card is [CREDIT_CARD]"]
        assert not leaks(records)

    def test_feed_many_checks_every_item_before_feeding_any(self) -> None:
        eng = engine()
        with pytest.raises(TypeError, match="got int"):
            eng.feed_many([final("c1", "u1", "hello"), 42], received_at_ms=1)
        assert eng.stats()["frames"] == 0
        # Nothing was consumed: the same frames fed again all arrive.
        records = eng.feed_many([final("c1", "u1", "hello")], received_at_ms=1)
        assert [r.text for r in records if isinstance(r, gcstream.Utterance)] == ["hello"]

    def test_samples_of_rejected_documents_quote_no_pii(self) -> None:
        words = ",".join(json.dumps({"word": w}) for w in CARD.split())
        frames = [
            b'{"topicName":"v2.conversations.c1.transcription","eventBody":{"transcripts":[{"words":['
            + words.encode(),
            b'{"transcript":"4\\u0031\\u0031\\u0031 1111 1111 1111 and john.smith\\u0040example.com"',
            b'{"transcript":"' + b"x" * 150 + f" {CARD} {EMAIL}".encode() + b'"',
        ]
        records = [r for f in frames for r in engine().feed(f, received_at_ms=1)]
        assert [type(r) for r in records] == [gcstream.Rejected] * 3
        assert not leaks(records), records
        assert records[0].sample.startswith('{"topicName":"v#.conversations.c#.transcription"')

    def test_free_text_beside_transcripts_is_redacted(self) -> None:
        frames = [
            json.dumps({"result": "400", "status": "error", "message": f"no {EMAIL}"}).encode(),
            json.dumps(
                {"topicName": "v2.system.socket_closing", "eventBody": {"message": f"closing {CARD}"}}
            ).encode(),
            json.dumps({"topicName": f"v2.analytics.{EMAIL}", "eventBody": {}}).encode(),
        ]
        records = [r for f in frames for r in engine().feed(f, received_at_ms=1)]
        assert [r.kind for r in records] == ["subscribe_error", "socket_closing", "unknown_topic"]
        assert not leaks(records), records
        events = gcstream.Engine("conversation-events")
        docs = [
            {"conversationId": "c", "type": "metadata", "data": {"note": f"card {CARD}", "mail": EMAIL}},
            {
                "conversationId": "c",
                "type": "participants",
                "data": [{"id": "p1", "purpose": f"mail {EMAIL}"}],
            },
            {"conversationId": "c", "type": "statusChange", "data": {"status": f"hold, call {EMAIL}"}},
        ]
        updates = [r for d in docs for r in events.feed(json.dumps(d).encode(), received_at_ms=1)]
        assert not leaks(updates), updates
        kinds = {u.kind: u for u in updates}
        assert kinds["metadata"].metadata == {"mail": "[EMAIL]", "note": "card [CREDIT_CARD]"}
        assert [(p.id, p.purpose) for p in kinds["participants"].participants] == [("p1", "mail [EMAIL]")]
        assert kinds["status"].status == "hold, call [EMAIL]"


class TestProperties:
    """Split invariance and agreement with the reference."""

    @given(st.data())
    def test_stream_mode_records_do_not_depend_on_the_split(self, data: st.DataObject) -> None:
        seed, n = data.draw(st.integers(0, 1000)), data.draw(st.integers(1, 5))
        stream = corpus.stream(n, seed=seed, separator=data.draw(st.sampled_from([b"", b"\n"])))
        whole = engine(mode="stream")
        expected = whole.feed(stream, received_at_ms=RECEIVED_AT) + whole.finish()
        split = engine(mode="stream")
        records = [r for c in data.draw(chunked(stream)) for r in split.feed(c, received_at_ms=RECEIVED_AT)]
        assert records + split.finish() == expected
        messages = engine()
        frames = corpus.envelopes(n, seed=seed)
        assert expected == messages.feed_many(frames, received_at_ms=RECEIVED_AT) + messages.finish()

    @given(st.lists(engine_frames(), max_size=12), st.sampled_from([1, 2, 100_000]))
    def test_agrees_with_the_reference(self, frames: list[bytes], max_conversations: int) -> None:
        self._agree("notifications", frames, max_conversations)

    @given(st.lists(engine_frames("eventbridge"), max_size=8))
    def test_agrees_with_the_reference_on_eventbridge(self, frames: list[bytes]) -> None:
        self._agree("eventbridge", frames, 100_000)

    @staticmethod
    def _agree(wire_format: str, frames: list[bytes], max_conversations: int) -> None:
        eng = engine(wire_format=wire_format, max_conversations=max_conversations)
        ref = ReferenceEngine(wire_format, max_conversations=max_conversations)
        got: list[Any] = []
        expected: list[dict[str, Any]] = []
        for i, frame in enumerate(frames):
            got += eng.feed(frame, received_at_ms=RECEIVED_AT + i)
            expected += ref.feed(frame, received_at_ms=RECEIVED_AT + i)
        got += eng.finish()  # the privacy stage may hold an utterance until later input or the end
        got_utterances, got_rest = split_utterances(comparable(got))
        expected_utterances, expected_rest = split_utterances(comparable(expected))
        assert got_rest == expected_rest
        assert got_utterances == expected_utterances
        assert eng.stats()["duplicates"] == ref.duplicates
