"""The real platform's limits (research/genesys-real-api.md §1.9) and a per-token rate limiter."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Final

MAX_TOPICS_PER_CHANNEL: Final = 1000
"""More than this on one channel gives HTTP 400 and changes nothing [DOC]."""
MAX_CHANNELS_PER_CLIENT: Final = 20
"""The 21st channel evicts the least recently used one, idle channels first [DOC][SDK]."""
CHANNEL_LIFETIME_S: Final = 24 * 3600
"""Channels live 24 h; resubscribing extends them [DOC]."""
MAX_COMBINED_TOPIC_LEN: Final = 200
"""``v2.users.<id>?presence&routingStatus`` style topics are capped at 200 characters [DOC]."""
REQUESTS_PER_MINUTE: Final = 300
"""Per OAuth token, all Platform API calls [STAFF]."""
STATUS_INTERVAL_S: Final = 300
"""Status-only transcription messages while a session is active [DOC]."""
HEARTBEAT_INTERVAL_S: Final = 30.0
"""``channel.metadata`` heartbeat period observed by users [3P]."""
SOCKET_CLOSING_GRACE_S: Final = 60.0
"""``v2.system.socket_closing`` comes about one minute before the close [STAFF]."""


@dataclass(slots=True)
class SlidingWindowLimiter:
    """Allows ``limit`` requests per ``window_s`` per key (a token), as a sliding window.

    The real limiter's algorithm is not documented; a sliding window is the harsher choice, since
    a client cannot reset its budget by waiting for a minute boundary. Rejected requests do not
    consume budget.
    """

    limit: int = REQUESTS_PER_MINUTE
    window_s: float = 60.0
    _hits: dict[str, collections.deque[float]] = field(default_factory=dict)

    def check(self, key: str, now: float) -> int:
        """Record a request, or refuse it.

        Args:
            key: The bearer token.
            now: Monotonic time in seconds.

        Returns:
            0 when the request is allowed, otherwise the whole seconds to wait (``Retry-After``).
        """
        q = self._hits.setdefault(key, collections.deque())
        cutoff = now - self.window_s
        while q and q[0] <= cutoff:
            q.popleft()
        if len(q) >= self.limit:
            return max(1, math.ceil(q[0] + self.window_s - now))
        q.append(now)
        return 0

    def forget(self, key: str) -> None:
        """Drop the history of a token that no longer exists."""
        self._hits.pop(key, None)
