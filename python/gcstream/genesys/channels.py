"""Notification channels and their subscriptions: reuse, sharding, batching, rejections.

Genesys limits (research/genesys-real-api.md §1.8-1.9): 20 channels per user + OAuth client (the
21st evicts the least recently used, possibly another consumer's), 1,000 topics per channel, one
socket per channel, 24 h life extended by resubscribing, 300 REST calls a minute per token.

# Theory of operation

``Subscriptions`` keeps the *desired* topic set. :meth:`Subscriptions.add` and
:meth:`Subscriptions.remove` only edit that set and wake the flusher; the flusher waits
``debounce`` seconds so that a burst of changes becomes one request per channel, then
reconciles: topics that left the set are taken off their channel, new ones are placed on the
first channel with room (at most ``max_topics`` each), creating channels up to ``max_channels``.
Each changed channel gets one ``PUT .../subscriptions?ignoreErrors=true`` with its whole list, so
the server's list always equals ours (no leaks, and a lost or retried request cannot leave stale
topics behind); a PUT retried after a ``Retry-After`` wait sends the list wanted *then*. Topics the
server rejects are dropped from the set and reported.

While REST is rate-limited (a 429's ``Retry-After`` is running, or the budget is spent), new
topics do not wait for it: with a ``socket_subscribe`` hook they are placed at once on a channel
with room and subscribed over that channel's WebSocket (``{"message":"subscribe",...}``, which
costs no REST budget). The PUT that follows confirms them (and reports rejections) as usual.

Channel ids are persisted (:class:`ChannelStore`) so that a restart checks them with ``HEAD``
and reuses them instead of creating new ones and burning the shared 20-channel budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from gcstream._aio import cancel_and_wait
from gcstream.exceptions import ApiError, GcstreamError
from gcstream.genesys.rest import RestClient

__all__ = [
    "CHANNEL_BUDGET",
    "TRANSCRIPTION_PERMISSION",
    "Channel",
    "ChannelStore",
    "Rejection",
    "Subscriptions",
    "parse_expires",
]

log = logging.getLogger("gcstream.genesys.channels")

CHANNEL_BUDGET: Final = 20
"""Channels per user + OAuth client before Genesys evicts the least recently used."""
DEFAULT_LIFETIME_S: Final = 24 * 3600.0
TRANSCRIPTION_PERMISSION: Final = "conversation:transcription:view"
_CHANNELS: Final = "/api/v2/notifications/channels"


def parse_expires(text: Any) -> float | None:
    """Return the epoch seconds of a channel's ISO-8601 ``expires``, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(eq=False, slots=True)
class Channel:
    """One notification channel we own.

    Attributes:
        id: Channel id (``streaming-0-...``).
        connect_uri: The WebSocket URL exactly as returned; never built by hand.
        lifetime: Seconds it lives after creation or a resubscribe (from ``expires``).
        renewed_at: Monotonic time of creation or the last resubscribe.
        topics: Topics placed on it (the desired list).
        applied: Topics the server confirmed at the last PUT.
        via_socket: Topics subscribed over the socket since the last PUT (not yet confirmed).
        dirty: Needs a PUT.
        alive: False once the server has forgotten it (404).
        replaced_by: The channel that took over its topics once it was found gone.
    """

    id: str
    connect_uri: str
    lifetime: float = DEFAULT_LIFETIME_S
    renewed_at: float = 0.0
    topics: set[str] = field(default_factory=set)
    applied: frozenset[str] = frozenset()
    via_socket: set[str] = field(default_factory=set)
    dirty: bool = True
    alive: bool = True
    replaced_by: Channel | None = None

    def renew_due(self, now: float, fraction: float) -> bool:
        """True once ``fraction`` of its life has passed since the last renewal."""
        return now >= self.renewed_at + self.lifetime * fraction

    def __repr__(self) -> str:
        return f"Channel(id={self.id!r}, topics={len(self.topics)}, alive={self.alive})"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A topic the server refused.

    Attributes:
        topic: The topic.
        reason: The server's ``rejectionReason`` (or ``capacity`` when every channel is full).
        missing_permissions: Permissions the OAuth client's role lacks for it.
    """

    topic: str
    reason: str
    missing_permissions: tuple[str, ...] = ()


class ChannelStore:
    """Channel ids kept in a JSON file between runs, per API base URL and OAuth client.

    The file is written atomically (temp file + rename) with mode 0600. It holds ids, connect
    URIs and lifetimes, never tokens.
    """

    VERSION: Final = 1

    def __init__(self, path: str | os.PathLike[str], *, api_base: str, client_id: str) -> None:
        self.path = Path(path)
        self._key = f"{api_base.rstrip('/')}|{client_id}"

    def load(self) -> list[dict[str, Any]]:
        """Return the stored channels for this org and client (empty if none or unreadable)."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable channel state %s: %s", self.path, exc)
            return []
        if not isinstance(doc, dict) or doc.get("version") != self.VERSION:
            return []
        entries = doc.get("owners", {}).get(self._key, [])
        return [e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]

    def save(self, channels: Iterable[Channel]) -> None:
        """Replace this org/client's entry with ``channels`` (others' entries are kept)."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("version") != self.VERSION:
                doc = {}
        except (OSError, ValueError):
            doc = {}
        owners = doc.get("owners") if isinstance(doc.get("owners"), dict) else {}
        assert isinstance(owners, dict)
        owners[self._key] = [
            {"id": c.id, "connectUri": c.connect_uri, "lifetime": c.lifetime, "savedAt": time.time()}
            for c in channels
            if c.alive
        ]
        doc = {"version": self.VERSION, "owners": owners}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".channels-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


ChannelListener = Callable[[Channel, "Channel | None"], Awaitable[None]]
"""Called with (new channel, the channel it replaces or None) when a channel becomes usable."""
SocketSubscriber = Callable[[Channel, list[str]], Awaitable[bool]]
"""Subscribes topics on a channel over its WebSocket; False when it could not (no open socket)."""


class Subscriptions:
    """Desired topics, placed over channels, applied in debounced batches.

    Args:
        rest: The REST client (shares the rate limit).
        max_channels: Channels this process may own (<= 20).
        max_topics: Topics per channel (<= 1,000).
        debounce: Seconds to gather changes before applying them.
        store: Where channel ids persist across restarts (None: nowhere).
        on_channel: Told about every new or replacement channel (the source opens a socket).
        socket_subscribe: Subscribes topics over a channel's socket while REST is rate-limited
            (None: REST only).
        clock: Monotonic clock.
    """

    def __init__(
        self,
        rest: RestClient,
        *,
        max_channels: int = 4,
        max_topics: int = 1000,
        debounce: float = 0.1,
        store: ChannelStore | None = None,
        on_channel: ChannelListener | None = None,
        socket_subscribe: SocketSubscriber | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= max_channels <= CHANNEL_BUDGET:
            raise ValueError(f"max_channels must be 1..{CHANNEL_BUDGET}")
        self.rest = rest
        self.max_channels = max_channels
        self.max_topics = max_topics
        self.debounce = debounce
        self.store = store
        self.on_channel = on_channel
        self.socket_subscribe = socket_subscribe
        self._clock = clock
        self.channels: list[Channel] = []
        self.desired: set[str] = set()
        self.placement: dict[str, Channel] = {}
        self.rejections: dict[str, Rejection] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._socket_tasks: set[asyncio.Task[None]] = set()
        self._throttled = 0
        self.flushes = 0
        self.socket_subscribed = 0
        self.channels_created = 0
        self.channels_reused = 0
        self.errors: list[BaseException] = []

    # -- the desired set ----------------------------------------------------------------

    def add(self, topics: Iterable[str]) -> None:
        """Want these topics; applied within ``debounce`` seconds (or by :meth:`flush`), or at once
        over a socket while REST is rate-limited."""
        new = [t for t in dict.fromkeys(topics) if t not in self.rejections and t not in self.desired]
        if not new:
            return
        self.desired.update(new)
        self._wake.set()
        if self.socket_subscribe is not None and self.congested():
            self._place_now(new)

    def congested(self) -> bool:
        """True while REST calls have to wait for the rate limit (a PUT is waiting out a 429, or a
        request made now would wait)."""
        return self._throttled > 0 or self.rest.limiter.delay() > 0

    def _place_now(self, topics: list[str]) -> None:
        """Place ``topics`` on channels with room now and subscribe them over those channels'
        sockets (creating a channel needs REST: topics without room wait for the flusher)."""
        touched: dict[Channel, None] = {}
        for topic in topics:
            if topic in self.placement:
                continue
            ch = next((c for c in self.channels if c.alive and len(c.topics) < self.max_topics), None)
            if ch is None:
                break
            ch.topics.add(topic)
            ch.dirty = True
            self.placement[topic] = ch
            touched[ch] = None
        for ch in touched:
            task = asyncio.get_running_loop().create_task(
                self._subscribe_over_socket(ch), name=f"gcstream-socket-subscribe-{ch.id}"
            )
            self._socket_tasks.add(task)
            task.add_done_callback(self._socket_tasks.discard)

    async def _subscribe_over_socket(self, ch: Channel) -> None:
        """Subscribe ``ch``'s topics that no PUT confirmed yet over its socket (no REST budget)."""
        if self.socket_subscribe is None or not ch.alive:
            return
        topics = sorted(ch.topics - ch.applied - ch.via_socket)
        if not topics:
            return
        ch.via_socket.update(topics)  # claimed now: a concurrent caller does not send them again
        try:
            sent = await self.socket_subscribe(ch, topics)
        except BaseException:
            ch.via_socket.difference_update(topics)
            raise
        if sent:
            self.socket_subscribed += len(topics)
        else:
            ch.via_socket.difference_update(topics)

    def remove(self, topics: Iterable[str]) -> None:
        """No longer want these topics."""
        before = len(self.desired)
        self.desired.difference_update(topics)
        if len(self.desired) != before:
            self._wake.set()

    def pending(self) -> bool:
        """True while some change has not been applied yet."""
        placed = set(self.placement)
        return placed != self.desired or any(c.dirty for c in self.channels if c.alive)

    # -- lifecycle ----------------------------------------------------------------------

    async def restore(self) -> None:
        """Check stored channel ids with ``HEAD``; keep the live ones (up to ``max_channels``)."""
        if self.store is None:
            log.debug("no channel_state_path: channels are created afresh, not reused")
            return
        stored = self.store.load()[: self.max_channels]
        log.debug("checking %d stored channel(s) for reuse", len(stored))
        for entry in stored:
            ch = Channel(
                id=entry["id"],
                connect_uri=str(entry.get("connectUri", "")),
                lifetime=float(entry.get("lifetime", DEFAULT_LIFETIME_S)),
                renewed_at=self._clock(),
                dirty=True,
            )
            if ch.connect_uri and await self.check(ch):
                log.info("reusing notification channel %s", ch.id)
                self.channels.append(ch)
                self.channels_reused += 1
            else:
                log.info("stored channel %s is gone; it will not be reused", ch.id)
        self._persist()

    def start(self) -> None:
        """Start the background flusher (debounced application of changes)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="gcstream-subscriptions")

    async def close(self, *, unsubscribe: bool = True) -> None:
        """Stop the flusher; with ``unsubscribe``, empty our channels (ids stay stored for reuse)."""
        # Not ``cancel(); suppress(CancelledError): await``: that would swallow a cancellation
        # of close() itself (the caller bounds it with a timeout).
        await cancel_and_wait(self._task, *self._socket_tasks)
        self._task = None
        if unsubscribe:
            for ch in self.channels:
                if ch.alive and (ch.applied or ch.via_socket):
                    log.debug("unsubscribing channel %s", ch.id)
                    try:
                        await self.rest.call(
                            "DELETE",
                            f"{_CHANNELS}/{ch.id}/subscriptions",
                            allow=(404,),
                            what="unsubscribe a channel",
                        )
                        ch.applied = frozenset()
                        ch.via_socket.clear()
                    except GcstreamError as exc:
                        log.warning("could not empty channel %s on close: %s", ch.id, exc)
        self._persist()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if self.debounce:
                await asyncio.sleep(self.debounce)
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Keep the change pending; it is retried on the next wake-up. Whatever the error,
                # the flusher must survive it: without it no subscription changes ever again.
                self.errors.append(exc)
                if isinstance(exc, GcstreamError):
                    log.error("applying subscriptions failed: %s", exc)
                else:
                    log.exception("applying subscriptions failed unexpectedly")
                await asyncio.sleep(max(self.debounce, 1.0))
                self._wake.set()

    # -- reconciliation -----------------------------------------------------------------

    async def flush(self) -> None:
        """Apply every pending change now: place topics, create channels, PUT changed lists."""
        async with self._lock:
            self.flushes += 1
            for topic in [t for t in self.placement if t not in self.desired]:
                old = self.placement.pop(topic)
                old.topics.discard(topic)
                old.dirty = True
            for topic in sorted(self.desired - set(self.placement)):
                if topic in self.placement or topic not in self.desired:
                    continue  # placed (or dropped) meanwhile, while a channel was being created
                ch = await self._room()
                if ch is None:
                    if topic not in self.rejections:
                        log.error(
                            "no channel capacity for %s (max_channels=%d x %d topics)",
                            topic,
                            self.max_channels,
                            self.max_topics,
                        )
                    continue
                ch.topics.add(topic)
                ch.dirty = True
                self.placement[topic] = ch
            for ch in list(self.channels):
                if ch.alive and ch.dirty:
                    await self._apply(ch)

    async def _room(self) -> Channel | None:
        for ch in self.channels:
            if ch.alive and len(ch.topics) < self.max_topics:
                return ch
        if sum(1 for c in self.channels if c.alive) >= self.max_channels:
            return None
        return await self._create()

    async def _create(self, replaces: Channel | None = None) -> Channel:
        await self._check_budget()
        resp = await self.rest.call("POST", _CHANNELS, what="create a notification channel")
        body = resp.body if isinstance(resp.body, dict) else {}
        cid, uri = body.get("id"), body.get("connectUri")
        if not isinstance(cid, str) or not isinstance(uri, str):
            raise ApiError("channel creation answered without id/connectUri", status=resp.status)
        expires = parse_expires(body.get("expires"))
        lifetime = max(1.0, expires - time.time()) if expires is not None else DEFAULT_LIFETIME_S
        ch = Channel(id=cid, connect_uri=uri, lifetime=lifetime, renewed_at=self._clock())
        self.channels.append(ch)
        self.channels_created += 1
        log.info("created notification channel %s (lives %.0f s)", cid, lifetime)
        self._persist()
        if self.on_channel is not None:
            await self.on_channel(ch, replaces)
        return ch

    async def _check_budget(self) -> None:
        # Creating the 21st channel of this OAuth client evicts the least recently used one,
        # idle channels first. Warn: it may belong to another consumer of the same client.
        try:
            resp = await self.rest.call(
                "GET",
                _CHANNELS,
                params={"includechannels": "oauthclient"},
                allow=(400, 404, 405),
                what="list notification channels",
            )
        except ApiError:
            return
        entities = resp.body.get("entities") if isinstance(resp.body, dict) else None
        if isinstance(entities, list) and len(entities) >= CHANNEL_BUDGET:
            log.warning(
                "this OAuth client already has %d channels; creating one more makes Genesys evict the "
                "least recently used (idle ones first), which may belong to another consumer",
                len(entities),
            )

    async def _apply(self, ch: Channel) -> None:
        topics: list[str] = []
        throttled = False

        def body() -> list[dict[str, str]]:
            # Built at every attempt: after a Retry-After wait the PUT carries the topics wanted
            # now (a stale list would drop what was subscribed over the socket meanwhile).
            topics[:] = sorted(ch.topics)
            return [{"id": t} for t in topics]

        async def meanwhile(wait: float) -> None:
            nonlocal throttled
            if not throttled:
                throttled = True
                self._throttled += 1
            await self._subscribe_over_socket(ch)

        try:
            resp = await self.rest.call(
                "PUT",
                f"{_CHANNELS}/{ch.id}/subscriptions",
                params={"ignoreErrors": "true"},
                make_json=body,
                allow=(404,),
                permission=TRANSCRIPTION_PERMISSION,
                what="subscribe topics",
                on_wait=meanwhile if self.socket_subscribe is not None else None,
            )
        finally:
            if throttled:
                self._throttled -= 1
        if resp.status == 404:
            await self.replace(ch)
            return
        ch.renewed_at = self._clock()
        permitted: set[str] = set()
        entities = resp.body.get("entities") if isinstance(resp.body, dict) else None
        for ent in entities if isinstance(entities, list) else []:
            if not isinstance(ent, dict) or not isinstance(ent.get("id"), str):
                continue
            if str(ent.get("state", "Permitted")).lower() == "rejected":
                self._reject(ch, ent)
            else:
                permitted.add(ent["id"])
        if entities is None:
            permitted = set(ch.topics)
        ch.applied = frozenset(permitted & ch.topics)
        log.debug("channel %s: %d topic(s) subscribed over REST", ch.id, len(ch.applied))
        # The PUT's list is the server's list now: what it carried is confirmed (or rejected),
        # and what left ch meanwhile goes with the next PUT.
        ch.via_socket = (ch.via_socket - set(topics)) & ch.topics
        ch.dirty = ch.topics != set(topics)

    def _reject(self, ch: Channel, ent: dict[str, Any]) -> None:
        topic = ent["id"]
        missing = tuple(str(p) for p in ent.get("missingPermissions") or ())
        rej = Rejection(topic, str(ent.get("rejectionReason") or "rejected"), missing)
        if topic not in self.rejections:
            hint = f"; add {', '.join(missing)} to the OAuth client's role" if missing else ""
            log.warning("topic %s rejected: %s%s", topic, rej.reason, hint)
        self.rejections[topic] = rej
        self.desired.discard(topic)
        if self.placement.get(topic) is ch:
            del self.placement[topic]
        ch.topics.discard(topic)

    # -- channel health -----------------------------------------------------------------

    async def check(self, ch: Channel) -> bool:
        """``HEAD`` the channel (this also keeps it bound to the current token); False if gone."""
        resp = await self.rest.call("HEAD", f"{_CHANNELS}/{ch.id}", allow=(404,), what="check a channel")
        return resp.status < 300

    async def renew(self, ch: Channel) -> None:
        """Resubscribe ``ch``'s topics: extends its 24 h life (the documented way)."""
        async with self._lock:
            if ch.alive:
                ch.dirty = True
                await self._apply(ch)

    async def replace(self, ch: Channel) -> Channel | None:
        """``ch`` is gone on the server: move its topics to a new channel. Returns the new one.

        Raises:
            GcstreamError: The new channel could not be created; ``ch`` is kept (dirty) so that
                the next flush or recovery tries again instead of stranding its topics.
        """
        if not ch.alive:
            return ch.replaced_by
        at = self.channels.index(ch)
        ch.alive = False
        self.channels.remove(ch)
        log.warning("channel %s is gone (expired or evicted); replacing it", ch.id)
        try:
            new = await self._create(replaces=ch)
        except GcstreamError:
            ch.alive = True
            ch.dirty = True
            self.channels.insert(at, ch)
            raise
        ch.replaced_by = new
        for topic in ch.topics:
            if self.placement.get(topic) is ch:
                self.placement[topic] = new
        new.topics = set(ch.topics)
        ch.topics = set()
        await self._apply(new)
        return new

    async def recover(self, ch: Channel) -> Channel | None:
        """After ``no_longer_subscribed``/``channel_not_found``/a refused socket: check ``ch``;
        resubscribe it if it lives, replace it if not. Returns the channel to use."""
        async with self._lock:
            # Never another channel than ch's own replacement: handing a link a channel another
            # link owns makes the two sockets replace each other (one socket per channel).
            if not ch.alive:
                return ch.replaced_by
            if await self.check(ch):
                ch.dirty = True
                await self._apply(ch)
                return ch if ch.alive else ch.replaced_by
            return await self.replace(ch)

    def save(self) -> None:
        """Write the channel ids to the store now."""
        self._persist()

    def _persist(self) -> None:
        if self.store is not None:
            try:
                self.store.save(self.channels)
            except OSError as exc:
                log.warning("cannot write channel state %s: %s", self.store.path, exc)
