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
)

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
    "WIRE_FORMATS",
    "ApiError",
    "AuthError",
    "ConfigError",
    "ConnectionLostError",
    "Control",
    "ConversationUpdate",
    "Engine",
    "FrameAssembler",
    "FramingError",
    "Gap",
    "GcstreamError",
    "LocalProtocolError",
    "Partial",
    "Participant",
    "PiiFinding",
    "ProtocolError",
    "RateLimitedError",
    "Record",
    "Redactor",
    "Rejected",
    "RemoteProtocolError",
    "SinkError",
    "Utterance",
    "Word",
    "__version__",
    "build_profile",
]
