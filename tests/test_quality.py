"""Quality gates: each gate, each policy (flag is the default; drop is counted)."""

from __future__ import annotations

import json

import gcstream
import pytest
from reference_stream import _envelope


def _segments(**over: object) -> bytes:
    doc: dict[str, object] = {
        "type": "transcription",
        "conversationId": "c",
        "participantId": "p",
        "language": "en-US",
        "segments": [{"text": "hello", "startTime": 0.0, "endTime": 1.0, "confidence": 0.9}],
        "isPartial": False,
        "timestamp": "2024-06-15T10:30:01.000Z",
    }
    doc.update(over)
    return json.dumps(doc).encode()


AT = 1_718_447_401_000  # the segments' timestamp: latency 0


def _final(eng: gcstream.Engine, frame: bytes, at: int = AT) -> gcstream.Utterance | None:
    out = eng.feed(frame, received_at_ms=at) + eng.finish()
    finals = [r for r in out if isinstance(r, gcstream.Utterance)]
    return finals[0] if finals else None


@pytest.mark.parametrize(
    ("audio", "flags"),
    [
        ({"snrDb": 15, "jitterMs": 50, "packetLossPercent": 2}, ()),
        ({"snrDb": 14.9}, ("low_snr",)),
        ({"jitterMs": 51}, ("high_jitter",)),
        ({"packetLossPercent": 2.5}, ("packet_loss",)),
    ],
)
def test_audio_quality_thresholds(audio: dict[str, float], flags: tuple[str, ...]) -> None:
    u = _final(gcstream.Engine("segments"), _segments(audioQuality=audio))
    assert u is not None and u.flags == flags


def test_drop_is_explicit_and_counted() -> None:
    eng = gcstream.Engine("segments", audio_policy="drop")
    assert _final(eng, _segments(audioQuality={"snrDb": 3})) is None
    assert eng.stats()["dropped"] == {"low_snr": 1}
    eng = gcstream.Engine("segments", audio_policy="off")
    assert _final(eng, _segments(audioQuality={"snrDb": 3})).flags == ()


def test_a_dropped_final_closes_the_interim_it_replaces() -> None:
    eng = gcstream.Engine("segments", audio_policy="drop")
    out = eng.feed(_segments(isPartial=True), received_at_ms=AT)
    out += (
        eng.feed(_segments(audioQuality={"snrDb": 3}), received_at_ms=AT)
        + eng.tick(AT + 600_000)
        + eng.finish()
    )
    partials = [(p.state, p.flags) for p in out if isinstance(p, gcstream.Partial)]
    # A captions view learns the interim text is gone, and why.
    assert partials == [("interim", ()), ("dropped", ("low_snr",))]
    assert (eng.stats()["partials_dropped"], eng.stats()["partials_expired"]) == (1, 0)


def test_language_mismatch_is_case_insensitive() -> None:
    ok = _final(
        gcstream.Engine("segments", expected_language="en-us"),
        _segments(audioQuality={"detectedLanguage": "EN-us"}),
    )
    assert ok is not None and ok.flags == ()
    bad = _final(gcstream.Engine("segments"), _segments(audioQuality={"detectedLanguage": "es-ES"}))
    assert bad is not None and bad.flags == ("language_mismatch",)


def test_confidence_is_clamped_and_flagged() -> None:
    u = _final(
        gcstream.Engine("segments"),
        _segments(segments=[{"text": "x", "startTime": 0, "endTime": 1, "confidence": 1.7}]),
    )
    assert u is not None and (u.confidence, u.flags) == (1.0, ("confidence_out_of_range",))


def test_latency_threshold_is_per_source() -> None:
    frame = b'{"type":"transcription","interactionId":"i","mediaTimestamp":"2024-06-15T10:30:00.000Z","text":"hi","final":true}'
    at = 1_718_447_400_000
    assert _final(gcstream.Engine("interaction"), frame, at + 800).flags == ()
    assert _final(gcstream.Engine("interaction"), frame, at + 801).flags == ("latency_over_threshold",)
    # The real API batches for ~35 s: 10 s late is normal there.
    env = _envelope("c", "m", "u", "EXTERNAL", 0, 1000, ["hi"], True)
    u = _final(gcstream.Engine("notifications"), env, 1_774_055_376_019 + 1000 + 10_000)
    assert u is not None and u.flags == ()
    u = _final(
        gcstream.Engine("notifications", latency_threshold_ms=5000), env, 1_774_055_376_019 + 1000 + 10_000
    )
    assert u is not None and u.flags == ("latency_over_threshold",)
    assert gcstream.Engine("notifications").stats()["latency_ms"]["p99"] is None


@pytest.mark.parametrize(
    ("fmt", "codec", "flagged"), [("interaction", "audio/ulaw", False), ("interaction", "audio/opus", True)]
)
def test_codec_allowlist(fmt: str, codec: str, flagged: bool) -> None:
    frame = json.dumps(
        {
            "type": "transcription",
            "interactionId": "i",
            "mediaTimestamp": "2024-06-15T10:30:00.000Z",
            "text": "hi",
            "final": True,
            "mediaType": codec,
        }
    ).encode()
    u = _final(gcstream.Engine(fmt), frame, 1_718_447_400_000)
    assert u is not None and (u.flags == ("codec_not_allowed",)) is flagged
    u = _final(gcstream.Engine(fmt, codec_allowlist=[codec]), frame, 1_718_447_400_000)
    assert u is not None and u.flags == ()


def test_interruption_resets_the_speakers_partials() -> None:
    eng = gcstream.Engine("segments")
    first = eng.feed(_segments(isPartial=True), received_at_ms=AT)
    assert [r.state for r in first if isinstance(r, gcstream.Partial)] == ["interim"]
    out = eng.feed(
        _segments(isPartial=True, interruptionDetected=True, timestamp="2024-06-15T10:30:02.000Z"),
        received_at_ms=AT + 1000,
    )
    assert [(r.state, r.flags) for r in out] == [("interrupted", ()), ("interim", ("interruption",))]
    assert eng.stats()["interruptions"] == 1


def test_bad_policy_is_a_config_error() -> None:
    with pytest.raises(gcstream.ConfigError):
        gcstream.Engine("notifications", audio_policy="maybe")


def test_metrics_are_in_stats() -> None:
    eng = gcstream.Engine("notifications", reorder_window_ms=0)
    for i in range(100):
        env = _envelope("c", "m", f"u{i}", "EXTERNAL", i * 1000, 1000, ["a", "b"], True)
        eng.feed(env, received_at_ms=1_774_055_376_019 + (i + 1) * 1000 + i)
    eng.finish()  # "a b" ends in a spelled letter, which the privacy layer may hold: flush it
    s = eng.stats()
    assert (
        s["latency_ms"]["count"] == 100
        and 45 <= s["latency_ms"]["p50"] <= 52
        and s["latency_ms"]["p99"] >= 95
    )
    assert s["confidence_mean"] == pytest.approx(0.88) and s["confidence_min"] == pytest.approx(0.88)
    assert s["words_per_second"] == pytest.approx(2.0)
    assert s["records"]["utterance"] == 100
