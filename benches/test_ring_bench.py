"""Ring buffer cost per record across the boundary (target <= 100 ns).

One round trip is what the pipeline does per batch: ``push_many`` (one crossing), then for each
of two sinks ``read`` + ``advance``. The reference is the same bookkeeping in pure Python
(a deque and per-sink cursors), measured in the same run. Ratio: ``ring_vs_python`` =
reference / ring (higher is better); the per-record time is printed for the report.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gcstream._core as core
import pytest

BATCH = 1024
ROUNDS = 16


@pytest.fixture(scope="module")
def batch() -> list[Any]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from sinks.services import records

    recs = records(8, 200)
    return (recs * (BATCH // len(recs) + 1))[:BATCH]


def _ring_round(ring: Any, batch: list[Any]) -> int:
    moved = 0
    for _ in range(ROUNDS):
        assert ring.push_many(batch) == len(batch)
        for sink in (0, 1):
            got = ring.read(sink, BATCH)
            ring.advance(sink, len(got))
            moved += len(got)
    return moved


class PyRing:
    """The reference: a deque with per-sink cursors, trimmed to the slowest."""

    def __init__(self, sinks: int) -> None:
        self.items: deque[Any] = deque()
        self.head = 0
        self.cursors = [0] * sinks

    def push_many(self, records: list[Any]) -> int:
        self.items.extend(records)
        return len(records)

    def read(self, sink: int, n: int) -> list[Any]:
        start = self.cursors[sink] - self.head
        return [self.items[i] for i in range(start, min(start + n, len(self.items)))]

    def advance(self, sink: int, n: int) -> None:
        self.cursors[sink] += n
        low = min(self.cursors)
        while self.head < low:
            self.items.popleft()
            self.head += 1


def test_ring_core(benchmark: Any, batch: list[Any]) -> None:
    ring = core.Ring(["a", "b"], capacity_records=1 << 16, capacity_bytes=1 << 30)
    moved = benchmark(_ring_round, ring, batch)
    assert moved == 2 * ROUNDS * BATCH
    assert len(ring) == 0
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        per_record = stats.stats.median / (ROUNDS * BATCH) * 1e9
        benchmark.extra_info["ns_per_record"] = per_record
        print(f"\nring: {per_record:.1f} ns per record (push + 2 reads + 2 advances)")


def test_ring_reference(benchmark: Any, batch: list[Any]) -> None:
    ring = PyRing(2)
    moved = benchmark(_ring_round, ring, batch)
    assert moved == 2 * ROUNDS * BATCH
    assert not ring.items
