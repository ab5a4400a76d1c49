"""Ring buffer cost per record across the boundary (target <= 100 ns).

One round trip is what the pipeline does per batch: ``push_many`` (one crossing), then for each
sink ``read`` + ``advance``. ``test_ring_core`` does it for two sinks, ``test_ring_core_one_sink``
for one (the per-record cost of the boundary itself: one record in, one out). The reference is the
same bookkeeping in pure Python (a deque and per-sink cursors), measured in the same run. Ratio:
``ring_vs_reference`` = reference / ring with two sinks (higher is better). Each ring benchmark
records its time per pushed record in ``extra_info`` (``ns_per_record`` from the median round,
``ns_per_record_best`` from the fastest) and prints it; ``guard.py`` shows it beside the ratios.
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


def _ring_round(ring: Any, batch: list[Any], sinks: int = 2) -> int:
    moved = 0
    for _ in range(ROUNDS):
        assert ring.push_many(batch) == len(batch)
        for sink in range(sinks):
            got = ring.read(sink, BATCH)
            ring.advance(sink, len(got))
            moved += len(got)
    return moved


def _report(benchmark: Any, what: str) -> None:
    """Nanoseconds per pushed record into ``extra_info`` (not under ``--benchmark-disable``)."""
    stats = getattr(benchmark, "stats", None)
    if stats is None:
        return
    per_record = stats.stats.median / (ROUNDS * BATCH) * 1e9
    best = stats.stats.min / (ROUNDS * BATCH) * 1e9
    benchmark.extra_info["ns_per_record"] = per_record
    benchmark.extra_info["ns_per_record_best"] = best
    print(f"\nring: {per_record:.1f} ns per record, best {best:.1f} ({what})")


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
    _report(benchmark, "push + 2 reads + 2 advances")


def test_ring_core_one_sink(benchmark: Any, batch: list[Any]) -> None:
    ring = core.Ring(["a"], capacity_records=1 << 16, capacity_bytes=1 << 30)
    moved = benchmark(_ring_round, ring, batch, 1)
    assert moved == ROUNDS * BATCH
    assert len(ring) == 0
    _report(benchmark, "push + read + advance")


def test_ring_reference(benchmark: Any, batch: list[Any]) -> None:
    ring = PyRing(2)
    moved = benchmark(_ring_round, ring, batch)
    assert moved == 2 * ROUNDS * BATCH
    assert not ring.items
