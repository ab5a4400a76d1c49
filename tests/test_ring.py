"""The Ring binding: cursors, watermarks with hysteresis, policies, counters."""

from __future__ import annotations

import gcstream._core as core
import pytest
from gcstream.exceptions import ConfigError


def test_slot_frees_when_every_sink_passed() -> None:
    ring = core.Ring(["a", "b"], capacity_records=8)
    assert ring.push_many(list(range(5))) == 5
    assert ring.read(0, 3) == [0, 1, 2]
    assert ring.advance(0, 3) == 0  # b still holds them
    assert ring.read(1) == [0, 1, 2, 3, 4]
    assert ring.advance(1, 4) == 3
    assert len(ring) == 2
    assert ring.lag(0) == 2
    assert ring.lag(1) == 1
    stats = ring.stats()
    assert stats["sinks"]["a"] == {"cursor": 3, "attached": True, "lag": 2, "delivered": 3, "dropped": 0}


def test_backpressure_and_hysteresis() -> None:
    ring = core.Ring(["s"], capacity_records=10, high_watermark=0.8, low_watermark=0.3)
    assert ring.push_many(list(range(12))) == 10  # the rest is handed back
    assert ring.paused
    ring.advance(0, 5)  # 5/10: between the watermarks, still paused
    assert ring.paused
    ring.advance(0, 2)  # 3/10: resume
    assert not ring.paused
    assert ring.push_many([10, 11]) == 2
    s = ring.stats()
    assert (s["pauses"], s["resumes"], s["refused"], s["peak_records"]) == (1, 1, 1, 10)


def test_bytes_bound_uses_record_sizes() -> None:
    recs = [r for r in _records() if type(r).__name__ == "Utterance"]
    ring = core.Ring(["s"], capacity_bytes=2000)
    taken = ring.push_many(recs)
    assert 0 < taken < len(recs)
    assert ring.bytes <= 2000


def test_drop_policies_are_counted() -> None:
    newest = core.Ring(["s"], capacity_records=2, policy="drop_newest")
    assert newest.push_many([1, 2, 3]) == 3
    assert newest.read(0) == [1, 2]
    assert newest.stats()["dropped_newest"] == 1
    oldest = core.Ring(["s"], capacity_records=2, policy="drop_oldest")
    oldest.push_many([1, 2, 3])
    assert oldest.read(0) == [2, 3]
    assert oldest.stats()["dropped_oldest"] == 1
    assert oldest.stats()["sinks"]["s"]["dropped"] == 1


def test_detach_and_misuse() -> None:
    ring = core.Ring(["a", "b"])
    ring.push_many([1])
    assert ring.detach(1) == 1
    ring.advance(0, 1)
    assert len(ring) == 0
    with pytest.raises(IndexError):
        ring.advance(1, 0)
    with pytest.raises(ValueError, match="only 0 unread"):
        ring.advance(0, 1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"capacity_records": 0}, "capacity_records"),
        ({"high_watermark": 0.5, "low_watermark": 0.6}, "low_watermark"),
        ({"policy": "overwrite"}, "policy"),
    ],
)
def test_config_errors(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as e:
        core.Ring(["s"], **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def _records() -> list[object]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from sinks.services import records

    return records(2, 10)
