"""10,000 concurrent conversations in one Engine: memory stays bounded and flat over a long run.

Each round feeds 10,000 live conversations one utterance each (with an interim result before it),
ends 10 % of them and starts as many new ones, and ticks. After a warm-up that fills the
de-duplication set to its capacity, RSS must stop growing: the last rounds may not add more than
a few MiB. Measured here, not in a timed test: RSS is a property of the run, not of one call.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import gcstream
from reference_stream import _envelope

LIVE = 10_000
ROUNDS = 16
DEDUP = 50_000


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _end(conv: str) -> bytes:
    return json.dumps(
        {
            "topicName": f"v2.conversations.{conv}.transcription",
            "eventBody": {"conversationId": conv, "status": {"offsetMs": 0, "status": "SESSION_ENDED"}},
        }
    ).encode()


def run(rounds: int = ROUNDS) -> tuple[list[int], dict[str, object]]:
    eng = gcstream.Engine("notifications", dedup_capacity=DEDUP)
    live = [f"c{i}" for i in range(LIVE)]
    next_id = LIVE
    rss = []
    now = 1_774_055_400_000
    for r in range(rounds):
        frames = []
        for k, conv in enumerate(live):
            utt = f"{conv}-{r}"
            frames.append(
                _envelope(
                    conv,
                    "m",
                    utt,
                    "EXTERNAL" if k % 2 else "INTERNAL",
                    r * 4000,
                    1500,
                    ["hello", "there"],
                    False,
                )
            )
            frames.append(
                _envelope(
                    conv,
                    "m",
                    utt,
                    "EXTERNAL" if k % 2 else "INTERNAL",
                    r * 4000,
                    1500,
                    ["hello", "there", "friend"],
                    True,
                )
            )
        for conv in live[: LIVE // 10]:
            frames.append(_end(conv))
        live = live[LIVE // 10 :] + [f"c{next_id + i}" for i in range(LIVE // 10)]
        next_id += LIVE // 10
        for i in range(0, len(frames), 500):
            eng.feed_many(frames[i : i + 500], received_at_ms=now)
        now += 4000
        eng.tick(now)
        rss.append(_rss_kib())
    return rss, eng.stats()


def test_memory_is_flat_with_10k_conversations(benchmark) -> None:  # type: ignore[no-untyped-def]
    rss, stats = benchmark.pedantic(run, rounds=1, iterations=1)
    assert stats["conversations_active"] <= LIVE + LIVE // 10
    warm = rss[len(rss) // 2]
    growth_kib = rss[-1] - warm
    print(f"RSS KiB per round: {rss}; growth after warm-up: {growth_kib} KiB")
    benchmark.extra_info.update({"rss_kib": rss, "growth_after_warmup_kib": growth_kib})
    assert growth_kib < 16 * 1024
