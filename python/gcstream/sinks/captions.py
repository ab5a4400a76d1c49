"""The live-captions sink: hands records to the :class:`~gcstream.web.captions.CaptionsHub` that
the captions page streams over SSE.

::

    hub = CaptionsHub(stats=engine.stats)
    sinks = [JsonlSink(...), SqliteSink(...), CaptionsSink(hub)]

It never blocks and never fails: a browser that cannot keep up is resynchronised by the hub, and
captions are a view, not a store, so nothing is spooled for it (``spool = False``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from gcstream.web.captions import CaptionsHub

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["CAPTION_KINDS", "CaptionsSink"]

CAPTION_KINDS: Final = frozenset({"utterance", "partial", "conversation_update", "gap", "rejected"})
"""What the page shows (controls are not shown)."""


class CaptionsSink:
    """A :class:`~gcstream.sinks.Sink` that publishes to a captions hub.

    Args:
        hub: The hub the web server streams from.
        name: Sink name (unique in a pipeline).
    """

    spool = False
    """Captions are live only: a record missed while nobody watched is not replayed later."""

    def __init__(self, hub: CaptionsHub, *, name: str = "captions") -> None:
        self.hub = hub
        self.name = name
        self.kinds = CAPTION_KINDS
        self.written = 0

    async def open(self) -> None:
        """Nothing to open: the hub lives with the web server."""

    async def write(self, batch: Sequence[Record]) -> None:
        """Publish ``batch`` to every connected browser."""
        self.hub.publish(batch)
        self.written += len(batch)

    async def flush(self) -> None:
        """Nothing buffered."""

    async def aclose(self) -> None:
        """Nothing to release (the web server closes the hub when it stops)."""
