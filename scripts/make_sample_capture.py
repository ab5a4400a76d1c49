"""Write the small capture shipped with the package (``gcstream replay --sample``).

Deterministic: two short calls on the real ``v2.conversations.{id}.transcription`` topic, with a
status-only message at session start, heartbeats, a pong, one re-delivered utterance (as after a
reconnect), one malformed frame, PII spoken on both channels, and ``SESSION_ENDED`` at the end.
Run: ``python scripts/make_sample_capture.py python/gcstream/data/sample-capture.jsonl``.
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from datetime import UTC, datetime

NUMBER_WORDS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
}

CALLS = [
    [
        ("INTERNAL", "thank you for calling acme support my name is dana how can i help", None),
        ("EXTERNAL", "hi i was double charged on my last bill", None),
        ("INTERNAL", "i am sorry about that can i have the card number on the account", None),
        ("EXTERNAL", "sure it is {card}", "4111111111111111"),
        ("INTERNAL", "thanks and a phone number we can reach you on", None),
        ("EXTERNAL", "you can call me on {phone}", "6175550123"),
        ("INTERNAL", "i have refunded forty nine dollars it should show up in three to five days", None),
        ("EXTERNAL", "great thanks so much", None),
    ],
    [
        ("INTERNAL", "good morning this is sam from the billing team", None),
        ("EXTERNAL", "hello i need to update my email address", None),
        ("INTERNAL", "no problem what is the new address", None),
        ("EXTERNAL", "it is jane dot doe at example dot com", None),
        ("INTERNAL", "and to verify the last four of your social", None),
        ("EXTERNAL", "my social is {ssn}", "219099999"),
        ("INTERNAL", "all set is there anything else i can help with today", None),
        ("EXTERNAL", "no that is all thank you", None),
    ],
]


def spoken(digits: str) -> str:
    return " ".join(NUMBER_WORDS[d] for d in digits)


def decorated(digits: str, kind: str) -> str:
    if kind == "card":
        return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    if kind == "phone":
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def words(text: str, start_ms: int, rng: random.Random) -> list[dict[str, object]]:
    out = []
    t = start_ms
    for w in text.split():
        d = 80 + 40 * len(w) // 2
        confidence = round(rng.uniform(0.7, 0.99), 2)
        out.append({"confidence": confidence, "offsetMs": t, "durationMs": d, "word": w})
        t += d + 40
    return out


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def main(path: str) -> None:
    rng = random.Random(7)
    org = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    session_start = 1_774_055_376_019
    lines: list[str] = []
    for call in CALLS:
        conv = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        comm = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        topic = f"v2.conversations.{conv}.transcription"
        base = {
            "organizationId": org,
            "conversationId": conv,
            "communicationId": comm,
            "sessionStartTimeMs": session_start,
            "transcriptionStartTimeMs": session_start - 31,
        }

        def envelope(body: dict[str, object], topic: str = topic, conv: str = conv) -> str:
            return json.dumps(
                {"topicName": topic, "version": "2", "eventBody": body, "metadata": {"CorrelationId": conv}},
                separators=(",", ":"),
            )

        lines.append(
            envelope(
                {
                    "eventTime": iso(session_start),
                    **base,
                    "status": {"offsetMs": 0, "status": "SESSION_ONGOING"},
                }
            )
        )
        offset = 1_200
        for i, (channel, template, value) in enumerate(call):
            kind = next((k for k in ("card", "phone", "ssn") if "{" + k + "}" in template), None)
            raw = template.format(**{kind: spoken(value)}) if kind and value else template
            deco = template.format(**{kind: decorated(value, kind)}) if kind and value else template
            duration = 260 * len(raw.split())
            utterance = {
                "utteranceId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "isFinal": True,
                "channel": channel,
                "alternatives": [
                    {
                        "confidence": round(rng.uniform(0.78, 0.97), 4),
                        "offsetMs": offset,
                        "durationMs": duration,
                        "transcript": raw,
                        "words": words(raw, offset, rng),
                        "decoratedTranscript": deco,
                        "decoratedWords": words(deco, offset, rng),
                    }
                ],
                "engineProvider": "GENESYS",
                "engineId": "r2d2",
                "dialect": "en-US" if i % 3 else "en-us",
                "agentAssistEnabled": False,
                "voiceTranscriptionEnabled": True,
            }
            emitted = session_start + offset + duration + rng.randint(1_200, 2_600)
            line = envelope(
                {
                    "eventTime": iso(emitted),
                    **base,
                    "transcripts": [utterance],
                    "status": {"offsetMs": offset, "status": "SESSION_ONGOING"},
                }
            )
            lines.append(line)
            if i == 3:
                lines.append(line)  # re-delivered after a reconnect: must not become a second utterance
            if i == 2:
                lines.append(
                    json.dumps(
                        {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
                    )
                )
            offset += duration + rng.randint(300, 1_500)
        lines.append(
            envelope(
                {
                    "eventTime": iso(session_start + offset),
                    **base,
                    "status": {"offsetMs": offset, "status": "SESSION_ENDED"},
                }
            )
        )
    lines.insert(5, '{"topicName":"v2.conversations.broken.transcription","eventBody":{"transcripts":[')
    lines.insert(9, json.dumps({"topicName": "channel.metadata", "eventBody": {"message": "pong"}}))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
