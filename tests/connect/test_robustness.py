"""Robustness of the connectivity layer in isolation: bounded waits that do not swallow the
caller's cancellation, REST retries that send what is wanted *after* a Retry-After wait, the
socket fallback while REST is rate-limited, and channel replacement that fails."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from gc_connect_helpers import settings_for
from gcstream._aio import cancel_and_wait
from gcstream.exceptions import ApiError, ConnectionLostError
from gcstream.genesys.channels import Channel, Subscriptions
from gcstream.genesys.ratelimit import RateLimiter
from gcstream.genesys.rest import Response, RestClient
from gcstream.pipeline import Pipeline
from gcstream.simulator import Simulator, SimulatorConfig
from gcstream.sources.notifications import NotificationsSource

pytestmark = pytest.mark.timeout(60)


# -- cancel_and_wait ------------------------------------------------------------------------


async def _stubborn(release: asyncio.Event) -> None:
    """A task that takes a while to honour its cancellation (a socket close, a flush...)."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await release.wait()
        raise


async def test_cancel_and_wait_keeps_the_callers_deadline() -> None:
    """The caller's own ``asyncio.timeout`` still fires while it waits for a slow task.

    ``task.cancel(); with suppress(CancelledError): await task`` would swallow that timeout's
    cancellation and wait as long as the task takes: the unbounded wait behind a hung close."""
    release = asyncio.Event()
    slow = asyncio.create_task(_stubborn(release))
    await asyncio.sleep(0)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await cancel_and_wait(slow)
    assert time.monotonic() - started < 1.0
    release.set()
    assert await cancel_and_wait(slow, timeout=5)
    assert slow.cancelled()


async def test_cancel_and_wait_is_bounded_and_retrieves_errors() -> None:
    release = asyncio.Event()
    slow = asyncio.create_task(_stubborn(release))

    async def boom() -> None:
        raise RuntimeError("boom")

    failed = asyncio.create_task(boom())
    await asyncio.sleep(0)
    assert not await cancel_and_wait(slow, failed, None, timeout=0.05)  # slow is still going
    release.set()
    assert await cancel_and_wait(slow, timeout=5)
    assert await cancel_and_wait()  # nothing to do


# -- the limiter's look-ahead ---------------------------------------------------------------------


def test_limiter_delay_looks_ahead_without_taking_a_slot() -> None:
    now = [100.0]
    lim = RateLimiter(2, 10.0, clock=lambda: now[0])
    assert lim.delay() == 0.0
    assert lim.reserve(now[0]) == 0.0
    assert lim.delay() == 0.0
    assert lim.reserve(now[0]) == 0.0
    assert lim.delay() == pytest.approx(10.0)  # the budget is spent
    assert lim.in_window() == 2  # delay() took nothing
    now[0] += 10.0
    assert lim.delay() == 0.0
    lim.pause(3.0)
    assert lim.delay() == pytest.approx(3.0)  # a Retry-After pause


# -- REST: Retry-After, fresh bodies, on_wait -------------------------------------------------------


class FixedToken:
    async def token(self) -> str:
        return "t0k3n-value"

    def invalidate(self, token: str | None = None) -> None:
        pass


@pytest_asyncio.fixture
async def server() -> AsyncIterator[tuple[str, list[Any], list[tuple[int, str]]]]:
    """A tiny REST peer: answers each request with the next (status, Retry-After) of ``plan``."""
    seen: list[Any] = []
    plan: list[tuple[int, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(json.loads(await request.read() or b"null"))
        status, retry = plan.pop(0) if plan else (200, "")
        headers = {"Retry-After": retry} if retry else {}
        return web.json_response({"entities": []}, status=status, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen, plan
    finally:
        await runner.cleanup()


async def test_a_put_retried_after_retry_after_sends_the_list_wanted_then(
    server: tuple[str, list[Any], list[tuple[int, str]]],
) -> None:
    url, seen, plan = server
    plan += [(429, "0.2"), (429, "0.2")]
    wanted = ["a"]
    waits: list[float] = []

    async def on_wait(wait: float) -> None:
        waits.append(wait)
        wanted.append(f"added-while-waiting-{len(waits)}")

    async with aiohttp.ClientSession() as http:
        rest = RestClient(http, url, FixedToken(), RateLimiter(100))
        started = time.monotonic()
        resp = await rest.call("PUT", "/api/v2/x", make_json=lambda: list(wanted), on_wait=on_wait)
    took = time.monotonic() - started
    assert resp.status == 200
    # Each attempt carried the list of that moment, not the first attempt's.
    assert seen == [
        ["a"],
        ["a", "added-while-waiting-1"],
        ["a", "added-while-waiting-1", "added-while-waiting-2"],
    ]
    assert len(waits) == 2
    assert all(0 < w <= 0.2 + 1e-6 for w in waits)
    assert 0.4 <= took < 2.0  # Retry-After honoured, and nothing added on top of it
    assert rest.stats.rate_limited == 2


async def test_on_wait_is_not_called_when_nothing_waits(
    server: tuple[str, list[Any], list[tuple[int, str]]],
) -> None:
    url, seen, _ = server
    called: list[float] = []

    async def on_wait(wait: float) -> None:
        called.append(wait)

    async with aiohttp.ClientSession() as http:
        rest = RestClient(http, url, FixedToken(), RateLimiter(100))
        await rest.call("PUT", "/api/v2/x", json=["b"], on_wait=on_wait)
    assert seen == [["b"]]
    assert called == []


# -- Subscriptions with a scripted REST peer ----------------------------------------------------------


class ScriptedRest:
    """A RestClient stand-in: records calls; ``hooks[method]`` decides each answer."""

    def __init__(self) -> None:
        self.limiter = RateLimiter(1000)
        self.calls: list[tuple[str, str, Any]] = []
        self.hooks: dict[str, Callable[..., Awaitable[Response]]] = {}
        self.created = 0

    async def call(self, method: str, path: str, **kw: Any) -> Response:
        body = kw["make_json"]() if kw.get("make_json") is not None else kw.get("json")
        self.calls.append((method, path, body))
        hook = self.hooks.get(method)
        if hook is not None:
            return await hook(path, **kw)
        if method == "POST":
            self.created += 1
            return Response(200, {"id": f"ch-{self.created}", "connectUri": f"ws://x/ch-{self.created}"})
        if method == "PUT":
            return Response(200, {"entities": [{"id": t["id"]} for t in body]})
        if method == "HEAD":
            return Response(404, None)
        return Response(200, {"entities": []})


async def test_a_failed_replacement_keeps_the_channel_so_it_is_retried() -> None:
    rest = ScriptedRest()
    subs = Subscriptions(rest, debounce=0)  # type: ignore[arg-type]
    subs.add(["v2.conversations.c1.transcription"])
    await subs.flush()
    (ch,) = subs.channels

    async def refuse(path: str, **kw: Any) -> Response:
        raise ApiError("create a notification channel: HTTP 503 after 6 attempts", status=503)

    rest.hooks["POST"] = refuse
    with pytest.raises(ApiError):
        await subs.recover(ch)  # HEAD says 404; the replacement cannot be created
    # Nothing stranded: the channel and its topic are still ours, marked for another try.
    assert subs.channels == [ch]
    assert ch.alive
    assert ch.dirty
    assert subs.placement["v2.conversations.c1.transcription"] is ch
    del rest.hooks["POST"]
    new = await subs.recover(ch)
    assert new is not None
    assert new is not ch
    assert ch.replaced_by is new
    assert subs.placement["v2.conversations.c1.transcription"] is new
    assert await subs.recover(ch) is new  # asked again about the dead one: its replacement


async def test_recovering_a_dead_channel_never_hands_out_another_links_channel() -> None:
    rest = ScriptedRest()
    subs = Subscriptions(rest, max_topics=1, debounce=0)  # type: ignore[arg-type]
    subs.add(["v2.conversations.c1.transcription", "v2.conversations.c2.transcription"])
    await subs.flush()
    first, second = subs.channels
    first.alive = False  # forgotten without a replacement (e.g. dropped by hand)
    subs.channels.remove(first)
    assert await subs.recover(first) is None  # not `second`: that one belongs to another socket
    assert second.alive


async def test_topics_added_while_rest_is_rate_limited_go_over_the_socket_at_once() -> None:
    rest = ScriptedRest()
    sent: list[tuple[str, list[str]]] = []

    async def socket_subscribe(ch: Channel, topics: list[str]) -> bool:
        sent.append((ch.id, topics))
        return True

    subs = Subscriptions(rest, debounce=0, socket_subscribe=socket_subscribe)  # type: ignore[arg-type]
    subs.add(["v2.routing.queues.q.conversations"])
    await subs.flush()
    assert sent == []  # REST is fine: no socket traffic
    rest.limiter.pause(30.0)  # a 429's Retry-After is running
    assert subs.congested()
    subs.add(["v2.conversations.c1.transcription", "v2.conversations.c2.transcription"])
    await asyncio.sleep(0.01)
    assert sent == [("ch-1", ["v2.conversations.c1.transcription", "v2.conversations.c2.transcription"])]
    subs.add(["v2.conversations.c1.transcription"])  # already wanted: nothing more
    await asyncio.sleep(0.01)
    assert len(sent) == 1
    (ch,) = subs.channels
    assert ch.via_socket == {"v2.conversations.c1.transcription", "v2.conversations.c2.transcription"}
    rest.limiter._paused_until = float("-inf")  # the storm is over: the PUT confirms them
    await subs.flush()
    assert ch.via_socket == set()
    assert ch.applied == frozenset(subs.desired)
    await subs.close()
    assert rest.calls[-1][0] == "DELETE"


async def test_a_put_waiting_out_a_429_subscribes_its_topics_over_the_socket_meanwhile() -> None:
    rest = ScriptedRest()
    sent: list[list[str]] = []

    async def socket_subscribe(ch: Channel, topics: list[str]) -> bool:
        sent.append(topics)
        return True

    puts: list[list[str]] = []
    gate = asyncio.Event()

    async def throttled_put(path: str, **kw: Any) -> Response:
        # The PUT's first attempt is refused; while it waits, more topics arrive.
        puts.append([t["id"] for t in kw["make_json"]()])
        await kw["on_wait"](1.0)
        await gate.wait()
        body = kw["make_json"]()
        puts.append([t["id"] for t in body])
        return Response(200, {"entities": body})

    subs = Subscriptions(rest, debounce=0, socket_subscribe=socket_subscribe)  # type: ignore[arg-type]
    rest.hooks["PUT"] = throttled_put
    subs.add(["v2.conversations.c1.transcription"])
    flushing = asyncio.create_task(subs.flush())
    await asyncio.sleep(0.01)
    assert sent == [["v2.conversations.c1.transcription"]]  # at the first wait, not after it
    assert subs.congested()
    subs.add(["v2.conversations.c2.transcription"])  # discovered during the wait
    await asyncio.sleep(0.01)
    assert sent[-1] == ["v2.conversations.c2.transcription"]
    gate.set()
    await flushing
    # The retried PUT carried both (a stale list would have unsubscribed c2 again).
    assert puts[-1] == ["v2.conversations.c1.transcription", "v2.conversations.c2.transcription"]
    assert not subs.congested()
    (ch,) = subs.channels
    assert ch.via_socket == set()
    assert not ch.dirty


# -- a task that dies must not leave the source silently stalled --------------------------------------


async def test_a_link_supervisor_that_dies_fails_the_source_instead_of_stalling_it(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Simulator(SimulatorConfig(seed=3, autostart=False, heartbeat_interval=0.4)) as sim:
        source = NotificationsSource(settings_for(sim, tmp_path))
        async with asyncio.timeout(30), source:

            async def broken(*args: Any) -> str:
                raise RuntimeError("a bug in the watchdog")

            monkeypatch.setattr(source, "_watch", broken)
            sim.faults.drop_sockets()  # the link reconnects, then its (broken) watchdog runs

            async def drain() -> None:
                while True:
                    await source.__anext__()

            with pytest.raises(ConnectionLostError, match="failed unexpectedly"):
                await drain()


# -- the pipeline: a stop while the source is still connecting ----------------------------------------


class SlowToConnect:
    """A source whose start waits on something that takes long (Retry-After waits, a slow peer)."""

    wire_format = "notifications"

    def __init__(self) -> None:
        self.start_cancelled = False
        self.entered = False

    async def __aenter__(self) -> SlowToConnect:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.start_cancelled = True
            raise
        self.entered = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    def __aiter__(self) -> SlowToConnect:
        return self

    async def __anext__(self) -> bytes:
        raise StopAsyncIteration


class NullSink:
    name = "null"
    kinds = frozenset({"utterance"})

    def __init__(self) -> None:
        self.opened = False

    async def open(self) -> None:
        self.opened = True

    async def write(self, batch: Any) -> None:
        pass

    async def flush(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def test_a_stop_while_the_source_connects_ends_the_run_at_once() -> None:
    from gcstream import Engine

    source, sink = SlowToConnect(), NullSink()
    pipeline = Pipeline(source, Engine(wire_format="notifications"), [sink])
    running = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    pipeline.stop("signal")
    async with asyncio.timeout(5):
        report = await running
    assert time.monotonic() - started < 1.0
    assert report.stopped_by == "signal"
    assert report.exit_code == 0
    assert source.start_cancelled
    assert not source.entered
    assert not sink.opened
