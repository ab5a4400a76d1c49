"""A small Genesys Cloud REST client: bearer auth, rate limit, retries, clear errors.

Every call goes through the :class:`~gcstream.genesys.ratelimit.RateLimiter` (the 300/min budget
is per token and shared by all calls). Responses are handled the same way everywhere:

==========  ===============================================================================
429         wait ``Retry-After`` (pausing every caller), then retry
401         drop the token, fetch a new one, retry once; a second 401 is an ``AuthError``
403         ``AuthError`` naming the missing permission(s)
5xx, I/O    retry with exponential backoff and jitter, up to ``max_attempts``
``allow``   returned to the caller (e.g. 404 from ``HEAD`` on a channel)
other 4xx   ``ApiError`` with the Genesys message and code
==========  ===============================================================================
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from gcstream.auth import TokenSource
from gcstream.exceptions import ApiError, AuthError, ConnectionLostError, RateLimitedError
from gcstream.genesys.ratelimit import RateLimiter
from gcstream.genesys.retry import DEFAULT_RETRY_AFTER_S, Backoff, describe_io_error, parse_retry_after

__all__ = ["Response", "RestClient", "RestStats", "missing_permissions"]

log = logging.getLogger("gcstream.genesys.rest")

_PERMISSION = re.compile(r"\b[a-zA-Z]+:[a-zA-Z]+:[a-zA-Z*]+\b")


@dataclass(frozen=True, slots=True)
class Response:
    """A REST answer the caller accepted.

    Attributes:
        status: HTTP status.
        body: Parsed JSON body, or None (HEAD, 204, non-JSON).
    """

    status: int
    body: Any


@dataclass(slots=True)
class RestStats:
    """Counters for the REST client."""

    requests: int = 0
    rate_limited: int = 0
    retried: int = 0
    server_errors: int = 0
    network_errors: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


def missing_permissions(body: Any, hint: str | None = None) -> tuple[str, ...]:
    """Return the permissions a 403 body names (``missingPermissions``, ``messageParams``, the
    message text), or ``(hint,)`` when it names none."""
    found: list[str] = []
    if isinstance(body, dict):
        for key in ("missingPermissions", "missing_permissions"):
            value = body.get(key)
            if isinstance(value, list):
                found += [str(v) for v in value]
        params = body.get("messageParams")
        if isinstance(params, dict):
            for value in params.values():
                found += _PERMISSION.findall(str(value))
        for key in ("message", "messageWithParams"):
            if isinstance(body.get(key), str):
                found += _PERMISSION.findall(body[key])
    unique = tuple(dict.fromkeys(found))
    if unique:
        return unique
    return (hint,) if hint else ()


class RestClient:
    """Calls ``{api_base}/api/v2/...`` with a bearer token.

    Args:
        session: Shared aiohttp session.
        api_base: ``https://api.{domain}`` or the simulator's base URL.
        auth: Where tokens come from.
        limiter: The shared REST budget.
        backoff: Delays for 5xx / network retries.
        max_attempts: Tries for 5xx / network errors before giving up.
        max_wait: Total seconds of 429 waits before :class:`RateLimitedError`.
        timeout: Seconds per request.
        sleep: Async sleep (for tests).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_base: str,
        auth: TokenSource,
        limiter: RateLimiter,
        *,
        backoff: Backoff | None = None,
        max_attempts: int = 6,
        max_wait: float = 600.0,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self.api_base = api_base.rstrip("/")
        self.auth = auth
        self.limiter = limiter
        self._backoff_proto = backoff or Backoff()
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random()
        self.stats = RestStats()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        make_json: Callable[[], Any] | None = None,
        params: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
        permission: str | None = None,
        what: str | None = None,
        on_wait: Callable[[float], Awaitable[None]] | None = None,
    ) -> Response:
        """Send one request (retrying as the module docs say) and return the accepted answer.

        Args:
            method: HTTP method.
            path: Path starting with ``/api/v2/``.
            json: JSON body.
            make_json: Builds the JSON body before every attempt (instead of ``json``), so a request
                retried after a ``Retry-After`` wait sends what is wanted then, not what was
                wanted when it was first tried.
            params: Query parameters.
            allow: Non-2xx statuses to return instead of raising (e.g. ``(404,)``).
            permission: The permission this call needs, named in the error if a 403 names none.
            what: A few words for error messages (``"create a notification channel"``).
            on_wait: Called with the expected wait (seconds) each time the call is about to wait
                for the rate limit (a 429's ``Retry-After``, or the client-side budget), so the
                caller can do something useful meanwhile (e.g. subscribe over the socket).

        Raises:
            AuthError: 401 twice, or 403.
            RateLimitedError: 429s lasted longer than ``max_wait``.
            ApiError: Any other refusal, or 5xx beyond ``max_attempts``.
            ConnectionLostError: The API could not be reached after ``max_attempts``.
        """
        url = self.api_base + path
        label = what or f"{method} {path}"
        backoff = Backoff(
            self._backoff_proto.initial,
            self._backoff_proto.maximum,
            self._backoff_proto.multiplier,
            self._backoff_proto.jitter,
            rng=self._rng,
        )
        attempts = 0
        waited = 0.0
        refreshed = False
        route = f"{method} {_route(path)}"
        while True:
            if on_wait is not None and (wait := self.limiter.delay()) > 0:
                await on_wait(wait)
            await self.limiter.acquire()
            token = await self.auth.token()
            self.stats.requests += 1
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            try:
                async with self._session.request(
                    method,
                    url,
                    json=make_json() if make_json is not None else json,
                    params=params,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=self._timeout,
                ) as resp:
                    status = resp.status
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                    body = None if method == "HEAD" or status == 204 else await _json_or_none(resp)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.stats.network_errors += 1
                attempts += 1
                if attempts >= self._max_attempts:
                    raise ConnectionLostError(
                        f"{label}: cannot reach {self.api_base}: {describe_io_error(exc)}"
                    ) from exc
                self.stats.retried += 1
                await self._sleep(backoff.next_delay())
                continue
            if 200 <= status < 300 or status in allow:
                return Response(status, body)
            if status == 429:
                self.stats.rate_limited += 1
                delay = DEFAULT_RETRY_AFTER_S if retry_after is None else retry_after
                self.limiter.pause(delay)
                waited += delay
                if waited > self._max_wait:
                    raise RateLimitedError(
                        f"{label}: still rate-limited after waiting {waited:.0f} s",
                        retry_after=delay,
                        code=_field(body, "code"),
                    )
                log.warning("%s: HTTP 429, waiting %.1f s (Retry-After)", label, delay)
                self.stats.retried += 1
                continue
            if status == 401 and not refreshed:
                refreshed = True
                self.auth.invalidate(token)
                self.stats.retried += 1
                continue
            if status == 401:
                raise AuthError(
                    f"{label}: Genesys Cloud refused a fresh access token (HTTP 401): "
                    "the OAuth client may be disabled or its tokens revoked",
                    status=401,
                )
            if status == 403:
                perms = missing_permissions(body, permission)
                named = f"; missing permission: {', '.join(perms)}" if perms else ""
                raise AuthError(
                    f"{label}: forbidden (HTTP 403){named}. Add it to the OAuth client's role "
                    f"({_field(body, 'message') or 'no detail'})",
                    status=403,
                    missing_permissions=perms,
                )
            if status >= 500:
                self.stats.server_errors += 1
                attempts += 1
                if attempts >= self._max_attempts:
                    raise ApiError(
                        f"{label}: HTTP {status} after {attempts} attempts",
                        status=status,
                        code=_field(body, "code"),
                    )
                self.stats.retried += 1
                await self._sleep(backoff.next_delay() if retry_after is None else retry_after)
                continue
            raise ApiError(
                f"{label}: HTTP {status}: {_field(body, 'message') or 'no detail'}",
                status=status,
                code=_field(body, "code"),
            )


async def _json_or_none(resp: aiohttp.ClientResponse) -> Any:
    try:
        return await resp.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return None


def _field(body: Any, key: str) -> str | None:
    if isinstance(body, dict) and body.get(key) is not None:
        return str(body[key])
    return None


def _route(path: str) -> str:
    # Collapse ids so counters group by endpoint: /channels/{id}/subscriptions.
    parts = path.split("?", maxsplit=1)[0].split("/")
    if len(parts) > 5 and parts[3] == "notifications" and parts[4] == "channels":
        parts[5] = "{id}"
    return "/".join(parts)
