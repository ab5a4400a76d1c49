"""Conversation discovery: which ``v2.conversations.{id}.transcription`` topics to hold.

The WebSocket needs a concrete conversation id before it can subscribe, so calls are found on
queue and user topics (``v2.routing.queues.{id}.conversations``, ``v2.users.{id}.conversations``)
and, at start-up or after a gap, with the analytics details query (``GET /api/v2/conversations``
is empty under client credentials; research/genesys-real-api.md §2.6, §5 item 4).

A call's transcription topic is added when it is discovered and removed when its transcription
session ends (``SESSION_ENDED``), or ``linger`` seconds after the discovery topics report the
call over (Genesys keeps publishing transcripts for a while after speech stops). Explicitly
configured conversations are held until their session ends.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from gcstream.genesys.channels import Subscriptions
from gcstream.genesys.rest import RestClient

__all__ = [
    "ANALYTICS_PERMISSION",
    "Discovery",
    "analytics_query_body",
    "discovery_topics",
    "transcription_topic",
]

log = logging.getLogger("gcstream.genesys.discovery")

ANALYTICS_PERMISSION: Final = "analytics:conversationDetail:view"
ANALYTICS_PATH: Final = "/api/v2/analytics/conversations/details/query"
_ENDED_MEMORY: Final = 100_000


def transcription_topic(conversation_id: str) -> str:
    """Return ``v2.conversations.{id}.transcription``."""
    return f"v2.conversations.{conversation_id}.transcription"


def discovery_topics(queues: Iterable[str] = (), users: Iterable[str] = ()) -> list[str]:
    """Return the queue and user conversation topics that announce calls."""
    return [f"v2.routing.queues.{q}.conversations" for q in queues] + [
        f"v2.users.{u}.conversations" for u in users
    ]


def analytics_query_body(
    queues: Iterable[str],
    users: Iterable[str],
    *,
    now: datetime,
    lookback: timedelta,
    page: int,
    page_size: int,
) -> dict[str, Any]:
    """Return a details query for calls still in progress on these queues/users.

    ``conversationEnd notExists`` keeps only live conversations; the segment filter keeps the
    configured queues and users (none configured: the whole org).
    """
    start = (now - lookback).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    end = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body: dict[str, Any] = {
        "interval": f"{start}/{end}",
        "order": "asc",
        "orderBy": "conversationStart",
        "paging": {"pageSize": page_size, "pageNumber": page},
        "conversationFilters": [
            {
                "type": "and",
                "predicates": [
                    {"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}
                ],
            }
        ],
    }
    predicates = [
        {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": q} for q in queues
    ]
    predicates += [
        {"type": "dimension", "dimension": "userId", "operator": "matches", "value": u} for u in users
    ]
    if predicates:
        body["segmentFilters"] = [{"type": "or", "predicates": predicates}]
    return body


class Discovery:
    """Keeps the transcription subscriptions in step with the calls in progress.

    Args:
        subscriptions: Where topics are added and removed.
        rest: For the analytics query.
        queues: Queue ids to watch.
        users: User ids to watch.
        conversations: Conversation ids to subscribe to directly.
        linger: Seconds to keep a call's topic after discovery reports it over.
        clock: Monotonic clock.
    """

    def __init__(
        self,
        subscriptions: Subscriptions,
        rest: RestClient,
        *,
        queues: Iterable[str] = (),
        users: Iterable[str] = (),
        conversations: Iterable[str] = (),
        linger: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.subs = subscriptions
        self.rest = rest
        self.queues = tuple(queues)
        self.users = tuple(users)
        self.explicit = tuple(conversations)
        self.linger = linger
        self._clock = clock
        self.active: set[str] = set()
        self._ending: dict[str, float] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self.discovered = 0
        self.recovered = 0
        self.ended = 0

    def start(self) -> None:
        """Subscribe the discovery topics and the explicit conversations."""
        self.subs.add(discovery_topics(self.queues, self.users))
        for cid in self.explicit:
            self.hold(cid)

    # -- reactions (cheap, synchronous; called by the source for ConversationUpdate records) --

    def hold(self, conversation_id: str) -> None:
        """Subscribe to a conversation's transcripts (no-op if held or already over)."""
        if conversation_id in self.active or conversation_id in self._ended:
            return
        self.active.add(conversation_id)
        self.subs.add((transcription_topic(conversation_id),))

    def call_ended(self, conversation_id: str) -> None:
        """Discovery says the call is over: drop its topic after ``linger`` seconds."""
        if conversation_id in self.active and conversation_id not in self._ending:
            self._ending[conversation_id] = self._clock() + self.linger

    def session_ended(self, conversation_id: str) -> None:
        """The transcription session ended (``SESSION_ENDED``).

        Without discovery topics the topic is dropped now. With them, a call can have several
        communications (legs, transfers), so the topic is kept for ``linger`` seconds more.
        """
        if self.queues or self.users:
            self.call_ended(conversation_id)
        else:
            self._drop(conversation_id)

    def on_update(self, kind: str, conversation_id: str) -> None:
        """React to a ``ConversationUpdate`` of this ``kind``."""
        if kind == "discovered":
            if conversation_id not in self.active and conversation_id not in self._ended:
                self.discovered += 1
            self.hold(conversation_id)
        elif kind == "call_ended":
            if conversation_id not in self.active and conversation_id not in self._ended:
                # First heard of it as it ends: still fetch the final transcripts.
                self.hold(conversation_id)
            self.call_ended(conversation_id)
        elif kind == "ended":
            self.session_ended(conversation_id)

    def tick(self, now: float | None = None) -> None:
        """Drop topics whose linger has passed."""
        now = self._clock() if now is None else now
        for cid in [c for c, t in self._ending.items() if t <= now]:
            self._drop(cid)

    def _drop(self, conversation_id: str) -> None:
        self._ending.pop(conversation_id, None)
        if conversation_id in self.active:
            self.active.discard(conversation_id)
            self.ended += 1
            self.subs.remove((transcription_topic(conversation_id),))
        self._ended[conversation_id] = None
        while len(self._ended) > _ENDED_MEMORY:
            self._ended.popitem(last=False)

    # -- recovery ----------------------------------------------------------------------------

    async def recover(self, *, lookback: timedelta = timedelta(days=1), page_size: int = 100) -> int:
        """Find calls already in progress (analytics details query) and hold them.

        Only runs when queues or users are configured. Returns how many new calls it found.
        """
        if not (self.queues or self.users):
            return 0
        found = 0
        now = datetime.now(UTC)
        page = 1
        while True:
            resp = await self.rest.call(
                "POST",
                ANALYTICS_PATH,
                json=analytics_query_body(
                    self.queues, self.users, now=now, lookback=lookback, page=page, page_size=page_size
                ),
                permission=ANALYTICS_PERMISSION,
                what="recover in-flight conversations (analytics details query)",
            )
            convs = resp.body.get("conversations") if isinstance(resp.body, dict) else None
            convs = convs if isinstance(convs, list) else []
            for conv in convs:
                cid = conv.get("conversationId") if isinstance(conv, dict) else None
                if isinstance(cid, str) and not conv.get("conversationEnd") and cid not in self.active:
                    if cid not in self._ended:
                        found += 1
                    self.hold(cid)
            total = resp.body.get("totalHits") if isinstance(resp.body, dict) else None
            if len(convs) < page_size or (isinstance(total, int) and page * page_size >= total):
                break
            page += 1
        self.recovered += found
        if found:
            log.info("recovered %d conversation(s) already in progress", found)
        return found
