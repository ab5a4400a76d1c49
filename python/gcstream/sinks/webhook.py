"""Webhook / knowledge sync: POST each final utterance to an HTTP endpoint.

One request per utterance with::

    POST {url}
    Authorization: Bearer {token}
    Content-Type: application/json
    Idempotency-Key: utterance/{conversation}/{communication or -}/{utterance id}

    {"v":1,"type":"utterance","key":"utterance/...","conversation_id":...,"text":"..."}

By default one request is in flight at a time, so the endpoint receives utterances in the order
the engine produced them. With ``concurrency`` N > 1, different conversations are posted
concurrently (up to N requests in flight) and only each conversation's utterances stay in order:
a request costs a round trip, so one at a time caps a sink at about a thousand utterances a
second even on loopback.

The body is the record's JSON Lines encoding (schema version 1; text already redacted). The
receiver deduplicates on ``Idempotency-Key`` (equal to the body's ``key``), which is what makes
a retry or a spool replay harmless; a ``409 Conflict`` ("already have it") counts as delivered.

Each request has a timeout and is retried with exponential backoff and jitter on 408, 425, 429
(honouring ``Retry-After``), 5xx and network errors. After ``breaker_threshold`` consecutive failed
deliveries the circuit opens: writes fail at once (and the pipeline spools) for
``breaker_reset`` seconds, then one delivery is tried again. 401, 403, 404, 405 and 407 (wrong
token or URL) fail the write the same way, without retrying the request.

Any other 4xx (400, 413, 422, ...) refuses that one utterance for good: the sink goes on with the
rest of the batch and reports the refused ones (:class:`~gcstream.exceptions.SinkRejectedError`),
which the pipeline sets aside in a dead-letter file. A refusal is an answer, not an outage: it
does not count towards the circuit breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiohttp

from gcstream._core import Utterance, encode_jsonl, record_keys
from gcstream.exceptions import SinkError, SinkRejectedError
from gcstream.sinks import fail
from gcstream.sinks._http import CircuitBreaker, Refused, RetryPolicy, check_one_credential, post_with_retries

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["WebhookSink"]


class WebhookSink:
    """POST final utterances to a knowledge endpoint.

    Args:
        url: The endpoint.
        token: Bearer token (``Authorization: Bearer ...``); None sends no Authorization header.
        retry: Timeout and retries per request.
        breaker_threshold: Consecutive failed deliveries that open the circuit.
        breaker_reset: Seconds the circuit stays open before one trial delivery.
        name: The sink's name in the pipeline.
        session: An aiohttp session to use (default: one owned by the sink).
        concurrency: Requests in flight at once, each for a different conversation (>= 1; 1 keeps
            the engine's order across conversations too).
    """

    kinds: frozenset[str] = frozenset({"utterance"})

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        retry: RetryPolicy | None = None,
        breaker_threshold: int = 5,
        breaker_reset: float = 30.0,
        name: str = "webhook",
        session: aiohttp.ClientSession | None = None,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        check_one_credential(url, token_set=bool(token))
        self.url = url
        self.concurrency = concurrency
        self.name = name
        self.retry = retry or RetryPolicy()
        self.breaker = CircuitBreaker(threshold=breaker_threshold, reset_after=breaker_reset)
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._session = session
        self._own_session = session is None
        self.counters: dict[str, int] = {"posted": 0, "retries": 0, "refused_open_circuit": 0, "refused": 0}

    async def open(self) -> None:
        """Create the HTTP session (the endpoint may still be down: writes retry and spool)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True

    async def write(self, batch: Sequence[Record]) -> None:
        """POST each utterance of ``batch``: in order within a conversation, conversations
        concurrently.

        Raises:
            SinkRejectedError: The endpoint refused some utterances for good (``rejected`` names
                them); every other one is delivered.
            SinkError: The circuit is open, or a request failed after its retries. Every request
                of the batch has finished by then; whatever was delivered is deduplicated by the
                receiver when the batch is replayed.
        """
        session = self._session
        if session is None:
            raise fail(self.name, "write before open")
        found = [(i, r) for i, r in enumerate(batch) if type(r) is Utterance]
        if not found:
            return
        utterances = [u for _, u in found]
        lanes: dict[str, list[tuple[int, str, bytes]]] = {}
        bodies = encode_jsonl(utterances).splitlines()
        for (i, u), key, body in zip(found, record_keys(utterances), bodies, strict=True):
            lanes.setdefault(u.conversation_id if self.concurrency > 1 else "", []).append((i, key, body))
        slots = asyncio.Semaphore(self.concurrency)
        refused: dict[int, str] = {}
        why: list[str] = []

        async def lane(posts: list[tuple[int, str, bytes]]) -> None:
            for i, key, body in posts:
                async with slots:
                    try:
                        await self._post(session, key, body)
                    except Refused as e:  # this utterance only: the lane goes on
                        refused[i] = e.reason
                        why.append(str(e))

        results = await asyncio.gather(*(lane(p) for p in lanes.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if refused:
            self.counters["refused"] += len(refused)
            raise SinkRejectedError(
                f"{why[0]} ({len(refused)} of {len(found)} utterances refused)",
                sink=self.name,
                rejected=refused,
            )

    async def _post(self, session: aiohttp.ClientSession, key: str, body: bytes) -> None:
        if not self.breaker.allow():
            self.counters["refused_open_circuit"] += 1
            raise fail(self.name, f"circuit open after {self.breaker.failures} failed deliveries")
        try:
            await post_with_retries(
                session,
                self.url,
                sink=self.name,
                data=body,
                headers={**self._headers, "Idempotency-Key": key},
                policy=self.retry,
                accept=frozenset({409}),
                counters=self.counters,
            )
        except Refused:
            raise
        except SinkError:
            self.breaker.failure()
            raise
        self.breaker.success()
        self.counters["posted"] += 1

    async def flush(self) -> None:
        """Nothing is buffered between writes."""

    async def aclose(self) -> None:
        """Close the owned HTTP session."""
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None
