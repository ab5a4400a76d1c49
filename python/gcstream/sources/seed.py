"""Seed-style WebSocket sources: bearer header, ``subscribe`` → ``subscribed`` handshake.

The seed tutorials (DESIGN §5) describe transcript streams that are not the real Notifications
API but share its problems. One generic source serves them all; the factories fill in the seed's
path, subscribe message and wire format:

===============================  ====  ===================================================
factory                          seed  handshake
===============================  ====  ===================================================
:meth:`SeedSource.interaction`   000   ``{"type":"subscribe","interactionId":..}`` → ``{"type":"subscribed"}``
:meth:`SeedSource.media`         001   ``POST /api/v2/media/transcriptions`` (activation, 201),
                                       then ``{"action":"subscribe",..}`` (no acknowledgment)
:meth:`SeedSource.segments`      002   ``{"type":"subscribe","id":..,"participantId":..}`` → ``subscribed``
===============================  ====  ===================================================

Each stream is one socket. At most ``max_concurrent_streams`` are open at once (seed 000's
``maxConcurrentStreams``); the others wait for a slot, which frees when a stream ends (the
server reports it inactive, or the engine reports the conversation ended). Sockets reconnect
with backoff and repeat the handshake; a missing ack within ``ack_timeout`` counts as a failure.
The token goes in the ``Authorization`` header, never in the URL or a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Self

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from gcstream._core import ConversationUpdate
from gcstream.auth import ClientCredentials, TokenSource
from gcstream.exceptions import AuthError, ConnectionLostError, GcstreamError, RemoteProtocolError
from gcstream.genesys.ratelimit import RateLimiter
from gcstream.genesys.rest import RestClient
from gcstream.genesys.retry import Backoff
from gcstream.settings import GenesysSettings
from gcstream.sources.base import WS_LOGGER, Frame, FrameBuffer, wall_ms

__all__ = ["SeedSource", "SeedStream"]

log = logging.getLogger("gcstream.sources.seed")

INTERACTION_PATH: Final = "/api/v2/analytics/conversations/transcriptions"
MEDIA_ACTIVATE_PATH: Final = "/api/v2/media/transcriptions"
MEDIA_PATH: Final = "/api/v2/websocket"
SEGMENTS_PATH: Final = "/api/v2/interactions/transcription"
_INACTIVE_HINTS: Final = ("not active", "inactive", "not found")


@dataclass(frozen=True, slots=True)
class SeedStream:
    """One stream to hold open.

    Attributes:
        key: What the stream follows (interaction, conversation or media session id).
        path: WebSocket path under the base URL.
        subscribe: Message sent after the socket opens.
        ack: Wait for ``{"type":"subscribed"}`` after ``subscribe``.
        bearer: Send the token in the ``Authorization`` header.
        activation: ``(path, body)`` to POST (201) before connecting, once per stream.
    """

    key: str
    path: str
    subscribe: Mapping[str, Any]
    ack: bool = True
    bearer: bool = True
    activation: tuple[str, Mapping[str, Any]] | None = None


@dataclass(eq=False, slots=True)
class _Live:
    stream: SeedStream
    ws: ClientConnection | None = None
    done: bool = False
    activated: bool = False
    connects: int = 0
    delays: list[float] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class SeedSource:
    """Frames from seed-style WebSocket streams (see the module docs).

    Args:
        settings: Base URL and credentials (the simulator's, normally).
        streams: What to follow.
        wire_format: The engine wire format of these frames (``interaction``, ``media``, ``segments``).
        max_concurrent_streams: Sockets open at once.
        session: aiohttp session for the token and the activation call (default: owned).
        auth: Token source (default: client credentials from ``settings``).
        buffer_frames: Frames buffered ahead of the consumer.
        rng: Randomness for backoff jitter.
    """

    def __init__(
        self,
        settings: GenesysSettings,
        streams: Sequence[SeedStream],
        *,
        wire_format: str,
        max_concurrent_streams: int = 5,
        session: aiohttp.ClientSession | None = None,
        auth: TokenSource | None = None,
        buffer_frames: int = 64,
        rng: random.Random | None = None,
    ) -> None:
        if max_concurrent_streams < 1:
            raise ValueError("max_concurrent_streams must be >= 1")
        self.settings = settings
        self.wire_format = wire_format
        self.max_concurrent_streams = max_concurrent_streams
        self._streams = [_Live(s) for s in streams]
        self._session = session
        self._own_session = session is None
        self._auth = auth
        self._rng = rng or random.Random()
        self.buffer = FrameBuffer(buffer_frames)
        self._slots = asyncio.Semaphore(max_concurrent_streams)
        self._closing = False
        self.open_now = 0
        self.max_open = 0
        self.counters: dict[str, int] = {
            "connects": 0,
            "reconnects": 0,
            "ack_timeouts": 0,
            "activations": 0,
            "errors": 0,
            "streams_done": 0,
        }
        self.rest: RestClient

    # -- factories ----------------------------------------------------------------------------

    @classmethod
    def interaction(
        cls,
        settings: GenesysSettings,
        interaction_ids: Sequence[str],
        *,
        language: str = "en-US",
        model: str = "default",
        max_concurrent_streams: int = 5,
        **kwargs: Any,
    ) -> SeedSource:
        """Seed 000: one stream per interaction, ``maxConcurrentStreams`` at most."""
        streams = [
            SeedStream(
                iid,
                INTERACTION_PATH,
                {
                    "type": "subscribe",
                    "interactionId": iid,
                    "language": language,
                    "model": model,
                    "redaction": {"enabled": False, "type": "none"},
                    "maxConcurrentStreams": max_concurrent_streams,
                },
            )
            for iid in interaction_ids
        ]
        return cls(
            settings,
            streams,
            wire_format="interaction",
            max_concurrent_streams=max_concurrent_streams,
            **kwargs,
        )

    @classmethod
    def segments(
        cls,
        settings: GenesysSettings,
        participants: Sequence[tuple[str, str]],
        *,
        language: str = "en-us",
        **kwargs: Any,
    ) -> SeedSource:
        """Seed 002: one stream per (conversation id, participant id)."""
        streams = [
            SeedStream(
                f"{cid}/{pid}",
                SEGMENTS_PATH,
                {
                    "type": "subscribe",
                    "id": cid,
                    "participantId": pid,
                    "language": language,
                    "format": "json",
                    "includeAudioMetrics": True,
                    "includeInterruptionDetection": True,
                },
            )
            for cid, pid in participants
        ]
        return cls(settings, streams, wire_format="segments", **kwargs)

    @classmethod
    def media(
        cls,
        settings: GenesysSettings,
        media_session_ids: Sequence[str],
        *,
        language: str = "en-US",
        profanity_filter: bool = False,
        chunk_size: int = 1500,
        language_model: str = "conversational",
        **kwargs: Any,
    ) -> SeedSource:
        """Seed 001: activate each media session over REST, then subscribe it on a socket."""
        streams = [
            SeedStream(
                msid,
                MEDIA_PATH,
                {
                    "action": "subscribe",
                    "topics": ["conversation:transcription"],
                    "filter": {"mediaSessionId": msid},
                },
                ack=False,
                bearer=False,
                activation=(
                    MEDIA_ACTIVATE_PATH,
                    {
                        "mediaSessionId": msid,
                        "language": language,
                        "profanityFilter": profanity_filter,
                        "chunkSize": chunk_size,
                        "languageModel": language_model,
                    },
                ),
            )
            for msid in media_session_ids
        ]
        return cls(settings, streams, wire_format="media", **kwargs)

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Frame:
        """Return the next frame; stops when every stream is done."""
        return await self.buffer.get()

    async def start(self) -> None:
        """Get a token (fails fast on bad credentials) and start every stream's task."""
        s = self.settings
        ep = s.endpoints()
        if self._session is None:
            self._session = aiohttp.ClientSession()
        if self._auth is None:
            self._auth = ClientCredentials(
                self._session,
                ep.token_url,
                s.client_id,
                s.client_secret,
                refresh_margin=s.token_refresh_margin,
                timeout=s.http_timeout,
            )
        self.rest = RestClient(
            self._session, ep.api_base, self._auth, RateLimiter(s.requests_per_minute), timeout=s.http_timeout
        )
        self._ws_base = ep.api_base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        try:
            await self._auth.token()
        except BaseException:
            await self.close()
            raise
        loop = asyncio.get_running_loop()
        for live in self._streams:
            live.task = loop.create_task(self._run(live), name=f"gcstream-seed-{live.stream.key}")
        if not self._streams:
            self.buffer.close()

    async def close(self) -> None:
        """Close every socket and stop all tasks."""
        self._closing = True
        for live in self._streams:
            if live.task is not None:
                live.task.cancel()
        await asyncio.gather(*(lv.task for lv in self._streams if lv.task), return_exceptions=True)
        self.buffer.close()
        if self._own_session and self._session is not None:
            await self._session.close()

    def react(self, frame: Frame, record: object) -> None:
        """End a stream when the engine reports its conversation over (frees its slot)."""
        if type(record) is ConversationUpdate and record.kind in ("ended", "evicted"):
            live = frame.origin if isinstance(frame.origin, _Live) else None
            if live is not None and not live.done:
                self._finish(live, "conversation ended")

    def stats(self) -> dict[str, Any]:
        """Return counters, the number of open sockets and the most ever open at once."""
        return dict(
            self.counters,
            open=self.open_now,
            max_open=self.max_open,
            streams_done=sum(1 for lv in self._streams if lv.done),
        )

    # -- one stream ---------------------------------------------------------------------------

    def _finish(self, live: _Live, why: str) -> None:
        live.done = True
        self.counters["streams_done"] += 1
        log.info("stream %s done: %s", live.stream.key, why)
        if live.ws is not None:
            asyncio.get_running_loop().create_task(live.ws.close())
        if all(lv.done for lv in self._streams):
            self.buffer.close()

    async def _run(self, live: _Live) -> None:
        b = self.settings.backoff
        backoff = Backoff(b.initial, b.maximum, b.multiplier, b.jitter, rng=self._rng)
        auth_failures = 0
        try:
            async with self._slots:
                while not live.done and not self._closing:
                    try:
                        await self._session_once(live, backoff)
                        auth_failures = 0
                        delay = 0.0 if live.done else backoff.next_delay()
                    except InvalidStatus as exc:
                        status = exc.response.status_code
                        if status in (401, 403):
                            auth_failures += 1
                            assert self._auth is not None
                            self._auth.invalidate()
                            if auth_failures > 1:
                                raise AuthError(
                                    f"stream {live.stream.key}: socket refused the token (HTTP {status})",
                                    status=status,
                                ) from exc
                        delay = backoff.next_delay()
                    except (OSError, TimeoutError, InvalidHandshake, InvalidURI, RemoteProtocolError) as exc:
                        self.counters["errors"] += 1
                        delay = backoff.next_delay()
                        log.warning("stream %s: %r; retrying in %.2f s", live.stream.key, exc, delay)
                    if b.max_attempts is not None and backoff.attempts >= b.max_attempts:
                        raise ConnectionLostError(
                            f"stream {live.stream.key}: gave up after {backoff.attempts} attempts"
                        )
                    if delay and not live.done:
                        live.delays.append(delay)
                        await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except GcstreamError as exc:
            self.buffer.fail(exc)

    async def _session_once(self, live: _Live, backoff: Backoff) -> None:
        st = live.stream
        if st.activation is not None and not live.activated:
            path, body = st.activation
            resp = await self.rest.call(
                "POST", path, json=dict(body), allow=(404,), what="activate transcription"
            )
            if resp.status == 404:
                self._finish(live, "media session not found")
                return
            live.activated = True
            self.counters["activations"] += 1
        headers = {}
        if st.bearer:
            assert self._auth is not None
            headers["Authorization"] = f"Bearer {await self._auth.token()}"
        wd = self.settings.watchdog
        ws = await connect(
            self._ws_base + st.path,
            additional_headers=headers,
            open_timeout=wd.open_timeout,
            close_timeout=wd.close_timeout,
            max_size=self.settings.max_frame_bytes,
            compression=None,
            proxy=None,
            logger=WS_LOGGER,
        )
        live.ws = ws
        live.connects += 1
        self.counters["connects"] += 1
        if live.connects > 1:
            self.counters["reconnects"] += 1
        self.open_now += 1
        self.max_open = max(self.max_open, self.open_now)
        try:
            await ws.send(json.dumps(st.subscribe))
            if st.ack and not await self._await_ack(live, ws):
                return
            backoff.reset()
            async for message in ws:
                await self.buffer.put(Frame(message, wall_ms(), live))
        except ConnectionClosed:
            pass
        finally:
            self.open_now -= 1
            live.ws = None
            with contextlib.suppress(Exception):
                await ws.close()

    async def _await_ack(self, live: _Live, ws: ClientConnection) -> bool:
        """Wait for ``subscribed``; True to go on reading, False when the stream is over."""
        try:
            async with asyncio.timeout(self.settings.watchdog.ack_timeout):
                while True:
                    raw = await ws.recv()
                    try:
                        msg = json.loads(raw)
                    except ValueError:
                        continue
                    kind = msg.get("type") if isinstance(msg, dict) else None
                    if kind == "subscribed":
                        return True
                    if kind == "error":
                        text = str(msg.get("message") or msg.get("error") or "error")
                        self.counters["errors"] += 1
                        if any(h in text.lower() for h in _INACTIVE_HINTS):
                            self._finish(live, text)
                            return False
                        raise RemoteProtocolError(f"stream {live.stream.key}: subscribe refused: {text}")
                    # A data frame before the ack: keep it.
                    await self.buffer.put(Frame(raw, wall_ms(), live))
        except TimeoutError:
            self.counters["ack_timeouts"] += 1
            raise TimeoutError(f"no `subscribed` ack within {self.settings.watchdog.ack_timeout} s") from None
