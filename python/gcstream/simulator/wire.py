"""Server side of one WebSocket: pre-framed writes, batching, stalls and backpressure accounting.

Frames are encoded here (RFC 6455, server to client, unmasked, no compression) and written to
the transport in batches, so the simulator pays one ``transport.write`` per batch rather than one
coroutine per message. aiohttp still owns the handshake, reading, control frames and the close
handshake; since every write we make is a run of whole frames, the two never interleave inside a
frame.

Backpressure: when the client stops reading, the kernel buffers fill, the transport's buffer
passes its high-water mark and the writer waits for it to drain. Each such wait is counted in
:class:`SocketStats` (``writer_blocked_count`` / ``writer_blocked_s``), which is how tests observe
that a slow consumer paused its socket reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TRANSPORT_HIGH_WATER = 256 * 1024


def text_frame(payload: bytes) -> bytes:
    """Return a complete, unmasked, final text frame carrying ``payload`` (UTF-8 JSON)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


@dataclass(slots=True)
class SocketStats:
    """Counters for one server-side socket."""

    socket_id: int
    kind: str
    channel_id: str | None
    opened_at: float
    closed_at: float | None = None
    close_reason: str | None = None
    frames_sent: int = 0
    messages_sent: int = 0
    bytes_sent: int = 0
    writer_blocked_count: int = 0
    writer_blocked_s: float = 0.0
    writer_blocked_now: bool = False
    max_backlog_frames: int = 0
    frames_received: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able snapshot."""
        return {k: getattr(self, k) for k in self.__slots__}


class SocketSession:
    """One accepted WebSocket and the task that writes to it.

    Args:
        ws: The prepared aiohttp WebSocket response.
        request: Its request (for the transport and protocol).
        stats: Where the counters go.
        on_blocked: Called with ``(1, 0.0)`` when a write blocks and ``(0, seconds)`` when it resumes.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        stats: SocketStats,
        on_blocked: Callable[[int, float], None] | None = None,
    ) -> None:
        self.ws = ws
        self.request = request
        self.stats = stats
        self.pending: list[bytes] = []
        self._pending_messages = 0
        self.closed = False
        self.stall_until = 0.0
        self._wake = asyncio.Event()
        self._on_blocked = on_blocked
        self._task: asyncio.Task[None] | None = None
        self._drained = asyncio.Event()
        self._drained.set()
        transport = request.transport
        if transport is not None:
            transport.set_write_buffer_limits(high=TRANSPORT_HIGH_WATER)

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.get_running_loop().create_task(self._writer())

    def send(self, payload: bytes, *, is_message: bool = False) -> None:
        """Queue a JSON payload (not yet framed)."""
        self.send_wire(text_frame(payload), is_message=is_message)

    def send_wire(self, wire: bytes, *, is_message: bool = False) -> None:
        """Queue an already framed payload; ``is_message`` counts it as a data message."""
        if self.closed:
            return
        pending = self.pending
        if not pending:
            self._drained.clear()
            self._wake.set()
        pending.append(wire)
        if is_message:
            self._pending_messages += 1
        self.stats.max_backlog_frames = max(self.stats.max_backlog_frames, len(pending))

    @property
    def backlog(self) -> int:
        """Frames queued but not yet handed to the transport."""
        return len(self.pending)

    async def wait_drained(self) -> None:
        """Wait until everything queued has been handed to the transport."""
        await self._drained.wait()

    def stall(self, seconds: float) -> None:
        """Write nothing (not even heartbeats or pongs) for ``seconds``; queued frames wait."""
        self.stall_until = max(self.stall_until, time.monotonic() + seconds)
        self._wake.set()

    async def _drain(self) -> None:
        proto: Any = self.request.protocol
        helper: Callable[[], Awaitable[None]] | None = getattr(proto, "_drain_helper", None)
        if helper is not None:
            await helper()
            return
        transport = self.request.transport  # pragma: no cover - older/newer aiohttp
        while transport is not None and transport.get_write_buffer_size() > TRANSPORT_HIGH_WATER:
            await asyncio.sleep(0.001)

    async def _writer(self) -> None:
        transport = self.request.transport
        try:
            while not self.closed:
                await self._wake.wait()
                self._wake.clear()
                delay = self.stall_until - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                    self._wake.set()
                    continue
                if not self.pending:
                    self._drained.set()
                    continue
                batch, self.pending = self.pending, []
                messages, self._pending_messages = self._pending_messages, 0
                if transport is None or transport.is_closing():
                    break
                data = b"".join(batch)
                transport.write(data)
                st = self.stats
                st.frames_sent += len(batch)
                st.messages_sent += messages
                st.bytes_sent += len(data)
                if transport.get_write_buffer_size() > TRANSPORT_HIGH_WATER:
                    # The client is not reading fast enough: count the block as it starts, so a
                    # test can see it while the client is still paused.
                    t0 = time.monotonic()
                    st.writer_blocked_count += 1
                    st.writer_blocked_now = True
                    if self._on_blocked is not None:
                        self._on_blocked(1, 0.0)
                    try:
                        await self._drain()
                    finally:
                        waited = time.monotonic() - t0
                        st.writer_blocked_now = False
                        st.writer_blocked_s += waited
                        if self._on_blocked is not None:
                            self._on_blocked(0, waited)
                if not self.pending:
                    self._drained.set()
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self._drained.set()

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until queued frames are written."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.wait_drained()

    async def close(self, code: int = 1000, message: bytes = b"", *, flush: bool = True) -> None:
        """Close with a close frame, after flushing what is queued (bounded)."""
        if self.closed:
            return
        if flush:
            await self.flush()
        self.closed = True
        self._wake.set()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self.ws.close(code=code, message=message)
        self._finish()

    def abort(self) -> None:
        """Drop the TCP connection at once: no close frame, the client sees 1006."""
        if self.closed:
            return
        self.closed = True
        self._wake.set()
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        self._finish()

    def _finish(self) -> None:
        self.pending = []
        self._pending_messages = 0
        self._drained.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self.stats.closed_at is None:
            self.stats.closed_at = time.monotonic()


@dataclass(slots=True)
class SimulatorStats:
    """Live counters; read them from tests as ``sim.stats``.

    ``messages_by_channel`` counts data messages (transcription, discovery, system) handed to
    each channel's sockets; ``writer_blocked_*`` show a client that stopped reading.
    """

    requests: int = 0
    requests_by_route: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    rest_faults: int = 0
    tokens_issued: int = 0
    auth_failures: int = 0
    channels_created: int = 0
    channels_evicted: int = 0
    channels_expired: int = 0
    sockets_opened: int = 0
    sockets_closed: int = 0
    sockets_replaced: int = 0
    messages_published: int = 0
    utterances_published: int = 0
    conversations_started: int = 0
    conversations_ended: int = 0
    heartbeats_sent: int = 0
    pongs_sent: int = 0
    duplicates_sent: int = 0
    malformed_sent: int = 0
    oversized_sent: int = 0
    sockets_dropped: int = 0
    stalls: int = 0
    socket_closing_sent: int = 0
    tokens_revoked: int = 0
    writer_blocked_count: int = 0
    writer_blocked_s: float = 0.0
    sockets: list[SocketStats] = field(default_factory=list)

    @property
    def messages_by_channel(self) -> dict[str, int]:
        """Data messages written per channel id, over all its sockets."""
        out: dict[str, int] = {}
        for s in self.sockets:
            if s.channel_id is not None:
                out[s.channel_id] = out.get(s.channel_id, 0) + s.messages_sent
        return out

    @property
    def messages_sent(self) -> int:
        """Data messages written over all sockets."""
        return sum(s.messages_sent for s in self.sockets)

    @property
    def reads_paused(self) -> bool:
        """True if any socket's writer ever blocked because its client stopped reading."""
        return self.writer_blocked_count > 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able snapshot."""
        d: dict[str, Any] = {k: getattr(self, k) for k in self.__slots__ if k != "sockets"}
        d["requests_by_route"] = dict(self.requests_by_route)
        d["sockets"] = [s.to_dict() for s in self.sockets]
        d["messages_by_channel"] = self.messages_by_channel
        d["messages_sent"] = self.messages_sent
        return d
