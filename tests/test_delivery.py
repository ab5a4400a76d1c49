"""Delivery to one sink when it fails: records refused for good next to outages, the audit of a
refusal, and a dead-letter file that cannot be written. Real sinks, a real SQLite file and a real
HTTP peer on 127.0.0.1, driven through :class:`~gcstream.pipeline.Pipeline`."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gcstream
import pytest
from aiohttp import web
from gcstream.pipeline import Pipeline
from gcstream.sinks import record_keys
from gcstream.sinks._http import RetryPolicy
from gcstream.sinks.jsonl import JsonlSink
from gcstream.sinks.sqlite import SCHEMA, SqliteSink
from gcstream.sinks.webhook import WebhookSink
from sinks.services import Webhook, frames, webhook
from test_pipeline import CountingSource

__all__ = ["webhook"]

TIMEOUT = 60.0
FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.02, timeout=2)
PHONE = "617 555 0123"
"""What :func:`frames` puts in an utterance with ``phone_every``; redacted to ``[PHONE]``."""


def _utterances(data: list[bytes], **options: Any) -> list[Any]:
    engine = gcstream.Engine(**options)
    recs = engine.feed_many(data, received_at_ms=0) + engine.finish()
    return [r for r in recs if type(r) is gcstream.Utterance]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _pipeline_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "gcstream.pipeline"]


async def test_a_refusal_is_audited_with_its_key_and_never_the_text(tmp_path: Path) -> None:
    # A rule someone added to the store: no phone numbers, even redacted ones.
    db = sqlite3.connect(tmp_path / "gc.db")
    db.executescript(SCHEMA)
    db.execute(
        "CREATE TRIGGER no_phones BEFORE INSERT ON utterances WHEN NEW.text LIKE '%[PHONE]%' "
        "BEGIN SELECT RAISE(ABORT, 'no phone numbers here'); END"
    )
    db.close()
    data = frames(3, 12, phone_every=5)
    assert any(PHONE.encode() in f for f in data)
    pipeline = Pipeline(
        CountingSource(data),
        gcstream.Engine(),
        [JsonlSink(tmp_path / "audit.jsonl"), SqliteSink(tmp_path / "gc.db")],
        batch_records=8,
        spool_dir=tmp_path / "spool",
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    utts = _utterances(data)
    poison = [u for u in utts if "[PHONE]" in u.text]
    assert poison
    dead_letter = tmp_path / "spool" / "sqlite.rejected.jsonl"
    rep = report.sinks["sqlite"]
    assert (rep.rejected, rep.lost, rep.dead_letter, report.exit_code) == (
        len(poison),
        0,
        str(dead_letter),
        0,
    )
    entries = [a for a in _lines(tmp_path / "audit.jsonl") if a["type"] == "sink_rejected"]
    assert sorted(a["key"] for a in entries) == sorted(record_keys(poison))  # one entry per record
    for a in entries:
        # Which sink, why, which record and where it went: nothing of the record itself.
        assert set(a) == {"v", "type", "sink", "reason", "key", "error", "dead_letter", "at_ms"}
        assert (a["v"], a["sink"], a["reason"], a["dead_letter"]) == (
            1,
            "sqlite",
            "sqlite_constraint",
            str(dead_letter),
        )
        assert a["error"].startswith(f"sqlite: {tmp_path / 'gc.db'} refused ")
    assert sorted(x["key"] for x in _lines(dead_letter)) == sorted(record_keys(poison))
    for path in (tmp_path / "audit.jsonl", dead_letter):
        assert PHONE not in path.read_text()  # the redacted text only, never what was said
    db = sqlite3.connect(tmp_path / "gc.db")
    stored = {r[0] for r in db.execute("SELECT utterance_id FROM utterances")}
    db.close()
    assert stored == {u.utterance_id for u in utts if "[PHONE]" not in u.text}


async def test_an_unwritable_dead_letter_file_counts_the_record_lost_and_delivery_goes_on(
    tmp_path: Path, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gcstream.pipeline")
    webhook.refuse_text = "[PHONE]"
    # A directory where the file should be: unwritable even for root, whom chmod does not stop.
    dead_letter = tmp_path / "spool" / "webhook.rejected.jsonl"
    dead_letter.mkdir(parents=True)
    data = frames(3, 20, phone_every=6)
    pipeline = Pipeline(
        CountingSource(data),
        gcstream.Engine(),
        [JsonlSink(tmp_path / "audit.jsonl"), WebhookSink(webhook.url, token=webhook.token, retry=FAST)],
        batch_records=4,
        spool_dir=tmp_path / "spool",
        retry_initial=0.01,
        retry_max=0.05,
    )
    async with asyncio.timeout(TIMEOUT):
        report = await pipeline.run()
    utts = _utterances(data)
    poison = [u for u in utts if "[PHONE]" in u.text]
    good = [u.utterance_id for u in utts if "[PHONE]" not in u.text]
    assert len(poison) > 1
    # Every later record was still delivered, once.
    assert sorted(b["utterance_id"] for b in webhook.received) == sorted(good)
    assert webhook.duplicates == 0
    rep = report.sinks["webhook"]
    assert (rep.delivered, rep.rejected, rep.lost, rep.spool_pending) == (
        len(good),
        len(poison),
        len(poison),
        0,
    )
    assert rep.dead_letter is None
    assert report.exit_code == 1  # nothing keeps those records: they are lost
    assert dead_letter.is_dir() and not any(dead_letter.iterdir())
    entries = [a for a in _lines(tmp_path / "audit.jsonl") if a["type"] == "sink_rejected"]
    assert sorted(a["key"] for a in entries) == sorted(record_keys(poison))
    assert all(a["dead_letter"] is None and a["reason"] == "http_422" for a in entries)
    lines = _pipeline_lines(caplog)
    cannot = [m for lvl, m in lines if lvl == logging.ERROR and m.startswith("sink webhook: cannot write")]
    # One line per refusing batch, none throttled away, with the cause and how many were lost.
    prefix = (
        f"sink webhook: cannot write the dead-letter file {dead_letter} (IsADirectoryError: "
        f"[Errno 21] Is a directory: '{dead_letter}'); "
    )
    assert all(m.startswith(prefix) and m.endswith(" refused record(s) lost") for m in cannot), lines
    assert sum(int(m.removeprefix(prefix).split()[0]) for m in cannot) == len(poison)
    refused = [m for lvl, m in lines if lvl == logging.WARNING and "refused a record for good" in m]
    assert len(refused) == 1
    assert refused[0].endswith(", not kept (the dead-letter file cannot be written); delivery goes on")
    # The exit line says why they are lost, not only the sink's state.
    why = f"webhook: cannot write the dead-letter file {dead_letter} (IsADirectoryError: "
    assert rep.error is not None and rep.error.startswith(why)
    assert (logging.ERROR, f"sink webhook lost {len(poison)} record(s) ({rep.error})") in lines


@dataclass
class FlakyWebhook(Webhook):
    """The webhook peer, down (503) for its first ``down_for`` requests and again for the
    ``down_after_refusal`` requests that follow its first refusal of ``poison`` (an utterance id
    it always answers 400): a batch can then both refuse a record and fail for an outage."""

    poison: str = ""
    down_for: int = 0
    down_after_refusal: int = 0

    async def _accept(self, request: web.Request) -> web.Response:
        if self.down_for > 0:
            self.down_for -= 1
            return web.Response(status=503, headers={"Retry-After": "0"})
        body = await request.json()
        if body["utterance_id"] == self.poison:
            self.refused.append(body["key"])
            if len(self.refused) == 1:
                self.down_for = self.down_after_refusal
            return web.Response(status=400, text="bad request")
        return await super()._accept(request)


@pytest.mark.parametrize("spool", [False, True], ids=["retry", "spool"])
async def test_a_batch_with_a_refusal_and_an_outage_loses_nothing_and_sets_aside_once(
    tmp_path: Path, spool: bool
) -> None:
    data = frames(2, 10)
    # Nothing held back for ordering or for PII split across utterances: the engine gives every
    # record of a frame group at once.
    now = {"reorder_window_ms": 0, "pii_hold_ms": 0}
    utts = _utterances(data, **now)
    poison = utts[2]  # in the first batch, before records the outage after it fails
    hook = FlakyWebhook(poison=poison.utterance_id, down_for=3, down_after_refusal=3)
    runner = web.AppRunner(hook.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sink = WebhookSink(f"http://127.0.0.1:{port}/hook", token=hook.token, retry=FAST, breaker_reset=0.05)
    # Every frame received in the same millisecond: the engine gets them in one call and the ring
    # all the records at once, so the sink's batches are full. The source then stays open until
    # everything is in, so that a spooled batch is replayed while running (at shutdown a failing
    # sink's spool is left for the next run).
    at = time.time_ns() // 1_000_000
    back = asyncio.Event()
    pipeline = Pipeline(
        CountingSource([(f, at) for f in data], hold=back),  # type: ignore[misc]
        gcstream.Engine(**now),
        [JsonlSink(tmp_path / "audit.jsonl"), sink],
        batch_records=8,
        spool_dir=tmp_path / "spool" if spool else None,
        dead_letter_dir=tmp_path / "dead",
        retry_initial=0.01,
        retry_max=0.05,
    )
    good = [u.utterance_id for u in utts if u is not poison]
    try:
        async with asyncio.timeout(TIMEOUT):
            task = asyncio.create_task(pipeline.run())
            # Until the sink accounted for every utterance (not until the peer got them: a sink
            # that counted as delivered what it did not deliver must fail below, not time out).
            while sum(pipeline.metrics()["sinks"]["webhook"][k] for k in ("delivered", "rejected")) < len(
                utts
            ):
                await asyncio.sleep(0.01)
            back.set()
            report = await task
    finally:
        await runner.cleanup()
    # Every good record arrived, each once: the replays of the failed batch were answered 409.
    assert sorted(b["utterance_id"] for b in hook.received) == sorted(good)
    assert hook.duplicates > 0
    # The refused record was sent again with its failed batch, and set aside once.
    (key,) = record_keys([poison])
    assert len(hook.refused) >= 2 and set(hook.refused) == {key}
    letters = _lines(tmp_path / "dead" / "webhook.rejected.jsonl")
    assert [(x["key"], x["reason"]) for x in letters] == [(key, "http_400")]
    audit = _lines(tmp_path / "audit.jsonl")
    assert [a["key"] for a in audit if a["type"] == "sink_rejected"] == [key]
    assert any(a["type"] == "sink_failure" and a["sink"] == "webhook" for a in audit)
    rep = report.sinks["webhook"]
    assert (rep.delivered, rep.rejected, rep.lost, rep.spool_pending) == (len(good), 1, 0, 0)
    assert rep.failures >= 2
    assert report.exit_code == 0
