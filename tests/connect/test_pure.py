"""Pure logic of the connectivity layer: regions, settings, backoff, Retry-After, rate limiter,
token refresh timing, permission parsing, discovery query. No event loop beyond the limiter."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gcstream.auth import refresh_at
from gcstream.exceptions import ConfigError
from gcstream.genesys.channels import Channel, ChannelStore, parse_expires
from gcstream.genesys.discovery import analytics_query_body, discovery_topics, transcription_topic
from gcstream.genesys.ratelimit import RateLimiter
from gcstream.genesys.rest import missing_permissions
from gcstream.genesys.retry import Backoff, parse_retry_after
from gcstream.regions import REGIONS, endpoints_for, resolve_region
from gcstream.settings import load_settings
from hypothesis import given
from hypothesis import strategies as st

CREDS = {"client_id": "cid", "client_secret": "s3cret-value"}


# -- regions ----------------------------------------------------------------------------------


def test_region_table_is_the_official_one() -> None:
    assert len(REGIONS) == 18
    assert REGIONS["us_east_1"] == "mypurecloud.com"
    assert REGIONS["eu_central_1"] == "mypurecloud.de"
    assert REGIONS["us_east_2"] == "use2.us-gov-pure.cloud"
    assert REGIONS["eusc_de_east_1"] == "edee1.eusc-pure.cloud"


@pytest.mark.parametrize(
    "name",
    [
        "eu_central_1",
        "eu-central-1",
        "mypurecloud.de",
        "api.mypurecloud.de",
        "LOGIN.MYPURECLOUD.DE",
        "https://api.mypurecloud.de/",
    ],
)
def test_region_aliases(name: str) -> None:
    assert resolve_region(name) == "eu_central_1"
    ep = endpoints_for(region=name)
    assert (ep.api_base, ep.token_url) == (
        "https://api.mypurecloud.de",
        "https://login.mypurecloud.de/oauth/token",
    )


def test_unknown_region_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="us-east-1") as info:
        resolve_region("mars-1")
    assert info.value.field == "region"


def test_base_url_wins_and_derives_login_like_the_sdk() -> None:
    ep = endpoints_for(region="us-east-1", base_url="http://127.0.0.1:9999/")
    assert (ep.api_base, ep.login_base) == ("http://127.0.0.1:9999", "http://127.0.0.1:9999")
    ep = endpoints_for(base_url="https://api.usw2.pure.cloud")
    assert ep.login_base == "https://login.usw2.pure.cloud"
    assert ep.region == "us_west_2"
    with pytest.raises(ConfigError):
        endpoints_for(base_url="ftp://x")


# -- settings ---------------------------------------------------------------------------------


def test_settings_precedence_file_env_args(tmp_path: Path) -> None:
    cfg = tmp_path / "gc.toml"
    cfg.write_text(
        '[genesys]\nregion = "eu-west-1"\nclient_id = "file"\nqueues = ["q1", "q2"]\n'
        "[genesys.watchdog]\ninterval = 5\n"
    )
    env = {
        "GENESYS_CLOUD_CLIENT_ID": "env",
        "GENESYS_CLOUD_CLIENT_SECRET": "envsecret",
        "GENESYS_CLOUD_USERS": "u1, u2",
    }
    s = load_settings(cfg, env=env, base_url=None)
    assert (s.client_id, s.queues, s.users, s.watchdog.interval) == ("env", ("q1", "q2"), ("u1", "u2"), 5.0)
    assert s.endpoints().api_base == "https://api.mypurecloud.ie"
    s = load_settings(cfg, env=env | {"GENESYS_CLOUD_BASE_URL": "http://127.0.0.1:1"}, client_id="arg")
    assert s.client_id == "arg"
    assert s.endpoints().api_base == "http://127.0.0.1:1"


def test_secret_never_shown() -> None:
    s = load_settings(env={}, region="us-east-1", **CREDS)
    assert "s3cret" not in repr(s)
    assert "s3cret" not in str(s.model_dump())
    with pytest.raises(ConfigError) as info:
        load_settings(
            env={}, region="us-east-1", client_id="cid", client_secret="s3cret-value", max_channels=99
        )
    assert info.value.field == "max_channels"
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"region": "us-east-1", "client_secret": "x"}, None),  # client_id missing
        ({"region": "nowhere", **CREDS}, "region"),
        ({**CREDS}, "region"),
        ({"region": "us-east-1", "requests_per_minute": 301, **CREDS}, "requests_per_minute"),
        ({"region": "us-east-1", "backoff": {"initial": 5, "maximum": 1}, **CREDS}, "backoff"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict[str, object], field: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, **kwargs)
    if field is not None:
        assert info.value.field == field


def test_unreadable_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[genesys\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, env={})


# -- backoff and Retry-After ---------------------------------------------------------------------


@given(st.integers(0, 2**32), st.floats(0.01, 5), st.floats(1, 100), st.floats(1, 4), st.floats(0, 1))
def test_backoff_delays_stay_within_bounds(
    seed: int, initial: float, cap: float, mult: float, jitter: float
) -> None:
    b = Backoff(initial, max(cap, initial), mult, jitter, rng=random.Random(seed))
    for n in range(40):
        low, high = b.bounds(n)
        d = b.next_delay()
        assert low - 1e-9 <= d <= high + 1e-9
        assert high <= max(cap, initial) + 1e-9
    b.reset()
    assert b.next_delay() <= initial + 1e-9


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("59", 59.0),
        ("1.5", 1.5),
        (" 0 ", 0.0),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("99999999", 3600.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    when = datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert parse_retry_after("Tue, 01 Jan 2030 00:00:30 GMT", now=when.timestamp() - 30) == pytest.approx(30)


# -- rate limiter ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@given(st.lists(st.floats(0, 5), min_size=1, max_size=400), st.integers(1, 50))
def test_limiter_never_exceeds_limit_in_any_window(gaps: list[float], limit: int) -> None:
    clock = FakeClock()
    lim = RateLimiter(limit, 60.0, clock=clock, sleep=clock.sleep)
    granted: list[float] = []

    async def run() -> None:
        for gap in gaps:
            clock.now += gap
            await lim.acquire()
            granted.append(clock.now)

    asyncio.run(run())
    for i, t in enumerate(granted):
        assert sum(1 for u in granted[i:] if u < t + 60.0) <= limit


def test_limiter_honours_retry_after_pause() -> None:
    clock = FakeClock()
    lim = RateLimiter(10, 60.0, clock=clock, sleep=clock.sleep)
    assert lim.reserve(clock.now) == 0
    lim.pause(7.5)
    assert lim.reserve(clock.now) == pytest.approx(7.5)

    async def run() -> None:
        await lim.acquire()

    asyncio.run(run())
    assert clock.now == pytest.approx(1007.5)


# -- token refresh timing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "margin", "due_after"),
    [(86399, 300, 86099), (300, 300, 270), (10, 300, 9), (3600, 0, 3600)],
)
def test_token_refresh_timing(expires_in: float, margin: float, due_after: float) -> None:
    assert refresh_at(100.0, expires_in, margin) == pytest.approx(100.0 + due_after)


# -- permissions, channels, discovery ---------------------------------------------------------------


def test_missing_permissions_from_genesys_bodies() -> None:
    body = {
        "message": "You are missing the following permission(s): [conversation:transcription:view]",
        "code": "missing.permissions",
    }
    assert missing_permissions(body) == ("conversation:transcription:view",)
    assert missing_permissions({"missingPermissions": ["a:b:c", "a:b:c"]}) == ("a:b:c",)
    assert missing_permissions({"message": "nope"}, "x:y:z") == ("x:y:z",)


def test_channel_store_roundtrip_is_per_org_and_client(tmp_path: Path) -> None:
    path = tmp_path / "state" / "channels.json"
    a = ChannelStore(path, api_base="http://a", client_id="c1")
    b = ChannelStore(path, api_base="http://a", client_id="c2")
    a.save([Channel("ch1", "ws://a/ch1", lifetime=50.0), Channel("dead", "ws://x", alive=False)])
    b.save([Channel("ch2", "ws://a/ch2")])
    assert [e["id"] for e in a.load()] == ["ch1"]
    assert a.load()[0]["lifetime"] == 50.0
    assert [e["id"] for e in b.load()] == ["ch2"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert "token" not in path.read_text().lower()
    path.write_text("{garbage")
    assert a.load() == []


def test_channel_expiry_and_renewal() -> None:
    assert parse_expires("2026-03-21T01:09:55.225Z") == pytest.approx(
        datetime(2026, 3, 21, 1, 9, 55, 225000, tzinfo=UTC).timestamp()
    )
    ch = Channel("c", "ws://c", lifetime=100.0, renewed_at=0.0)
    assert not ch.renew_due(89.0, 0.9)
    assert ch.renew_due(90.0, 0.9)


def test_discovery_topics_and_query() -> None:
    assert discovery_topics(["q"], ["u"]) == ["v2.routing.queues.q.conversations", "v2.users.u.conversations"]
    assert transcription_topic("c") == "v2.conversations.c.transcription"
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    body = analytics_query_body(["q1"], ["u1"], now=now, lookback=timedelta(days=1), page=2, page_size=50)
    assert body["interval"] == "2026-01-01T03:04:05.000Z/2026-01-02T03:05:05.000Z"
    assert body["paging"] == {"pageSize": 50, "pageNumber": 2}
    preds = body["segmentFilters"][0]["predicates"]
    assert {(p["dimension"], p["value"]) for p in preds} == {("queueId", "q1"), ("userId", "u1")}
    assert body["conversationFilters"][0]["predicates"][0] == {
        "type": "dimension",
        "dimension": "conversationEnd",
        "operator": "notExists",
    }


def test_websocket_debug_wire_dump_is_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    from gcstream.sources.base import WS_LOGGER

    with caplog.at_level(logging.DEBUG, logger=WS_LOGGER.name):
        WS_LOGGER.debug("> %s: %s", "Authorization", "Bearer abc")
        WS_LOGGER.warning("kept")
    assert "Bearer" not in caplog.text
    assert "kept" in caplog.text
