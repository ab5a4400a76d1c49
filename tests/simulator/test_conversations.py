"""The conversation generator: determinism, real shapes, sizes, PII, and the official SDK model."""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from gcstream.simulator.conversations import ConversationFactory, Directory, iso_ms, make_uuid
from gcstream.simulator.faults import FaultPlan, parse_duration

ANCHOR = 1_774_055_376_019


def _convs(seed: int = 1, n: int = 40) -> list[Any]:
    f = ConversationFactory(seed, Directory.build(seed, 3, 10), 180)
    return [f.build(i, ANCHOR) for i in range(n)]


def test_deterministic_from_seed() -> None:
    a, b, c = _convs(7, 3), _convs(7, 3), _convs(8, 3)
    assert [e.payload for x in a for e in x.emissions] == [e.payload for x in b for e in x.emissions]
    assert a[0].conversation_id != c[0].conversation_id


def test_output_is_pinned() -> None:
    """Every byte the generator publishes for a seed, pinned: speed-ups must not change it.

    Change the digest only when the generated traffic is meant to change (it last changed when
    calls were sized to ``conversation_duration`` by time rather than by a count of turns).
    """
    f = ConversationFactory(7, Directory.build(7, 3, 10), 180)
    h = hashlib.sha256()
    for i in range(8):
        for e in f.build(i, ANCHOR).emissions:
            h.update(e.topic.encode() + b"\n" + e.payload + b"\n")
            for topic, payload in e.also:
                h.update(topic.encode() + b"\n" + payload + b"\n")
    assert h.hexdigest() == "b57b12674b9899b18728c571c4a82950a2a20a87b43d118026a388b66e295d3c"


@pytest.mark.parametrize("duration", [25, 30, 60, 180, 600])
def test_calls_last_the_requested_duration(duration: int) -> None:
    """From the call's start to its disconnect (and the last message), whatever the length."""
    f = ConversationFactory(3, Directory.build(3, 3, 10), duration)
    lengths = []
    for i in range(40):
        conv = f.build(i, ANCHOR)
        lengths.append(conv.end_ms / 1000)
        assert conv.emissions[-1].at_ms <= conv.end_ms + 1500  # SESSION_ENDED just after
    mean = sum(lengths) / len(lengths)
    assert 0.95 * duration <= mean <= 1.05 * duration
    assert all(0.6 * duration <= x <= 1.4 * duration for x in lengths), (min(lengths), max(lengths))


def test_short_calls_keep_the_values_and_cover_the_kinds() -> None:
    """A shorter call drops blocks, never changes who calls or what their numbers are; nearly all
    calls of a demo's length (~28 s) still carry PII, longer ones all of its kinds."""
    d = Directory.build(5, 3, 10)
    short, long = ConversationFactory(5, d, 28), ConversationFactory(5, d, 180)
    kinds: dict[int, set[str]] = {28: set(), 180: set()}
    with_pii = 0
    for i in range(40):
        a, b = short.build(i, ANCHOR), long.build(i, ANCHOR)
        assert (a.conversation_id, a.customer_name) == (b.conversation_id, b.customer_name)
        pa = {(p.kind, p.value) for u in a.utterances for p in u.pii}
        pb = {(p.kind, p.value) for u in b.utterances for p in u.pii}
        assert pa <= pb
        with_pii += bool(pa)
        kinds[28] |= {k for k, _ in pa}
        kinds[180] |= {k for k, _ in pb}
        texts = [u.text for u in a.utterances]
        assert texts[0].startswith(("thank you for calling", "acme industrial supply this is"))
        assert a.utterances[-1].channel == "INTERNAL"  # the agent says goodbye
    assert with_pii >= 36
    assert kinds[28] >= {"phone", "email"}
    assert kinds[180] == {"phone", "email", "ssn", "credit_card", "person_name"}


def test_fast_helpers_match_the_standard_library() -> None:
    a, b = random.Random(5), random.Random(5)
    for _ in range(2000):
        assert make_uuid(a) == str(uuid.UUID(int=b.getrandbits(128), version=4))
    rng = random.Random(6)
    for ms in [0, 999, 1000, 86_399_999, 86_400_000, ANCHOR] + [
        rng.randrange(0, 4 * 10**12) for _ in range(2000)
    ]:
        dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
        assert iso_ms(ms) == dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_envelopes_have_the_real_shape() -> None:
    conv = _convs(n=1)[0]
    msgs = [json.loads(e.payload) for e in conv.emissions if e.topic == conv.topic]
    for m in msgs:
        assert list(m) == ["topicName", "version", "eventBody", "metadata"]
        assert m["version"] == "2"
        assert m["topicName"] == f"v2.conversations.{conv.conversation_id}.transcription"
        assert m["metadata"] == {"CorrelationId": conv.correlation_id}
        b = m["eventBody"]
        assert b["eventTime"].endswith("Z")
        assert b["sessionStartTimeMs"] > 2**31
        assert b["transcriptionStartTimeMs"] < b["sessionStartTimeMs"]
    first, last = msgs[0]["eventBody"], msgs[-1]["eventBody"]
    assert "transcripts" not in first
    assert first["status"]["status"] == "SESSION_ONGOING"
    assert "transcripts" not in last
    assert last["status"]["status"] == "SESSION_ENDED"
    t = next(m for m in msgs if m["eventBody"].get("transcripts"))["eventBody"]["transcripts"][0]
    assert t["isFinal"] is True
    assert t["engineProvider"] == "GENESYS"
    assert len(t["alternatives"]) == 1
    assert t["channel"] in ("INTERNAL", "EXTERNAL")


def test_realistic_traffic_statistics() -> None:
    convs = _convs(n=60)
    sizes = sorted(len(e.payload) for c in convs for e in c.emissions if e.kind == "transcription")
    n = len(sizes)
    assert 1500 <= sizes[n // 2] <= 2600
    assert 5000 <= sizes[int(n * 0.99)] <= 13000
    utts = [u for c in convs for u in c.utterances]
    assert any(len(u.words) != len(u.decorated_words) for u in utts)
    assert any(u.text != u.decorated_text for u in utts)
    assert all(u.text == u.text.lower() and not any(ch.isdigit() for ch in u.text) for u in utts)
    out_of_order = 0
    for c in convs:
        seen = -1
        for e in c.emissions:
            for u in e.utterances:
                out_of_order += u.offset_ms < seen
                seen = max(seen, u.offset_ms)
    assert out_of_order > 0
    for u in utts:  # every utterance is sent after it ended, 1.2-7 s later
        assert 1200 <= u.emit_ms - (u.session_start_ms - ANCHOR) - u.end_ms <= 7000


def test_pii_on_both_channels_spoken_and_written() -> None:
    utts = [u for c in _convs(n=60) for u in c.utterances]
    kinds = {(p.kind, u.channel) for u in utts for p in u.pii}
    for kind in ("credit_card", "phone", "email"):
        assert (kind, "INTERNAL") in kinds
        assert (kind, "EXTERNAL") in kinds
    assert {k for k, _ in kinds} >= {"credit_card", "ssn", "phone", "email", "person_name"}
    for u in utts:
        for p in u.pii:
            assert p.spoken in u.text
            assert p.written in u.decorated_text
    split = [p for u in utts for p in u.pii if p.parts > 1]
    assert split
    assert all(p.part in (1, 2) for p in split)


def test_card_numbers_are_luhn_valid() -> None:
    cards = {p.value for c in _convs(n=60) for u in c.utterances for p in u.pii if p.kind == "credit_card"}
    assert cards
    for card in cards:
        digits = [int(d) for d in card][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        assert total % 10 == 0


def test_event_body_matches_official_sdk_model() -> None:
    pytest.importorskip("PureCloudPlatformClientV2")
    from PureCloudPlatformClientV2.api_client import ApiClient  # type: ignore[import-untyped]

    api = ApiClient()
    conv = _convs(n=2)[1]
    for e in conv.emissions:
        if e.topic != conv.topic:
            continue
        body = json.loads(e.payload)["eventBody"]
        model = api._ApiClient__deserialize(body, "TranscriptionTopicTranscriptionMessage")
        back = api.sanitize_for_serialization(model)
        back["eventTime"] = back["eventTime"].replace("+00:00", "Z")
        if "eventTime" in body:  # the SDK re-serialises without milliseconds' trailing zeros
            back["eventTime"] = (
                body["eventTime"] if back["eventTime"][:19] == body["eventTime"][:19] else back["eventTime"]
            )
        assert back == body  # no field lost, no enum replaced by "outdated_sdk_version"


def test_fault_spec_grammar() -> None:
    plan = FaultPlan.parse(
        "drop:every=30s,dup:p=0.05,malformed:p=0.01,429:burst=20;every=1m,closing:warn=false"
    )
    names = [i.name for i in plan.items]
    assert names == ["drop", "dup", "malformed", "429", "closing"]
    assert plan.items[0].every == 30
    assert plan.probability("dup") == 0.05
    assert plan.items[3].every == 60
    assert plan.items[3].params == {"burst": "20"}
    assert plan.items[4].after == 0
    assert plan.items[4].flag("warn", True) is False
    assert parse_duration("250ms") == 0.25
    assert parse_duration("2") == 2
    evict = FaultPlan.parse("evict:every=10s,evict:p=0.01").items
    assert [(i.name, i.every, i.p) for i in evict] == [("evict", 10, None), ("evict", None, 0.01)]
    for bad in ("explode", "dup:p=2", "drop:every", "stall:bogus=1", "drop:every=-1s", "evict:n=1"):
        with pytest.raises(ValueError, match=r"fault|duration|unknown"):
            FaultPlan.parse(bad)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("drop:p=abc", "fault 'drop': p='abc', expected a probability from 0 to 1"),
        ("dup:p=2", "fault 'dup': p must be in [0, 1]"),
        ("stall:every=soon", "fault 'stall': every='soon', expected a number or a duration"),
        ("drop:every=0", "fault 'drop': every must be > 0"),
        ("closing:warn=maybe", "fault 'closing': warn='maybe', expected true or false"),
        ("429:burst=lots", "fault '429': burst='lots', expected a number or a duration"),
    ],
)
def test_a_bad_fault_value_names_the_fault_and_key(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        FaultPlan.parse(spec)
