"""The whole configuration of a gcstream process: one TOML file, environment overrides, validated once.

::

    cfg = load_config("gcstream.toml")            # raises ConfigError naming the field
    engine = gcstream.Engine(**cfg.engine_kwargs())

Tables (every key is optional unless marked; see ``examples/gcstream.toml`` for a documented copy):

* ``[genesys]``   the connection: :class:`gcstream.settings.GenesysSettings` (region or base URL,
  OAuth client, queues/users/conversations, channels, backoff, watchdog).
* ``[engine]``    framing limits, de-duplication, conversation tracking, coalescing.
* ``[redaction]`` which PII kinds are removed and extra patterns.
* ``[gates]``     quality gates: latency, confidence, language, audio, codec; each ``flag``,
  ``drop`` or ``off``.
* ``[pipeline]``  the ring between engine and sinks: capacity, watermarks, overflow policy.
* ``[sinks.*]``   ``jsonl``, ``sqlite``, ``influx``, ``webhook``, ``nats``; each has ``enabled``.
* ``[http]``      the captions page, ``/metrics`` and ``/healthz`` (``listen = "127.0.0.1:8765"``).
* ``[logging]``   level, format (``text``/``json``), file.

Environment variables win over the file:

* ``GENESYS_CLOUD_REGION``, ``GENESYS_CLOUD_BASE_URL``, ``GENESYS_CLOUD_CLIENT_ID``,
  ``GENESYS_CLOUD_CLIENT_SECRET``, ``GENESYS_CLOUD_QUEUES`` / ``_USERS`` / ``_CONVERSATIONS``
  (comma-separated), ``GENESYS_CLOUD_CHANNEL_STATE_PATH`` — as :mod:`gcstream.settings` reads them;
* ``GCSTREAM_<TABLE>__<KEY>`` for everything else, ``__`` between levels:
  ``GCSTREAM_HTTP__LISTEN=0.0.0.0:9000``, ``GCSTREAM_SINKS__SQLITE__PATH=/data/gc.db``,
  ``GCSTREAM_SINKS__INFLUX__TOKEN=...``, ``GCSTREAM_LOGGING__LEVEL=DEBUG``. Values are read as
  JSON when they parse (numbers, booleans, lists), otherwise as strings.

Secrets (``client_secret``, Influx ``token`` and ``password``, webhook ``token``) are
``SecretStr``: never printed, never in an error message. Put them in the environment. Credentials
written into a URL (``https://user:password@host/...?api_key=...``: the password of the user info
and query parameters whose names look secret, such as ``token``, ``key``, ``secret``, ``password``,
``sig``, ``auth``) are masked wherever a URL is shown (:func:`describe`, sink errors, the audit
log). :func:`load_config` registers every secret, both kinds, with
:func:`gcstream.logging.register_secret`, so no log line can carry one either.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

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
from gcstream.logging import mask_urls, register_secret, url_has_credentials, url_secrets
from gcstream.settings import ENV_PREFIX as GENESYS_ENV_PREFIX
from gcstream.settings import GenesysSettings, load_settings

__all__ = [
    "ENV_PREFIX",
    "EngineConfig",
    "GatesConfig",
    "GcstreamConfig",
    "HttpConfig",
    "InfluxSinkConfig",
    "JsonlSinkConfig",
    "LoggingConfig",
    "NatsSinkConfig",
    "PipelineConfig",
    "RedactionConfig",
    "SinksConfig",
    "SqliteSinkConfig",
    "WebhookSinkConfig",
    "describe",
    "load_config",
    "load_engine_kwargs",
]

ENV_PREFIX: Final = "GCSTREAM_"
Policy = Literal["flag", "drop", "off"]
PII_KINDS: Final = ("ssn", "phone", "email", "credit_card", "person_name")
"""Every built-in PII kind, and the ``[redaction] kinds`` default: ``gcstream run`` and ``gcstream
demo`` redact person names too, although ``Engine()`` and ``Redactor()`` on their own leave them out
(names are found by cues and spelling, not by a checkable structure, so the library makes them
opt-in)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


_M = TypeVar("_M", bound=_Model)


class EngineConfig(_Model):
    """Options of ``gcstream.Engine`` (the Rust hot path)."""

    wire_format: str = Field(
        default="notifications", description="notifications, eventbridge or a seed format."
    )
    mode: Literal["message", "stream"] | None = Field(
        default=None, description="message: one document per frame; stream: documents span frames."
    )
    max_document_bytes: int = Field(default=1 << 20, ge=1024, description="Larger documents are rejected.")
    max_depth: int = Field(default=128, ge=2, le=4096, description="Deeper JSON nesting is rejected.")
    dedup_capacity: int = Field(
        default=1 << 20, ge=1, description="Utterance keys remembered to drop repeats."
    )
    max_conversations: int = Field(default=100_000, ge=1, description="Conversations tracked at once.")
    conversation_idle_ms: int = Field(
        default=900_000, ge=1000, description="A silent conversation is evicted after this."
    )
    coalesce: str | None = Field(default=None, description="Coalescing mode (format default when unset).")
    partial_timeout_ms: int | None = Field(
        default=None, ge=1, description="A partial with no final expires after this."
    )
    reorder_window_ms: int | None = Field(
        default=None, ge=0, description="Wait this long to reorder numbered events."
    )
    tick_interval_ms: int = Field(
        default=1000, ge=10, le=60_000, description="How often expiries are checked."
    )


class CustomPattern(_Model):
    """An extra redaction pattern."""

    name: str = Field(description="Tag written instead of the match, e.g. ORDER_ID -> [ORDER_ID].")
    pattern: str = Field(description="A regular expression.")

    @field_validator("name")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
            raise ValueError("must be UPPER_SNAKE_CASE (it becomes the [TAG] in redacted text)")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression: {exc}") from None
        return value


class RedactionConfig(_Model):
    """What the engine removes from every text field before a record leaves it.

    Redaction cannot be switched off: the narrowest setting is ``kinds = []`` with no custom
    patterns, which still runs the redactor (and is reported at start-up).
    """

    kinds: tuple[Literal["ssn", "phone", "email", "credit_card", "person_name"], ...] = Field(
        default=PII_KINDS,
        description="Built-in detectors to run; person_name finds names given after a cue "
        '("my name is …", "last name is …") or spelled ("smith s m i t h").',
    )
    spoken_forms: bool = Field(default=True, description='Also detect spoken forms ("four one one one").')
    custom: tuple[CustomPattern, ...] = Field(default=(), description="Extra patterns, each with its tag.")
    tags: dict[str, str] = Field(
        default_factory=dict, description='Replacement tag per kind, e.g. {credit_card = "[CARD]"}.'
    )
    hold_ms: int = Field(
        default=10_000,
        ge=0,
        le=60_000,
        description="Hold a final that ends in a possible PII prefix this long for the next utterance "
        "of its channel, so PII split across utterances is redacted in both (0: never hold).",
    )


class GatesConfig(_Model):
    """Quality gates. Each policy is ``flag`` (deliver with a flag: the default), ``drop`` (count
    and drop) or ``off``."""

    latency_threshold_ms: int | None = Field(
        default=None, ge=0, description="Format default (40 s for Genesys)."
    )
    latency_policy: Policy = "flag"
    confidence_policy: Policy = "flag"
    expected_language: str | None = Field(
        default=None, description="e.g. en-US; compared case-insensitively."
    )
    language_policy: Policy = "flag"
    min_snr_db: float = 15.0
    max_jitter_ms: float = Field(default=50.0, ge=0)
    max_packet_loss_pct: float = Field(default=2.0, ge=0, le=100)
    audio_policy: Policy = "flag"
    codec_allowlist: tuple[str, ...] | None = Field(default=None, description="Format default when unset.")
    codec_policy: Policy = "flag"
    interruption_policy: Policy = "flag"


class PipelineConfig(_Model):
    """The ring between the engine and the sinks."""

    ring_capacity: int = Field(default=65_536, ge=16, description="Records held between engine and sinks.")
    high_watermark: float = Field(
        default=0.8, gt=0, le=1, description="Stop reading the socket at this fill."
    )
    low_watermark: float = Field(default=0.5, ge=0, lt=1, description="Resume reading at this fill.")
    overflow: Literal["backpressure", "drop_oldest", "drop_newest"] = Field(
        default="backpressure", description="What a full ring does; drops are counted."
    )
    shutdown_timeout: float = Field(default=30.0, gt=0, description="Seconds to drain on SIGINT/SIGTERM.")

    @model_validator(mode="after")
    def _watermarks(self) -> PipelineConfig:
        if self.low_watermark >= self.high_watermark:
            raise ValueError("low_watermark must be below high_watermark")
        return self


class JsonlSinkConfig(_Model):
    """The JSON Lines audit log (one record per line, append-only, rotated)."""

    enabled: bool = True
    path: Path = Path("gcstream-audit.jsonl")
    kinds: tuple[
        Literal["utterance", "partial", "conversation_update", "gap", "rejected", "control"], ...
    ] = Field(
        default=("utterance", "conversation_update", "gap", "rejected"), description="Record kinds written."
    )
    max_bytes: int = Field(
        default=64 << 20, ge=0, description="Rotate before the file passes this size (0: never)."
    )
    max_age: float = Field(
        default=3600.0, ge=0, description="Rotate when the file is this old, seconds (0: never)."
    )
    fsync: Literal["always", "interval", "never"] = Field(default="always", description="When to fsync.")
    fsync_interval: float = Field(default=1.0, gt=0, description="Seconds between fsyncs under 'interval'.")


class SqliteSinkConfig(_Model):
    """SQLite: the embedded default store (``gcstream query`` reads it)."""

    enabled: bool = True
    path: Path = Path("gcstream.db")
    durable: bool = Field(default=False, description="fsync at every commit (synchronous=FULL).")


_TWO_CREDENTIALS = "url carries credentials (user:password@) and token is set too; give one of them"


def _given(secret: SecretStr | None) -> bool:
    """Whether a secret is set to something (an empty token sends no header, as in the sinks)."""
    return secret is not None and bool(secret.get_secret_value())


class InfluxSinkConfig(_Model):
    """InfluxDB (line protocol over HTTP, v1 or v2 API)."""

    enabled: bool = False
    url: str = "http://127.0.0.1:8086"
    api: Literal["v1", "v2"] = "v2"
    org: str | None = Field(default=None, description="v2 organisation.")
    bucket: str | None = Field(default=None, description="v2 bucket.")
    database: str | None = Field(default=None, description="v1 database.")
    token: SecretStr | None = Field(default=None, description="v2 token; v1 uses username/password.")
    username: str | None = None
    password: SecretStr | None = None
    measurement: str = "utterance"
    batch_points: int = Field(default=5000, ge=1)
    max_split_requests: int = Field(
        default=128,
        ge=0,
        description="Most requests a write spends bisecting a refused request down to the refused points.",
    )

    @model_validator(mode="after")
    def _target(self) -> InfluxSinkConfig:
        if self.enabled and self.api == "v2" and not (self.org and self.bucket):
            raise ValueError("api = 'v2' needs org and bucket")
        if self.enabled and self.api == "v1" and not self.database:
            raise ValueError("api = 'v1' needs database")
        if self.enabled and self.api == "v2" and _given(self.token) and url_has_credentials(self.url):
            raise ValueError(_TWO_CREDENTIALS)
        return self


class WebhookSinkConfig(_Model):
    """POST batches of records to an HTTP endpoint (a knowledge base, a bot)."""

    enabled: bool = False
    url: str = ""
    token: SecretStr | None = Field(default=None, description="Sent as 'Authorization: Bearer ...'.")
    breaker_threshold: int = Field(default=5, ge=1, description="Failures in a row that open the circuit.")
    breaker_reset: float = Field(default=30.0, gt=0, description="Seconds before a half-open retry.")
    concurrency: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Requests in flight, each for a different conversation (1 keeps the global order).",
    )

    @model_validator(mode="after")
    def _url(self) -> WebhookSinkConfig:
        if self.enabled and not re.match(r"^https?://", self.url):
            raise ValueError("url must be an http:// or https:// URL")
        if self.enabled and _given(self.token) and url_has_credentials(self.url):
            raise ValueError(_TWO_CREDENTIALS)
        return self


class NatsSinkConfig(_Model):
    """NATS JetStream."""

    enabled: bool = False
    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    stream: str = "GCSTREAM"
    subject_prefix: str = Field(default="gcstream", description="Subjects are PREFIX.<kind>.<conversation>.")


class SinksConfig(_Model):
    """Where records go. Each sink is at-least-once with idempotent keys and spools on outage."""

    jsonl: JsonlSinkConfig = JsonlSinkConfig()
    sqlite: SqliteSinkConfig = SqliteSinkConfig()
    influx: InfluxSinkConfig = InfluxSinkConfig()
    webhook: WebhookSinkConfig = WebhookSinkConfig()
    nats: NatsSinkConfig = NatsSinkConfig()
    spool_dir: Path = Field(default=Path("gcstream-spool"), description="Where a sink that is down spools.")
    spool_max_bytes: int = Field(
        default=1 << 30, ge=1 << 20, description="Per sink; beyond it ingestion pauses."
    )

    def enabled(self) -> list[str]:
        """Names of the enabled sinks, in delivery order."""
        return [n for n in ("jsonl", "sqlite", "influx", "webhook", "nats") if getattr(self, n).enabled]


class HttpConfig(_Model):
    """The captions page, ``/metrics`` and ``/healthz``."""

    listen: str | None = Field(default="127.0.0.1:8765", description='HOST:PORT, or "" to serve nothing.')
    captions: bool = Field(default=True, description="Serve the live captions page and its SSE stream.")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if not value:
            return None
        parse_listen(value)
        return value

    def address(self) -> tuple[str, int] | None:
        """``(host, port)`` to bind, or None when serving is off."""
        return parse_listen(self.listen) if self.listen else None


def parse_listen(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:8765`` for IPv6; a bare ``:8765`` means 127.0.0.1).

    Raises:
        ValueError: Not HOST:PORT, or the port is not 0-65535.
    """
    m = re.fullmatch(r"\[?([^\[\]]*?)\]?:(\d+)", value.strip())
    if not m:
        raise ValueError(f"must be HOST:PORT (e.g. 127.0.0.1:8765), got {value!r}")
    port = int(m.group(2))
    if port > 65535:
        raise ValueError(f"port {port} is out of range")
    return (m.group(1) or "127.0.0.1", port)


class LoggingConfig(_Model):
    """Structured logs (never transcript text or secrets)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"
    file: Path | None = Field(default=None, description="Append here instead of stderr.")

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class GcstreamConfig(_Model):
    """Everything ``gcstream run`` needs; build it with :func:`load_config`."""

    genesys: GenesysSettings
    engine: EngineConfig = EngineConfig()
    redaction: RedactionConfig = RedactionConfig()
    gates: GatesConfig = GatesConfig()
    pipeline: PipelineConfig = PipelineConfig()
    sinks: SinksConfig = SinksConfig()
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()

    @model_validator(mode="after")
    def _something_to_do(self) -> GcstreamConfig:
        if not self.sinks.enabled() and not (self.http.listen and self.http.captions):
            raise ValueError("no sink is enabled and the captions page is off: records would go nowhere")
        return self

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``gcstream.Engine`` from ``[engine]``, ``[gates]`` and ``[redaction]``.

        The engine validates them again (custom patterns compile in Rust's regex dialect, tags
        must not themselves look like PII) and raises ``ConfigError`` naming the option.
        """
        return _engine_kwargs(self.engine, self.gates, self.redaction)


def _engine_kwargs(engine: EngineConfig, gates: GatesConfig, redaction: RedactionConfig) -> dict[str, Any]:
    out: dict[str, Any] = engine.model_dump(exclude={"tick_interval_ms"}, exclude_none=True)
    for key, value in gates.model_dump(exclude_none=True).items():
        out[key] = list(value) if key == "codec_allowlist" else value
    out.update(
        pii_kinds=list(redaction.kinds),
        spoken_pii=redaction.spoken_forms,
        pii_custom=[(c.name, c.pattern, None) for c in redaction.custom],
        pii_tags=dict(redaction.tags),
        pii_hold_ms=redaction.hold_ms,
    )
    return out


# -- loading ----------------------------------------------------------------------------------

_SECRET_FIELDS: Final = frozenset({"client_secret", "token", "password", "secret"})


def _env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _env_tree(env: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            continue
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment variable {name} conflicts with another", field=".".join(path))
        leaf = path[-1]
        node[leaf] = raw if leaf in _SECRET_FIELDS else _env_value(raw)
    return tree


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {os.fspath(path)!r} does not exist", field="path") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {os.fspath(path)!r}: {exc.strerror}", field="path"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {os.fspath(path)!r} is not valid TOML: {exc}", field="path") from None


_UNKNOWN_SETTING = "unknown setting (check the spelling; see examples/gcstream.toml)"


def _error_from(exc: ValidationError, prefix: str = "") -> ConfigError:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    field = ".".join([prefix, *loc] if prefix else loc) or None
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):
        return ConfigError(str(cause), field=cause.field)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = _UNKNOWN_SETTING
    elif first["type"] == "missing":
        message = "is required"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    # Never echo the input value: it may be a secret.
    return ConfigError(f"{field}: {message}{suffix}" if field else f"{message}{suffix}", field=field)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    genesys: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> GcstreamConfig:
    """Read, override and validate the whole configuration, once, at start-up.

    Args:
        path: A TOML file (None: defaults and the environment only).
        env: Environment to read (default ``os.environ``).
        genesys: Connection values that win over both (e.g. the simulator's base URL and client
            in ``gcstream demo``).
        overrides: Other values that win over both, as nested tables
            (``{"http": {"listen": "127.0.0.1:0"}}``).

    Returns:
        A frozen :class:`GcstreamConfig`. Next: :meth:`GcstreamConfig.engine_kwargs`, the sinks,
        ``cfg.http.address()``.

    Raises:
        ConfigError: An unreadable file or an invalid value; ``field`` is the dotted setting
            (``sinks.influx.bucket``) and the message says what is wrong, never the value.
    """
    env = os.environ if env is None else env
    data = _read_toml(path) if path is not None else {}
    genesys_table = data.pop("genesys", {})
    if not isinstance(genesys_table, dict):
        raise ConfigError("[genesys] must be a table", field="genesys")
    env_tree = _env_tree(env)
    env_genesys = env_tree.pop("genesys", {})
    data = _merge(_merge(data, env_tree), overrides or {})
    # The connection is validated by its own loader (settings.py), so its errors and env vars
    # are the same whether it is used through gcstream.connect() or a config file.
    settings = _load_genesys(genesys_table, env, {**env_genesys, **dict(genesys or {})})
    try:
        cfg = GcstreamConfig.model_validate({**data, "genesys": settings})
    except ValidationError as exc:
        raise _error_from(exc) from None
    _register_secrets(cfg)
    return cfg


def _register_secrets(value: Any) -> None:
    """Register every ``SecretStr`` and every credential inside a URL with the log scrubber."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _register_secrets(getattr(value, name))
    elif isinstance(value, SecretStr):
        register_secret(value.get_secret_value())
    elif isinstance(value, str) and "://" in value:
        for secret in url_secrets(value):
            register_secret(secret)
    elif isinstance(value, tuple | list):
        for item in value:
            _register_secrets(item)


def load_engine_kwargs(
    path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``gcstream.Engine`` from the ``[engine]``, ``[gates]`` and
    ``[redaction]`` tables alone (file, then ``GCSTREAM_*`` overrides), with :func:`load_config`'s
    defaults: person names are redacted. For decoding a capture (``gcstream replay --config``) as
    ``gcstream run`` would, without a connection or sinks to configure, so no client secret is
    needed; the other tables are not validated.

    Raises:
        ConfigError: An unreadable file, an unknown table, or an invalid value in those three.
    """
    env = os.environ if env is None else env
    data = _merge(_read_toml(path) if path is not None else {}, _env_tree(env))
    unknown = sorted(set(data) - set(GcstreamConfig.model_fields))
    if unknown:
        raise ConfigError(f"{unknown[0]}: {_UNKNOWN_SETTING}", field=unknown[0])
    return _engine_kwargs(
        _validate(EngineConfig, data, "engine"),
        _validate(GatesConfig, data, "gates"),
        _validate(RedactionConfig, data, "redaction"),
    )


def _validate(model: type[_M], data: Mapping[str, Any], table: str) -> _M:
    """One table of ``data`` as ``model``; a validation error becomes a ConfigError naming it."""
    try:
        return model.model_validate(data.get(table, {}))
    except ValidationError as exc:
        raise _error_from(exc, table) from None


def _load_genesys(
    table: Mapping[str, Any], env: Mapping[str, str], overrides: Mapping[str, Any]
) -> GenesysSettings:
    # The [genesys] table is passed as keyword values, so drop the keys the environment sets
    # (``GENESYS_CLOUD_<KEY>``): the environment wins over the file, as everywhere else.
    from_file = {k: v for k, v in table.items() if not env.get(GENESYS_ENV_PREFIX + k.upper())}
    try:
        return load_settings(None, env=env, **{**from_file, **overrides})
    except ConfigError as exc:
        if exc.field and exc.field != "path" and not exc.field.startswith("genesys"):
            message = str(exc).removeprefix(f"{exc.field}: ")
            raise ConfigError(f"genesys.{exc.field}: {message}", field=f"genesys.{exc.field}") from None
        raise ConfigError(f"[genesys] {exc}", field="genesys") from None


def describe(cfg: GcstreamConfig) -> dict[str, Any]:
    """The effective configuration as plain data, secrets masked (``gcstream check-config``): the
    ``SecretStr`` settings, and the credentials inside any URL (see the module docs)."""
    masked: dict[str, Any] = _mask(cfg.model_dump(mode="json"))
    return masked


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if key in _SECRET_FIELDS and value:
        return "**********"
    if isinstance(value, str):
        return mask_urls(value)
    return value
