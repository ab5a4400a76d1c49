"""The HTTP side of a running gcstream: live captions page, SSE stream, metrics, health.

Routes:

* ``GET /``             the captions page (``static/index.html``; plain HTML/CSS/JS, no build step)
* ``GET /static/...``   its script and stylesheet
* ``GET /events``       Server-Sent Events: a ``snapshot`` then live caption events (see
  :mod:`gcstream.web.captions`), a ``stats`` event every ``stats_interval`` seconds, and a
  comment line as keep-alive
* ``GET /api/state``    the conversations on the page now, as JSON
* ``GET /metrics``      Prometheus text format (:class:`gcstream.metrics.Metrics`)
* ``GET /healthz``      ``{"status": "ok", ...}``; 503 with ``"status": "stopping"`` while draining

::

    server = WebServer(hub, metrics)
    url = await server.start("127.0.0.1", 0)      # http://127.0.0.1:PORT
    ...
    await server.stop()

The server only ever sees redacted records; it never logs request bodies or caption text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from gcstream.metrics import Metrics
from gcstream.web.captions import CaptionsHub

__all__ = ["STATIC_DIR", "WebServer", "build_app"]

log = logging.getLogger("gcstream.web")

STATIC_DIR: Final = Path(str(resources.files("gcstream.web") / "static"))
"""The page's files, shipped in the wheel."""

HUB_KEY: Final = web.AppKey("hub", CaptionsHub)
METRICS_KEY: Final = web.AppKey("metrics", Metrics)
HealthProvider = Callable[[], Mapping[str, Any]]
HEALTH_KEY: Final[web.AppKey[HealthProvider]] = web.AppKey("health")
STATE_KEY: Final = web.AppKey("state", dict[str, Any])

KEEPALIVE_S: Final = 15.0


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(), status=status, content_type="application/json"
    )


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def _events(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB_KEY]
    state = request.app[STATE_KEY]
    interval: float = state["stats_interval"]
    if hub.closed:
        raise web.HTTPServiceUnavailable(text="shutting down")
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    sub = hub.subscribe()
    loop = asyncio.get_running_loop()
    next_stats = loop.time() + interval
    try:
        await resp.write(b"retry: 2000\n\n")
        while True:
            # With a stats provider a `stats` event goes out every interval and doubles as the
            # keep-alive; without one a comment line does.
            timeout = max(0.0, next_stats - loop.time()) if hub.stats_provider else KEEPALIVE_S
            try:
                event = await sub.next(timeout)
            except StopAsyncIteration:
                break
            if event is None and hub.stats_provider is not None:
                event = hub.stats_event()
                next_stats = loop.time() + interval
            if event is None:
                await resp.write(b": keep-alive\n\n")
            else:
                await resp.write(f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        sub.close()
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp


async def _state(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return _json({**hub.stats(), "conversations": hub.conversations()})


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS_KEY].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    extra = dict(request.app[HEALTH_KEY]())
    if state.get("stopping"):
        return _json({"status": "stopping", **extra}, status=503)
    return _json({"status": "ok", **extra})


def build_app(
    hub: CaptionsHub,
    metrics: Metrics,
    *,
    health: Callable[[], Mapping[str, Any]] | None = None,
    stats_interval: float = 1.0,
) -> web.Application:
    """Build the aiohttp application (for :class:`WebServer` or an existing aiohttp runner).

    Args:
        hub: Where the captions come from.
        metrics: What ``/metrics`` renders.
        health: Extra fields for ``/healthz`` (e.g. ``{"conversations": 3}``).
        stats_interval: Seconds between ``stats`` events on the SSE stream.
    """
    app = web.Application()
    app[HUB_KEY] = hub
    app[METRICS_KEY] = metrics
    app[HEALTH_KEY] = health or dict
    app[STATE_KEY] = {"stats_interval": stats_interval, "stopping": False}
    app.router.add_get("/", _index)
    app.router.add_get("/events", _events)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
    return app


class WebServer:
    """Serve :func:`build_app` on a TCP port.

    Args:
        hub: Where the captions come from.
        metrics: What ``/metrics`` renders.
        health: Extra fields for ``/healthz``.
        stats_interval: Seconds between ``stats`` events.
    """

    def __init__(
        self,
        hub: CaptionsHub,
        metrics: Metrics,
        *,
        health: Callable[[], Mapping[str, Any]] | None = None,
        stats_interval: float = 1.0,
    ) -> None:
        self.hub = hub
        self.app = build_app(hub, metrics, health=health, stats_interval=stats_interval)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve; returns the base URL ``http://HOST:PORT``."""
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server: Any = site._server  # the asyncio Server, to learn the chosen port
        bound = server.sockets[0].getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        self.url = f"http://{shown}:{bound[1]}"
        log.info("web server listening", extra={"url": self.url})
        return self.url

    async def stop(self) -> None:
        """Report ``stopping`` on /healthz, end every SSE stream, and stop serving."""
        self.app[STATE_KEY]["stopping"] = True
        self.hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
