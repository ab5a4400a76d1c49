"""Coalescing, de-duplication and ordering: properties against the pure-Python reference."""

from __future__ import annotations

import gcstream
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_stream import ReferenceEngine, _envelope, mixed_stream, summarize


def _feed(frames: list[tuple[bytes, int]], **options: object) -> list[object]:
    eng = gcstream.Engine("notifications", **options)  # type: ignore[arg-type]
    out: list[object] = []
    for frame, at in frames:
        out += eng.feed(frame, received_at_ms=at)
    return out + eng.finish()


def _finals(records: list[object]) -> list[str]:
    return [r.utterance_id for r in records if isinstance(r, gcstream.Utterance)]


def _utt(i: int, offset: int, is_final: bool = True, channel: str = "EXTERNAL") -> bytes:
    return _envelope("c1", "m1", f"u{i}", channel, offset, 400, ["word"] * 3, is_final)


@given(st.permutations(list(range(8))))
def test_permuting_arrivals_within_the_window_gives_the_same_utterances(order: list[int]) -> None:
    # Offsets 0, 250, … 1750: every pair is within the default 2,000 ms window.
    frames = [(_utt(i, i * 250), 1_774_055_380_000) for i in order]
    records = _feed(frames)
    assert _finals(records) == [f"u{i}" for i in range(8)]
    assert all(not r.flags for r in records if isinstance(r, gcstream.Utterance))


@given(st.lists(st.integers(0, 5), min_size=1, max_size=30))
def test_duplicates_never_produce_two_finals(picks: list[int]) -> None:
    frames = [(_utt(i, i * 100, is_final=(j % 3 != 0)), 1_774_055_500_000 + j) for j, i in enumerate(picks)]
    eng = gcstream.Engine("notifications")
    records: list[object] = []
    for f, at in frames:
        records += eng.feed(f, received_at_ms=at)
    records += eng.finish()
    finals = _finals(records)
    assert len(finals) == len(set(finals))
    s = eng.stats()
    partials = sum(1 for r in records if isinstance(r, gcstream.Partial) and r.state == "interim")
    # Every transcript event is accounted for exactly once.
    assert s["transcript_events"] == len(finals) + partials + s["duplicates"] + s["stale_partials"] + sum(
        s["dropped"].values()
    )


def test_every_event_is_accounted_for_on_a_mixed_stream() -> None:
    eng = gcstream.Engine("notifications")
    records: list[object] = []
    for f, at in mixed_stream(400, conversations=20, seed=3):
        records += eng.feed(f, received_at_ms=at)
    records += eng.finish()
    s = eng.stats()
    finals = sum(isinstance(r, gcstream.Utterance) for r in records)
    interim = sum(isinstance(r, gcstream.Partial) and r.state == "interim" for r in records)
    assert s["transcript_events"] == finals + interim + s["duplicates"] + s["stale_partials"] + sum(
        s["dropped"].values()
    )
    assert finals == 400
    assert s["records"]["utterance"] == finals


@settings(deadline=None, max_examples=30)
@given(st.integers(0, 10_000), st.sampled_from([0, 500, 2000]))
def test_core_agrees_with_the_reference(seed: int, window: int) -> None:
    frames = mixed_stream(60, conversations=6, seed=seed)
    # The reference models coalescing and ordering, not the privacy layer's hold of finals that
    # end in a possible PII prefix (that is tested in the redaction tests), so holding is off.
    core = [summarize(r) for r in _feed(frames, reorder_window_ms=window, pii_hold_ms=0)]
    ref = ReferenceEngine(reorder_window_ms=window)
    expected: list[dict[str, object]] = []
    for f, at in frames:
        expected += ref.feed(f, at)
    expected += ref.finish()
    assert core == expected


def test_the_redacting_reference_redacts_finals_as_the_core_does() -> None:
    # The benchmark's like-for-like baseline must do the privacy work the engine does on finals:
    # the same tags in the same places of both transcripts and both word lists.
    spoken = [
        text.split()
        for text in (
            "my card is 4111 1111 1111 1111 thanks",
            "write to jane.doe@example.com please",
            "call 415 555 0134 after noon",
            "nothing to hide here",
        )
    ]
    frames = [
        (_envelope("c1", "m1", f"u{i}", "EXTERNAL", i * 5000, 2000, text, True), 1_774_055_400_000 + i)
        for i, text in enumerate(spoken)
    ]
    ref = ReferenceEngine(redact=True)
    expected = [r for f, at in frames for r in ref.feed(f, at)] + ref.finish()
    fields = ("text", "decorated_text", "words", "decorated_words")
    want = [tuple(r[k] for k in fields) for r in expected if r["kind"] == "utterance"]
    core = [r for r in _feed(frames, pii_hold_ms=0) if isinstance(r, gcstream.Utterance)]
    got = [
        (u.text, u.decorated_text, [w.word for w in u.words], [w.word for w in u.decorated_words])
        for u in core
    ]
    assert got == want
    assert want[0][0] == "my card is [CREDIT_CARD] thanks"
    assert want[0][2][3:7] == ["[CREDIT_CARD]"] * 4
    assert want[1][2][2] == "[EMAIL]" and "[PHONE]" in want[2][0]
    assert want[3][0] == "nothing to hide here"


def test_partials_expire_on_tick_never_silently() -> None:
    eng = gcstream.Engine("notifications", partial_timeout_ms=1000)
    out = eng.feed(_utt(1, 0, is_final=False), received_at_ms=10_000)
    assert [r.state for r in out if isinstance(r, gcstream.Partial)] == ["interim"]
    assert eng.tick(10_999) == []
    [expired] = eng.tick(11_000)
    assert (expired.utterance_id, expired.state) == ("u1", "expired")
    assert eng.stats()["partials_expired"] == 1


def test_late_arrival_is_delivered_and_flagged() -> None:
    frames = [(_utt(1, 3000), 1), (_utt(2, 9000), 2), (_utt(3, 0), 3)]
    records = _feed(frames)
    late = [r for r in records if isinstance(r, gcstream.Utterance) and "late" in r.flags]
    assert [r.utterance_id for r in late] == ["u3"]


def test_fragments_mode_concatenates() -> None:
    eng = gcstream.Engine("fragments")
    out: list[object] = []
    for text, final in (("Hel", False), ("lo ", False), ("there", True)):
        doc = f'{{"utteranceId":"u","speaker":"agent","text":"{text}","isFinal":{str(final).lower()}}}'
        out += eng.feed(doc, received_at_ms=0)
    assert [r.text for r in out if isinstance(r, gcstream.Partial)] == ["Hel", "Hello "]
    [u] = [r for r in out if isinstance(r, gcstream.Utterance)]
    assert u.text == "Hello there"
