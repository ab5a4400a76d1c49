"""WebhookSink against a real local HTTP server."""

from __future__ import annotations

import asyncio

import pytest
from gcstream import Utterance
from gcstream.exceptions import ConfigError, SinkError, SinkRejectedError
from gcstream.sinks._http import Refused, RetryPolicy
from gcstream.sinks.webhook import WebhookSink

from sinks.services import Webhook, records, utterances

TIMEOUT = 20.0
FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.02, timeout=2)


async def test_posts_each_utterance_once_with_bearer_and_key(webhook: Webhook) -> None:
    recs = records(2, 3)
    sink = WebhookSink(webhook.url, token=webhook.token, retry=FAST)
    await sink.open()
    async with asyncio.timeout(TIMEOUT):
        await sink.write(recs)
        await sink.write(recs)  # a replay: the receiver answers 409, counted as delivered
    await sink.aclose()
    utts = utterances(recs)
    assert [b["utterance_id"] for b in webhook.received] == [u.utterance_id for u in utts]
    assert webhook.duplicates == len(utts)
    assert webhook.received[0]["text"] == utts[0].text
    assert webhook.max_in_flight == 1


async def test_conversations_are_posted_concurrently_each_in_order(webhook: Webhook) -> None:
    webhook.slow = 0.05
    recs = records(6, 4)
    sink = WebhookSink(webhook.url, token=webhook.token, retry=FAST, concurrency=3)
    await sink.open()
    async with asyncio.timeout(TIMEOUT):
        await sink.write(recs)
    await sink.aclose()
    assert webhook.max_in_flight == 3  # never more than configured, and really overlapping
    utts = utterances(recs)
    for conversation in {u.conversation_id for u in utts}:
        sent = [u.utterance_id for u in utts if u.conversation_id == conversation]
        got = [b["utterance_id"] for b in webhook.received if b["conversation_id"] == conversation]
        assert got == sent


async def test_one_lane_failing_fails_the_batch_after_the_others_finish(webhook: Webhook) -> None:
    recs = records(3, 2)
    sink = WebhookSink(webhook.url, token=webhook.token, retry=FAST, concurrency=3)
    await sink.open()
    webhook.fail_status = 503
    with pytest.raises(SinkError, match="after 3 attempts"):
        async with asyncio.timeout(TIMEOUT):
            await sink.write(recs)
    assert webhook.in_flight == 0
    webhook.fail_status = None
    async with asyncio.timeout(TIMEOUT):
        await sink.write(recs)  # the replay delivers everything, each key once
    await sink.aclose()
    assert len(webhook.received) == len({b["key"] for b in webhook.received}) == len(utterances(recs))


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        WebhookSink("http://127.0.0.1:9/hook", concurrency=0)


def test_credentials_in_the_url_beside_a_token_are_refused_at_construction() -> None:
    # aiohttp cannot send both: every request would fail and be retried for ever.
    with pytest.raises(ConfigError, match="give one of them") as e:
        WebhookSink("http://svc:pw-77@127.0.0.1:9/hook", token="tk-88")
    assert "pw-77" not in str(e.value) and "tk-88" not in str(e.value)
    WebhookSink("http://svc:pw-77@127.0.0.1:9/hook")  # either one alone is fine
    WebhookSink("http://127.0.0.1:9/hook", token="tk-88")


async def test_retries_5xx_then_opens_the_circuit(webhook: Webhook) -> None:
    webhook.fail_status = 503
    sink = WebhookSink(webhook.url, token=webhook.token, retry=FAST, breaker_threshold=2, breaker_reset=60)
    await sink.open()
    async with asyncio.timeout(TIMEOUT):
        for _ in range(2):
            with pytest.raises(SinkError, match="after 3 attempts"):
                await sink.write(records(1, 1))
        assert sink.breaker.state == "open"
        before = webhook.attempts
        with pytest.raises(SinkError, match="circuit open"):
            await sink.write(records(1, 1))
        assert webhook.attempts == before  # refused without a request
    assert webhook.attempts == 6
    await sink.aclose()


async def test_wrong_token_is_not_retried(webhook: Webhook) -> None:
    sink = WebhookSink(webhook.url, token="wrong", retry=FAST)
    await sink.open()
    with pytest.raises(SinkError, match="HTTP 401") as e:
        async with asyncio.timeout(TIMEOUT):
            await sink.write(records(1, 1))
    assert not isinstance(e.value, SinkRejectedError | Refused)  # an outage: the record is not set aside
    assert webhook.attempts == 1
    await sink.aclose()


async def test_timeout_is_retried(webhook: Webhook) -> None:
    webhook.slow = 0.5
    sink = WebhookSink(
        webhook.url, token=webhook.token, retry=RetryPolicy(attempts=2, initial=0.01, timeout=0.1)
    )
    await sink.open()
    with pytest.raises(SinkError, match="TimeoutError"):
        async with asyncio.timeout(TIMEOUT):
            await sink.write(records(1, 1))
    assert webhook.attempts == 2
    await sink.aclose()


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_a_refused_utterance_is_reported_and_the_rest_delivered(
    webhook: Webhook, concurrency: int
) -> None:
    webhook.refuse_text = "[PHONE]"
    recs = records(3, 6, phone_every=3)
    sink = WebhookSink(
        webhook.url, token=webhook.token, retry=FAST, breaker_threshold=1, concurrency=concurrency
    )
    await sink.open()
    with pytest.raises(SinkRejectedError, match="HTTP 422") as e:
        async with asyncio.timeout(TIMEOUT):
            await sink.write(recs)
    await sink.aclose()
    poison = {i for i, r in enumerate(recs) if type(r) is Utterance and "[PHONE]" in r.text}
    assert poison
    assert e.value.rejected == dict.fromkeys(poison, "http_422")
    assert len(webhook.refused) == len(poison)  # not retried: the answer would be the same
    delivered = [r.utterance_id for r in utterances(recs) if "[PHONE]" not in r.text]
    assert sorted(b["utterance_id"] for b in webhook.received) == sorted(delivered)
    assert sink.breaker.state == "closed"  # a refusal is an answer, not an outage
