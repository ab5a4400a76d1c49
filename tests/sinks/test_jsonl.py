"""JsonlSink: lines, idempotency across restarts, rotation, errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

import gcstream
import pytest
from gcstream.exceptions import SinkError
from gcstream.sinks.jsonl import JsonlSink

from sinks.services import records

TIMEOUT = 10.0


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_one_line_per_record_and_replay_after_restart_adds_nothing(tmp_path: Path) -> None:
    recs = records(2, 3)
    path = tmp_path / "audit" / "audit.jsonl"
    async with asyncio.timeout(TIMEOUT):
        sink = JsonlSink(path)
        await sink.open()
        await sink.write(recs)
        await sink.write(recs)
        await sink.aclose()
        again = JsonlSink(path)  # a restart: keys are reloaded from the file
        await again.open()
        await again.write(recs)
        await again.aclose()
    lines = _lines(path)
    assert [line["key"] for line in lines] == gcstream.sinks.record_keys(recs)
    assert {line["type"] for line in lines} >= {"utterance", "conversation_update"}
    assert again.duplicates_skipped == len(recs)
    back, errors = gcstream.sinks.decode_jsonl(path.read_bytes())
    assert back == recs
    assert errors == []


async def test_rotation_by_size_keeps_every_line(tmp_path: Path) -> None:
    recs = records(3, 10)
    path = tmp_path / "audit.jsonl"
    sink = JsonlSink(path, max_bytes=4000, fsync="interval")
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        for r in recs:
            await sink.write([r])
        await sink.aclose()
    files = sorted(tmp_path.glob("audit*.jsonl"))
    assert sink.rotations >= 2
    assert len(files) == sink.rotations + 1
    assert sum(len(_lines(f)) for f in files) == len(recs)


async def test_disk_full_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    os.symlink("/dev/full", path)
    sink = JsonlSink(path)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        with pytest.raises(SinkError, match="No space left on device") as e:
            await sink.write(records(1, 2))
        with contextlib.suppress(SinkError):  # fsync of a device may fail too; the file is closed
            await sink.aclose()
    assert e.value.sink == "jsonl"


async def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    sink = JsonlSink(blocker / "audit.jsonl")
    with pytest.raises(SinkError, match="cannot open audit log"):
        async with asyncio.timeout(TIMEOUT):
            await sink.open()


async def test_a_failure_audited_before_the_first_write_is_kept(tmp_path: Path) -> None:
    # The pipeline opens a sink on its first write; another sink may fail before that.
    path = tmp_path / "audit.jsonl"
    sink = JsonlSink(path)
    async with asyncio.timeout(TIMEOUT):
        await sink.audit_failure("webhook", "webhook: HTTP 503", records=3, action="spooled")
        await sink.open()
        await sink.write(records(1, 2))
        await sink.aclose()
        await sink.audit_failure("webhook", "after the run", records=1, action="spooled")
    lines = _lines(path)
    assert lines[0]["type"] == "sink_failure" and lines[0]["records"] == 3
    assert len(lines) == 1 + len(records(1, 2))  # and nothing after the close


async def test_failures_of_other_sinks_are_audited(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sink = JsonlSink(path)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        await sink.audit_failure("influx", "influx: HTTP 503", records=7, action="spooled")
        await sink.aclose()
    (entry,) = _lines(path)
    assert entry["type"] == "sink_failure"
    assert entry["sink"] == "influx"
    assert entry["records"] == 7
