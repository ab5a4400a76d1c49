"""Settings for the Genesys Cloud connection, validated once at start-up.

Sources, later ones winning: the ``[genesys]`` table of a TOML file, the ``GENESYS_CLOUD_*``
environment variables, then keyword arguments::

    settings = load_settings("gcstream.toml", client_secret="...")

Environment variables: ``GENESYS_CLOUD_REGION``, ``GENESYS_CLOUD_BASE_URL``,
``GENESYS_CLOUD_CLIENT_ID``, ``GENESYS_CLOUD_CLIENT_SECRET``, and for lists
``GENESYS_CLOUD_QUEUES`` / ``GENESYS_CLOUD_USERS`` / ``GENESYS_CLOUD_CONVERSATIONS``
(comma-separated ids). Errors become :class:`~gcstream.exceptions.ConfigError` naming the field;
the secret never appears in a message or a ``repr``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from gcstream.exceptions import ConfigError
from gcstream.regions import Endpoints, endpoints_for

__all__ = ["ENV_PREFIX", "BackoffSettings", "GenesysSettings", "WatchdogSettings", "load_settings"]

ENV_PREFIX: Final = "GENESYS_CLOUD_"
_ENV_SCALARS: Final = ("region", "base_url", "client_id", "client_secret", "channel_state_path")
_ENV_LISTS: Final = {"QUEUES": "queues", "USERS": "users", "CONVERSATIONS": "conversations"}


class BackoffSettings(BaseModel):
    """Exponential backoff with jitter for reconnects and retried REST calls.

    Delay ``n`` (from 0) is ``min(maximum, initial * multiplier**n)`` scaled by a random factor
    in ``[1 - jitter, 1]``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial: float = Field(default=0.25, gt=0, description="First delay, seconds.")
    maximum: float = Field(default=30.0, gt=0, description="Cap on any delay, seconds.")
    multiplier: float = Field(default=2.0, ge=1.0)
    jitter: float = Field(default=0.5, ge=0.0, le=1.0, description="Fraction of the delay that is random.")
    max_attempts: int | None = Field(
        default=None, ge=1, description="Give up after this many failed attempts in a row (None: never)."
    )

    @model_validator(mode="after")
    def _cap_above_initial(self) -> BackoffSettings:
        if self.maximum < self.initial:
            raise ValueError("maximum must be >= initial")
        return self


class WatchdogSettings(BaseModel):
    """Socket liveness.

    Genesys sends a ``channel.metadata`` heartbeat about every 30 s. After ``interval`` seconds
    without any frame the client sends ``{"message":"ping"}``; after ``2 * interval`` without a
    heartbeat, pong or any other frame it reconnects.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval: float = Field(default=30.0, gt=0, description="Expected heartbeat interval, seconds.")
    ack_timeout: float = Field(default=5.0, gt=0, description="Wait for a seed `subscribed` ack, seconds.")
    open_timeout: float = Field(default=10.0, gt=0, description="WebSocket opening handshake, seconds.")
    close_timeout: float = Field(default=2.0, gt=0, description="Closing handshake, seconds.")


class GenesysSettings(BaseModel):
    """Everything needed to reach one Genesys Cloud org (or the simulator).

    Attributes:
        region: Region key or domain (``us-east-1``, ``mypurecloud.de``); see :mod:`gcstream.regions`.
        base_url: Overrides the region for every URL (e.g. the simulator's ``http://127.0.0.1:PORT``).
        client_id: OAuth client (client-credentials grant).
        client_secret: Its secret.
        queues: Queue ids whose calls are discovered and transcribed.
        users: User (agent) ids whose calls are discovered and transcribed.
        conversations: Conversation ids to subscribe to directly.
        recover_in_flight: At start-up and after a reconnect gap, find calls already in progress
            with the analytics details query.
        channel_state_path: JSON file where channel ids are kept so a restart reuses them
            (None: do not persist; every start creates channels).
        max_channels: Channels this process may own (Genesys allows 20 per user + OAuth client;
            the 21st evicts the least recently used, possibly another consumer's).
        max_topics_per_channel: Topics per channel before sharding to the next one (Genesys: 1,000).
        requests_per_minute: Budget for REST calls; Genesys allows 300 per token, keep a margin.
        subscribe_debounce: Seconds to gather subscription changes into one request per channel.
        unsubscribe_linger: Seconds to stay subscribed after a call ends, for the last batch of
            transcripts (Genesys batches them up to ~35 s after speech by default).
        rollover_fraction: Resubscribe (extending the 24 h channel life) when this fraction of it
            has passed.
        token_refresh_margin: Refresh the token this many seconds before it expires (at most a
            tenth of its lifetime).
        http_timeout: Total seconds for one REST request.
        max_frame_bytes: Largest WebSocket message accepted; bigger ones close the socket.
        backoff: Reconnect / retry backoff.
        watchdog: Heartbeat watchdog.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    region: str | None = None
    base_url: str | None = None
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    queues: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    conversations: tuple[str, ...] = ()
    recover_in_flight: bool = True
    channel_state_path: Path | None = None
    max_channels: int = Field(default=4, ge=1, le=20)
    max_topics_per_channel: int = Field(default=1000, ge=1, le=1000)
    requests_per_minute: int = Field(default=240, ge=1, le=300)
    subscribe_debounce: float = Field(default=0.1, ge=0)
    unsubscribe_linger: float = Field(default=60.0, ge=0)
    rollover_fraction: float = Field(default=0.9, gt=0, lt=1)
    token_refresh_margin: float = Field(default=300.0, ge=0)
    http_timeout: float = Field(default=30.0, gt=0)
    max_frame_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    backoff: BackoffSettings = Field(default_factory=BackoffSettings)
    watchdog: WatchdogSettings = Field(default_factory=WatchdogSettings)

    @field_validator("queues", "users", "conversations", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _check(self) -> GenesysSettings:
        if not self.client_id:
            raise ValueError("client_id is required (GENESYS_CLOUD_CLIENT_ID)")
        if not self.client_secret.get_secret_value():
            raise ValueError("client_secret is required (GENESYS_CLOUD_CLIENT_SECRET)")
        self.endpoints()  # raises ConfigError on a bad region or base URL
        return self

    def endpoints(self) -> Endpoints:
        """Return the REST and OAuth base URLs (``base_url`` wins over ``region``)."""
        return endpoints_for(region=self.region, base_url=self.base_url)


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _ENV_SCALARS:
        value = env.get(ENV_PREFIX + name.upper())
        if value:
            out[name] = value
    for suffix, name in _ENV_LISTS.items():
        value = env.get(ENV_PREFIX + suffix)
        if value:
            out[name] = value
    return out


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    section: str = "genesys",
    **overrides: Any,
) -> GenesysSettings:
    """Build and validate settings from a TOML file, the environment and keyword arguments.

    Args:
        path: A TOML file; its ``[genesys]`` table (``section``) is read. None: no file.
        env: Environment to read ``GENESYS_CLOUD_*`` from (default ``os.environ``).
        section: The TOML table holding these settings.
        **overrides: Field values that win over both (None values are ignored).

    Returns:
        Frozen, validated settings. Next: pass them to :func:`gcstream.connect`.

    Raises:
        ConfigError: On an unreadable file or an invalid value; ``field`` names the setting.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(
                f"cannot read config file {os.fspath(path)!r}: {exc.strerror}", field="path"
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"config file {os.fspath(path)!r} is not valid TOML: {exc}", field="path"
            ) from exc
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table", field=section)
        data.update(table)
    data.update(_env_overrides(os.environ if env is None else env))
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GenesysSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, ConfigError):
            raise ConfigError(str(cause), field=cause.field) from None
        message = first["msg"].removeprefix("Value error, ")
        # Never echo the input: it may be the secret.
        raise ConfigError(f"{field or 'genesys'}: {message}" if field else message, field=field) from None
