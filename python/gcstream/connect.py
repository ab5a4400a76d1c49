"""``gcstream.connect``: records from Genesys Cloud for programs that embed gcstream.

::

    import gcstream

    async with gcstream.connect(base_url="http://127.0.0.1:8080", client_id="sim-client",
                                client_secret="sim-secret", queues=["..."]) as stream:
        async for record in stream:
            match record:
                case gcstream.Utterance(conversation_id, _, _, channel, text):
                    print(conversation_id, channel, text)

Settings come from the arguments, the ``GENESYS_CLOUD_*`` environment variables and the
``[genesys]`` table of ``config`` (see :func:`gcstream.settings.load_settings`). The stream pulls
one frame at a time from its source, feeds it to the engine (one call into Rust per frame) and
lets the source react to control and conversation records; the socket is read only as fast as
records are consumed.
"""

from __future__ import annotations

import collections
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

from gcstream._core import Control, Engine, Utterance
from gcstream.settings import GenesysSettings, load_settings
from gcstream.sources.base import Source
from gcstream.sources.notifications import NotificationsSource

__all__ = ["RecordStream", "connect"]

TICK_INTERVAL_MS = 1000


class RecordStream:
    """An async iterator of records: source frames fed through an engine.

    Args:
        source: Where frames come from (already started).
        engine: The engine that turns frames into records.
        controls: Also yield ``Control`` records (heartbeats, socket_closing, ...).
    """

    def __init__(self, source: Source, engine: Any, *, controls: bool = False) -> None:
        self.source = source
        self.engine = engine
        self.controls = controls
        self._pending: collections.deque[Any] = collections.deque()
        self._next_tick_ms = 0
        self.frames = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        """Return the next record (``Utterance``, ``ConversationUpdate``, ``Rejected``, ...)."""
        pending = self._pending
        source = self.source
        feed = self.engine.feed
        while not pending:
            frame = await source.__anext__()
            self.frames += 1
            for record in feed(frame.data, received_at_ms=frame.received_at_ms):
                kind = type(record)
                if kind is Utterance:
                    pending.append(record)
                    continue
                source.react(frame, record)
                if kind is not Control or self.controls:
                    pending.append(record)
            if frame.received_at_ms >= self._next_tick_ms:
                self._next_tick_ms = frame.received_at_ms + TICK_INTERVAL_MS
                pending.extend(self.engine.tick(frame.received_at_ms))
        return pending.popleft()

    def stats(self) -> dict[str, Any]:
        """Return the engine's and the source's counters."""
        return {"engine": self.engine.stats(), "source": self.source.stats(), "frames": self.frames}


@asynccontextmanager
async def connect(
    settings: GenesysSettings | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    source: Source | None = None,
    engine: Any = None,
    controls: bool = False,
    **overrides: Any,
) -> AsyncIterator[RecordStream]:
    """Connect to Genesys Cloud (or the simulator) and yield a stream of records.

    Args:
        settings: Validated settings; built from ``config``, the environment and ``overrides``
            when omitted.
        config: A TOML file with a ``[genesys]`` table.
        source: Use this source instead of the Notifications API (e.g. a seed-style source).
        engine: Use this engine (default ``Engine(wire_format=source.wire_format)``).
        controls: Also yield ``Control`` records.
        **overrides: Setting values (``base_url``, ``client_id``, ``client_secret``, ``queues``, ...).

    Yields:
        A :class:`RecordStream`; iterate it with ``async for``. Leaving the block unsubscribes,
        closes the sockets and keeps the channel ids for the next run.

    Raises:
        ConfigError: Invalid or missing settings.
        AuthError: Credentials refused or a permission missing (named in the error).
    """
    if source is None:
        if settings is None:
            settings = load_settings(config, **overrides)
        source = NotificationsSource(settings)
    if engine is None:
        engine = Engine(wire_format=source.wire_format)
    async with source:
        yield RecordStream(source, engine, controls=controls)
