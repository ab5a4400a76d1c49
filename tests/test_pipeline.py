"""Pipeline: source → engine → ring → sinks against real peers on 127.0.0.1.

The source is an in-memory async generator of real-shaped Notifications frames that counts what
was pulled (so backpressure is observable at the source).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gcstream
import pytest
from gcstream.pipeline import Pipeline
from gcstream.sinks import decode_jsonl
from gcstream.sinks._http import RetryPolicy
from gcstream.sinks.jsonl import JsonlSink
from gcstream.sinks.sqlite import SqliteSink
from gcstream.sinks.webhook import WebhookSink
from sinks.services import Service, Webhook, frames, influx_query, influxd, nats_server, webhook

__all__ = ["influxd", "nats_server", "webhook"]

TIMEOUT = 60.0
FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.02, timeout=2)


class CountingSource:
    """Frames from memory; ``pulled`` counts what the pipeline took. With ``hold``, the source
    stays open after its last frame until the event is set (a live socket that went quiet)."""

    def __init__(self, data: list[bytes], hold: asyncio.Event | None = None) -> None:
        self.data = data
        self.pulled = 0
        self.hold = hold

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[bytes]:
        for f in self.data:
            self.pulled += 1
            yield f
            await asyncio.sleep(0)
        if self.hold is not None:
            await self.hold.wait()


def _expected_ids(data: list[bytes]) -> list[str]:
    engine = gcstream.Engine()
    recs = engine.feed_many(data, received_at_ms=0) + engine.finish()
    return [r.utterance_id for r in recs if type(r) is gcstream.Utterance]


def _per_conversation(bodies: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Utterance ids in arrival order, per conversation: the webhook keeps each conversation in
    order and posts different conversations concurrently."""
    out: dict[str, list[str]] = {}
    for b in bodies:
        out.setdefault(b["conversation_id"], []).append(b["utterance_id"])
    return out


def _audit_per_conversation(path: Path) -> dict[str, list[str]]:
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    return _per_conversation([x for x in lines if x["type"] == "utterance"])


async def test_all_five_sinks_get_every_record_once(
    tmp_path: Path, webhook: Webhook, influxd: Service, nats_server: Service
) -> None:
    from gcstream.sinks.influx import InfluxSink
    from gcstream.sinks.nats import NatsSink

    data = frames(5, 40)
    sinks = [
        JsonlSink(tmp_path / "audit.jsonl"),
        SqliteSink(tmp_path / "gc.db"),
        WebhookSink(webhook.url, token=webhook.token, retry=FAST),
        InfluxSink(influxd.url, api="v1", database="cc"),
        NatsSink(nats_server.url, kinds=frozenset({"utterance"})),
    ]
    pipeline = Pipeline(CountingSource(data), gcstream.Engine(), sinks, ring_records=64, batch_records=16)
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    ids = _expected_ids(data)
    assert report.exit_code == 0
    assert report.lost == 0
    assert all(s.state == "drained" for s in report.sinks.values()), report.sinks
    assert [b["utterance_id"] for b in webhook.received] == ids  # one request at a time: in order
    assert _per_conversation(webhook.received) == _audit_per_conversation(tmp_path / "audit.jsonl")
    db = sqlite3.connect(tmp_path / "gc.db")
    assert (
        db.execute("SELECT COUNT(DISTINCT utterance_id), COUNT(*) FROM utterances").fetchone()
        == (len(ids),) * 2
    )
    db.close()
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [x["utterance_id"] for x in lines if x["type"] == "utterance"] == ids
    res = influx_query(influxd.url, "SELECT COUNT(latency_ms) FROM utterance", db="cc")
    assert res["results"][0]["series"][0]["values"][0][1] == len(ids)
    assert report.sinks["nats"].delivered == len(ids)
    assert pipeline.metrics()["sinks"]["webhook"]["lag"] == 0


async def test_sink_down_pauses_the_source_and_nothing_is_lost(tmp_path: Path, webhook: Webhook) -> None:
    data = frames(4, 50)
    source = CountingSource(data)
    webhook.fail_status = 503
    hook = WebhookSink(webhook.url, token=webhook.token, retry=FAST, breaker_reset=0.05)
    sinks = [JsonlSink(tmp_path / "audit.jsonl"), hook]
    pipeline = Pipeline(
        source,
        gcstream.Engine(),
        sinks,
        ring_records=32,
        batch_frames=4,
        batch_records=8,
        retry_initial=0.01,
        retry_max=0.05,
    )
    task = asyncio.create_task(pipeline.run())
    async with asyncio.timeout(TIMEOUT):
        while not pipeline.paused:
            await asyncio.sleep(0.01)
        pulled = source.pulled
        for _ in range(20):  # the sink stays down: the source is not read further
            await asyncio.sleep(0.01)
        assert source.pulled <= pulled + 2 * pipeline.batch_frames
        assert len(pipeline.ring) <= 32
        webhook.fail_status = None
        report = await task
    got = [b["utterance_id"] for b in webhook.received]
    # in the order the engine produced them, per conversation
    assert _per_conversation(webhook.received) == _audit_per_conversation(tmp_path / "audit.jsonl")
    assert sorted(got) == sorted(_expected_ids(data))  # all of them, once
    assert report.dropped == 0
    assert report.lost == 0
    assert report.ring["pauses"] >= 1
    assert report.sinks["webhook"].failures > 0
    assert pipeline.paused_reads > 0


async def test_sink_down_spools_and_catches_up_in_order(tmp_path: Path, webhook: Webhook) -> None:
    data = frames(4, 30)
    webhook.fail_status = 500
    audit = JsonlSink(tmp_path / "audit.jsonl")
    hook = WebhookSink(webhook.url, token=webhook.token, retry=FAST)
    # The source stays open until the webhook is back, so the catch-up happens while running
    # (not at shutdown, which is a separate test).
    back = asyncio.Event()
    pipeline = Pipeline(
        CountingSource(data, hold=back),
        gcstream.Engine(),
        [audit, hook],
        ring_records=16,
        batch_records=8,
        spool_dir=tmp_path / "spool",
        retry_initial=0.01,
        retry_max=0.05,
    )
    task = asyncio.create_task(pipeline.run())
    async with asyncio.timeout(TIMEOUT):
        while pipeline.metrics()["sinks"]["webhook"]["spooled"] < 40:
            await asyncio.sleep(0.01)
        webhook.fail_status = None
        while pipeline.metrics()["sinks"]["webhook"]["spool_pending"] > 0 or len(webhook.received) < 40:
            await asyncio.sleep(0.01)
        back.set()
        report = await task
    got = [b["utterance_id"] for b in webhook.received]
    assert _per_conversation(webhook.received) == _audit_per_conversation(tmp_path / "audit.jsonl")
    assert sorted(got) == sorted(_expected_ids(data))
    assert report.sinks["webhook"].spool_pending == 0
    assert report.exit_code == 0
    failures = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert any(f["type"] == "sink_failure" and f["sink"] == "webhook" for f in failures)


async def test_a_record_the_webhook_refuses_is_set_aside_and_delivery_goes_on(
    tmp_path: Path, webhook: Webhook
) -> None:
    webhook.refuse_text = "[PHONE]"  # 422 for good, like a knowledge base refusing a payload
    data = frames(4, 30, phone_every=7)
    hook = WebhookSink(webhook.url, token=webhook.token, retry=FAST, breaker_threshold=2)
    pipeline = Pipeline(
        CountingSource(data),
        gcstream.Engine(),
        [JsonlSink(tmp_path / "audit.jsonl"), hook],
        ring_records=32,
        batch_records=8,
        spool_dir=tmp_path / "spool",
        spool_max_bytes=1 << 20,
        shutdown_timeout=5,
        retry_initial=0.01,
        retry_max=0.05,
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    engine = gcstream.Engine()
    utts = [
        r for r in engine.feed_many(data, received_at_ms=0) + engine.finish() if type(r) is gcstream.Utterance
    ]
    refused = [u.utterance_id for u in utts if "[PHONE]" in u.text]
    assert refused
    got = [b["utterance_id"] for b in webhook.received]
    assert sorted(got) == sorted(u.utterance_id for u in utts if "[PHONE]" not in u.text)
    assert _audit_per_conversation(tmp_path / "audit.jsonl") == _per_conversation(
        [{"conversation_id": u.conversation_id, "utterance_id": u.utterance_id} for u in utts]
    )
    rep = report.sinks["webhook"]
    assert (rep.rejected, rep.spool_pending, rep.lost, report.exit_code) == (len(refused), 0, 0, 0)
    assert pipeline.metrics()["sinks"]["webhook"]["rejected"] == len(refused)
    # Set aside, already redacted, with the reason and the key, and decodable back into records.
    letters = [
        json.loads(x) for x in (tmp_path / "spool" / "webhook.rejected.jsonl").read_text().splitlines()
    ]
    assert rep.dead_letter == str(tmp_path / "spool" / "webhook.rejected.jsonl")
    assert [x["record"]["utterance_id"] for x in letters] == [k.rsplit("/", 1)[1] for k in webhook.refused]
    assert {x["reason"] for x in letters} == {"http_422"}
    assert all(x["key"] == x["record"]["key"] and "[PHONE]" in x["record"]["text"] for x in letters)
    back, errors = decode_jsonl("".join(json.dumps(x["record"]) + "\n" for x in letters).encode())
    assert not errors and sorted(r.utterance_id for r in back) == sorted(refused)
    audit = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    entries = [a for a in audit if a["type"] == "sink_rejected"]
    assert sorted(a["key"] for a in entries) == sorted(x["key"] for x in letters)
    assert {(a["sink"], a["reason"], a["dead_letter"]) for a in entries} == {
        ("webhook", "http_422", rep.dead_letter)
    }


async def test_without_a_dead_letter_directory_refused_records_count_as_lost(webhook: Webhook) -> None:
    webhook.refuse_text = "[PHONE]"
    data = frames(2, 10, phone_every=4)
    pipeline = Pipeline(
        CountingSource(data), gcstream.Engine(), [WebhookSink(webhook.url, token=webhook.token, retry=FAST)]
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    rep = report.sinks["webhook"]
    assert rep.rejected == rep.lost == len(webhook.refused) > 0
    assert rep.dead_letter is None
    assert report.exit_code == 1
    assert len(webhook.received) + len(webhook.refused) == len(_expected_ids(data))


def _pipeline_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "gcstream.pipeline"]


async def test_a_failing_sink_is_logged_once_and_its_spool_at_exit(
    tmp_path: Path, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gcstream.pipeline")
    os.symlink("/dev/full", tmp_path / "audit.jsonl")  # the audit log is on a full disk
    data = frames(3, 20)
    pipeline = Pipeline(
        CountingSource(data),
        gcstream.Engine(),
        [JsonlSink(tmp_path / "audit.jsonl"), WebhookSink(webhook.url, token=webhook.token, retry=FAST)],
        ring_records=16,
        batch_records=4,
        spool_dir=tmp_path / "spool",
        retry_initial=0.01,
        retry_max=0.02,
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    jsonl = report.sinks["jsonl"]
    assert jsonl.failures > 1 and jsonl.spool_pending > 0
    lines = _pipeline_lines(caplog)
    failing = [m for lvl, m in lines if "is failing" in m]
    # Once, however many attempts failed (log_interval is 30 s): class and message, no flood.
    assert failing == [failing[0]] and "sink jsonl is failing: OSError:" in failing[0], lines
    assert "No space left on device" in failing[0]
    spooled = [m for lvl, m in lines if lvl == logging.WARNING and "remain spooled" in m]
    assert spooled == [
        f"sink jsonl: {jsonl.spool_pending} record(s) remain spooled in {tmp_path / 'spool' / 'jsonl'} "
        f"({jsonl.error}); the next run delivers them"
    ]
    assert not any("webhook" in m for _, m in lines)  # the healthy sink says nothing
    assert report.exit_code == 0  # spooled is not lost: the next run delivers it


async def test_a_sink_that_recovers_says_so_and_repeats_are_counted(
    tmp_path: Path, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gcstream.pipeline")
    webhook.fail_status = 503
    back = asyncio.Event()
    pipeline = Pipeline(
        CountingSource(frames(4, 30), hold=back),
        gcstream.Engine(),
        [WebhookSink(webhook.url, token=webhook.token, retry=FAST, breaker_reset=0.01)],
        spool_dir=tmp_path / "spool",
        retry_initial=0.01,
        retry_max=0.02,
        log_interval=0.0,  # every failure gets its line, so the count is visible
    )
    task = asyncio.create_task(pipeline.run())
    async with asyncio.timeout(TIMEOUT):
        while pipeline.metrics()["sinks"]["webhook"]["failures"] < 3:
            await asyncio.sleep(0.01)
        webhook.fail_status = None
        while pipeline.metrics()["sinks"]["webhook"]["spool_pending"] > 0:
            await asyncio.sleep(0.01)
        back.set()
        report = await task
    lines = _pipeline_lines(caplog)
    assert lines[0][0] == logging.WARNING and lines[0][1].startswith("sink webhook is failing: SinkError: ")
    assert "HTTP 503" in lines[0][1]
    assert lines[1][1].startswith("sink webhook still failing: 1 more failed attempt(s), 2 over ")
    failures = report.sinks["webhook"].failures
    recovered = [m for lvl, m in lines if lvl == logging.INFO]
    assert len(recovered) == 1 and recovered[0].startswith(
        f"sink webhook recovered after {failures} failed attempt(s)"
    )
    assert not any("remain spooled" in m for _, m in lines)


async def test_credentials_in_a_sink_url_never_reach_the_audit_log(tmp_path: Path, webhook: Webhook) -> None:
    # aiohttp sends the user info as Basic auth, which the peer refuses: every delivery fails.
    url = webhook.url.replace("http://", "http://svc:hunter2pass@") + "?api_key=AKIA-SECRET-123"
    pipeline = Pipeline(
        CountingSource(frames(2, 5)),
        gcstream.Engine(),
        [JsonlSink(tmp_path / "audit.jsonl"), WebhookSink(url, retry=FAST)],
        spool_dir=tmp_path / "spool",
        retry_initial=0.01,
        retry_max=0.05,
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    audit = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    errors = [a["error"] for a in audit if a["type"] == "sink_failure"]
    assert errors
    assert all("http://svc:***@127.0.0.1" in e and "api_key=***" in e for e in errors), errors
    shown = json.dumps(errors) + str(report.sinks["webhook"].error) + json.dumps(pipeline.metrics())
    assert "hunter2pass" not in shown
    assert "AKIA-SECRET-123" not in shown


async def test_disk_full_sink_errors_clearly_and_others_keep_going(tmp_path: Path, webhook: Webhook) -> None:
    os.symlink("/dev/full", tmp_path / "audit.jsonl")
    data = frames(3, 20)
    sinks = [JsonlSink(tmp_path / "audit.jsonl"), WebhookSink(webhook.url, token=webhook.token, retry=FAST)]
    pipeline = Pipeline(
        CountingSource(data),
        gcstream.Engine(),
        sinks,
        ring_records=16,
        retry_initial=0.01,
        retry_max=0.05,
        give_up_after=0.2,
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    assert sorted(b["utterance_id"] for b in webhook.received) == sorted(_expected_ids(data))
    jsonl = report.sinks["jsonl"]
    assert jsonl.state == "failed"
    assert "No space left on device" in (jsonl.error or "")
    assert report.exit_code == 1
    assert jsonl.lost > 0


SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, {tests!r})
    import gcstream
    from gcstream.pipeline import Pipeline
    from gcstream.sinks._http import RetryPolicy
    from gcstream.sinks.sqlite import SqliteSink
    from gcstream.sinks.webhook import WebhookSink
    from sinks.services import frame

    async def source(n):
        for i in range(n):
            yield frame("conv-sig", i)
            if i == 50:
                print("ready", flush=True)
            await asyncio.sleep(0.002)

    async def main():
        n = int(sys.argv[1])
        sinks = [SqliteSink({db!r}), WebhookSink(sys.argv[2], token="s3cret",
                 retry=RetryPolicy(attempts=1, timeout=1))]
        p = Pipeline(source(n), gcstream.Engine(), sinks, spool_dir={spool!r}, shutdown_timeout=10,
                     retry_initial=0.05, retry_max=0.1)
        report = await p.run(handle_signals=True)
        print(json.dumps({{"stopped_by": report.stopped_by, "records": report.records,
                          "sinks": {{k: vars(v) for k, v in report.sinks.items()}}}}), flush=True)
        sys.exit(report.exit_code)

    asyncio.run(main())
    """
)


async def test_sigterm_drains_into_sinks_and_spool_and_restart_delivers(
    tmp_path: Path, webhook: Webhook
) -> None:
    script = tmp_path / "run.py"
    script.write_text(
        SCRIPT.format(
            tests=str(Path(__file__).parent), db=str(tmp_path / "gc.db"), spool=str(tmp_path / "spool")
        )
    )
    webhook.fail_status = 503  # down: everything for it is spooled
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "100000", webhook.url, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    async with asyncio.timeout(TIMEOUT):
        assert (await proc.stdout.readline()).strip() == b"ready"
        proc.send_signal(signal.SIGTERM)
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["stopped_by"] == "signal"
    db = sqlite3.connect(tmp_path / "gc.db")
    in_db = {r[0] for r in db.execute("SELECT utterance_id FROM utterances")}
    db.close()
    hook = report["sinks"]["webhook"]
    assert hook["spool_pending"] == len(in_db) > 50  # everything received is in the sink or the spool
    webhook.fail_status = None
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "0", webhook.url, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    async with asyncio.timeout(TIMEOUT):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert sorted(b["utterance_id"] for b in webhook.received) == sorted(in_db)
    assert len(webhook.received) == len(in_db)
    assert json.loads(out)["sinks"]["webhook"]["spool_pending"] == 0


async def test_every_spool_cap_the_config_accepts_runs(tmp_path: Path, webhook: Webhook) -> None:
    from gcstream.config import SinksConfig

    floor = SinksConfig.model_fields["spool_max_bytes"].metadata[0].ge  # what check-config accepts
    webhook.fail_status = 503  # down: its records go to the capped spool
    data = frames(2, 10)
    hook = WebhookSink(webhook.url, token=webhook.token, retry=FAST)
    pipeline = Pipeline(
        CountingSource(data),
        gcstream.Engine(),
        [hook],
        spool_dir=tmp_path / "spool",
        spool_max_bytes=floor + 1,
        retry_initial=0.01,
        retry_max=0.05,
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    assert report.exit_code == 0
    assert report.sinks["webhook"].spool_pending == len(_expected_ids(data))
