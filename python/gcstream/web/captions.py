"""The live-captions hub: records in, caption events out to every connected browser.

Theory of operation. The hub keeps a small picture of what is on screen: per conversation its
status, the utterance partials in progress and the last ``keep_finals`` final utterances. Each
record published changes that picture and becomes one event, broadcast to every subscriber's
bounded queue. A browser that falls behind (its queue is full) is not allowed to hold anything
up: its queue is cleared and it gets a fresh ``snapshot`` instead, and the skipped events are
counted as dropped. A browser that connects gets the snapshot first, then live events.

Events (``type`` key; all text already redacted by the engine, PII shown as its tag):

* ``snapshot``      ``{conversations: [conversation...]}``
* ``conversation``  ``{conversation}`` started, status changed or ended
* ``partial``       ``{caption}`` interim text of an utterance (replaced by later partials)
* ``final``         ``{caption, conversation}`` the final text of an utterance (replaces its
  partial) and the conversation's updated counts
* ``notice``        ``{conversation_id, kind, detail}`` a gap, rejected input or quality flag
* ``stats``         counters for the header (records, PII by kind, latency quantiles)

A caption is ``{conversation_id, utterance_id, speaker (agent|customer|both|unknown), channel,
text, confidence, latency_ms, flags, pii, start_ms, end_ms, final}``.

Next: give the hub to :func:`gcstream.web.app.build_app` and call :meth:`CaptionsHub.publish`
with the records as they come (the captions sink does that inside a pipeline).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import gcstream

__all__ = ["CaptionsHub", "Subscription", "caption_of", "speaker_of"]

log = logging.getLogger("gcstream.web.captions")

SPEAKERS: Final = {"INTERNAL": "agent", "EXTERNAL": "customer", "BOTH": "both"}
"""Genesys channels as the page names them (EXTERNAL is the customer, INTERNAL the agent/IVR)."""


def speaker_of(channel: str) -> str:
    """Return ``agent``, ``customer``, ``both`` or ``unknown`` for a Genesys ``channel``."""
    return SPEAKERS.get(channel.upper(), "unknown")


def caption_of(record: gcstream.Utterance | gcstream.Partial) -> dict[str, Any]:
    """Return the caption of an utterance or partial (decorated text when there is one)."""
    final = isinstance(record, gcstream.Utterance)
    if isinstance(record, gcstream.Utterance):
        text = record.decorated_text or record.text
        latency: int | None = record.latency_ms
        pii = sorted({p.kind for p in record.pii})
    else:
        text = record.text
        latency = record.received_at_ms - record.end_ms
        pii = []
    return {
        "conversation_id": record.conversation_id,
        "utterance_id": record.utterance_id,
        "speaker": speaker_of(record.channel),
        "channel": record.channel,
        "text": text,
        "confidence": round(record.confidence, 3),
        "latency_ms": latency,
        "flags": list(record.flags),
        "pii": pii,
        "start_ms": record.start_ms,
        "end_ms": record.end_ms,
        "final": final,
    }


@dataclass(slots=True)
class _Conversation:
    conversation_id: str
    status: str = "active"
    started_ms: int = 0
    updated: float = 0.0
    finals: collections.deque[dict[str, Any]] = field(default_factory=lambda: collections.deque(maxlen=50))
    partials: dict[str, dict[str, Any]] = field(default_factory=dict)
    utterances: int = 0
    pii: int = 0
    flags: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "status": self.status,
            "started_ms": self.started_ms,
            "utterances": self.utterances,
            "pii": self.pii,
            "flags": self.flags,
            "captions": [*self.finals, *self.partials.values()],
        }


class Subscription:
    """One browser's view of the hub: an async iterator of events (dicts).

    Iterate with ``async for event in sub``; it ends when the hub closes or the subscription is
    closed.
    """

    def __init__(self, hub: CaptionsHub, maxsize: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _offer(self, event: dict[str, Any]) -> bool:
        try:
            self._queue.put_nowait(event)
            return True
        except asyncio.QueueFull:
            # Too slow: forget what it has not read and start it again from a snapshot.
            skipped = self._queue.qsize()
            self.dropped += skipped
            self._hub.dropped += skipped
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(self._hub.snapshot_event())
            return False

    def _end(self) -> None:
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    def close(self) -> None:
        """Stop receiving events."""
        self._hub._subscribers.discard(self)
        self._end()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """Return the next event, or None if none came within ``timeout`` seconds.

        Raises:
            StopAsyncIteration: The hub or the subscription was closed.
        """
        try:
            async with asyncio.timeout(timeout):
                return await self.__anext__()
        except TimeoutError:
            return None


class CaptionsHub:
    """Keeps the captions picture and broadcasts its changes.

    Args:
        keep_finals: Final utterances kept per conversation (older ones scroll away).
        keep_ended: Ended conversations kept on the page before the oldest is removed.
        queue_size: Events buffered per browser before it is resynchronised with a snapshot.
        stats: Optional provider of the header figures (``records``, ``pii``, ``latency_ms``);
            typically the engine's ``stats``.
    """

    def __init__(
        self,
        *,
        keep_finals: int = 50,
        keep_ended: int = 8,
        queue_size: int = 1000,
        stats: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self.keep_finals = keep_finals
        self.keep_ended = keep_ended
        self.queue_size = queue_size
        self.stats_provider = stats
        self._conversations: dict[str, _Conversation] = {}
        self._subscribers: set[Subscription] = set()
        self.events = 0
        self.dropped = 0
        self.closed = False

    # -- input ---------------------------------------------------------------------------

    def publish(self, records: Iterable[gcstream.Record]) -> None:
        """Apply records to the picture and broadcast one event per visible change."""
        for record in records:
            event = self._apply(record)
            if event is not None:
                self._broadcast(event)

    def publish_stats(self) -> None:
        """Broadcast the header figures now (the web app calls this every second)."""
        if self.stats_provider is not None and self._subscribers:
            self._broadcast(self.stats_event())

    def _conv(self, cid: str, at_ms: int) -> _Conversation:
        conv = self._conversations.get(cid)
        if conv is None:
            conv = _Conversation(cid, started_ms=at_ms, finals=collections.deque(maxlen=self.keep_finals))
            self._conversations[cid] = conv
        conv.updated = time.monotonic()
        return conv

    def _apply(self, record: gcstream.Record) -> dict[str, Any] | None:
        match record:
            case gcstream.Partial():
                conv = self._conv(record.conversation_id, record.received_at_ms)
                caption = caption_of(record)
                conv.partials[record.utterance_id] = caption
                return {"type": "partial", "caption": caption}
            case gcstream.Utterance():
                conv = self._conv(record.conversation_id, record.received_at_ms)
                caption = caption_of(record)
                conv.partials.pop(record.utterance_id, None)
                conv.finals.append(caption)
                conv.utterances += 1
                # The same value is found once per text field; count it once.
                per_field = collections.Counter(p.field for p in record.pii)
                conv.pii += max(per_field.values(), default=0)
                conv.flags += bool(record.flags)
                return {"type": "final", "caption": caption, "conversation": self._summary(conv)}
            case gcstream.ConversationUpdate():
                conv = self._conv(record.conversation_id, record.at_ms)
                if record.kind in ("ended", "evicted", "call_ended"):
                    conv.status = "ended"
                    # Partials that never became final are shown as abandoned, not left pending.
                    for partial in conv.partials.values():
                        partial["flags"] = [*partial["flags"], "abandoned"]
                        conv.finals.append(partial)
                    conv.partials.clear()
                    self._evict_ended()
                elif record.status == "SESSION_ONGOING" or record.kind in ("started", "discovered"):
                    conv.status = "active"
                return {"type": "conversation", "conversation": self._summary(conv)}
            case gcstream.Gap():
                return {
                    "type": "notice",
                    "conversation_id": None,
                    "kind": f"gap:{record.kind}",
                    "detail": f"{record.count} sequence number(s), expected {record.expected} "
                    f"got {record.got}",
                }
            case gcstream.Rejected():
                return {
                    "type": "notice",
                    "conversation_id": None,
                    "kind": f"rejected:{record.reason}",
                    "detail": record.message,
                }
        return None

    def _evict_ended(self) -> None:
        ended = [c for c in self._conversations.values() if c.status == "ended"]
        for conv in sorted(ended, key=lambda c: c.updated)[: max(0, len(ended) - self.keep_ended)]:
            del self._conversations[conv.conversation_id]

    @staticmethod
    def _summary(conv: _Conversation) -> dict[str, Any]:
        d = conv.to_dict()
        del d["captions"]
        return d

    # -- output --------------------------------------------------------------------------

    def _broadcast(self, event: dict[str, Any]) -> None:
        self.events += 1
        for sub in list(self._subscribers):
            sub._offer(event)

    def snapshot_event(self) -> dict[str, Any]:
        """The whole picture as one ``snapshot`` event."""
        return {"type": "snapshot", "conversations": [c.to_dict() for c in self._conversations.values()]}

    def stats_event(self) -> dict[str, Any]:
        """The header figures as one ``stats`` event."""
        stats = dict(self.stats_provider()) if self.stats_provider else {}
        lat = stats.get("latency_ms") or {}
        return {
            "type": "stats",
            "records": stats.get("records", {}),
            "pii": stats.get("pii", {}),
            "flags": stats.get("flags", {}),
            "latency_ms": {k: lat.get(k) for k in ("p50", "p95", "p99")},
            "active": sum(1 for c in self._conversations.values() if c.status != "ended"),
        }

    def subscribe(self) -> Subscription:
        """Start a browser's stream: its first event is a snapshot.

        Raises:
            RuntimeError: The hub is closed.
        """
        if self.closed:
            raise RuntimeError("the captions hub is closed")
        sub = Subscription(self, self.queue_size)
        sub._offer(self.snapshot_event())
        self._subscribers.add(sub)
        return sub

    def close(self) -> None:
        """End every subscription (their iterators stop) and refuse new ones."""
        self.closed = True
        for sub in list(self._subscribers):
            sub.close()

    def stats(self) -> dict[str, Any]:
        """Counters for :class:`gcstream.metrics.Metrics` (``watch("captions", hub.stats)``)."""
        return {
            "clients": len(self._subscribers),
            "events": self.events,
            "dropped": self.dropped,
            "conversations": len(self._conversations),
        }

    def conversations(self) -> list[dict[str, Any]]:
        """The conversations on the page now (for ``/api/state`` and tests)."""
        return [c.to_dict() for c in self._conversations.values()]
