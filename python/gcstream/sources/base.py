"""What every source provides: raw frames on demand, and reactions to the records they produce.

A source never decodes: the consumer pulls a :class:`Frame`, feeds it to the engine (one call
into Rust per frame) and hands the rare control or conversation records back through
:meth:`Source.react`, which is how the source learns about heartbeats, ``socket_closing``,
discovery and so on. Sockets are read only as fast as frames are pulled: when the consumer
stops pulling, the bounded :class:`FrameBuffer` fills, the socket readers stop reading, and TCP
pushes back on the server.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass
from typing import Any, Final, Protocol, Self, runtime_checkable

__all__ = ["WS_LOGGER", "Frame", "FrameBuffer", "Source", "wall_ms"]


class _NoWireDebug(logging.Filter):
    """Drop websockets' DEBUG wire logs: they print request headers (a bearer token) and frames
    (transcript text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


WS_LOGGER: Final = logging.getLogger("gcstream.sources.ws")
"""The logger every gcstream WebSocket connection uses; its DEBUG wire dump is suppressed."""
WS_LOGGER.addFilter(_NoWireDebug())


def wall_ms() -> int:
    """Return the wall clock in epoch milliseconds (the engine's ``received_at_ms``)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Frame:
    """One received WebSocket message.

    Attributes:
        data: The message as received (text frames are ``str``).
        received_at_ms: Wall-clock receive time, epoch ms.
        origin: The connection it came from (opaque; the source uses it in :meth:`Source.react`).
    """

    data: str | bytes
    received_at_ms: int
    origin: Any = None


@runtime_checkable
class Source(Protocol):
    """A stream of frames for one wire format.

    Use it as an async context manager, iterate frames, feed each to an
    ``Engine(wire_format=source.wire_format)`` and pass every non-utterance record back with
    :meth:`react`.
    """

    @property
    def wire_format(self) -> str:
        """The engine wire format of the frames (``Engine(wire_format=...)``)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    def __aiter__(self) -> Self: ...

    async def __anext__(self) -> Frame: ...

    def react(self, frame: Frame, record: object) -> None:
        """Learn from a record the engine produced for ``frame`` (controls, conversation updates)."""
        ...

    def stats(self) -> dict[str, Any]:
        """Return counters (reconnects, frames, REST calls, ...)."""
        ...


class FrameBuffer:
    """A bounded FIFO between socket readers (many) and the consumer (one).

    :meth:`put` waits while the buffer is full, which is what stops the readers from reading
    their sockets. :meth:`fail` makes the consumer raise at once, even with frames buffered.
    """

    def __init__(self, capacity: int = 64) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._items: collections.deque[Frame] = collections.deque()
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()
        self._error: BaseException | None = None
        self._closed = False
        self.blocked_puts = 0

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        """True when a :meth:`put` would wait."""
        return len(self._items) >= self.capacity

    async def put(self, frame: Frame) -> None:
        """Append ``frame``, waiting for room first."""
        if len(self._items) >= self.capacity:
            self.blocked_puts += 1
            while len(self._items) >= self.capacity and not self._closed:
                self._not_full.clear()
                await self._not_full.wait()
        if self._closed:
            return
        self._items.append(frame)
        self._not_empty.set()

    async def get(self) -> Frame:
        """Return the oldest frame, waiting for one.

        Raises:
            BaseException: The error given to :meth:`fail`.
            StopAsyncIteration: After :meth:`close`, once empty.
        """
        while True:
            if self._error is not None:
                raise self._error
            if self._items:
                frame = self._items.popleft()
                if len(self._items) < self.capacity:
                    self._not_full.set()
                return frame
            if self._closed:
                raise StopAsyncIteration
            self._not_empty.clear()
            await self._not_empty.wait()

    def fail(self, error: BaseException) -> None:
        """Make the consumer raise ``error`` on its next :meth:`get`."""
        if self._error is None:
            self._error = error
        self._not_empty.set()

    def close(self) -> None:
        """No more frames: the consumer drains what is left, then stops; waiting writers return."""
        self._closed = True
        self._not_empty.set()
        self._not_full.set()
