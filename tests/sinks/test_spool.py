"""Spool: order, segments, restart, cap policies, torn lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from gcstream.exceptions import ConfigError
from gcstream.sinks.spool import Spool, SpoolFull

from sinks.services import records


def _drain(spool: Spool, n: int = 3) -> list[object]:
    out: list[object] = []
    while spool.pending:
        recs, token = spool.read(n)
        out += recs
        spool.commit(token)
    return out


def test_fifo_across_segments_and_restart(tmp_path: Path) -> None:
    recs = records(2, 10)
    spool = Spool(tmp_path, segment_bytes=2000, max_bytes=1 << 20)
    spool.open()
    for r in recs:
        spool.append([r])
    assert len(list(tmp_path.glob("*.jsonl"))) > 2
    first, token = spool.read(4)
    spool.commit(token)
    spool.close()
    again = Spool(tmp_path, segment_bytes=2000, max_bytes=1 << 20)
    again.open()  # a restart resumes after what was committed
    assert again.pending_records == len(recs) - len(first)
    rest = _drain(again)
    assert first + rest == recs
    assert list(tmp_path.glob("*.jsonl")) == []


def test_block_when_full(tmp_path: Path) -> None:
    recs = records(1, 10)
    spool = Spool(tmp_path, segment_bytes=1000, max_bytes=3000)
    spool.open()
    appended = 0
    while spool.size + 1000 < 3000:  # each record is under 1000 bytes
        spool.append([recs[appended]])
        appended += 1
    with pytest.raises(SpoolFull, match="full"):
        spool.append(recs[appended:])
    assert spool.appended < len(recs)
    assert _drain(spool) == recs[: spool.appended]
    spool.close()


def test_drop_oldest_counts(tmp_path: Path) -> None:
    recs = records(1, 20)
    spool = Spool(tmp_path, segment_bytes=1000, max_bytes=3000, on_full="drop_oldest")
    spool.open()
    for r in recs:
        spool.append([r])
    kept = _drain(spool)
    assert spool.dropped > 0
    assert spool.dropped + len(kept) == len(recs)
    assert kept == recs[spool.dropped :]
    spool.close()


def test_torn_tail_is_cut(tmp_path: Path) -> None:
    recs = records(1, 3)
    spool = Spool(tmp_path)
    spool.open()
    spool.append(recs)
    spool.close()
    (seg,) = tmp_path.glob("*.jsonl")
    with seg.open("ab") as f:
        f.write(b'{"v":1,"type":"utter')
    again = Spool(tmp_path)
    again.open()
    assert again.corrupt == 1
    assert _drain(again) == recs
    again.close()


@pytest.mark.parametrize("max_bytes", [1 << 20, (2 << 20) + 1, (4 << 20) - 1])
def test_a_cap_below_the_default_segment_size_works(tmp_path: Path, max_bytes: int) -> None:
    # `[sinks] spool_max_bytes` accepts 1 MiB and up; the segment size must follow a smaller cap.
    spool = Spool(tmp_path, max_bytes=max_bytes)
    assert spool.segment_bytes == max_bytes
    spool.open()
    recs = records(2, 5)
    spool.append(recs)
    assert _drain(spool) == recs
    spool.close()


def test_a_segment_larger_than_the_cap_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="segment_bytes"):
        Spool(tmp_path, max_bytes=1 << 20, segment_bytes=2 << 20)
