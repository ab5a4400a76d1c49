"""Real peers for the sink tests, on 127.0.0.1 with their data in a temp dir.

``influxd`` (InfluxDB 1.x, Debian ``influxdb``), ``victoria-metrics`` (speaks the InfluxDB v2 write
API) and ``nats-server -js`` are started as subprocesses, polled for readiness with a timeout and
always terminated. A test that needs a binary that is not installed is skipped with the package
to install (``.ci/install-services`` installs them in CI). The webhook peer is an aiohttp server
in the test process (``webhook``), or the same server in a process of its own (``webhook_server``,
``python services.py webhook PORT``) for the benchmarks, so that its work does not share their
interpreter. Records come from the real engine fed with notification-shaped frames.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gcstream
import pytest
import pytest_asyncio
from aiohttp import web

TIMEOUT = 20.0
BASE_MS = 1_700_000_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need(binary: str, package: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.skip(f"{binary} is not installed (apt-get install {package}; see .ci/install-services)")
    return path


@dataclass
class Service:
    """A running server process."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _http_ok(url: str, expect: Callable[[int, bytes], bool]) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return expect(r.status, r.read())
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(svc: Service, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if svc.proc.poll() is not None:
            raise RuntimeError(f"server exited with {svc.proc.returncode}: {svc.log.read_text()[-2000:]}")
        if ready():
            return
        time.sleep(0.05)  # bounded readiness polling
    svc.stop()
    raise TimeoutError(f"server not ready after {TIMEOUT} s: {svc.log.read_text()[-2000:]}")


def start(cmd: list[str], tmp: Path, port: int, ready_path: str | None, name: str) -> Service:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    svc = Service(proc, f"http://127.0.0.1:{port}", port, log)
    if ready_path is not None:
        _wait_ready(svc, lambda: _http_ok(svc.url + ready_path, lambda s, _: s < 300))
    else:
        _wait_ready(svc, lambda: _tcp_ok(port))
    return svc


def _tcp_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_influxd(tmp: Path, port: int | None = None) -> Service:
    binary = need("influxd", "influxdb")
    port = port or free_port()
    conf = tmp / "influxdb.conf"
    conf.write_text(
        f"""
reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{tmp}/meta"
[data]
  dir = "{tmp}/data"
  wal-dir = "{tmp}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
"""
    )
    svc = start([binary, "-config", str(conf)], tmp, port, "/ping", "influxd")
    influx_query(svc.url, "CREATE DATABASE cc")
    return svc


def influx_query(url: str, q: str, db: str | None = None) -> Any:
    params = urllib.parse.urlencode({"q": q, **({"db": db} if db else {}), "epoch": "ns"})
    req = urllib.request.Request(f"{url}/query?{params}", method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def influx_points_written(url: str) -> int:
    """Points influxd accepted over HTTP since it started (``SHOW STATS``, replays included)."""
    series = influx_query(url, "SHOW STATS FOR 'httpd'")["results"][0]["series"][0]
    return int(dict(zip(series["columns"], series["values"][0], strict=True))["pointsWrittenOK"])


def start_victoria(tmp: Path, port: int | None = None) -> Service:
    binary = need("victoria-metrics", "victoria-metrics")
    port = port or free_port()
    cmd = [
        binary,
        f"-storageDataPath={tmp / 'vm'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-dedup.minScrapeInterval=1ms",
        "-search.latencyOffset=0s",
        "-retentionPeriod=100y",  # the test data is from 2023
    ]
    return start(cmd, tmp, port, "/health", "victoria-metrics")


def victoria_export(url: str, match: str) -> list[dict[str, Any]]:
    _http_ok(f"{url}/internal/force_flush", lambda s, _: True)
    q = urllib.parse.urlencode({"match[]": match})
    with urllib.request.urlopen(f"{url}/api/v1/export?{q}", timeout=5) as r:
        return [json.loads(line) for line in r.read().splitlines() if line.strip()]


def victoria_lines_read(url: str) -> int:
    """Line-protocol lines VictoriaMetrics parsed since it started (replays included)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('vm_protoparser_rows_read_total{type="influx"}'):
                return int(float(line.rsplit(" ", 1)[1]))
    return 0


def start_nats(tmp: Path, port: int | None = None, *, max_payload: int | None = None) -> Service:
    """``nats-server -js``; ``max_payload`` (bytes, headers included) goes in a config file, as the
    server has no flag for it."""
    binary = need("nats-server", "nats-server")
    port = port or free_port()
    cmd = [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp / "js")]
    if max_payload is not None:
        conf = tmp / "nats-server.conf"
        conf.write_text(f"max_payload: {max_payload}\n")
        cmd += ["-c", str(conf)]
    svc = start(cmd, tmp, port, None, "nats-server")
    svc.url = f"nats://127.0.0.1:{port}"
    return svc


async def nats_stream_messages(url: str, stream: str = "GCSTREAM") -> int:
    """Messages stored in a JetStream stream (the server drops replayed message ids)."""
    import nats

    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(stream)
        return int(info.state.messages)
    finally:
        await nc.close()


@pytest.fixture
def influxd(tmp_path: Path) -> Iterator[Service]:
    svc = start_influxd(tmp_path)
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Service]:
    svc = start_victoria(tmp_path)
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[Service]:
    svc = start_nats(tmp_path)
    try:
        yield svc
    finally:
        svc.stop()


# -- webhook peer ---------------------------------------------------------------------------


@dataclass
class Webhook:
    """A knowledge endpoint that deduplicates on Idempotency-Key and can be made to fail, or to
    refuse for good (422) every utterance whose text contains ``refuse_text``."""

    url: str = ""
    token: str = "s3cret"
    fail_status: int | None = None
    refuse_text: str | None = None
    refused: list[str] = field(default_factory=list)
    down: bool = False
    slow: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    attempts: int = 0
    duplicates: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._accept(request)
        finally:
            self.in_flight -= 1

    async def _accept(self, request: web.Request) -> web.Response:
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.fail_status is not None:
            return web.Response(status=self.fail_status, headers={"Retry-After": "0"})
        key = request.headers["Idempotency-Key"]
        body = await request.json()
        assert body["key"] == key
        if self.refuse_text is not None and self.refuse_text in body["text"]:
            self.refused.append(key)
            return web.Response(status=422, text="unprocessable")
        if key in self.keys:
            self.duplicates += 1
            return web.Response(status=409)
        self.keys.add(key)
        self.received.append(body)
        return web.Response(status=201)

    async def stats(self, request: web.Request) -> web.Response:
        """What arrived, as JSON: for a peer in another process."""
        return web.json_response(
            {"attempts": self.attempts, "received": len(self.received), "duplicates": self.duplicates}
        )

    def app(self) -> web.Application:
        """``POST /hook`` (the endpoint) and ``GET /stats``."""
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        app.router.add_get("/stats", self.stats)
        return app


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    runner = web.AppRunner(hook.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hook.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield hook
    finally:
        await runner.cleanup()


def start_webhook(tmp: Path, port: int | None = None) -> Service:
    """The :class:`Webhook` peer in a process of its own; it posts to ``url + "/hook"``."""
    port = port or free_port()
    return start([sys.executable, __file__, "webhook", str(port)], tmp, port, "/stats", "webhook")


def webhook_stats(url: str) -> dict[str, int]:
    """``attempts``, ``received`` (first deliveries) and ``duplicates`` of a :func:`start_webhook` peer."""
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as r:
        return {k: int(v) for k, v in json.loads(r.read()).items()}


@pytest.fixture
def webhook_server(tmp_path: Path) -> Iterator[Service]:
    svc = start_webhook(tmp_path)
    try:
        yield svc
    finally:
        svc.stop()


# -- data -----------------------------------------------------------------------------------


def frame(conv: str, i: int, *, text: str | None = None, decorated: str | None = None) -> bytes:
    """One real-shaped Notifications transcription message with one final utterance; the decorated
    transcript is ``decorated``, else ``text``."""
    body = {
        "topicName": f"v2.conversations.{conv}.transcription",
        "version": "2",
        "eventBody": {
            "eventTime": "2023-11-14T22:13:20.000Z",
            "organizationId": "org-1",
            "conversationId": conv,
            "communicationId": f"{conv}-comm",
            "sessionStartTimeMs": BASE_MS,
            "transcriptionStartTimeMs": BASE_MS,
            "transcripts": [
                {
                    "utteranceId": f"{conv}-u{i:05d}",
                    "isFinal": True,
                    "channel": "EXTERNAL" if i % 2 else "INTERNAL",
                    "alternatives": [
                        {
                            "confidence": 0.9,
                            "offsetMs": i * 1000,
                            "durationMs": 900,
                            "transcript": text or f'utterance {i} with a "quote", comma and = sign',
                            "decoratedTranscript": decorated or text or f"Utterance {i}.",
                            "words": [
                                {
                                    "word": "utterance",
                                    "offsetMs": i * 1000,
                                    "durationMs": 300,
                                    "confidence": 0.9,
                                }
                            ],
                        }
                    ],
                }
            ],
        },
        "metadata": {"CorrelationId": f"{conv}-{i}"},
    }
    return json.dumps(body).encode()


def frames(conversations: int, per_conversation: int, *, phone_every: int = 0) -> list[bytes]:
    """Interleaved frames: utterance i of every conversation, then i + 1, ...; with
    ``phone_every`` N, every Nth utterance of a conversation gives a phone number (``[PHONE]``
    once redacted)."""
    return [
        frame(
            f"conv-{c:03d}",
            i,
            text="call me at 617 555 0123" if phone_every and i % phone_every == 1 else None,
        )
        for i in range(per_conversation)
        for c in range(conversations)
    ]


def records(conversations: int = 2, per_conversation: int = 5, *, phone_every: int = 0) -> list[Any]:
    """What the engine makes of :func:`frames`, finished."""
    engine = gcstream.Engine()
    data = frames(conversations, per_conversation, phone_every=phone_every)
    out = list(engine.feed_many(data, received_at_ms=BASE_MS + 10**6))
    out += engine.finish()
    return out


def utterances(recs: list[Any]) -> list[Any]:
    return [r for r in recs if type(r) is gcstream.Utterance]


if __name__ == "__main__":
    # ``python services.py webhook PORT``: the webhook peer in its own process (start_webhook).
    if len(sys.argv) != 3 or sys.argv[1] != "webhook":
        sys.exit("usage: services.py webhook PORT")
    web.run_app(Webhook().app(), host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=None)
