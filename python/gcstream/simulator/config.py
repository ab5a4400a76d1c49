"""Configuration of the simulator (plain dataclasses: the simulator depends on nothing else)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from .faults import FaultPlan
from .limits import (
    CHANNEL_LIFETIME_S,
    HEARTBEAT_INTERVAL_S,
    MAX_CHANNELS_PER_CLIENT,
    MAX_TOPICS_PER_CHANNEL,
    REQUESTS_PER_MINUTE,
    SOCKET_CLOSING_GRACE_S,
    STATUS_INTERVAL_S,
)

TRANSCRIPTION_PERMISSION: Final = "conversation:transcription:view"
ANALYTICS_PERMISSION: Final = "analytics:conversationDetail:view"
QUEUE_CONVERSATIONS_PERMISSION: Final = "routing:queue:view"
USER_CONVERSATIONS_PERMISSION: Final = "conversation:communication:view"
SEED_PERMISSION: Final = "media:transcription"
ALL_PERMISSIONS: Final = frozenset(
    {
        TRANSCRIPTION_PERMISSION,
        ANALYTICS_PERMISSION,
        QUEUE_CONVERSATIONS_PERMISSION,
        USER_CONVERSATIONS_PERMISSION,
        SEED_PERMISSION,
    }
)


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """An OAuth client (client-credentials grant) and the permissions of its role.

    Args:
        client_id: The id sent in the Basic header.
        client_secret: Its secret; a wrong one gives 401.
        permissions: Granted permissions; topics needing others are rejected.
        expires_in: Token lifetime in seconds (the real range is 300-172,800).
    """

    client_id: str = "sim-client"
    client_secret: str = "sim-secret"
    permissions: frozenset[str] = ALL_PERMISSIONS
    expires_in: int = 86399


@dataclass(slots=True)
class SimulatorConfig:
    """Everything the simulator can be told. Defaults match the real platform.

    Attributes:
        host: Interface to bind (loopback only, normally).
        port: TCP port; 0 picks a free one.
        seed: Makes ids, conversations and PII deterministic.
        clients: OAuth clients; the first is the default ``sim-client``/``sim-secret``.
        conversations: Concurrent calls; when one ends another starts in its slot.
        max_conversations: Total calls to play, or None to go on until stopped.
        start_interval: Simulated seconds between the first calls of consecutive slots (None:
            0.5 s, or 0.05 s with a ``rate``); larger values stagger the calls over a run.
        rate: None plays calls in (scaled) real time; a number paces all published messages at
            that many per second; 0 publishes as fast as the slowest socket drains.
        time_scale: Simulated seconds per real second, applied to call playback, channel
            lifetime (24 h), status-only messages (5 min) and the socket_closing grace period.
        heartbeat_interval: Real seconds between ``channel.metadata`` heartbeats.
        conversation_duration: Target simulated call length in seconds, from the call's start to
            its disconnect (the shortest possible call lasts about 15 s).
        queues: Number of queues (ids derived from the seed).
        agents: Number of agents (user ids derived from the seed).
        faults: A :class:`FaultPlan` or a spec string (see ``faults``).
        ground_truth_path: If set, every published utterance is appended there as JSON Lines.
        autostart: Start publishing conversations as soon as the server is up.
        pregenerate: Build all ``max_conversations`` calls before serving (for benchmarks).
        channels_die_with_token: A channel dies when the token it is bound to expires (any
            authenticated REST call on it rebinds it to the caller's token).
        max_topics: Topics per channel.
        max_channels: Channels per OAuth client.
        requests_per_minute: REST budget per token.
        rate_limit_window: Seconds of the sliding rate-limit window.
        channel_lifetime: Simulated seconds a channel lives without a resubscribe.
        status_interval: Simulated seconds between status-only transcription messages.
        socket_closing_grace: Simulated seconds between socket_closing and the close.
        slow_consumer_limit: Close a socket whose unsent backlog passes this many frames
            (None: never; the real limit is unknown).
    """

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    clients: tuple[OAuthClient, ...] = (OAuthClient(),)
    conversations: int = 5
    max_conversations: int | None = None
    start_interval: float | None = None
    rate: float | None = None
    time_scale: float = 1.0
    heartbeat_interval: float = HEARTBEAT_INTERVAL_S
    conversation_duration: float = 180.0
    queues: int = 3
    agents: int = 12
    faults: FaultPlan | str | None = None
    ground_truth_path: str | None = None
    autostart: bool = True
    pregenerate: bool = False
    channels_die_with_token: bool = True
    max_topics: int = MAX_TOPICS_PER_CHANNEL
    max_channels: int = MAX_CHANNELS_PER_CLIENT
    requests_per_minute: int = REQUESTS_PER_MINUTE
    rate_limit_window: float = 60.0
    channel_lifetime: float = CHANNEL_LIFETIME_S
    status_interval: float = STATUS_INTERVAL_S
    socket_closing_grace: float = SOCKET_CLOSING_GRACE_S
    slow_consumer_limit: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def fault_plan(self) -> FaultPlan:
        """Return the parsed fault plan."""
        if isinstance(self.faults, FaultPlan):
            return self.faults
        return FaultPlan.parse(self.faults)

    def validate(self) -> None:
        """Check values once, at start-up.

        Raises:
            ValueError: On a value the simulator cannot honour.
        """
        if not self.clients:
            raise ValueError("at least one OAuth client is required")
        if any(c.expires_in < 1 for c in self.clients):
            raise ValueError("a token lifetime (expires_in) must be >= 1 second")
        if self.conversations < 0:
            raise ValueError("conversations must be >= 0")
        if self.max_conversations is not None and self.max_conversations < 0:
            raise ValueError("max_conversations must be >= 0")
        if not self.conversation_duration > 0:
            raise ValueError("conversation_duration must be > 0")
        if self.start_interval is not None and self.start_interval < 0:
            raise ValueError("start_interval must be >= 0")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if self.rate is not None and self.rate < 0:
            raise ValueError("rate must be >= 0 (0 = unlimited)")
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be > 0")
        if self.pregenerate and self.max_conversations is None:
            raise ValueError("pregenerate needs max_conversations")
        self.fault_plan()
