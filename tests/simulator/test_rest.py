"""REST endpoints and limits of the simulator, over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import re

import aiohttp
from gcstream.simulator import ALL_PERMISSIONS, OAuthClient, Simulator

from .conftest import TIMEOUT, Client, SimFactory, wait_until

CONV = "v2.conversations.{}.transcription"
UUID0 = "00000000-0000-4000-8000-{:012d}"


async def test_oauth_token_and_errors(sim: Simulator, http: aiohttp.ClientSession) -> None:
    c = Client(sim.base_url, http)
    body = await c.login()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert body["access_token"]
    bad = base64.b64encode(b"sim-client:nope").decode()
    async with http.post(
        f"{sim.base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {bad}"},
    ) as r:
        assert r.status == 401
        assert (await r.json())["error"] == "invalid_client"
    async with http.post(
        f"{sim.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"},
    ) as r:
        assert r.status == 401  # form-field credentials are not the Genesys way
    good = base64.b64encode(b"sim-client:sim-secret").decode()
    async with http.post(
        f"{sim.base_url}/oauth/token",
        data={"grant_type": "password"},
        headers={"Authorization": f"Basic {good}"},
    ) as r:
        assert r.status == 400


async def test_expires_in_configurable(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(autostart=False, clients=(OAuthClient(expires_in=300),))
    assert (await Client(sim.base_url, http).login())["expires_in"] == 300


async def test_api_requires_valid_bearer(client: Client) -> None:
    status, body, _ = await client.call("GET", "/api/v2/notifications/channels", token="bogus")
    assert status == 401
    assert body["code"] == "bad.credentials"
    assert body["status"] == 401


async def test_channel_create_list_head(client: Client, sim: Simulator, http: aiohttp.ClientSession) -> None:
    ch = await client.channel()
    assert re.fullmatch(r"streaming-0-[a-z0-9]{26}", ch["id"])
    assert ch["connectUri"] == sim.base_url.replace("http", "ws") + f"/channels/{ch['id']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ch["expires"])
    status, body, _ = await client.call("GET", "/api/v2/notifications/channels")
    assert status == 200
    assert [e["id"] for e in body["entities"]] == [ch["id"]]
    other = Client(sim.base_url, http)
    await other.login()
    _, body, _ = await other.call("GET", "/api/v2/notifications/channels")
    assert body["entities"] == []
    _, body, _ = await other.call("GET", "/api/v2/notifications/channels?includechannels=oauthclient")
    assert [e["id"] for e in body["entities"]] == [ch["id"]]
    assert (await client.call("HEAD", f"/api/v2/notifications/channels/{ch['id']}"))[0] == 200
    assert (await client.call("HEAD", "/api/v2/notifications/channels/streaming-0-nope"))[0] == 404


async def test_subscriptions_crud(client: Client) -> None:
    ch = await client.channel()
    t1, t2, t3 = (CONV.format(UUID0.format(i)) for i in range(3))
    status, body = await client.subscribe(ch["id"], [t1, t2])
    assert status == 200
    assert [e["id"] for e in body["entities"]] == [t1, t2]
    assert all(e["state"] == "Permitted" for e in body["entities"])
    status, body = await client.subscribe(ch["id"], [t3], method="POST")
    assert [e["id"] for e in body["entities"]] == [t1, t2, t3]
    status, body, _ = await client.call("GET", f"/api/v2/notifications/channels/{ch['id']}/subscriptions")
    assert [e["id"] for e in body["entities"]] == [t1, t2, t3]
    status, body = await client.subscribe(ch["id"], [t2])  # PUT replaces
    assert [e["id"] for e in body["entities"]] == [t2]
    assert (await client.call("DELETE", f"/api/v2/notifications/channels/{ch['id']}/subscriptions"))[0] == 204
    _, body, _ = await client.call("GET", f"/api/v2/notifications/channels/{ch['id']}/subscriptions")
    assert body["entities"] == []
    status, body = await client.subscribe(ch["id"], ["v2.bogus.topic"])
    assert status == 400
    status, body, _ = await client.call(
        "PUT", f"/api/v2/notifications/channels/{ch['id']}/subscriptions", {"id": t1}
    )
    assert status == 400  # not an array
    uid = UUID0.format(9)
    status, body = await client.subscribe(ch["id"], [f"v2.users.{uid}?conversations"])
    assert [e["id"] for e in body["entities"]] == [f"v2.users.{uid}.conversations"]
    status, body = await client.subscribe(ch["id"], [f"v2.users.{uid}?" + "&".join(["conversations"] * 40)])
    assert status == 400  # combined topic over 200 characters


async def test_permission_rejection(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    perms = ALL_PERMISSIONS - {"conversation:transcription:view"}
    sim = await make_sim(autostart=False, clients=(OAuthClient(permissions=perms),))
    c = Client(sim.base_url, http)
    await c.login()
    ch = await c.channel()
    q = f"v2.routing.queues.{sim.directory.queue_ids[0]}.conversations"
    t = CONV.format(UUID0.format(1))
    status, body = await c.subscribe(ch["id"], [q, t])
    assert status == 403
    assert "conversation:transcription:view" in body["message"]
    _, cur, _ = await c.call("GET", f"/api/v2/notifications/channels/{ch['id']}/subscriptions")
    assert cur["entities"] == []  # nothing subscribed
    status, body = await c.subscribe(ch["id"], [q, t], ignore=True)
    assert status == 200
    by_id = {e["id"]: e for e in body["entities"]}
    assert by_id[q]["state"] == "Permitted"
    assert by_id[t]["state"] == "Rejected"
    assert by_id[t]["missingPermissions"] == ["conversation:transcription:view"]


async def test_topic_limit(client: Client) -> None:
    ch = await client.channel()
    topics = [CONV.format(UUID0.format(i)) for i in range(1000)]
    assert (await client.subscribe(ch["id"], topics))[0] == 200
    status, body = await client.subscribe(ch["id"], [CONV.format(UUID0.format(5000))], method="POST")
    assert status == 400
    assert body["code"] == "bad.request"
    _, cur, _ = await client.call("GET", f"/api/v2/notifications/channels/{ch['id']}/subscriptions")
    assert len(cur["entities"]) == 1000


async def test_channel_limit_evicts_oldest_idle_first(client: Client, sim: Simulator) -> None:
    import websockets

    first = await client.channel()
    async with websockets.connect(first["connectUri"]):
        await sim.wait_socket(first["id"], TIMEOUT)  # channels with a socket go last
        second = await client.channel()
        for _ in range(18):
            await client.channel()
        _, body, _ = await client.call("GET", "/api/v2/notifications/channels")
        assert len(body["entities"]) == 20
        await client.channel()  # the 21st
        _, body, _ = await client.call("GET", "/api/v2/notifications/channels")
        ids = {e["id"] for e in body["entities"]}
        assert len(ids) == 20
        assert first["id"] in ids
        assert second["id"] not in ids
        assert sim.stats.channels_evicted == 1


async def test_rate_limit_429(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(autostart=False, requests_per_minute=5)
    c = Client(sim.base_url, http)
    await c.login()
    for _ in range(5):
        assert (await c.call("GET", "/api/v2/notifications/channels"))[0] == 200
    status, body, headers = await c.call("GET", "/api/v2/notifications/channels")
    assert status == 429
    assert int(headers["Retry-After"]) >= 1
    assert body["code"] == "too.many.requests.retry.after"
    assert body["status"] == 429
    assert re.search(r"Retry the request in \[\d+\] seconds", body["message"])
    other = Client(sim.base_url, http)
    await other.login()  # the budget is per token
    assert (await other.call("GET", "/api/v2/notifications/channels"))[0] == 200
    assert sim.stats.rate_limited == 1


async def test_rest_faults(client: Client, sim: Simulator) -> None:
    sim.faults.rest_errors(status=503, count=2)
    assert (await client.call("GET", "/api/v2/notifications/channels"))[0] == 503
    assert (await client.call("GET", "/api/v2/notifications/channels"))[0] == 503
    assert (await client.call("GET", "/api/v2/notifications/channels"))[0] == 200
    sim.faults.rate_limit_storm(3, retry_after=2)
    for _ in range(3):
        status, _, headers = await client.call("POST", "/api/v2/notifications/channels")
        assert status == 429
        assert headers["Retry-After"] == "2"
    assert (await client.call("POST", "/api/v2/notifications/channels"))[0] == 200
    sim.faults.rest_errors(status=502, count=1)
    status, body, _ = await client.call("GET", "/api/v2/notifications/channels")
    assert status == 502
    assert isinstance(body, str)


async def test_channel_expiry_and_resubscribe(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    # 24 h at time_scale 86400/1.5 lasts 1.5 s.
    sim = await make_sim(autostart=False, time_scale=86400 / 1.5)
    c = Client(sim.base_url, http)
    await c.login()
    a, b = await c.channel(), await c.channel()
    # Keep resubscribing to a (each one extends it by a full lifetime) until b, left alone, expires.
    async with asyncio.timeout(TIMEOUT):
        while sim.stats.channels_expired == 0:
            assert (await c.subscribe(a["id"], [CONV.format(UUID0.format(1))]))[0] == 200
            await asyncio.sleep(0.05)
    assert (await c.call("HEAD", f"/api/v2/notifications/channels/{a['id']}"))[0] == 200
    assert (await c.call("HEAD", f"/api/v2/notifications/channels/{b['id']}"))[0] == 404
    assert sim.stats.channels_expired == 1


async def test_channel_dies_with_its_token(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(autostart=False, clients=(OAuthClient(expires_in=1),))
    c = Client(sim.base_url, http)
    await c.login()
    ch = await c.channel()
    assert (await c.call("HEAD", f"/api/v2/notifications/channels/{ch['id']}"))[0] == 200
    await wait_until(lambda: sim.stats.channels_expired == 1, "the channel to die with its token")
    assert (await c.call("GET", "/api/v2/notifications/channels"))[0] == 401
    await c.login()
    assert (await c.call("HEAD", f"/api/v2/notifications/channels/{ch['id']}"))[0] == 404


async def test_analytics_query_in_flight(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    # Calls of 20 minutes (24 s here): none ends while the test runs, so the set in flight is fixed.
    sim = await make_sim(
        seed=5, time_scale=50, conversations=3, max_conversations=3, conversation_duration=1200
    )
    c = Client(sim.base_url, http)
    await c.login()
    interval = "2000-01-01T00:00:00.000Z/2100-01-01T00:00:00.000Z"
    q = {
        "interval": interval,
        "conversationFilters": [
            {"type": "and", "predicates": [{"dimension": "conversationEnd", "operator": "notExists"}]}
        ],
    }
    await wait_until(lambda: len(sim.active_conversations()) == 3, "three calls in flight")
    status, body, _ = await c.call("POST", "/api/v2/analytics/conversations/details/query", q)
    assert status == 200
    assert body["totalHits"] == 3
    got = {x["conversationId"] for x in body["conversations"]}
    assert got == set(sim.active_conversations())
    conv = body["conversations"][0]
    assert {p["purpose"] for p in conv["participants"]} == {"customer", "acd", "agent"}
    assert "conversationEnd" not in conv
    status, body, _ = await c.call(
        "POST",
        "/api/v2/analytics/conversations/details/query",
        {"interval": "2000-01-01T00:00:00Z/2000-01-02T00:00:00Z"},
    )
    assert status == 200
    assert body == {"totalHits": 0}
    assert (await c.call("POST", "/api/v2/analytics/conversations/details/query", {}))[0] == 400
