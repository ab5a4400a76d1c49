"""Fixtures for simulator tests: a running simulator and a tiny client written from the notes."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import websockets
from gcstream.simulator import Simulator, SimulatorConfig

TIMEOUT = 10.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run every coroutine test in this folder under pytest-asyncio."""
    for item in items:
        fn = getattr(item, "function", None)
        if fn is not None and inspect.iscoroutinefunction(fn) and "simulator" in str(item.path):
            item.add_marker(pytest.mark.asyncio)


@dataclass
class Client:
    """A minimal REST client for tests (Basic auth, Bearer token)."""

    base: str
    http: aiohttp.ClientSession
    token: str = ""

    async def login(self, cid: str = "sim-client", secret: str = "sim-secret") -> dict[str, Any]:
        basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
        async with asyncio.timeout(TIMEOUT):
            async with self.http.post(
                f"{self.base}/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {basic}"},
            ) as r:
                body = await r.json()
                assert r.status == 200, body
        self.token = body["access_token"]
        return dict(body)

    async def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with asyncio.timeout(TIMEOUT):
            async with self.http.request(method, f"{self.base}{path}", data=data, headers=headers) as r:
                raw = await r.read()
                try:
                    parsed: Any = json.loads(raw) if raw else None
                except ValueError:
                    parsed = raw.decode()
                return r.status, parsed, dict(r.headers)

    async def channel(self) -> dict[str, Any]:
        status, body, _ = await self.call("POST", "/api/v2/notifications/channels")
        assert status == 200, body
        return dict(body)

    async def subscribe(
        self, cid: str, topics: list[str], *, method: str = "PUT", ignore: bool = False
    ) -> tuple[int, Any]:
        q = "?ignoreErrors=true" if ignore else ""
        status, body, _ = await self.call(
            method, f"/api/v2/notifications/channels/{cid}/subscriptions{q}", [{"id": t} for t in topics]
        )
        return status, body


SimFactory = Callable[..., Awaitable[Simulator]]


@pytest_asyncio.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """Start simulators with a given config; all are stopped at the end."""
    started: list[Simulator] = []

    async def factory(**kw: Any) -> Simulator:
        sim = Simulator(SimulatorConfig(**kw))
        async with asyncio.timeout(TIMEOUT):
            await sim.start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        async with asyncio.timeout(TIMEOUT):
            await sim.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest_asyncio.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    """A quiet simulator (no traffic) for REST and socket tests."""
    return await make_sim(autostart=False, seed=3)


@pytest_asyncio.fixture
async def client(sim: Simulator, http: aiohttp.ClientSession) -> Client:
    c = Client(sim.base_url, http)
    await c.login()
    return c


async def recv_json(ws: websockets.ClientConnection, timeout: float = TIMEOUT) -> Any:
    """Receive one frame and parse it."""
    async with asyncio.timeout(timeout):
        return json.loads(await ws.recv())


async def recv_until(
    ws: websockets.ClientConnection, pred: Callable[[Any], bool], timeout: float = TIMEOUT
) -> Any:
    """Receive frames until one satisfies ``pred``; returns it."""
    async with asyncio.timeout(timeout):
        while True:
            raw = await ws.recv()
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if pred(msg):
                return msg


async def wait_until(pred: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``pred`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None
