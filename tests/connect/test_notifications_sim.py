"""The Notifications source against the simulator: every utterance sent while subscribed arrives
exactly once through each fault, reconnects stay within backoff bounds, no leaks, REST budget kept."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import gcstream
import pytest
from gc_connect_helpers import BACKOFF, HEARTBEAT, SentTracker, settings_for
from gcstream.connect import connect
from gcstream.exceptions import AuthError
from gcstream.simulator import OAuthClient, Simulator, SimulatorConfig
from gcstream.sources.notifications import NotificationsSource

Fault = Callable[[Simulator], Awaitable[None]]

# run() bounds the client side at 90 s; this bounds everything else too (the simulator's start and
# stop), so that a hang fails this test with a stack dump instead of stalling the suite.
pytestmark = pytest.mark.timeout(150)


def sim_config(**over: Any) -> SimulatorConfig:
    base: dict[str, Any] = {
        "seed": 11,
        "time_scale": 10.0,
        "conversations": 4,
        "max_conversations": 8,
        "conversation_duration": 60.0,
        "heartbeat_interval": HEARTBEAT,
    }
    base.update(over)
    return SimulatorConfig(**base)


async def run(
    sim: Simulator, tmp_path: Path, faults: list[tuple[float, Fault]] = (), **over: Any
) -> dict[str, Any]:
    """Consume until the simulator's traffic is done (+ a tail), firing faults at given times."""
    tracker = SentTracker(sim)
    settings = settings_for(sim, tmp_path, **over)
    utterances: list[tuple[str, str]] = []
    async with asyncio.timeout(90):
        async with connect(settings) as stream:
            source = stream.source
            assert isinstance(source, NotificationsSource)

            async def consume() -> None:
                async for rec in stream:
                    if type(rec) is gcstream.Utterance:
                        utterances.append((rec.conversation_id, rec.utterance_id))

            task = asyncio.create_task(consume())

            async def fire() -> None:
                for at, fault in faults:
                    await asyncio.sleep(at)
                    await fault(sim)

            firing = asyncio.create_task(fire())
            await sim.wait_traffic_done(75)
            await asyncio.sleep(2.0)
            firing.cancel()
            # Faults still queued (e.g. 429s nobody used up) must not hit the clean-up that
            # checks no subscription is left behind: the fault window is over.
            sim.faults.clear()
            assert not task.done() or task.exception() is None, task.exception()
            task.cancel()
            stats = source.stats()
            delays = source.reconnect_delays()
            used = {c.id for c in source.subs.channels} | set(stats["channels"])
    return {"utterances": utterances, "tracker": tracker, "stats": stats, "delays": delays, "channels": used}


def check_exactly_once(result: dict[str, Any]) -> None:
    got = result["utterances"]
    tracker: SentTracker = result["tracker"]
    assert len(got) == len(set(got)), "an utterance arrived twice"
    assert set(got) <= tracker.truth(), "an utterance that was never published"
    missing = tracker.expected() - set(got)
    assert not missing, f"{len(missing)} utterance(s) sent while subscribed never arrived"
    assert len(got) > 0


def check_no_leaks(sim: Simulator) -> None:
    mine = [c for c in sim.platform.channels.values() if c.client.client_id == "sim-client"]
    assert all(not c.topics for c in mine), "subscriptions left behind after close"


def check_backoff(delays: list[float]) -> None:
    assert all(0 <= d <= BACKOFF["maximum"] + 1e-6 for d in delays), delays


async def drop(sim: Simulator) -> None:
    sim.faults.drop_sockets()


async def short_stall(sim: Simulator) -> None:
    sim.faults.stall(HEARTBEAT * 1.2)  # < 2 intervals: no reconnect, nothing lost


async def long_stall(sim: Simulator) -> None:
    sim.faults.stall(HEARTBEAT * 5)  # > 2 intervals: the watchdog reconnects


async def closing_warned(sim: Simulator) -> None:
    sim.faults.socket_closing(warn=True, grace=1.0)


async def closing_silent(sim: Simulator) -> None:
    sim.faults.socket_closing(warn=False, grace=0.1)


async def storm_429(sim: Simulator) -> None:
    sim.faults.rate_limit_storm(8, retry_after=1)


async def errors_5xx(sim: Simulator) -> None:
    sim.faults.rest_errors(503, count=3)


async def revoke(sim: Simulator) -> None:
    sim.faults.revoke_tokens()


async def evict(sim: Simulator) -> None:
    # Evicted as the 21st channel of the OAuth client would evict it: gone (HEAD 404), socket
    # closed silently with 1000, a reconnect gets {"result":"404"}.
    sim.faults.evict_channel()


async def test_clean_run_receives_everything_once_and_leaves_nothing(tmp_path: Path) -> None:
    async with Simulator(sim_config()) as sim:
        result = await run(sim, tmp_path)
        check_exactly_once(result)
        assert result["tracker"].expected() == result["tracker"].truth()  # nothing published unsubscribed
        check_no_leaks(sim)
        assert sim.stats.rate_limited == 0
        assert result["stats"]["heartbeats"] > 0
        assert result["stats"]["reconnects"] == 0


@pytest.mark.parametrize(
    "fault",
    [
        drop,
        short_stall,
        long_stall,
        closing_warned,
        closing_silent,
        storm_429,
        errors_5xx,
        revoke,
        evict,
    ],
)
async def test_each_fault_delivers_exactly_once(tmp_path: Path, fault: Fault) -> None:
    async with Simulator(sim_config()) as sim:
        result = await run(sim, tmp_path, [(1.5, fault), (2.0, fault)])
        check_exactly_once(result)
        check_backoff(result["delays"])
        check_no_leaks(sim)
        if fault in (drop, long_stall, closing_warned, closing_silent, revoke, evict):
            assert result["stats"]["reconnects"] >= 1
        if fault is closing_warned:
            assert result["stats"]["handovers"] >= 1
        if fault is short_stall:
            assert result["stats"]["reconnects"] == 0


async def test_long_429_storm_does_not_delay_subscribing_new_calls(tmp_path: Path) -> None:
    """A 429 storm far longer than one Retry-After, at 20x speed: REST can do about one request a
    second and most are refused, yet every call that starts during the storm is subscribed over
    the socket before its first utterance, so all it says is "sent while subscribed" and arrives
    once. The PUT that ends the storm confirms the list; nothing is left behind."""
    storm_started: list[float] = []
    first_emission: dict[str, float] = {}

    async def storm_on(sim: Simulator) -> None:
        sim.faults.retry_after_s = 1
        sim.faults.rest_429_p = 0.9
        storm_started.append(time.monotonic())

    async def storm_off(sim: Simulator) -> None:
        sim.faults.rest_429_p = 0.0

    cfg = sim_config(time_scale=20.0, conversations=6, max_conversations=16)
    async with Simulator(cfg) as sim:
        sim.platform.listeners.add(
            lambda conv, em: first_emission.setdefault(conv.conversation_id, time.monotonic())
        )
        result = await run(sim, tmp_path, [(0.5, storm_on), (6.0, storm_off)])
        check_exactly_once(result)
        check_backoff(result["delays"])
        check_no_leaks(sim)
        assert sim.stats.rate_limited >= 3, "there was no storm"
        assert result["stats"]["socket_subscribes"] >= 1
        tracker: SentTracker = result["tracker"]
        during = {cid for cid, t in first_emission.items() if t > storm_started[0]}
        assert len(during) >= 4, "no call started during the storm"
        late = {key for key in tracker.truth() - tracker.expected() if key[0] in during}
        assert not late, f"{len(late)} utterance(s) of calls started during the storm were sent unsubscribed"


async def test_token_expiry_is_refreshed_before_channels_die(tmp_path: Path) -> None:
    cfg = sim_config(clients=(OAuthClient(expires_in=3),))
    async with Simulator(cfg) as sim:
        result = await run(sim, tmp_path)
        check_exactly_once(result)
        assert result["stats"]["token_refreshes"] >= 2
        assert sim.stats.channels_expired == 0


async def test_rest_budget_never_exceeded_with_many_calls(tmp_path: Path) -> None:
    cfg = sim_config(
        conversations=25, max_conversations=60, conversation_duration=20.0, requests_per_minute=60
    )
    async with Simulator(cfg) as sim:
        result = await run(sim, tmp_path, requests_per_minute=50)
        assert sim.stats.rate_limited == 0, "the server's budget was exceeded"
        assert len(result["utterances"]) == len(set(result["utterances"]))
        # With the budget spent, close gives up unsubscribing after 5 s (the next start's PUT
        # replaces the list); the channel count must still stay within max_channels.
        assert sim.stats.channels_created <= 4


async def test_topics_shard_over_channels(tmp_path: Path) -> None:
    async with Simulator(sim_config(conversations=6, max_conversations=10, max_topics=4)) as sim:
        result = await run(sim, tmp_path, max_topics_per_channel=4, max_channels=4)
        check_exactly_once(result)
        assert len(result["channels"]) >= 2
        assert all(len(c.topics) <= 4 for c in sim.platform.channels.values())


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_combined_faults_seeded(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    pool = [drop, short_stall, long_stall, closing_warned, closing_silent, storm_429, errors_5xx, revoke]
    plan = [(rng.uniform(0.3, 1.5), rng.choice(pool)) for _ in range(4)]
    async with Simulator(sim_config(seed=seed)) as sim:
        result = await run(sim, tmp_path, plan)
        check_exactly_once(result)
        check_backoff(result["delays"])
        check_no_leaks(sim)


async def test_restart_reuses_the_channel(tmp_path: Path) -> None:
    async with Simulator(sim_config(max_conversations=None)) as sim:
        settings = settings_for(sim, tmp_path)
        for _ in range(3):
            async with asyncio.timeout(20), NotificationsSource(settings) as source:
                frame = await source.__anext__()
                assert frame.data
        assert sim.stats.channels_created == 1
        check_no_leaks(sim)


async def test_bad_credentials_are_a_clear_error(tmp_path: Path) -> None:
    async with Simulator(sim_config()) as sim:
        with pytest.raises(AuthError, match="client id 'sim-client'") as info:
            async with asyncio.timeout(20), connect(settings_for(sim, tmp_path, client_secret="wrong")):
                pass
        assert info.value.status == 401
        assert "wrong" not in str(info.value)


async def test_missing_permission_is_named(tmp_path: Path) -> None:
    client = OAuthClient(permissions=frozenset({"conversation:transcription:view"}))
    async with Simulator(sim_config(clients=(client,))) as sim:
        with pytest.raises(AuthError) as info:
            async with asyncio.timeout(20), connect(settings_for(sim, tmp_path)):
                pass
        assert "routing:queue:view" in info.value.missing_permissions
        assert "routing:queue:view" in str(info.value)


async def test_explicit_conversation_ids(tmp_path: Path) -> None:
    async with Simulator(sim_config(max_conversations=None)) as sim:
        async with asyncio.timeout(20):
            while not sim.active_conversations():
                await asyncio.sleep(0.05)
        cid = sim.active_conversations()[0]
        settings = settings_for(sim, tmp_path, queues=[], conversations=[cid])
        async with asyncio.timeout(30), connect(settings) as stream:
            async for rec in stream:
                if type(rec) is gcstream.Utterance:
                    assert rec.conversation_id == cid
                    break
