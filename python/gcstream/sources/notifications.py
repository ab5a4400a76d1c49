"""The Genesys Cloud Notifications API as a source of frames.

::

    async with NotificationsSource(settings) as source:
        engine = gcstream.Engine(wire_format=source.wire_format)
        async for frame in source:
            for record in engine.feed(frame.data, received_at_ms=frame.received_at_ms):
                if type(record) is not gcstream.Utterance:
                    source.react(frame, record)

# Theory of operation

Start-up: token (fails fast on bad credentials) → stored channels checked with ``HEAD`` and
reused → a socket opened on every channel → discovery topics, explicit conversations and (with
``recover_in_flight``) the calls already in progress subscribed. A socket is always connected
before topics are put on its channel, so nothing published after the subscribe is missed.

Each channel has a *link*: a supervisor task that owns the channel's current socket. States::

    CONNECTING --open--> WATCHING --(socket_closing | watchdog | close | recover)--> CONNECTING
         ^                                                                              |
         +------------------------- delay: 0 (planned) or backoff (failure) ------------+

Every reconnect opens the new socket *before* closing the old one (make-before-break). Genesys
allows one socket per channel, so the server drops the old one when the new one connects; frames
the old one had in flight are still read until it closes, and the engine removes the duplicates
the overlap can produce. A link's watchdog sends ``{"message":"ping"}`` after ``interval``
seconds without a frame and reconnects after ``2 * interval`` without one (a heartbeat, a pong or
data) -- unless the socket is idle only because the consumer stopped pulling frames.

A maintenance task renews channels (resubscribe) before their 24 h life runs out, refreshes the
token before it expires and then touches every channel with ``HEAD`` (which keeps the channel
bound to the fresh token), and expires lingering conversation topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Self
from urllib.parse import urlsplit

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from gcstream._aio import cancel_and_wait
from gcstream._core import Control, ConversationUpdate
from gcstream.auth import ClientCredentials
from gcstream.exceptions import AuthError, ConfigError, ConnectionLostError, GcstreamError
from gcstream.genesys.channels import Channel, ChannelStore, Rejection, Subscriptions
from gcstream.genesys.discovery import Discovery
from gcstream.genesys.ratelimit import RateLimiter
from gcstream.genesys.rest import RestClient
from gcstream.genesys.retry import Backoff, describe_io_error
from gcstream.settings import GenesysSettings
from gcstream.sources.base import WS_LOGGER, Frame, FrameBuffer, wall_ms

__all__ = ["NotificationsSource", "SocketInfo"]

log = logging.getLogger("gcstream.sources.notifications")

PING: Final = '{"message":"ping"}'
PLANNED_CLOSE_CODES: Final = frozenset({1000, 1001})
CLOSE_UNSUBSCRIBE_S: Final = 5.0
"""At most this long is spent unsubscribing on close."""
CLOSE_TASKS_S: Final = 5.0
"""At most this long is spent waiting for the source's tasks to finish once cancelled on close."""
SOCKET_SUBSCRIBE_BATCH: Final = 100
"""Topics per socket ``subscribe`` message."""
HANDOVER_GRACE_S: Final = 2.0
"""How long the old socket may keep delivering after its replacement is open."""


@dataclass(eq=False, slots=True)
class SocketInfo:
    """One WebSocket on a channel, as seen by its link.

    Attributes:
        id: Sequence number within the source.
        channel: The channel it serves.
        ws: The websockets connection.
        opened_at: Monotonic time it opened.
        last_rx: Monotonic time of its last frame (or of opening).
        ping_sent_at: When the watchdog last pinged, or None.
        blocked: True while its reader waits for room in the buffer (the consumer is behind).
        frames: Frames read.
        heartbeats: ``channel.metadata`` heartbeats seen.
        pongs: Pongs seen.
        close_code: The close code once closed (1006 for a dropped connection).
        retired: Replaced by a newer socket; its frames still count.
        not_found: Its first frame was ``{"result":"404",...}``: the channel is gone.
    """

    id: int
    channel: Channel
    ws: ClientConnection
    opened_at: float
    last_rx: float
    ping_sent_at: float | None = None
    blocked: bool = False
    frames: int = 0
    heartbeats: int = 0
    pongs: int = 0
    close_code: int | None = None
    retired: bool = False
    not_found: bool = False
    reader: asyncio.Task[None] | None = None
    link: _Link | None = None


@dataclass(eq=False, slots=True)
class _Link:
    channel: Channel
    backoff: Backoff
    socket: SocketInfo | None = None
    request: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    reconnects: int = 0
    recovering: bool = False
    connecting: bool = False
    delays: list[float] = field(default_factory=list)

    def ask(self, what: str) -> None:
        # "recover" outranks "handover": a channel that needs checking must be checked.
        if self.request != "recover":
            self.request = what
        self.wake.set()


class NotificationsSource:
    """Frames from Genesys Cloud notification channels, kept alive through every known fault.

    Args:
        settings: Connection settings (validated).
        session: An aiohttp session to use (default: one owned by the source).
        buffer_frames: Frames buffered between the sockets and the consumer.
        rng: Randomness for backoff jitter (seed it in tests).
    """

    wire_format: Final = "notifications"

    def __init__(
        self,
        settings: GenesysSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        buffer_frames: int = 64,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._session = session
        self._own_session = session is None
        self._rng = rng or random.Random()
        self._clock = clock
        self.buffer = FrameBuffer(buffer_frames)
        self._links: list[_Link] = []
        self._sockets = itertools.count(1)
        self._open_sockets: set[SocketInfo] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._maintenance: asyncio.Task[None] | None = None
        self._closing = False
        self._started = False
        self._auth_generation = 0
        self._correlation = 0
        self.counters: dict[str, int] = {
            "sockets_opened": 0,
            "reconnects": 0,
            "handovers": 0,
            "watchdog_timeouts": 0,
            "pings": 0,
            "heartbeats": 0,
            "pongs": 0,
            "socket_closing": 0,
            "token_revoked": 0,
            "no_longer_subscribed": 0,
            "channel_not_found": 0,
            "recoveries": 0,
            "renewals": 0,
            "token_refreshes": 0,
            "connect_failures": 0,
            "socket_subscribes": 0,
        }
        self.auth: ClientCredentials
        self.rest: RestClient
        self.subs: Subscriptions
        self.discovery: Discovery

    # -- context manager / iteration ------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Frame:
        """Return the next frame (the socket readers only run ahead by ``buffer_frames``)."""
        return await self.buffer.get()

    # -- start / stop -----------------------------------------------------------------------

    async def start(self) -> None:
        """Authenticate, reuse or create channels, open sockets, subscribe. Fails fast and clearly
        on bad credentials, a bad base URL or missing permissions for the discovery topics.

        Raises:
            AuthError: Credentials refused, or a permission missing (named).
            ApiError: The platform refused a call.
            ConnectionLostError: The platform cannot be reached.
        """
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        self.subs.start()
        self._maintenance = self._spawn(self._maintain(), "gcstream-maintenance")
        self._maintenance.add_done_callback(self._died)
        self._started = True

    async def _start(self) -> None:
        s = self.settings
        ep = s.endpoints()
        # The host only: a base URL may carry credentials, which never reach a log line.
        log.debug("connecting to %s as OAuth client %s", urlsplit(ep.api_base).hostname, s.client_id)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        b = s.backoff
        self.auth = ClientCredentials(
            self._session,
            ep.token_url,
            s.client_id,
            s.client_secret,
            refresh_margin=s.token_refresh_margin,
            timeout=s.http_timeout,
            backoff=Backoff(b.initial, b.maximum, b.multiplier, b.jitter, rng=self._rng),
            clock=self._clock,
        )
        self.rest = RestClient(
            self._session,
            ep.api_base,
            self.auth,
            RateLimiter(s.requests_per_minute, clock=self._clock),
            backoff=Backoff(b.initial, b.maximum, b.multiplier, b.jitter, rng=self._rng),
            timeout=s.http_timeout,
            clock=self._clock,
        )
        store = (
            ChannelStore(s.channel_state_path, api_base=ep.api_base, client_id=s.client_id)
            if s.channel_state_path is not None
            else None
        )
        self.subs = Subscriptions(
            self.rest,
            max_channels=s.max_channels,
            max_topics=s.max_topics_per_channel,
            debounce=s.subscribe_debounce,
            store=store,
            on_channel=self._on_channel,
            socket_subscribe=self._socket_subscribe,
            clock=self._clock,
        )
        self.discovery = Discovery(
            self.subs,
            self.rest,
            queues=s.queues,
            users=s.users,
            conversations=s.conversations,
            linger=s.unsubscribe_linger,
            clock=self._clock,
        )
        await self.auth.token()
        self._auth_generation = self.auth.generation
        await self.subs.restore()
        for ch in self.subs.channels:
            await self._on_channel(ch, None)
        self.discovery.start()
        await self.subs.flush()
        self._check_discovery_permissions()
        if s.recover_in_flight:
            await self.discovery.recover()
            await self.subs.flush()

    def _check_discovery_permissions(self) -> None:
        bad = [r for t, r in self.subs.rejections.items() if not t.endswith(".transcription")]
        if bad:
            perms = tuple(dict.fromkeys(p for r in bad for p in r.missing_permissions))
            topics = ", ".join(r.topic for r in bad)
            if not perms:
                # Not a permission: the topic itself is invalid, which is what a queue or user
                # given by name (not by id) produces.
                raise _invalid_targets(bad)
            raise AuthError(
                f"Genesys Cloud rejected the discovery topic(s) {topics}: {bad[0].reason}"
                + (f"; add {', '.join(perms)} to the OAuth client's role" if perms else ""),
                status=403,
                missing_permissions=perms,
            )

    async def close(self) -> None:
        """Unsubscribe (channel ids stay stored for reuse), close every socket, stop all tasks."""
        if self._closing:
            return
        self._closing = True
        if self._maintenance is not None:
            self._maintenance.cancel()
        for link in self._links:
            link.wake.set()
        if hasattr(self, "subs"):
            log.debug("closing the source: unsubscribing (at most %.0f s)", CLOSE_UNSUBSCRIBE_S)
            # Bounded: during a 429 storm the topics stay; the next start's PUT replaces them.
            with contextlib.suppress(GcstreamError, aiohttp.ClientError, TimeoutError):
                async with asyncio.timeout(CLOSE_UNSUBSCRIBE_S):
                    await self.subs.close(unsubscribe=self._started)
            self.subs.save()
        tasks = [*self._tasks, *(lk.task for lk in self._links if lk.task)]
        if not await cancel_and_wait(*tasks, timeout=CLOSE_TASKS_S):
            log.warning("some notification tasks did not stop within %.0f s of close", CLOSE_TASKS_S)
        # Every socket still open: the links' current ones and replaced ones whose retirement
        # was cut short by the cancellation above.
        sockets = [*self._open_sockets, *(lk.socket for lk in self._links if lk.socket is not None)]
        log.debug("closing %d socket(s)", len(set(sockets)))
        await asyncio.gather(*(self._close_socket(s) for s in set(sockets)), return_exceptions=True)
        self.buffer.close()
        if self._own_session and self._session is not None:
            await self._session.close()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _fatal(self, exc: BaseException) -> None:
        log.error("notifications source failed: %s", exc)
        self.buffer.fail(exc)

    def _died(self, task: asyncio.Task[Any]) -> None:
        """A link supervisor or the maintenance task ended by an unexpected exception: without it
        nothing reconnects (or refreshes the token) any more, so fail loudly rather than leave the
        consumer waiting for frames that never come."""
        if task.cancelled() or self._closing:
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s failed", task.get_name(), exc_info=exc)
            self._fatal(ConnectionLostError(f"{task.get_name()} failed unexpectedly: {exc!r}"))

    # -- channels and links -----------------------------------------------------------------

    async def _on_channel(self, channel: Channel, replaces: Channel | None) -> None:
        """A channel became usable: give it a link and wait (bounded) for its first socket."""
        link = next((lk for lk in self._links if replaces is not None and lk.channel is replaces), None)
        if link is not None:
            # A replacement: the link's supervisor (often the caller, recovering) reconnects it.
            link.channel = channel
            if not link.recovering:
                link.ask("switch")
            return
        if any(lk.channel is channel for lk in self._links):
            return
        b = self.settings.backoff
        link = _Link(channel, Backoff(b.initial, b.maximum, b.multiplier, b.jitter, rng=self._rng))
        self._links.append(link)
        link.task = asyncio.get_running_loop().create_task(
            self._supervise(link), name=f"gcstream-link-{channel.id}"
        )
        link.task.add_done_callback(self._died)
        if self._closing:
            return
        # Subscribing before the socket is open would lose what is published in between.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.watchdog.open_timeout * 2):
                await link.connected.wait()

    async def _supervise(self, link: _Link) -> None:
        delay = 0.0
        max_attempts = self.settings.backoff.max_attempts
        failures = 0
        while not self._closing:
            if delay > 0:
                link.delays.append(delay)
                await asyncio.sleep(delay)
            if self._closing:
                return
            channel = link.channel
            link.connecting = True
            try:
                sock = await self._open(channel, link)
            except InvalidStatus as exc:
                # The channel refused the upgrade: expired, evicted, or bound to a dead token.
                self.counters["connect_failures"] += 1
                log.warning("socket to channel %s refused (HTTP %s)", channel.id, exc.response.status_code)
                failures += 1
                await self._recover(link)
                # A replacement channel is connected at once (its topics are already on it);
                # the same channel again only after a backoff.
                delay = link.backoff.next_delay() if link.channel is channel else 0.0
                continue
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                self.counters["connect_failures"] += 1
                failures += 1
                if max_attempts is not None and failures >= max_attempts:
                    self._fatal(
                        ConnectionLostError(
                            f"cannot connect to channel {channel.id}: {describe_io_error(exc)}"
                        )
                    )
                    return
                delay = link.backoff.next_delay()
                log.warning("socket to channel %s failed (%r); retrying in %.2f s", channel.id, exc, delay)
                continue
            finally:
                link.connecting = False
            failures = 0
            old, link.socket = link.socket, sock
            link.connected.set()
            if old is not None:
                link.reconnects += 1
                self.counters["reconnects"] += 1
                self._retire(old)
            reason = await self._watch(link, sock)
            if reason == "stop":
                return
            if reason in ("handover", "switch"):
                delay = 0.0
            elif reason == "recover":
                await self._recover(link)
                delay = 0.0
            elif reason == "dead":
                self.counters["watchdog_timeouts"] += 1
                delay = link.backoff.next_delay()
            else:  # closed
                code = sock.close_code
                # A dead channel answers {"result":"404"} and closes with 1000: not a planned
                # close. Reconnecting to it at once, whatever recovery found, is a reconnect loop
                # as fast as the network allows.
                planned = code in PLANNED_CLOSE_CODES and sock.frames > 0 and not sock.not_found
                delay = 0.0 if planned else link.backoff.next_delay()
                if sock.frames <= 1:
                    # Closed before anything but (perhaps) {"result":"404"}: check the channel,
                    # and connect to its replacement, if it has one, at once.
                    await self._recover(link)
                    if link.channel is not channel:
                        delay = 0.0
                log.info(
                    "socket %d on %s closed (code %s); reconnecting in %.2f s",
                    sock.id,
                    channel.id,
                    code,
                    delay,
                )
                if self.settings.recover_in_flight and not planned:
                    # Calls that started while we were away were announced to nobody.
                    self._spawn(self._recover_calls(), "gcstream-recover-calls")

    async def _recover(self, link: _Link) -> None:
        self.counters["recoveries"] += 1
        old = link.channel
        link.recovering = True
        try:
            new = await self.subs.recover(link.channel)
        except GcstreamError as exc:
            if isinstance(exc, AuthError):
                self._fatal(exc)
            log.error("recovering channel %s failed: %s", link.channel.id, exc)
            return
        finally:
            link.recovering = False
        if new is not None and new is not link.channel:
            link.channel = new
        if new is not old and self.settings.recover_in_flight and not self._closing:
            # The channel was gone (evicted, expired): calls that started before its replacement
            # was subscribed were announced to nobody. Its sockets closed "planned" (1000 after
            # frames), so the closed branch of _supervise does not look for them.
            self._spawn(self._recover_calls(), "gcstream-recover-calls")
        if link.request in ("switch", "recover"):
            link.request = None  # just done

    async def _socket_subscribe(self, channel: Channel, topics: list[str]) -> bool:
        """Subscribe ``topics`` on ``channel`` over its socket: no REST budget, so new calls are
        not left waiting out a 429 storm. The PUT that follows confirms them. False when the
        channel has no open socket (the PUT will do it)."""
        link = next((lk for lk in self._links if lk.channel is channel), None)
        sock = link.socket if link is not None else None
        if self._closing or sock is None or sock.reader is None or sock.reader.done():
            return False
        for i in range(0, len(topics), SOCKET_SUBSCRIBE_BATCH):
            batch = topics[i : i + SOCKET_SUBSCRIBE_BATCH]
            self._correlation += 1
            message = json.dumps(
                {"message": "subscribe", "topics": batch, "correlationId": f"gcstream-{self._correlation}"}
            )
            try:
                async with asyncio.timeout(self.settings.watchdog.close_timeout):
                    await sock.ws.send(message)
            except (ConnectionClosed, TimeoutError):
                return False
            self.counters["socket_subscribes"] += 1
        log.info(
            "REST is rate-limited: subscribed %d topic(s) on channel %s over its socket",
            len(topics),
            channel.id,
        )
        return True

    async def _recover_calls(self) -> None:
        with contextlib.suppress(GcstreamError):
            if await self.discovery.recover():
                await self.subs.flush()

    async def _open(self, channel: Channel, link: _Link) -> SocketInfo:
        wd = self.settings.watchdog
        log.debug("opening a socket on channel %s", channel.id)
        # connectUri exactly as returned; no token: the channel id is the capability.
        ws = await connect(
            channel.connect_uri,
            open_timeout=wd.open_timeout,
            close_timeout=wd.close_timeout,
            ping_interval=None,
            max_size=self.settings.max_frame_bytes,
            compression=None,
            proxy=None,
            logger=WS_LOGGER,
        )
        now = self._clock()
        sock = SocketInfo(next(self._sockets), channel, ws, now, now, link=link)
        self.counters["sockets_opened"] += 1
        loop = asyncio.get_running_loop()
        sock.reader = loop.create_task(self._read(sock), name=f"gcstream-read-{sock.id}")
        self._open_sockets.add(sock)
        log.info("socket %d open on channel %s", sock.id, channel.id)
        return sock

    async def _read(self, sock: SocketInfo) -> None:
        buffer = self.buffer
        clock = self._clock
        try:
            async for message in sock.ws:
                sock.last_rx = clock()
                sock.frames += 1
                if sock.frames == 1 and _is_not_found(message):
                    sock.not_found = True
                frame = Frame(message, wall_ms(), sock)
                if buffer.full():
                    sock.blocked = True
                    await buffer.put(frame)
                    sock.blocked = False
                    sock.last_rx = clock()
                else:
                    await buffer.put(frame)
        except ConnectionClosed:
            pass
        finally:
            sock.close_code = sock.ws.close_code if sock.ws.close_code is not None else 1006
            if sock.link is not None:
                sock.link.wake.set()

    async def _watch(self, link: _Link, sock: SocketInfo) -> str:
        interval = self.settings.watchdog.interval
        step = min(interval / 4, 1.0)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(step):
                    await link.wake.wait()
            link.wake.clear()
            if self._closing:
                return "stop"
            if link.request is not None:
                what, link.request = link.request, None
                if what == "handover":
                    self.counters["handovers"] += 1
                return what
            if sock.reader is not None and sock.reader.done():
                return "closed"
            now = self._clock()
            if sock.blocked:
                continue  # idle because the consumer is behind, not because the socket is dead
            idle = now - sock.last_rx
            if sock.frames and not sock.not_found and link.backoff.attempts:
                link.backoff.reset()  # the channel works end to end again
            if idle >= 2 * interval:
                log.warning("no heartbeat, pong or data on socket %d for %.1f s; reconnecting", sock.id, idle)
                return "dead"
            if idle >= interval and (sock.ping_sent_at is None or sock.ping_sent_at < sock.last_rx):
                sock.ping_sent_at = now
                self.counters["pings"] += 1
                # Bounded: the watchdog itself must never wait on a socket (a send blocks while
                # the send buffer is full); a ping that cannot go out leaves the socket to the
                # 2 x interval rule above.
                with contextlib.suppress(ConnectionClosed, TimeoutError):
                    async with asyncio.timeout(self.settings.watchdog.close_timeout):
                        await sock.ws.send(PING)

    def _retire(self, sock: SocketInfo) -> None:
        """Close a replaced socket after a short grace (it may still deliver frames in flight)."""
        sock.retired = True

        async def later() -> None:
            if sock.reader is not None and not sock.reader.done():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HANDOVER_GRACE_S):
                        await asyncio.shield(sock.reader)
            await self._close_socket(sock)

        self._spawn(later(), f"gcstream-retire-{sock.id}")

    async def _close_socket(self, sock: SocketInfo) -> None:
        """Close ``sock`` and stop its reader, bounded by the close timeout (plus a margin)."""
        wd = self.settings.watchdog
        try:
            # websockets bounds the closing handshake by close_timeout, but not a write that
            # waits for a full send buffer: bound the whole thing, then drop the connection.
            async with asyncio.timeout(wd.close_timeout + 1.0):
                await sock.ws.close()
        except TimeoutError:
            with contextlib.suppress(Exception):
                sock.ws.transport.abort()
        except Exception:  # closing a broken socket: nothing left to do
            pass
        await cancel_and_wait(sock.reader, timeout=wd.close_timeout)
        self._open_sockets.discard(sock)

    # -- reactions ----------------------------------------------------------------------------

    def react(self, frame: Frame, record: object) -> None:
        """Act on a control or conversation record the engine produced for ``frame``."""
        kind: str
        if type(record) is Control:
            kind = record.kind
            sock = frame.origin if isinstance(frame.origin, SocketInfo) else None
            if kind == "heartbeat":
                self.counters["heartbeats"] += 1
                if sock is not None:
                    sock.heartbeats += 1
            elif kind == "pong":
                self.counters["pongs"] += 1
                if sock is not None:
                    sock.pongs += 1
            elif kind == "socket_closing":
                self.counters["socket_closing"] += 1
                if sock is not None and sock.link is not None and sock.link.socket is sock:
                    log.info("socket_closing on socket %d: opening its replacement first", sock.id)
                    sock.link.ask("handover")
            elif kind in ("no_longer_subscribed", "channel_not_found"):
                self.counters[kind] += 1
                link = sock.link if sock is not None else None
                # A socket we replaced hears no_longer_subscribed when its successor connects:
                # that is our own handover, not a lost channel.
                if link is not None and link.socket is sock and not link.connecting:
                    link.ask("recover")
            elif kind == "token_revoked":
                self.counters["token_revoked"] += 1
                self.auth.invalidate()
                for link in self._links:
                    link.ask("recover")
            elif kind == "subscribe_error":
                log.warning("the socket refused a request: %s", record.message)
        elif type(record) is ConversationUpdate:
            self.discovery.on_update(record.kind, record.conversation_id)

    # -- maintenance ---------------------------------------------------------------------------

    async def _maintain(self) -> None:
        step = min(self.settings.watchdog.interval / 4, 1.0)
        fraction = self.settings.rollover_fraction
        while True:
            await asyncio.sleep(step)
            try:
                now = self._clock()
                self.discovery.tick(now)
                if self.auth.due(now):
                    await self.auth.token()
                if self.auth.generation != self._auth_generation:
                    self._auth_generation = self.auth.generation
                    self.counters["token_refreshes"] += 1
                    for ch in list(self.subs.channels):
                        if ch.alive and not await self.subs.check(ch):
                            link = next((lk for lk in self._links if lk.channel is ch), None)
                            if link is not None:
                                link.ask("recover")
                for ch in list(self.subs.channels):
                    if ch.alive and ch.renew_due(self._clock(), fraction):
                        self.counters["renewals"] += 1
                        log.info("renewing channel %s (resubscribe before its lifetime ends)", ch.id)
                        await self.subs.renew(ch)
            except asyncio.CancelledError:
                raise
            except AuthError as exc:
                self._fatal(exc)
                return
            except GcstreamError as exc:
                log.error("maintenance failed: %s", exc)

    # -- introspection -------------------------------------------------------------------------

    def sockets(self) -> list[SocketInfo]:
        """Return the current socket of every link."""
        return [lk.socket for lk in self._links if lk.socket is not None]

    def reconnect_delays(self) -> list[float]:
        """Every delay a link waited before reconnecting, in order."""
        return [d for lk in self._links for d in lk.delays]

    def stats(self) -> dict[str, Any]:
        """Return counters: sockets, reconnects, REST use, channels, subscriptions, discovery."""
        out: dict[str, Any] = dict(self.counters)
        if hasattr(self, "rest"):
            r = self.rest.stats
            out.update(
                rest_requests=r.requests,
                rest_rate_limited=r.rate_limited,
                rest_retried=r.retried,
                rest_by_route=dict(r.by_route),
                token_requests=self.auth.requests,
            )
        if hasattr(self, "subs"):
            out.update(
                channels=[c.id for c in self.subs.channels if c.alive],
                channels_created=self.subs.channels_created,
                channels_reused=self.subs.channels_reused,
                topics=len(self.subs.desired),
                rejections=len(self.subs.rejections),
                topics_via_socket=self.subs.socket_subscribed,
            )
        if hasattr(self, "discovery"):
            out.update(
                conversations_active=len(self.discovery.active),
                discovered=self.discovery.discovered,
                recovered=self.discovery.recovered,
                conversations_ended=self.discovery.ended,
            )
        out["buffer_blocked_puts"] = self.buffer.blocked_puts
        return out


_QUEUE_TOPIC: Final = ("v2.routing.queues.", ".conversations")
_USER_TOPIC: Final = ("v2.users.", ".conversations")


def _is_not_found(message: str | bytes) -> bool:
    """True for the frame a dead channel's socket sends before closing: ``{"result":"404",...}``."""
    head = message[:128] if isinstance(message, str) else message[:128].decode("utf-8", "replace")
    return '"result"' in head and '"404"' in head


def _invalid_targets(rejections: list[Rejection]) -> ConfigError:
    """A ConfigError naming the queues/users whose discovery topics the platform called invalid."""
    queues: list[str] = []
    users: list[str] = []
    for r in rejections:
        for (prefix, suffix), out in ((_QUEUE_TOPIC, queues), (_USER_TOPIC, users)):
            if r.topic.startswith(prefix) and r.topic.endswith(suffix):
                out.append(r.topic[len(prefix) : -len(suffix)])
    field = "genesys.queues" if queues or not users else "genesys.users"
    named = ", ".join([f"queue {q!r}" for q in queues] + [f"user {u!r}" for u in users]) or ", ".join(
        r.topic for r in rejections
    )
    return ConfigError(
        f"{field}: Genesys Cloud rejected the discovery topic of {named} ({rejections[0].reason}): "
        "queues and users are given by id (a UUID), not by name",
        field=field,
    )
