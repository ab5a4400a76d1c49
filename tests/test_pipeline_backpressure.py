"""Backpressure end to end (issue 7): a slow sink pauses the socket reads instead of growing memory.

The real simulator publishes pregenerated calls as fast as its socket drains; the real
:class:`~gcstream.sources.notifications.NotificationsSource` reads them through a
:class:`~gcstream.Pipeline` with a small ring into one sink that blocks until the test opens its
gate. The pause has to travel the whole chain: ring full → the pipeline stops pulling → the
source's frame buffer fills → its socket reader stops reading → the TCP windows close → the
simulator's writer blocks (which the simulator counts). Once the gate opens, every utterance
published while subscribed must arrive exactly once and nothing may be dropped or lost.
"""

from __future__ import annotations

import asyncio
import os
import random
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gcstream
from connect.gc_connect_helpers import SentTracker, settings_for
from gcstream.pipeline import Pipeline
from gcstream.simulator import Simulator, SimulatorConfig
from gcstream.sources.notifications import NotificationsSource

if sys.platform != "win32":
    import fcntl
    import termios

RING_RECORDS = 64
BUFFER_FRAMES = 64
BATCH_FRAMES = 16
HEARTBEAT = 0.4
HOLD_HEARTBEATS = 4
"""The gate stays shut while the simulator queues this many heartbeats (over 2 watchdog
intervals): long enough that a watchdog taking the paused socket for a dead one would reconnect."""
MIN_TRAFFIC = 16 << 20
"""Loopback kernel buffers absorb several MB (here: ~3.5 MB receive + 4 MB send) before the
simulator's writer has to wait; the traffic must be well past that to keep it waiting."""
RSS_GROWTH_LIMIT = 6 << 20
"""How much this process may grow while paused: generous (about 1 MiB is typical), and still
under half the traffic not yet handed to the kernel when the pause ends (checked)."""
TIMEOUT = 90.0


class GatedSink:
    """A sink that cannot write until its gate opens: the slow consumer under test."""

    name = "gated"
    kinds = frozenset({"utterance"})

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.received: list[tuple[str, str]] = []
        self.writes = 0
        self.waiting = 0

    async def open(self) -> None:
        pass

    async def write(self, batch: Sequence[Any]) -> None:
        self.writes += 1
        if not self.gate.is_set():
            self.waiting += 1
            await self.gate.wait()
        self.received.extend((r.conversation_id, r.utterance_id) for r in batch)
        await asyncio.sleep(0)  # once released, still a consumer that yields per batch

    async def flush(self) -> None:
        pass

    async def aclose(self) -> None:
        self.gate.set()


def _rss() -> int | None:
    """Resident set size of this process in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _unread(transport: Any) -> int | None:
    """Bytes received by the kernel that the process has not read yet (POSIX), else None."""
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sys.platform == "win32" or sock is None:
        return None
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])


async def _until(pred: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_slow_sink_pauses_socket_reads_and_loses_nothing(tmp_path: Path) -> None:
    cfg = SimulatorConfig(
        seed=7,
        rate=0,  # as fast as the slowest socket drains
        conversations=40,
        max_conversations=300,
        conversation_duration=180.0,
        pregenerate=True,
        autostart=False,
        heartbeat_interval=HEARTBEAT,
    )
    async with asyncio.timeout(TIMEOUT * 2), Simulator(cfg) as sim:
        calls = sim.pregenerated()
        topics = {c.topic for c in calls}
        traffic = sum(len(e.wire) for c in calls for e in c.emissions if e.topic == c.topic)
        assert traffic > MIN_TRAFFIC
        tracker = SentTracker(sim)
        settings = settings_for(sim, tmp_path, queues=[], conversations=[c.conversation_id for c in calls])
        source = NotificationsSource(settings, buffer_frames=BUFFER_FRAMES, rng=random.Random(7))
        sink = GatedSink()
        pipeline = Pipeline(
            source,
            gcstream.Engine(wire_format=source.wire_format),
            [sink],
            ring_records=RING_RECORDS,
            batch_frames=BATCH_FRAMES,
            batch_records=16,
            sink_timeout=TIMEOUT * 2,
            shutdown_timeout=30.0,
        )
        run = asyncio.create_task(pipeline.run(), name="pipeline")
        try:
            # Every call's transcription topic is on a channel whose socket the server holds:
            # from here on everything published is sent while subscribed.
            def channel_id() -> str | None:
                for ch in sim.platform.channels.values():
                    if ch.session is not None and topics <= ch.topics.keys():
                        return ch.id
                return None

            await _until(lambda: channel_id() is not None or run.done(), "the subscriptions")
            assert not run.done(), run
            cid = channel_id()
            assert cid is not None
            server = await sim.wait_socket(cid, TIMEOUT)
            session = sim.platform.channels[cid].session
            assert session is not None
            sim.start_traffic()

            # The chain pauses: ring at its high watermark, the pipeline's reader waiting, the
            # source's socket reader blocked on its full buffer, the simulator's writer blocked.
            def client_socket() -> Any:
                socks = source.sockets()
                return socks[0] if len(socks) == 1 else None

            await _until(
                lambda: (
                    pipeline.paused
                    and pipeline.paused_reads > 0
                    and (s := client_socket()) is not None
                    and s.blocked
                    and server.writer_blocked_now
                ),
                "the slow sink to pause the socket reads",
            )
            assert sink.waiting == 1
            assert server.writer_blocked_count >= 1
            assert sim.stats.reads_paused and sim.stats.writer_blocked_count >= 1
            client = client_socket()

            # Held across several heartbeats, nothing moves: the client reads nothing more, the
            # server hands nothing more to the connection and keeps the rest queued, and the
            # client's memory does not grow.
            before = (server.bytes_sent, client.frames, sink.writes, pipeline.report.frames)
            rss_paused = _rss()
            hb = sim.stats.heartbeats_sent
            await _until(lambda: sim.stats.heartbeats_sent >= hb + HOLD_HEARTBEATS, "heartbeats")
            after = (server.bytes_sent, client.frames, sink.writes, pipeline.report.frames)
            rss1 = _rss()
            queued = session.request.transport.get_write_buffer_size()  # written, not yet sent
            unsent = queued + sum(len(w) for w in session.pending)
            unread = _unread(client.ws.transport)
            state = (
                f"moved {before} -> {after}; unsent {unsent} B (queued {queued} B), unread {unread} B, "
                f"RSS {rss_paused} -> {rss1}"
            )
            assert after == before, state
            assert server.writer_blocked_now, f"the writer resumed while the sink was still shut: {state}"
            assert unsent > 0, f"the server had nothing left to send (traffic too small): {state}"
            assert unread is None or unread > 0, f"nothing waits in the client's kernel: {state}"
            assert client_socket() is client, "the paused socket was replaced"
            assert len(source.buffer) == BUFFER_FRAMES
            assert len(pipeline.ring) <= RING_RECORDS
            # Most of the traffic has not even reached the client's kernel: a client that kept
            # reading into memory would have grown by far more than the bound below.
            assert traffic - (server.bytes_sent - queued) > 2 * RSS_GROWTH_LIMIT, state
            if rss_paused is not None and rss1 is not None:
                grown = rss1 - rss_paused
                assert grown < RSS_GROWTH_LIMIT, f"RSS grew {grown >> 20} MiB while paused: {state}"

            # Open the gate: everything flows again and arrives once.
            sink.gate.set()
            await sim.wait_traffic_done(TIMEOUT)
            expected = tracker.expected()
            await _until(lambda: expected <= set(sink.received), "every utterance to reach the sink")
            pipeline.stop()
            async with asyncio.timeout(TIMEOUT):
                report = await run
        finally:
            sink.gate.set()
            if not run.done():
                pipeline.stop()
                async with asyncio.timeout(TIMEOUT):
                    await asyncio.gather(run, return_exceptions=True)

    got = sink.received
    assert len(got) == len(set(got)), "an utterance arrived twice"
    assert set(got) <= tracker.truth(), "an utterance that was never published"
    assert expected == tracker.truth()  # subscribed before the first call started
    assert len(expected) > 1000
    assert report.dropped == 0 and report.lost == 0 and report.exit_code == 0
    assert report.sinks[sink.name].delivered == len(got) and report.sinks[sink.name].failures == 0
    assert not report.timed_out and report.stopped_by == "stop"
    assert report.ring["peak_records"] <= RING_RECORDS
    assert report.ring["peak_records"] >= int(RING_RECORDS * 0.8)  # the ring was what held back
    assert report.ring["pauses"] >= 1
    assert server.writer_blocked_count >= 1 and server.writer_blocked_s > 0
    stats = source.stats()
    assert stats["reconnects"] == 0 and stats["watchdog_timeouts"] == 0
    assert stats["buffer_blocked_puts"] >= 1
