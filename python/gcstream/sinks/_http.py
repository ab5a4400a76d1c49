"""HTTP delivery shared by the InfluxDB and webhook sinks: retries with backoff and jitter on
429/5xx and network errors (honouring ``Retry-After``), and a circuit breaker.

What a status means (the rule of :mod:`gcstream.sinks`):

* 2xx (and statuses the caller accepts, such as the webhook's 409): delivered.
* 408, 425, 429 and every 5xx, and network errors and timeouts: *transient*, retried here, then
  :class:`~gcstream.exceptions.SinkError` (the pipeline retries later or spools).
* 401, 403, 404, 405, 407: the endpoint refuses *us* — credentials, permissions or the URL are
  wrong, whatever the record — so it is an outage too (:class:`SinkError` at once, no retry here:
  it will not mend in seconds). Setting every record aside because a token expired would empty
  the stream into a side file.
* any other 4xx (400, 413, 415, 422, ...): the request itself is refused, so sending it again
  cannot help: :class:`Refused` at once; the sink reports those records as rejected for good.

Error messages show the URL with its credentials masked (:func:`gcstream.logging.mask_url`): they
end up in the audit log and the report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp

from gcstream.exceptions import ConfigError, SinkError
from gcstream.genesys.retry import Backoff, parse_retry_after
from gcstream.logging import mask_url, url_has_credentials
from gcstream.sinks import describe_failure, fail

__all__ = ["CircuitBreaker", "Refused", "RetryPolicy", "check_one_credential", "post_with_retries"]

RETRYABLE_4XX = frozenset({408, 425, 429})
"""4xx statuses worth another try (timeout, too early, rate limited); every 5xx is too."""
ENDPOINT_REFUSES_US = frozenset({401, 403, 404, 405, 407})
"""4xx statuses about our credentials or the URL, not about the request's content."""


def check_one_credential(url: str, *, token_set: bool, setting: str = "token") -> None:
    """Refuse a URL with ``user:password@`` beside a token: aiohttp sends the URL's credentials as
    Basic auth and cannot also send the token's header, so every request would fail.

    Raises:
        ConfigError: Both are given (the message names neither value).
    """
    if token_set and url_has_credentials(url):
        raise ConfigError(
            "the URL carries credentials (user:password@) and a token is set too; give one of them", setting
        )


class Refused(SinkError):
    """The endpoint refused this request for good (a 4xx about its content).

    Attributes:
        status: The HTTP status.
        reason: The reason class, ``http_{status}``.
    """

    def __init__(self, message: str, *, sink: str, status: int) -> None:
        super().__init__(message, sink=sink)
        self.status = status
        self.reason = f"http_{status}"


@dataclass(frozen=True)
class RetryPolicy:
    """How one delivery is retried before the sink reports failure (and the pipeline spools).

    Attributes:
        attempts: Tries in total (1: no retry).
        initial: First backoff delay, seconds.
        maximum: Backoff cap, seconds (also caps ``Retry-After``).
        jitter: Random fraction of each delay, 0 to 1.
        timeout: Seconds for one request, connect to last byte.
    """

    attempts: int = 4
    initial: float = 0.2
    maximum: float = 5.0
    jitter: float = 0.5
    timeout: float = 10.0

    def backoff(self) -> Backoff:
        """A fresh backoff for one delivery."""
        return Backoff(initial=self.initial, maximum=self.maximum, jitter=self.jitter)


@dataclass
class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures; open refuses at once for
    ``reset_after`` seconds; then half-open lets one delivery through, which closes it again on
    success or re-opens it on failure.

    Attributes:
        threshold: Consecutive failed deliveries that open the circuit.
        reset_after: Seconds the circuit stays open.
    """

    threshold: int = 5
    reset_after: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trips: int = field(default=0)

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        if self.opened_at is None:
            return "closed"
        return "open" if self.clock() - self.opened_at < self.reset_after else "half_open"

    def allow(self) -> bool:
        """True unless the circuit is open."""
        return self.state != "open"

    def success(self) -> None:
        """A delivery succeeded: close."""
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        """A delivery failed (after its retries): count, and open at the threshold."""
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()
            self.trips += 1


async def post_with_retries(
    session: aiohttp.ClientSession,
    url: str,
    *,
    sink: str,
    data: bytes,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    policy: RetryPolicy,
    accept: frozenset[int] = frozenset(),
    counters: dict[str, int] | None = None,
) -> int:
    """POST ``data`` until a 2xx (or a status in ``accept``); returns the status.

    Raises:
        Refused: A 4xx about the request itself (see the module docs): do not send it again.
        SinkError: The endpoint refuses our credentials or URL, or every attempt failed.
    """
    backoff = policy.backoff()
    shown = mask_url(url)
    last = "no attempt"
    for attempt in range(policy.attempts):
        delay: float | None = None
        try:
            async with asyncio.timeout(policy.timeout):
                async with session.post(url, data=data, headers=headers, params=params) as r:
                    body = await r.read()
                    if 200 <= r.status < 300 or r.status in accept:
                        return r.status
                    last = f"HTTP {r.status}: {body[:200].decode(errors='replace')}"
                    if r.status in ENDPOINT_REFUSES_US:
                        raise fail(sink, f"{shown} refused the write: {last}")
                    if 400 <= r.status < 500 and r.status not in RETRYABLE_4XX:
                        message = describe_failure(sink, f"{shown} refused the request: {last}")
                        raise Refused(message, sink=sink, status=r.status)
                    delay = parse_retry_after(r.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        if counters is not None:
            counters["retries"] = counters.get("retries", 0) + 1
        if attempt + 1 < policy.attempts:
            wait = backoff.next_delay()
            await asyncio.sleep(min(policy.maximum, max(wait, delay or 0.0)))
    raise fail(sink, f"{shown} failed after {policy.attempts} attempts ({last})")
