"""gcstream: Genesys Cloud real-time transcription, framed, redacted, coalesced and delivered.

The hot path lives in a Rust core (``gcstream._core``); this package is its public face::

    import gcstream

    engine = gcstream.Engine(wire_format="notifications")
    for record in engine.feed(frame, received_at_ms=now_ms):
        match record:
            case gcstream.Utterance(conversation_id, _, _, channel, text):
                ...

Nothing outside this package should import ``gcstream._core``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gcstream._core import (
    Control,
    ConversationUpdate,
    Engine,
    FrameAssembler,
    Gap,
    Partial,
    Participant,
    PiiFinding,
    Redactor,
    Rejected,
    Ring,
    Utterance,
    Word,
    __version__,
    build_profile,
)
from gcstream.exceptions import (
    ApiError,
    AuthError,
    ConfigError,
    ConnectionLostError,
    FramingError,
    GcstreamError,
    LocalProtocolError,
    ProtocolError,
    RateLimitedError,
    RemoteProtocolError,
    SinkError,
    SinkRejectedError,
)

if TYPE_CHECKING:
    from gcstream.connect import RecordStream, connect
    from gcstream.pipeline import Pipeline, PipelineReport
    from gcstream.regions import REGIONS
    from gcstream.settings import GenesysSettings, load_settings
    from gcstream.sources.base import Frame, Source
    from gcstream.sources.notifications import NotificationsSource
    from gcstream.sources.seed import SeedSource

# The asyncio layer is imported on first use, so `import gcstream` stays light for users who
# only need the engine (aiohttp and websockets cost more to import than the whole core).
_LAZY: dict[str, str] = {
    "connect": "gcstream.connect",
    "RecordStream": "gcstream.connect",
    "Pipeline": "gcstream.pipeline",
    "PipelineReport": "gcstream.pipeline",
    "REGIONS": "gcstream.regions",
    "GenesysSettings": "gcstream.settings",
    "load_settings": "gcstream.settings",
    "Frame": "gcstream.sources.base",
    "Source": "gcstream.sources.base",
    "NotificationsSource": "gcstream.sources.notifications",
    "SeedSource": "gcstream.sources.seed",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gcstream' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


Record = Utterance | Partial | ConversationUpdate | Gap | Rejected | Control
"""Every record type the engine emits."""

WIRE_FORMATS: tuple[str, ...] = (
    "notifications",
    "eventbridge",
    "interaction",
    "media",
    "segments",
    "fragments",
    "conversation-events",
)
"""Wire formats the engine decodes (``Engine(wire_format=...)``)."""

__all__ = [
    "REGIONS",
    "WIRE_FORMATS",
    "ApiError",
    "AuthError",
    "ConfigError",
    "ConnectionLostError",
    "Control",
    "ConversationUpdate",
    "Engine",
    "Frame",
    "FrameAssembler",
    "FramingError",
    "Gap",
    "GcstreamError",
    "GenesysSettings",
    "LocalProtocolError",
    "NotificationsSource",
    "Partial",
    "Participant",
    "PiiFinding",
    "Pipeline",
    "PipelineReport",
    "ProtocolError",
    "RateLimitedError",
    "Record",
    "RecordStream",
    "Redactor",
    "Rejected",
    "RemoteProtocolError",
    "Ring",
    "SeedSource",
    "SinkError",
    "SinkRejectedError",
    "Source",
    "Utterance",
    "Word",
    "__version__",
    "build_profile",
    "connect",
    "load_settings",
]
