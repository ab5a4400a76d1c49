"""A client-side limiter that keeps REST calls under the per-token budget.

Genesys allows 300 requests per minute per OAuth token, across every Platform API call
(research/genesys-real-api.md §1.9). The server's algorithm is not documented, so the limiter is
a *sliding window*: at most ``limit`` requests in any ``window`` seconds, which is also safe
against a fixed-window server. A 429's ``Retry-After`` pauses every caller, not just the one that
got it, because the budget is shared.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds, plus server-imposed pauses.

    Args:
        limit: Requests allowed per window (keep it under the server's 300).
        window: Window length in seconds.
        clock: Monotonic clock in seconds (inject a fake one in tests).
        sleep: Async sleep (paired with ``clock``).
    """

    def __init__(
        self,
        limit: int = 240,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._granted: collections.deque[float] = collections.deque()
        self._paused_until = float("-inf")
        self._lock = asyncio.Lock()
        self.granted_total = 0
        self.waited_s = 0.0

    def reserve(self, now: float) -> float:
        """Take a slot at ``now`` and return 0, or return the seconds until one frees (taking none)."""
        if now < self._paused_until:
            return self._paused_until - now
        q = self._granted
        window = self.window
        # ``t + window <= now`` (not ``t <= now - window``): the same rounding as the wait below.
        while q and q[0] + window <= now:
            q.popleft()
        if len(q) >= self.limit:
            return max(q[0] + window - now, 1e-9)
        q.append(now)
        self.granted_total += 1
        return 0.0

    def delay(self, now: float | None = None) -> float:
        """Return how long a request made now would wait (0: it would go at once); takes no slot."""
        now = self._clock() if now is None else now
        if now < self._paused_until:
            return self._paused_until - now
        q = self._granted
        while q and q[0] + self.window <= now:
            q.popleft()
        return max(q[0] + self.window - now, 1e-9) if len(q) >= self.limit else 0.0

    def pause(self, seconds: float, now: float | None = None) -> None:
        """Hold every caller for ``seconds`` (a 429's ``Retry-After``)."""
        now = self._clock() if now is None else now
        self._paused_until = max(self._paused_until, now + seconds)

    def in_window(self, now: float | None = None) -> int:
        """Return how many slots were taken in the window ending at ``now``."""
        now = self._clock() if now is None else now
        return sum(1 for t in self._granted if t + self.window > now)

    async def acquire(self) -> None:
        """Wait until a request may be sent, then take its slot. Callers are served in order."""
        async with self._lock:
            while True:
                delay = self.reserve(self._clock())
                if delay <= 0:
                    return
                self.waited_s += delay
                await self._sleep(delay)
