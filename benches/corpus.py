"""A deterministic corpus of realistic Genesys transcription envelopes for benchmarks and tests.

Each envelope has the exact shape of a real ``v2.conversations.{id}.transcription`` WebSocket
message (``topicName``/``version``/``eventBody``/``metadata``; one transcript, one alternative,
``words`` and ``decoratedWords``), written as compact JSON like Genesys sends it. Sizes follow
the measured distribution of real envelopes (research/peers-genesys-clients.md §A.7): 53.8 %
1-2 KiB, 33.1 % 2-4 KiB, 11.4 % 4-8 KiB, 1.7 % 8-16 KiB; median about 1.9 KB, mean about 2.5 KB.

All ids, times and words are made up; the same seed always gives the same bytes.

``python benches/corpus.py`` rewrites the small committed sample in ``benches/data/``;
``tests/test_reference.py`` checks that the sample still matches the generator.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

__all__ = ["SAMPLE_PATH", "SIZE_BUCKETS", "envelopes", "main", "stream"]

SIZE_BUCKETS: tuple[tuple[float, int, int], ...] = (
    (0.538, 1024, 2048),
    (0.331, 2048, 4096),
    (0.114, 4096, 8192),
    (0.017, 8192, 16384),
)
"""(share, low, high) in bytes: the histogram of real envelope sizes (peers §A.7)."""

SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "envelopes-sample.jsonl"
"""The committed sample: the first :data:`SAMPLE_SIZE` envelopes of seed 0, one per line."""

SAMPLE_SIZE = 40

_VOCABULARY = [
    "thanks",
    "for",
    "calling",
    "my",
    "order",
    "number",
    "is",
    "and",
    "it",
    "has",
    "not",
    "arrived",
    "yet",
    "i",
    "would",
    "like",
    "to",
    "check",
    "the",
    "status",
    "of",
    "a",
    "refund",
    "please",
    "can",
    "you",
    "help",
    "me",
    "with",
    "that",
    "sure",
    "let",
    "me",
    "look",
    "up",
    "your",
    "account",
    "one",
    "moment",
    "okay",
    "i",
    "see",
    "the",
    "shipment",
    "was",
    "delayed",
    "at",
    "the",
    "warehouse",
    "we",
    "can",
    "send",
    "a",
    "replacement",
    "today",
    "that",
    "would",
    "be",
    "great",
    "what",
    "is",
    "the",
    "best",
    "phone",
    "number",
    "to",
    "reach",
    "you",
    "the",
    "card",
    "ending",
    "in",
]
_NUMBERS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "twelve": "12", "forty": "40"}
_SESSION_START = 1_774_055_376_019
# Bytes of an envelope that are not words: ids, times, status, framing (fitted on the output).
_OVERHEAD = 893
# One entry of words[] plus one of decoratedWords[] plus the word in both transcripts (fitted).
_PER_WORD = 147


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _target_size(rng: random.Random) -> int:
    roll = rng.random()
    for share, low, high in SIZE_BUCKETS:
        if roll < share:
            return int(low * (high / low) ** rng.random())  # log-uniform: real sizes skew low
        roll -= share
    return rng.randrange(1024, 2048)


def _envelope(rng: random.Random, conversation: str, communication: str, offset_ms: int) -> tuple[bytes, int]:
    n_words = max(3, (_target_size(rng) - _OVERHEAD) // _PER_WORD)
    spoken = [rng.choice(_VOCABULARY + list(_NUMBERS)) for _ in range(n_words)]
    words, decorated = [], []
    at = offset_ms
    for token in spoken:
        duration = rng.choice((80, 120, 160, 200, 240, 320))
        confidence = round(rng.uniform(0.55, 0.99), 4)
        words.append({"confidence": confidence, "offsetMs": at, "durationMs": duration, "word": token})
        decorated.append(
            {
                "confidence": round(confidence, 2),
                "offsetMs": at,
                "durationMs": duration,
                "word": _NUMBERS.get(token, token),
            }
        )
        at += duration + rng.choice((0, 20, 40, 80))
    duration_ms = at - offset_ms
    end_ms = _SESSION_START + offset_ms + duration_ms
    event_ms = end_ms + rng.randrange(1200, 7000)
    seconds, millis = divmod(event_ms, 1000)
    event_time = f"{_iso(seconds)}.{millis:03d}Z"
    envelope = {
        "topicName": f"v2.conversations.{conversation}.transcription",
        "version": "2",
        "eventBody": {
            "eventTime": event_time,
            "organizationId": "0b4f6a52-1c7e-4d8a-9f1e-2a6b3c4d5e6f",
            "conversationId": conversation,
            "communicationId": communication,
            "sessionStartTimeMs": _SESSION_START,
            "transcriptionStartTimeMs": _SESSION_START - 32,
            "transcripts": [
                {
                    "utteranceId": _uuid(rng),
                    "isFinal": True,
                    "channel": rng.choice(("EXTERNAL", "INTERNAL")),
                    "alternatives": [
                        {
                            "confidence": round(rng.uniform(0.6, 0.98), 4),
                            "offsetMs": offset_ms,
                            "durationMs": duration_ms,
                            "transcript": " ".join(spoken),
                            "words": words,
                            "decoratedTranscript": " ".join(_NUMBERS.get(t, t) for t in spoken),
                            "decoratedWords": decorated,
                        }
                    ],
                    "engineProvider": "GENESYS",
                    "engineId": "r2d2",
                    "dialect": "en-US",
                    "agentAssistEnabled": False,
                    "voiceTranscriptionEnabled": True,
                }
            ],
            "status": {"offsetMs": at, "status": "SESSION_ONGOING"},
        },
        "metadata": {"CorrelationId": _uuid(rng)},
    }
    return json.dumps(envelope, separators=(",", ":")).encode(), at


def _iso(epoch_seconds: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def envelopes(n: int, seed: int = 0, conversations: int = 8) -> list[bytes]:
    """``n`` realistic transcription envelopes (compact JSON bytes), spread over a few conversations.

    Every envelope carries a distinct utterance id, so an engine emits one utterance per envelope.
    """
    rng = random.Random(seed)
    calls = [(_uuid(rng), _uuid(rng)) for _ in range(conversations)]
    clocks = [rng.randrange(0, 5000) for _ in calls]
    out = []
    for _ in range(n):
        k = rng.randrange(len(calls))
        frame, clocks[k] = _envelope(rng, *calls[k], clocks[k] + rng.randrange(300, 3000))
        out.append(frame)
    return out


def stream(n: int, seed: int = 0, separator: bytes = b"\n") -> bytes:
    """:func:`envelopes` concatenated with ``separator`` (a stream-mode input)."""
    return separator.join(envelopes(n, seed)) + separator


def main() -> None:
    """Rewrite the committed sample."""
    SAMPLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    SAMPLE_PATH.write_bytes(stream(SAMPLE_SIZE))


if __name__ == "__main__":
    main()
