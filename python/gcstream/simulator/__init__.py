"""A faithful local Genesys Cloud: OAuth, Notifications REST, channel WebSockets and live calls.

It is the embedded peer of ``gcstream demo`` and of every connectivity, pipeline and sink test.
It imports nothing from the rest of gcstream: every message is built here from the research
notes (``research/genesys-real-api.md`` §1-§3), so a test against it cannot confirm the client's
own mistakes.

Example::

    async with Simulator(SimulatorConfig(seed=7, time_scale=20, autostart=False)) as sim:
        print(sim.base_url)                  # http://127.0.0.1:PORT
        ...                                  # a client authenticates, subscribes, connects
        await sim.wait_socket(channel_id, 10)  # the server holds the socket now
        sim.start_traffic()                  # so nothing is published before the client listens
        sim.faults.drop_sockets()
        assert sim.stats.sockets_dropped
        truth = sim.ground_truth             # every utterance published, unredacted

Served (all on ``base_url``): ``POST /oauth/token``; ``POST/GET /api/v2/notifications/channels``;
``HEAD /api/v2/notifications/channels/{id}``; ``GET/POST/PUT/DELETE
/api/v2/notifications/channels/{id}/subscriptions``; ``GET /api/v2/notifications/availabletopics``;
``POST /api/v2/analytics/conversations/details/query``; the WebSocket at each ``connectUri``
(``/channels/{id}``); and the seed wire formats (see :mod:`.seeds`).

Behaviours the notes leave open, and what the simulator does (the harsher plausible choice):

* The rate limit is a sliding 60 s window per token (no reset on the minute); refused requests do
  not consume budget; ``/oauth/token`` is not limited. 429 carries ``Retry-After`` and the
  Genesys ErrorBody (``too.many.requests.retry.after``).
* Client id/secret as form fields (instead of the Basic header) are refused with 401.
* A channel is bound to a token; any authenticated REST call on it rebinds it to the caller's
  token. When its token expires the channel is gone (HEAD 404, socket closed, reconnect gets
  ``{"result":"404"}``); revocation sends ``v2.system.token_revoked.{channelId}`` first.
* Connecting to an unknown channel upgrades, sends ``{"result":"404","message":...}`` and closes.
* A second socket on a channel closes the first after
  ``v2.system.no_longer_subscribed.{channelId}`` (reason ``another_channel_subscribed``).
* Eviction by the 21st channel (or ``sim.faults.evict_channel()``) and expiry after 24 h close
  the socket silently (code 1000).
* ``v2.system.socket_closing`` has body ``{"message", "channelId"}``; the close follows after 60 s
  (scaled) with code 1001; ``warn=False`` closes without it.
* Without ``ignoreErrors`` one bad topic fails the whole request: 400 for an unknown topic, 403
  (``missing.permissions``) for a missing permission; with it, ``Rejected`` entities with
  ``rejectionReason`` and ``missingPermissions``. Going over 1,000 topics is 400 either way.
  Subscription responses list every topic now on the channel plus this request's rejections.
* Required permissions: transcription ``conversation:transcription:view`` (documented); queue
  conversations ``routing:queue:view`` and user conversations ``conversation:communication:view``
  and analytics ``analytics:conversationDetail:view`` (guessed).
* The start-of-session status message has no ``transcripts`` key; later status-only messages have
  ``"transcripts": []``; ``SESSION_ENDED`` is status-only. A few messages batch 2-3 transcripts.
* Sockets use no permessage-deflate; WebSocket frames carry no ``timestamp`` envelope key.
* Gateway errors (502/504) have an HTML body; 500/503 the JSON ErrorBody.
* When calls play faster than real time, epoch times are anchored in the past so every utterance
  has ended before it is sent (latency then reads large, never negative).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import Platform
from .config import ALL_PERMISSIONS, OAuthClient, SimulatorConfig
from .conversations import Conversation, Directory
from .faults import FaultController, FaultPlan, parse_duration
from .wire import SimulatorStats, SocketStats

__all__ = [
    "ALL_PERMISSIONS",
    "Conversation",
    "FaultController",
    "FaultPlan",
    "OAuthClient",
    "Simulator",
    "SimulatorConfig",
    "SimulatorStats",
    "SocketStats",
    "parse_duration",
]


class Simulator:
    """Run the simulated platform on a real socket.

    Use as ``async with Simulator(config) as sim:`` or call :meth:`start` / :meth:`stop`.

    Args:
        config: What to simulate; defaults to one OAuth client ``sim-client``/``sim-secret``.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.platform = Platform(self.config)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        """Bind, start serving and publishing; returns the base URL ``http://HOST:PORT``."""
        self._runner = web.AppRunner(self.platform.build_app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server: Any = site._server  # the asyncio Server, to learn the chosen port
        port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://{self.config.host}:{port}"
        await self.platform.start(self.base_url)
        return self.base_url

    async def stop(self) -> None:
        """Close every socket and stop serving."""
        await self.platform.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- what tests read ----------------------------------------------------------------

    @property
    def ground_truth(self) -> list[dict[str, Any]]:
        """Every utterance published so far, unredacted, with its PII values and kinds."""
        return self.platform.ground_truth

    @property
    def faults(self) -> FaultController:
        """Inject faults at run time (``drop_sockets()``, ``stall(s)``, ``evict_channel(id)``...)."""
        return self.platform.faults

    @property
    def stats(self) -> SimulatorStats:
        """Live counters: requests, 429s, sockets, messages per channel, blocked writers."""
        return self.platform.stats

    @property
    def directory(self) -> Directory:
        """The organisation, queue ids and agent (user) ids of this seed."""
        return self.platform.directory

    def active_conversations(self) -> list[str]:
        """Ids of calls in progress (started and not ended)."""
        return [k for k, r in self.platform.calls.items() if r.ended_ms is None]

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The call with this id once it has started (in progress or recently ended), else None."""
        rec = self.platform.calls.get(conversation_id)
        return None if rec is None else rec.conversation

    def pregenerated(self) -> list[Conversation]:
        """Calls built up front (``pregenerate=True``) and not yet started, in playing order."""
        return [self.platform._pregenerated[i] for i in sorted(self.platform._pregenerated)]

    def socket_stats(self, channel_id: str) -> SocketStats | None:
        """Counters of the WebSocket now connected to ``channel_id``, or None if none is."""
        ch = self.platform.channels.get(channel_id)
        s = None if ch is None else ch.session
        return None if s is None or s.closed else s.stats

    async def wait_socket(self, channel_id: str, timeout: float) -> SocketStats:
        """Wait until a WebSocket is connected to ``channel_id`` (server side); returns its counters.

        Faults such as ``malformed()`` act on connected sockets only, so a test that arms one right
        after connecting should wait for this first.

        Raises:
            TimeoutError: If no socket is connected within ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while (st := self.socket_stats(channel_id)) is None:
                await asyncio.sleep(0.005)
        return st

    @property
    def traffic_finished(self) -> bool:
        """True once every call of ``max_conversations`` has been published."""
        return self.platform.traffic_done.is_set()

    def start_traffic(self) -> None:
        """Start publishing calls when ``autostart=False``."""
        self.platform.start_traffic()

    async def wait_traffic_done(self, timeout: float) -> None:
        """Wait until every call of ``max_conversations`` has been published.

        Raises:
            TimeoutError: If that takes longer than ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            await self.platform.traffic_done.wait()
