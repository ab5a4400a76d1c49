"""A pure-Python reference of the engine's stream semantics, for property tests and benchmarks.

It implements what ``gcstream.Engine(wire_format="notifications")`` does after decoding, in plain
Python and the simplest way that is obviously right: coalescing of interim results, de-duplication
of finals, the per-(conversation, channel) reorder window, conversation state and summaries, and
the confidence / latency / language gates with the default ``flag`` policy. Decoding is
``tests/reference.py``'s (same events as the Rust decoder). By default it does not redact, and
its records carry ids, times, flags and counts, not text: that is what the property tests compare.
With ``redact=True`` it also does what a careful Python user would do for privacy, with
``tests/reference_redact.py`` (Python ``re``): each interim text redacted, and each final's
transcript, decorated transcript and both word lists (a token is redacted where a finding covers
it in its list joined by spaces; a list that spells out its transcript reuses the transcript's
findings, and a decorated transcript equal to the transcript reuses its result). Its records then
carry the redacted texts and words. The engine does more (context across utterances, holding,
pending digit runs), so this is the cheaper of the two.

``mixed_stream`` builds the realistic mixed input the engine benchmark uses: many interleaved
conversations, interim results before each final, heartbeats and status messages.
"""

from __future__ import annotations

import bisect
import json
import random
from dataclasses import dataclass, field
from typing import Any

try:
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dev dependency
    _loads = json.loads

import reference_redact  # type: ignore[import-not-found]
from reference import DecodeError, decode_document  # type: ignore[import-not-found]

__all__ = ["ReferenceEngine", "mixed_stream", "summarize"]

END_STATUSES = {"SESSION_ENDED", "ENDED", "TERMINATED", "DISCONNECTED", "CLOSED", "COMPLETED"}


@dataclass
class _Conversation:
    status: str | None = None
    channels: dict[str, list[int]] = field(default_factory=dict)  # channel -> [utterances, words]
    pending: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    lanes: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_seen: int = 0


class ReferenceEngine:
    """The engine's semantics for the ``notifications`` format, one record dict per output record."""

    def __init__(
        self,
        *,
        reorder_window_ms: int = 2000,
        partial_timeout_ms: int = 60_000,
        latency_threshold_ms: int = 40_000,
        expected_language: str | None = None,
        redact: bool = False,
    ) -> None:
        self.redact = redact
        self.window = reorder_window_ms
        self.partial_timeout = partial_timeout_ms
        self.latency_threshold = latency_threshold_ms
        self.expected_language = expected_language
        self.seen: set[tuple[Any, ...]] = set()
        self.conversations: dict[str, _Conversation] = {}
        self.duplicates = 0
        self.stale_partials = 0
        # Conversations that ended: a replay of what they said does not bring them back.
        self.ended: set[str] = set()

    # -- input -------------------------------------------------------------------------------
    def feed(self, frame: bytes, received_at_ms: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            doc = _loads(frame)
            events = decode_document("notifications", doc)
        except DecodeError as e:
            out.append({"kind": "rejected", "reason": e.args[0]})
            return out
        except ValueError:
            out.append({"kind": "rejected", "reason": "invalid_json"})
            return out
        for ev in events:
            kind = ev["event"]
            if kind == "transcript":
                self._transcript(ev, received_at_ms, out)
            elif kind == "status":
                self._status(ev, received_at_ms, out)
            elif kind == "control":
                out.append({"kind": "control", "control": ev["kind"]})
            else:
                out.append(
                    {
                        "kind": "conversation_update",
                        "conversation_id": ev["conversation_id"],
                        "update": "discovered",
                    }
                )
        return out

    def finish(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for cid in sorted(self.conversations):
            conv = self.conversations[cid]
            for lane in conv.lanes.values():
                self._release(lane, len(lane["held"]), out)
            for p in list(conv.pending.values()):
                out.append(self._partial(cid, p, "expired"))
            conv.pending.clear()
        return out

    # -- helpers -----------------------------------------------------------------------------
    def _touch(self, cid: str, now: int, out: list[dict[str, Any]]) -> _Conversation:
        conv = self.conversations.get(cid)
        if conv is None:
            conv = self.conversations[cid] = _Conversation()
            out.append({"kind": "conversation_update", "conversation_id": cid, "update": "started"})
        conv.last_seen = max(conv.last_seen, now)
        return conv

    @staticmethod
    def _partial(cid: str, p: dict[str, Any], state: str) -> dict[str, Any]:
        return {
            "kind": "partial",
            "conversation_id": cid,
            "utterance_id": p["utterance_id"],
            "state": state,
            "flags": tuple(p["flags"]),
        }

    def _is_ended(self, cid: str) -> bool:
        return cid not in self.conversations and cid in self.ended

    def _transcript(self, ev: dict[str, Any], now: int, out: list[dict[str, Any]]) -> None:
        cid = ev["conversation_id"]
        key = (cid, ev["communication_id"], ev["utterance_id"])
        after_end = self._is_ended(cid)
        if after_end and not ev["is_final"]:
            self.stale_partials += 1
            return
        if after_end and key in self.seen:
            self.duplicates += 1
            return
        conv = self._touch(cid, now, out)
        start = ev["session_start_ms"] + ev["offset_ms"]
        end = start + ev["duration_ms"]
        flags: list[str] = []
        c = ev["confidence"]
        if c is not None and not (0.0 <= c <= 1.0):
            flags.append("confidence_out_of_range")
        if now - end > self.latency_threshold:
            flags.append("latency_over_threshold")
        lang = ev["language"]
        if (
            lang is not None
            and self.expected_language is not None
            and lang.lower() != self.expected_language.lower()
        ):
            flags.append("language_mismatch")
        if after_end:
            flags.append("after_end")
        if not ev["is_final"]:
            if key in self.seen:
                self.stale_partials += 1
                return
            p = {"utterance_id": ev["utterance_id"], "flags": flags, "last": now}
            conv.pending[key] = p
            partial = self._partial(cid, p, "interim")
            if self.redact:
                partial["text"] = reference_redact.redact(ev["text"])
            out.append(partial)
            return
        if key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(key)
        conv.pending.pop(key, None)
        counts = conv.channels.setdefault(ev["channel"], [0, 0])
        counts[0] += 1
        counts[1] += len(ev["words"])
        u = {
            "kind": "utterance",
            "conversation_id": cid,
            "utterance_id": ev["utterance_id"],
            "channel": ev["channel"],
            "start_ms": start,
            "end_ms": end,
            "flags": flags,
        }
        if self.redact:
            u |= _redacted_fields(ev)
        if self.window <= 0:
            out.append(u | {"flags": tuple(flags)})
            return
        lane = conv.lanes.setdefault(ev["channel"], {"held": [], "watermark": None, "released_to": None})
        if lane["released_to"] is not None and start < lane["released_to"]:
            out.append(u | {"flags": (*flags, "late")})
            return
        lane["watermark"] = start if lane["watermark"] is None else max(lane["watermark"], start)
        bisect.insort(lane["held"], ((start, end, ev["utterance_id"]), u))
        cutoff = lane["watermark"] - self.window
        n = 0
        while n < len(lane["held"]) and lane["held"][n][0][0] <= cutoff:
            n += 1
        self._release(lane, n, out)

    @staticmethod
    def _release(lane: dict[str, Any], n: int, out: list[dict[str, Any]]) -> None:
        for (start, _, _), u in lane["held"][:n]:
            lane["released_to"] = start if lane["released_to"] is None else max(lane["released_to"], start)
            out.append(u | {"flags": tuple(u["flags"])})
        del lane["held"][:n]

    def _status(self, ev: dict[str, Any], now: int, out: list[dict[str, Any]]) -> None:
        cid = ev["conversation_id"]
        if self._is_ended(cid):
            return  # replayed from before the end, or the end again
        conv = self._touch(cid, now, out)
        status = ev["status"]
        if status.upper() in END_STATUSES:
            for lane in conv.lanes.values():
                self._release(lane, len(lane["held"]), out)
            for p in conv.pending.values():
                out.append(self._partial(cid, p, "expired"))
            del self.conversations[cid]
            self.ended.add(cid)
            out.append(
                {
                    "kind": "conversation_update",
                    "conversation_id": cid,
                    "update": "ended",
                    "utterances": sum(c[0] for c in conv.channels.values()),
                    "words": sum(c[1] for c in conv.channels.values()),
                }
            )
            return
        if conv.status == status:
            return
        conv.status = status
        out.append({"kind": "conversation_update", "conversation_id": cid, "update": "status"})


def _redacted_tokens(
    words: list[dict[str, Any]], text: str, text_found: list[tuple[str, int, int]]
) -> list[str]:
    """The tokens of ``words``, each replaced by its tag where a finding covers it in the list
    joined by spaces (the transcript's findings when the list spells out the transcript)."""
    tokens = [w["word"] for w in words]
    joined = " ".join(tokens)
    found = text_found if joined == text else reference_redact.scan(joined)
    out = []
    start = 0
    for token in tokens:
        end = start + len(token)
        kind = next((k for k, s, e in found if s < end and e > start), None)
        out.append(token if kind is None else reference_redact.TAGS[kind])
        start = end + 1
    return out


def _replaced(text: str, found: list[tuple[str, int, int]]) -> str:
    parts = []
    at = 0
    for kind, s, e in found:
        parts += [text[at:s], reference_redact.TAGS[kind]]
        at = e
    parts.append(text[at:])
    return "".join(parts)


def _redacted_fields(ev: dict[str, Any]) -> dict[str, Any]:
    """A final's text fields, redacted."""
    text = ev["text"]
    found = reference_redact.scan(text)
    decorated = ev["decorated_text"] if ev["decorated_text"] is not None else text
    decorated_found = found if decorated == text else reference_redact.scan(decorated)
    return {
        "text": _replaced(text, found),
        "decorated_text": _replaced(decorated, decorated_found),
        "words": _redacted_tokens(ev["words"], text, found),
        "decorated_words": _redacted_tokens(ev["decorated_words"], decorated, decorated_found),
    }


def summarize(record: Any) -> dict[str, Any]:
    """A core record in the reference's shape (the fields both sides compute)."""
    d = record.to_dict()
    kind = type(record).__name__
    if kind == "Utterance":
        return {
            "kind": "utterance",
            "conversation_id": d["conversation_id"],
            "utterance_id": d["utterance_id"],
            "channel": d["channel"],
            "start_ms": d["start_ms"],
            "end_ms": d["end_ms"],
            "flags": tuple(d["flags"]),
        }
    if kind == "Partial":
        return {
            "kind": "partial",
            "conversation_id": d["conversation_id"],
            "utterance_id": d["utterance_id"],
            "state": d["state"],
            "flags": tuple(d["flags"]),
        }
    if kind == "ConversationUpdate":
        out = {"kind": "conversation_update", "conversation_id": d["conversation_id"], "update": d["kind"]}
        if d["kind"] == "ended":
            out |= {"utterances": d["utterances"], "words": d["words"]}
        return out
    if kind == "Control":
        return {"kind": "control", "control": d["kind"]}
    if kind == "Rejected":
        return {"kind": "rejected", "reason": d["reason"]}
    return {"kind": kind.lower()}


# -- the mixed stream -------------------------------------------------------------------------

_WORDS = [
    "thanks",
    "for",
    "calling",
    "my",
    "order",
    "number",
    "is",
    "late",
    "can",
    "you",
    "check",
    "the",
    "refund",
    "status",
    "please",
    "sure",
    "one",
    "moment",
]


def _envelope(
    conv: str, comm: str, utt: str, channel: str, offset: int, duration: int, text: list[str], is_final: bool
) -> bytes:
    words = []
    step = max(duration // max(len(text), 1), 1)
    for i, w in enumerate(text):
        words.append({"confidence": 0.91, "offsetMs": offset + i * step, "durationMs": step, "word": w})
    body = {
        "eventTime": "2026-03-21T01:10:12.140Z",
        "organizationId": "org-1",
        "conversationId": conv,
        "communicationId": comm,
        "sessionStartTimeMs": 1_774_055_376_019,
        "transcriptionStartTimeMs": 1_774_055_375_989,
        "transcripts": [
            {
                "utteranceId": utt,
                "isFinal": is_final,
                "channel": channel,
                "alternatives": [
                    {
                        "confidence": 0.88,
                        "offsetMs": offset,
                        "durationMs": duration,
                        "transcript": " ".join(text),
                        "words": words,
                        "decoratedTranscript": " ".join(text),
                        "decoratedWords": words,
                    }
                ],
                "engineProvider": "GENESYS",
                "engineId": "r2d2",
                "dialect": "en-US",
            }
        ],
        "status": {"offsetMs": offset, "status": "SESSION_ONGOING"},
    }
    env = {
        "topicName": f"v2.conversations.{conv}.transcription",
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": utt},
    }
    return json.dumps(env, separators=(",", ":")).encode()


HEARTBEAT = b'{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}'


def mixed_stream(
    n_utterances: int,
    conversations: int = 50,
    seed: int = 0,
    partials: int = 2,
    end_conversations: bool = True,
) -> list[tuple[bytes, int]]:
    """(frame, received_at_ms) pairs: interleaved conversations, ``partials`` interim results before
    each final, a heartbeat every 30 frames, some within-channel reordering, an occasional repeated
    final, and a ``SESSION_ENDED`` when a conversation has spoken its share."""
    rng = random.Random(seed)
    per_conv = max(n_utterances // conversations, 1)
    convs = [
        {"id": f"conv-{seed}-{i}", "comm": f"comm-{i}", "clock": rng.randrange(0, 5000), "n": 0}
        for i in range(conversations)
    ]
    frames: list[tuple[bytes, int]] = []
    t = 1_774_055_400_000
    made = 0
    while made < n_utterances and convs:
        c = rng.choice(convs)
        channel = rng.choice(("EXTERNAL", "INTERNAL"))
        utt = f"{c['id']}-u{c['n']}"
        text = [rng.choice(_WORDS) for _ in range(rng.randrange(4, 18))]
        duration = 300 * len(text)
        offset = c["clock"]
        c["clock"] += duration + rng.randrange(100, 1500)
        for k in range(partials):
            cut = max(1, len(text) * (k + 1) // (partials + 1))
            frames.append(
                (_envelope(c["id"], c["comm"], utt, channel, offset, duration, text[:cut], False), t)
            )
            t += rng.randrange(5, 40)
        final = _envelope(c["id"], c["comm"], utt, channel, offset, duration, text, True)
        frames.append((final, t))
        if rng.random() < 0.02:
            frames.append((final, t + 1))  # a repeat after a socket hand-over
        t += rng.randrange(5, 40)
        if len(frames) % 30 == 0:
            frames.append((HEARTBEAT, t))
        c["n"] += 1
        made += 1
        if end_conversations and c["n"] >= per_conv:
            end = {
                "topicName": f"v2.conversations.{c['id']}.transcription",
                "eventBody": {
                    "conversationId": c["id"],
                    "communicationId": c["comm"],
                    "sessionStartTimeMs": 1_774_055_376_019,
                    "status": {"offsetMs": c["clock"], "status": "SESSION_ENDED"},
                },
            }
            frames.append((json.dumps(end, separators=(",", ":")).encode(), t))
            convs.remove(c)
    # Within-channel reordering of neighbours (real traffic, peers §A.5).
    for i in range(0, len(frames) - 1, 17):
        frames[i], frames[i + 1] = frames[i + 1], frames[i]
    return frames
