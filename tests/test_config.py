"""gcstream.config: the TOML file, environment overrides, and errors that name the field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import gcstream
import pytest
from gcstream.config import GcstreamConfig, describe, load_config, load_engine_kwargs, parse_listen
from gcstream.exceptions import ConfigError
from gcstream.logging import scrub

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "gcstream.toml"
BASE_ENV = {
    "GENESYS_CLOUD_CLIENT_ID": "cid",
    "GENESYS_CLOUD_CLIENT_SECRET": "s3cr3t-value",
    "GENESYS_CLOUD_REGION": "eu-west-1",
}


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "gcstream.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_example_config_is_valid_with_the_secret_from_the_environment() -> None:
    cfg = load_config(EXAMPLE, env={"GENESYS_CLOUD_CLIENT_SECRET": "from-env"})
    assert cfg.genesys.client_secret.get_secret_value() == "from-env"
    assert cfg.genesys.region == "us-east-1"
    assert cfg.sinks.enabled() == ["jsonl", "sqlite"]
    assert cfg.http.address() == ("127.0.0.1", 8765)
    gcstream.Engine(**cfg.engine_kwargs())  # the engine accepts what the config produces


def _default(table: str, key: str) -> Any:
    model: Any = GcstreamConfig
    for part in [*table.split("."), key]:
        field = model.model_fields[part]
        model = field.annotation
    value = field.default
    return [str(v) if isinstance(v, Path) else v for v in value] if isinstance(value, tuple) else value


def test_example_config_shows_the_defaults_except_values_marked_yours() -> None:
    # The file says so in its header; a value with no default (an id, a URL) is marked "yours".
    table, checked = "", 0
    for line in EXAMPLE.read_text().splitlines():
        if m := re.fullmatch(r"\[([\w.]+)\]\s*(#.*)?", line):
            table = m.group(1)
        elif (m := re.fullmatch(r"(\w+)\s*=\s*(.*?)\s*(#.*)?", line)) and "yours" not in (m.group(3) or ""):
            shown = tomllib.loads(f"v = {m.group(2)}")["v"]
            default = _default(table, m.group(1))
            assert shown == (str(default) if isinstance(default, Path) else default), f"{table}.{m.group(1)}"
            checked += 1
    assert checked > 60


def test_example_config_without_a_secret_names_the_field() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(EXAMPLE, env={})
    assert e.value.field == "genesys"
    assert "client_secret" in str(e.value)


def test_defaults_need_only_the_connection() -> None:
    cfg = load_config(None, env=BASE_ENV)
    assert cfg.genesys.client_id == "cid"
    assert cfg.pipeline.overflow == "backpressure"
    assert cfg.redaction.kinds == ("ssn", "phone", "email", "credit_card", "person_name")
    assert cfg.engine_kwargs()["pii_kinds"] == ["ssn", "phone", "email", "credit_card", "person_name"]
    assert cfg.logging.level == "INFO"


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[genesys]\nregion = "us-east-1"\nclient_id = "file-id"\nclient_secret = "file-secret"\n'
        'queues = ["q1"]\n[http]\nlisten = "127.0.0.1:1111"\n[pipeline]\nring_capacity = 128\n',
    )
    env = {
        "GENESYS_CLOUD_CLIENT_ID": "env-id",
        "GENESYS_CLOUD_QUEUES": "q2, q3",
        "GCSTREAM_HTTP__LISTEN": "0.0.0.0:2222",
        "GCSTREAM_PIPELINE__RING_CAPACITY": "4096",
        "GCSTREAM_SINKS__INFLUX__TOKEN": "12345",  # secrets stay strings even when they look numeric
        "GCSTREAM_LOGGING__LEVEL": "debug",
    }
    cfg = load_config(path, env=env)
    assert cfg.genesys.client_id == "env-id"
    assert cfg.genesys.client_secret.get_secret_value() == "file-secret"
    assert cfg.genesys.queues == ("q2", "q3")
    assert cfg.http.address() == ("0.0.0.0", 2222)
    assert cfg.pipeline.ring_capacity == 4096
    assert cfg.sinks.influx.token is not None
    assert cfg.sinks.influx.token.get_secret_value() == "12345"
    assert cfg.logging.level == "DEBUG"


@pytest.mark.parametrize(
    ("toml", "field", "words"),
    [
        ('[http]\nlisten = "localhost"\n', "http.listen", "HOST:PORT"),
        ('[http]\nlisten = "127.0.0.1:70000"\n', "http.listen", "out of range"),
        ("[pipeline]\nlow_watermark = 0.9\nhigh_watermark = 0.5\n", "pipeline", "low_watermark"),
        ('[pipeline]\noverflow = "overwrite"\n', "pipeline.overflow", "backpressure"),
        ("[sinks.influx]\nenabled = true\n", "sinks.influx", "org and bucket"),
        ('[sinks.influx]\nenabled = true\napi = "v1"\n', "sinks.influx", "database"),
        ('[sinks.webhook]\nenabled = true\nurl = "ftp://x"\n', "sinks.webhook", "http"),
        (
            '[sinks.webhook]\nenabled = true\nurl = "https://svc:pw-77@kb.example.com/in"\ntoken = "t"\n',
            "sinks.webhook",
            "give one of them",
        ),
        (
            '[sinks.influx]\nenabled = true\nurl = "http://admin:pw-77@127.0.0.1:8086"\n'
            'org = "o"\nbucket = "b"\ntoken = "t"\n',
            "sinks.influx",
            "give one of them",
        ),
        ('[sinks.jsonl]\nfsync = "sometimes"\n', "sinks.jsonl.fsync", "always"),
        ("[sinks.sqlite]\nenabeld = true\n", "sinks.sqlite.enabeld", "unknown setting"),
        ('[gates]\nlatency_policy = "ignore"\n', "gates.latency_policy", "flag"),
        ('[redaction]\nkinds = ["ssn", "passport"]\n', "redaction.kinds.1", "credit_card"),
        ('[redaction]\ncustom = [{ name = "order", pattern = "x" }]\n', "redaction.custom.0.name", "UPPER"),
        (
            '[redaction]\ncustom = [{ name = "ORDER", pattern = "(" }]\n',
            "redaction.custom.0.pattern",
            "regular",
        ),
        ("[engine]\nmax_depth = 1\n", "engine.max_depth", "greater"),
        ('[logging]\nlevel = "LOUD"\n', "logging.level", "DEBUG"),
        (
            '[sinks.jsonl]\nenabled = false\n[sinks.sqlite]\nenabled = false\n[http]\nlisten = ""\n',
            None,
            "nowhere",
        ),
        ('[genesys]\nregion = "mars-1"\n', "genesys.region", "unknown Genesys Cloud region"),
        ("[genesys]\nmax_channels = 50\n", "genesys.max_channels", "20"),
    ],
)
def test_invalid_settings_name_the_field(tmp_path: Path, toml: str, field: str | None, words: str) -> None:
    env = dict(BASE_ENV)
    if "region" in toml:
        env.pop("GENESYS_CLOUD_REGION")
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, toml), env=env)
    assert words in str(e.value)
    assert "pw-77" not in str(e.value)
    if field is not None:
        assert e.value.field == field
        assert field in str(e.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as e:
        load_config(tmp_path / "nope.toml", env=BASE_ENV)
    assert e.value.field == "path"
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[http\n"), env=BASE_ENV)


def test_secrets_never_appear_in_errors_or_descriptions(tmp_path: Path) -> None:
    secret = "hunter2-very-secret"
    path = write(tmp_path, f'[sinks.influx]\nenabled = true\ntoken = "{secret}"\n')
    with pytest.raises(ConfigError) as e:
        load_config(path, env={**BASE_ENV, "GENESYS_CLOUD_CLIENT_SECRET": secret})
    assert secret not in str(e.value)
    cfg = load_config(
        None,
        env={**BASE_ENV, "GENESYS_CLOUD_CLIENT_SECRET": secret, "GCSTREAM_SINKS__WEBHOOK__TOKEN": secret},
    )
    text = repr(cfg) + str(describe(cfg))
    assert secret not in text
    assert describe(cfg)["genesys"]["client_secret"] == "**********"


def test_credentials_inside_sink_urls_are_masked_and_registered(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[sinks.webhook]\nenabled = true\n"
        'url = "https://svc:hunter2pass@kb.example.com/ingest?api_key=AKIA-SECRET-123&v=1"\n'
        '[sinks.influx]\nenabled = true\nurl = "http://admin:influxpw@127.0.0.1:8086"\norg = "o"\nbucket = "b"\n'
        '[sinks.nats]\nenabled = true\nservers = ["nats://js:natspw-77@127.0.0.1:4222"]\n',
    )
    cfg = load_config(path, env=BASE_ENV)
    shown = describe(cfg)["sinks"]
    assert shown["webhook"]["url"] == "https://svc:***@kb.example.com/ingest?api_key=***&v=1"
    assert shown["influx"]["url"] == "http://admin:***@127.0.0.1:8086"
    assert shown["nats"]["servers"] == ["nats://js:***@127.0.0.1:4222"]
    for secret in ("hunter2pass", "AKIA-SECRET-123", "influxpw", "natspw-77"):
        assert secret not in str(describe(cfg))
        # Registered at load: the log scrubber masks the value even outside a URL.
        assert secret not in scrub(f"the peer said {secret}")
    assert cfg.sinks.webhook.url.startswith("https://svc:hunter2pass@")  # the sink still gets it


def test_redaction_settings_reach_the_engine() -> None:
    env = {
        **BASE_ENV,
        "GCSTREAM_REDACTION__SPOKEN_FORMS": "false",
        "GCSTREAM_REDACTION__TAGS": '{"credit_card": "[CARD]"}',
        "GCSTREAM_REDACTION__HOLD_MS": "0",
    }
    kwargs = load_config(None, env=env).engine_kwargs()
    assert (kwargs["spoken_pii"], kwargs["pii_tags"], kwargs["pii_hold_ms"]) == (
        False,
        {"credit_card": "[CARD]"},
        0,
    )
    engine = gcstream.Engine(**kwargs)
    frame = (
        b'{"topicName":"v2.conversations.c1.transcription","eventBody":{"conversationId":"c1",'
        b'"transcripts":[{"utteranceId":"u1","channel":"EXTERNAL","alternatives":[{"transcript":'
        b'"card 4111 1111 1111 1111"}]}]}}'
    )
    texts = [
        r.text
        for r in engine.feed(frame, received_at_ms=1) + engine.finish()
        if isinstance(r, gcstream.Utterance)
    ]
    assert texts == ["card [CARD]"]


def test_engine_kwargs_alone_match_the_whole_config(tmp_path: Path) -> None:
    env = {"GCSTREAM_REDACTION__HOLD_MS": "0"}
    assert (
        load_engine_kwargs(EXAMPLE, env=env) == load_config(EXAMPLE, env={**BASE_ENV, **env}).engine_kwargs()
    )
    assert load_engine_kwargs(env={})["pii_kinds"] == ["ssn", "phone", "email", "credit_card", "person_name"]
    with pytest.raises(ConfigError) as e:
        load_engine_kwargs(write(tmp_path, "[gates]\nlatency_policy = 'sometimes'\n"), env={})
    assert e.value.field == "gates.latency_policy"


def test_a_custom_pattern_the_engine_cannot_compile_is_a_config_error() -> None:
    # Valid for Python's re, not for Rust's regex (no look-around): the engine says so at start-up.
    cfg = load_config(
        None,
        env={**BASE_ENV, "GCSTREAM_REDACTION__CUSTOM": '[{"name": "ACCT", "pattern": "(?<=acct )[0-9]+"}]'},
    )
    with pytest.raises(ConfigError) as e:
        gcstream.Engine(**cfg.engine_kwargs())
    assert "custom" in (e.value.field or "")


def test_gates_reach_the_engine() -> None:
    cfg = load_config(None, env={**BASE_ENV, "GCSTREAM_GATES__LATENCY_THRESHOLD_MS": "5000"})
    kwargs = cfg.engine_kwargs()
    assert kwargs["latency_threshold_ms"] == 5000
    gcstream.Engine(**kwargs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        (":9000", ("127.0.0.1", 9000)),
        ("[::1]:80", ("::1", 80)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected
