"""``gcstream demo`` end to end: simulator → connect → engine → sinks + captions → summary."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import aiohttp
import gcstream
import pytest
from gcstream.demo import DemoOptions, leak_check, pii_needles, run_demo

pytestmark = [
    # auth.py builds aiohttp.BasicAuth (deprecated in aiohttp 3.14); remove once it does not.
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

REDACTION = hasattr(gcstream, "Redactor")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, object]]:
    """One fast demo (calls played 20x real time) shared by the tests below; metrics scraped live."""
    out = tmp_path_factory.mktemp("demo")
    scraped: dict[str, object] = {}

    async def go() -> object:
        ready: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        opts = DemoOptions(
            out=out, conversations=3, duration=12.0, http="127.0.0.1:0", speed=20.0, progress=False
        )
        task = asyncio.create_task(run_demo(opts, on_ready=ready.set_result))
        async with asyncio.timeout(60):
            await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            url = ready.result()
            await asyncio.sleep(4)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{url}/metrics") as r:
                    scraped["metrics"] = await r.text()
                async with http.get(f"{url}/healthz") as r:
                    scraped["healthz"] = await r.json()
            return await task

    return asyncio.run(go()), scraped


def test_summary_has_every_figure(demo_run: tuple[object, dict[str, object]]) -> None:
    result, _ = demo_run
    s = result.summary  # type: ignore[attr-defined]
    assert s["conversations"]["seen"] == 3
    assert s["utterances"] > 20
    assert s["utterances"] == s["records"]["utterance"]
    for q in ("p50", "p95", "p99"):
        assert isinstance(s["latency_ms"][q], int)
    assert s["throughput"]["utterances_per_s"] > 0
    assert isinstance(s["pii_redacted"], dict)
    assert isinstance(s["flagged"], dict)
    assert isinstance(s["rejected"], dict)
    assert s["source"]["reconnects"] == 0
    assert s["ground_truth"]["utterances_sent"] >= s["utterances"]
    assert json.loads(Path(s["outputs"]["summary"]).read_text())["utterances"] == s["utterances"]


def test_records_reach_the_audit_log_and_sqlite(demo_run: tuple[object, dict[str, object]]) -> None:
    result, _ = demo_run
    s = result.summary  # type: ignore[attr-defined]
    lines = Path(s["outputs"]["audit_log"]).read_text().splitlines()
    assert sum(1 for line in lines if json.loads(line)["type"] == "utterance") == s["utterances"]
    with sqlite3.connect(s["outputs"]["sqlite"]) as db:
        (n,) = db.execute("SELECT COUNT(*) FROM utterances").fetchone()
    assert n == s["utterances"]


def test_metrics_and_health_were_served_during_the_run(demo_run: tuple[object, dict[str, object]]) -> None:
    _, scraped = demo_run
    body = str(scraped["metrics"])
    for name in (
        "gcstream_records_total",
        "gcstream_latency_ms_bucket",
        "gcstream_source_reconnects_total",
        "gcstream_rest_requests_total",
        "gcstream_sink_written_total",
        "gcstream_captions_clients",
    ):
        assert name in body
    assert scraped["healthz"]["status"] == "ok"  # type: ignore[index]


@pytest.mark.xfail(not REDACTION, reason="redaction is not in the engine yet", strict=True)
def test_no_redacted_kind_of_ground_truth_pii_in_any_output(
    demo_run: tuple[object, dict[str, object]],
) -> None:
    result, _ = demo_run
    s = result.summary  # type: ignore[attr-defined]
    needles = pii_needles(result.ground_truth)  # type: ignore[attr-defined]
    redacted = {n: k for n, k in needles.items() if k in ("ssn", "phone", "email", "credit_card")}
    assert redacted
    files = [Path(p) for p in s["outputs"].values()]
    assert leak_check(files, redacted)["leaks"] == []
    assert s["leak_check"]["redacted_kinds_leaked"] == []
    assert sum(s["pii_redacted"].values()) > 0


@pytest.mark.xfail(
    reason="person names are in the simulator's ground truth but not redacted by the engine", strict=True
)
def test_no_ground_truth_pii_of_any_kind_in_any_output(demo_run: tuple[object, dict[str, object]]) -> None:
    result, _ = demo_run
    s = result.summary  # type: ignore[attr-defined]
    assert s["leak_check"]["leaks"] == []


def test_leak_check_finds_values_and_never_reports_them(tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    f.write_text('{"text": "my card is 4111 1111 1111 1111"}\n')
    needles = {"4111 1111 1111 1111": "credit_card", "219-09-9999": "ssn"}
    report = leak_check([f, tmp_path / "absent"], needles)
    assert report["leaks"] == [{"file": str(f), "values_found": 1, "kinds": {"credit_card": 1}}]
    assert "4111" not in json.dumps(report)
