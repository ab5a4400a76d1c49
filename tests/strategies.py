"""Hypothesis strategies shared by the framing, engine and reference tests.

Everything here draws plain bytes (or plain Python values) so that a failing example prints as
something a person can paste into a test.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "INPUT_TYPES",
    "as_input",
    "chunked",
    "corrupted",
    "documents",
    "engine_frames",
    "json_values",
    "streams",
]

WHITESPACE = " \t\n\r"

INPUT_TYPES = ("bytes", "bytearray", "memoryview", "str")
"""The four argument types every ``feed`` accepts."""

# Bytes that make corruption interesting: structure, string and escape delimiters, whitespace,
# controls, a lone continuation byte, UTF-8 leads that cannot start anything, and a BOM.
_INTERESTING = b'{}[]",:\\ \t\n\r0-.eEtfnu\x00\x1f\x7f\x80\xbf\xc0\xc3\xe2\xed\xf0\xf4\xf5\xff\xef\xbb'


def as_input(chunk: bytes, kind: str) -> bytes | bytearray | memoryview | str:
    """``chunk`` as one of :data:`INPUT_TYPES` (``str`` only for chunks that are whole UTF-8)."""
    if kind == "bytearray":
        return bytearray(chunk)
    if kind == "memoryview":
        return memoryview(chunk)
    if kind == "str":
        return chunk.decode()
    return chunk


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value, without NaN, infinities or lone surrogates (which JSON text cannot carry)."""
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(1 << 70), max_value=1 << 70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
        max_leaves=max_leaves,
    )


@st.composite
def documents(draw: st.DrawFn, containers_only: bool = False) -> bytes:
    """One JSON document as bytes, in one of several styles (compact, spaced, indented, ASCII-only)."""
    value = draw(json_values())
    if containers_only and not isinstance(value, list | dict):
        value = [value]
    ensure_ascii = draw(st.booleans())
    style = draw(st.sampled_from(["compact", "default", "indent"]))
    if style == "compact":
        text = json.dumps(value, ensure_ascii=ensure_ascii, separators=(",", ":"), allow_nan=False)
    elif style == "indent":
        text = json.dumps(
            value, ensure_ascii=ensure_ascii, indent=draw(st.sampled_from([1, "\t"])), allow_nan=False
        )
    else:
        text = json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=False)
    return text.encode()


def _is_number(doc: bytes) -> bool:
    return doc[:1] in (b"-", *(bytes([d]) for d in b"0123456789"))


@st.composite
def streams(draw: st.DrawFn, min_docs: int = 0, max_docs: int = 6) -> tuple[bytes, list[bytes]]:
    """Several documents joined by optional whitespace; returns the stream and its documents.

    A top-level number is always followed by whitespace: otherwise the next document would
    continue it or make it invalid.
    """
    docs = draw(st.lists(documents(), min_size=min_docs, max_size=max_docs))
    ws = st.text(st.sampled_from(WHITESPACE), max_size=3).map(str.encode)
    out = bytearray(draw(ws))
    for doc in docs:
        out += doc
        gap = draw(ws)
        if not gap and _is_number(doc):
            gap = b" "
        out += gap
    return bytes(out), docs


@st.composite
def chunked(
    draw: st.DrawFn, data: bytes, allow_str: bool = True
) -> list[bytes | bytearray | memoryview | str]:
    """``data`` cut at random points, each piece given as one of the four input types.

    Pieces are given as ``str`` only when they are whole UTF-8 (a cut inside a character cannot be
    a ``str``).
    """
    cuts = sorted(draw(st.sets(st.integers(0, len(data)), max_size=min(len(data) + 1, 12))))
    bounds = [0, *cuts, len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
    out: list[bytes | bytearray | memoryview | str] = []
    for piece in pieces:
        kind = draw(st.sampled_from(INPUT_TYPES))
        if kind == "str":
            try:
                piece.decode()
            except UnicodeDecodeError:
                kind = "bytes"
            if not allow_str:
                kind = "bytes"
        out.append(as_input(piece, kind))
    return out


@st.composite
def corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes replaced, inserted or deleted, or cut short."""
    out = bytearray(data)
    byte = st.sampled_from(list(_INTERESTING)) | st.integers(0, 255)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, len(out)))
        if op == "replace" and at < len(out):
            out[at] = draw(byte)
        elif op == "insert":
            out[at:at] = bytes(draw(st.lists(byte, min_size=1, max_size=3)))
        elif op == "delete" and at < len(out):
            del out[at : at + draw(st.integers(1, 4))]
        elif op == "truncate":
            del out[at:]
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Genesys frames
# --------------------------------------------------------------------------------------------

_CONVERSATIONS = ["c1", "c2", "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]
_UTTERANCES = ["u1", "u2", "u3", "u4", "u5", "u6"]
_COMMUNICATIONS = [None, "m1", "m2"]
_SESSION_START = 1_774_055_376_019  # above 2**31: must survive as 64-bit


def _plain_text() -> st.SearchStrategy[str]:
    """Transcript text without digits or ``@``: no PII, so redaction leaves it alone."""
    return st.text(st.sampled_from('abcdefghij klmnop"\\éü日\n'), max_size=20)


def _confidences() -> st.SearchStrategy[float]:
    """Confidences as Genesys writes them: at most four decimals."""
    return st.integers(0, 10_000).map(lambda n: n / 10_000)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def _words(draw: st.DrawFn) -> list[dict[str, Any]]:
    return draw(
        st.lists(
            st.builds(
                lambda word, offset, duration, confidence: _drop_none(
                    {"word": word, "offsetMs": offset, "durationMs": duration, "confidence": confidence}
                ),
                st.sampled_from(["hello", "my", "card", "is", "ünïcode", "日本"]),
                st.integers(0, 10**6),
                st.integers(0, 5000),
                st.none() | _confidences(),
            ),
            max_size=4,
        )
    )


@st.composite
def _transcription(draw: st.DrawFn) -> dict[str, Any]:
    conversation = draw(st.sampled_from(_CONVERSATIONS))
    transcripts = []
    for _ in range(draw(st.integers(0, 2))):
        alternative = _drop_none(
            {
                "confidence": draw(st.none() | _confidences() | st.sampled_from([-0.5, 1.5, 0, 1])),
                "offsetMs": draw(st.none() | st.integers(0, 10**7) | st.integers(0, 10**7).map(str)),
                "durationMs": draw(st.none() | st.integers(0, 60_000) | st.just(1500.0)),
                "transcript": draw(st.none() | _plain_text()),
                "words": draw(st.none() | _words()),
                "decoratedTranscript": draw(st.none() | _plain_text()),
                "decoratedWords": draw(st.none() | _words()),
            }
        )
        transcripts.append(
            _drop_none(
                {
                    "utteranceId": draw(st.sampled_from(_UTTERANCES)),
                    "isFinal": draw(st.none() | st.booleans()),
                    "channel": draw(st.none() | st.sampled_from(["EXTERNAL", "INTERNAL", "BOTH", "NEW_ONE"])),
                    "alternatives": draw(
                        st.sampled_from([[], [alternative], [alternative, {"transcript": "x"}]])
                    ),
                    "engineProvider": draw(st.none() | st.just("GENESYS")),
                    "engineId": draw(st.none() | st.just("r2d2")),
                    "dialect": draw(st.none() | st.sampled_from(["en-US", "en-us"])),
                    "agentAssistEnabled": False,
                }
            )
        )
    body = _drop_none(
        {
            "eventTime": draw(st.none() | st.sampled_from(["2026-03-21T01:10:12.140Z", "not a time"])),
            "organizationId": draw(st.none() | st.just("0b4f6a52-1c7e-4d8a-9f1e-2a6b3c4d5e6f")),
            "conversationId": draw(st.none() | st.just(conversation)),
            "communicationId": draw(st.sampled_from(_COMMUNICATIONS)),
            "sessionStartTimeMs": draw(st.none() | st.just(_SESSION_START) | st.integers(0, 1 << 50)),
            "transcripts": transcripts if transcripts or draw(st.booleans()) else None,
            "status": draw(
                st.none()
                | st.builds(
                    lambda s, o: _drop_none({"status": s, "offsetMs": o}),
                    st.sampled_from(["SESSION_ONGOING", "SESSION_ENDED", "UNKNOWN", None]),
                    st.none() | st.integers(0, 10**6),
                )
            ),
            "unknownField": draw(st.none() | st.just({"nested": [1, 2]})),
        }
    )
    return {
        "topicName": f"v2.conversations.{conversation}.transcription",
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": "c0ffee00"},
    }


_CONTROL_FRAMES: list[dict[str, Any]] = [
    {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}},
    {"topicName": "channel.metadata", "eventBody": {"message": "pong"}},
    {"topicName": "channel.metadata", "eventBody": {"message": "something else"}},
    {"topicName": "v2.system.socket_closing", "eventBody": {"message": "closing"}},
    {
        "topicName": "v2.system.no_longer_subscribed.abc",
        "eventBody": {"reason": "another_channel_subscribed"},
    },
    {"topicName": "v2.system.x.y", "eventBody": {"systemTopicType": "token_revoked"}},
    {"topicName": "v2.system.x.y"},
    {"topicName": "v2.subscription.updated", "eventBody": {"anything": 1}},
    {"topicName": "v2.analytics.whatever", "eventBody": {}},
    {"result": "200", "status": "subscribed"},
    {"result": "200", "status": "unsubscribed"},
    {"result": "400", "status": "error", "message": "Required data missing from subscribe request."},
    {"result": "404", "message": "channel not found"},
    {"status": "odd"},
    {
        "topicName": "v2.routing.queues.q1.conversations",
        "eventBody": {
            "id": "c9",
            "participants": [
                {"id": "p1", "purpose": "customer", "calls": [{"state": "connected"}]},
                {"id": "p2", "purpose": "agent", "userId": "u1"},
            ],
        },
    },
    {
        "topicName": "v2.users.u1.conversations",
        "eventBody": {
            "id": "c9",
            "participants": [
                {"id": "p1", "endTime": "2026-03-21T01:10:12.140Z"},
                {"id": "p2", "calls": [{"state": "DISCONNECTED"}, {"state": "terminated"}]},
            ],
        },
    },
    # Valid JSON the decoder cannot use.
    {"topicName": "v2.conversations.c1.transcription", "eventBody": {"transcripts": "nope"}},
    {"topicName": "v2.conversations.c1.transcription", "eventBody": {"transcripts": [{"isFinal": True}]}},
    {"topicName": "v2.conversations.c1.transcription"},
    {"topicName": "v2.users.u1.conversations", "eventBody": {"participants": []}},
    {"no": "topic"},
]


@st.composite
def engine_frames(draw: st.DrawFn, wire_format: str = "notifications") -> bytes:
    """One realistic frame (transcription, status, control, discovery or an unusable document)."""
    if draw(st.integers(0, 3)) == 0:
        envelope = draw(st.sampled_from(_CONTROL_FRAMES))
    else:
        envelope = draw(_transcription())
    if wire_format == "eventbridge" and draw(st.booleans()):
        envelope = {"version": "0", "detail-type": "v2.conversations.{id}.transcription", "detail": envelope}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=draw(st.booleans())).encode()
