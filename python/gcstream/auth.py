"""OAuth client credentials for Genesys Cloud: fetch, cache, refresh before expiry.

The request is the one every official SDK sends (research/genesys-real-api.md §3.1)::

    POST https://login.{domain}/oauth/token
    Authorization: Basic base64(client_id:client_secret)
    Content-Type: application/x-www-form-urlencoded

    grant_type=client_credentials

The token is cached and replaced a little before ``expires_in`` runs out (the lifetime is set
per OAuth client, 300 s to 48 h, so it is always read from the response). Concurrent callers
share one request. 429 waits ``Retry-After``; 5xx and network errors are retried with backoff;
400/401 mean the credentials are wrong and raise :class:`~gcstream.exceptions.AuthError` at once.
Neither the secret nor the token is ever logged or put in an exception.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from gcstream.exceptions import ApiError, AuthError, ConnectionLostError, RateLimitedError
from gcstream.genesys.retry import DEFAULT_RETRY_AFTER_S, Backoff, describe_io_error, parse_retry_after

__all__ = ["ClientCredentials", "Token", "TokenSource", "refresh_at"]

log = logging.getLogger("gcstream.auth")

MIN_LIFETIME_S = 1.0
"""A token living less than this is refused as unusable."""


class TokenSource(Protocol):
    """Anything that can hand out a bearer token (the REST client and seed sources need one)."""

    async def token(self) -> str:
        """Return a valid access token, fetching a new one if needed."""
        ...

    def invalidate(self, token: str | None = None) -> None:
        """Forget ``token`` (or the current one) after the server refused it."""
        ...


@dataclass(frozen=True, slots=True)
class Token:
    """A cached access token.

    Attributes:
        value: The access token. Never log it.
        obtained_at: Monotonic time it was received.
        expires_in: Lifetime in seconds, from the response.
        refresh_at: Monotonic time after which it is replaced.
    """

    value: str
    obtained_at: float
    expires_in: float
    refresh_at: float

    def __repr__(self) -> str:
        return f"Token(value=<redacted>, expires_in={self.expires_in}, refresh_at={self.refresh_at:.1f})"


def refresh_at(obtained_at: float, expires_in: float, margin: float) -> float:
    """Return when to replace a token: ``margin`` seconds before expiry, but never more than a tenth
    of its lifetime early (a 300 s token is replaced after 270 s, a 24 h one 5 minutes before)."""
    early = min(margin, expires_in * 0.1)
    return obtained_at + expires_in - early


class ClientCredentials:
    """Token cache for the client-credentials grant.

    Args:
        session: The shared aiohttp session.
        token_url: ``https://login.{domain}/oauth/token`` (see :class:`gcstream.regions.Endpoints`).
        client_id: The OAuth client id.
        client_secret: Its secret (a plain string or anything with ``get_secret_value()``).
        refresh_margin: Seconds before expiry to replace the token.
        backoff: Retry delays for 5xx and network errors.
        max_attempts: Give up on 5xx / network errors after this many tries.
        max_wait: Give up when 429s have made us wait this long in total.
        timeout: Seconds for one token request.
        clock: Monotonic clock.
        sleep: Async sleep paired with ``clock``.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token_url: str,
        client_id: str,
        client_secret: Any,
        *,
        refresh_margin: float = 300.0,
        backoff: Backoff | None = None,
        max_attempts: int = 6,
        max_wait: float = 300.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._url = token_url
        secret = (
            client_secret.get_secret_value() if hasattr(client_secret, "get_secret_value") else client_secret
        )
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        self._client_id = client_id
        self._margin = refresh_margin
        self._backoff = backoff or Backoff(rng=random.Random())
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._sleep = sleep
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.generation = 0
        """Increments with every new token; watchers compare it to notice a refresh."""
        self.requests = 0

    def __repr__(self) -> str:  # never the secret
        return f"ClientCredentials(client_id={self._client_id!r}, url={self._url!r})"

    @property
    def current(self) -> Token | None:
        """The cached token, if any (it may be due for refresh)."""
        return self._token

    def due(self, now: float | None = None) -> bool:
        """True when the cached token is missing or due for refresh."""
        tok = self._token
        return tok is None or (self._clock() if now is None else now) >= tok.refresh_at

    async def token(self) -> str:
        """Return a valid access token, fetching one if none is cached or it is due.

        Raises:
            AuthError: The credentials were refused.
            RateLimitedError: 429s lasted longer than ``max_wait``.
            ApiError: The token endpoint kept failing (5xx).
            ConnectionLostError: The token endpoint could not be reached.
        """
        tok = self._token
        if tok is not None and self._clock() < tok.refresh_at:
            return tok.value
        async with self._lock:
            tok = self._token
            if tok is not None and self._clock() < tok.refresh_at:
                return tok.value
            tok = await self._fetch()
            self._token = tok
            self.generation += 1
            log.info(
                "obtained an access token (expires in %.0f s, refresh in %.0f s)",
                tok.expires_in,
                tok.refresh_at - tok.obtained_at,
            )
            return tok.value

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token (only if it is ``token``, when given) so the next call fetches one."""
        if self._token is not None and (token is None or self._token.value == token):
            self._token = None

    async def _fetch(self) -> Token:
        waited = 0.0
        attempts = 0
        self._backoff.reset()
        while True:
            self.requests += 1
            try:
                async with self._session.post(
                    self._url,
                    data={"grant_type": "client_credentials"},
                    headers=self._headers,
                    timeout=self._timeout,
                ) as resp:
                    status = resp.status
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                    body: Any = await _json_or_none(resp)
            except (aiohttp.ClientError, TimeoutError) as exc:
                attempts += 1
                if attempts >= self._max_attempts:
                    raise ConnectionLostError(
                        f"cannot reach the OAuth endpoint {self._url}: {describe_io_error(exc)}"
                    ) from exc
                await self._sleep(self._backoff.next_delay())
                continue
            if status == 200:
                return self._parse(body)
            if status == 429:
                delay = DEFAULT_RETRY_AFTER_S if retry_after is None else retry_after
                if waited + delay > self._max_wait:
                    raise RateLimitedError(
                        "the OAuth endpoint kept answering 429", retry_after=delay, code=_code(body)
                    )
                log.warning("OAuth token request rate-limited; waiting %.1f s (Retry-After)", delay)
                waited += delay
                await self._sleep(delay)
                continue
            if status in (400, 401, 403):
                raise AuthError(_credentials_message(status, body, self._client_id), status=status)
            if status >= 500:
                attempts += 1
                if attempts >= self._max_attempts:
                    raise ApiError(
                        f"the OAuth endpoint failed with HTTP {status}", status=status, code=_code(body)
                    )
                await self._sleep(self._backoff.next_delay())
                continue
            raise ApiError(
                f"unexpected HTTP {status} from the OAuth endpoint", status=status, code=_code(body)
            )

    def _parse(self, body: Any) -> Token:
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise AuthError("the OAuth endpoint answered 200 without an access_token", status=200)
        try:
            expires_in = float(body.get("expires_in", 0))
        except (TypeError, ValueError):
            expires_in = 0.0
        if expires_in < MIN_LIFETIME_S:
            raise AuthError(f"the OAuth endpoint issued a token with expires_in={expires_in}", status=200)
        now = self._clock()
        return Token(body["access_token"], now, expires_in, refresh_at(now, expires_in, self._margin))


async def _json_or_none(resp: aiohttp.ClientResponse) -> Any:
    try:
        return await resp.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return None


def _code(body: Any) -> str | None:
    if isinstance(body, dict):
        code = body.get("code") or body.get("error")
        return str(code) if code is not None else None
    return None


def _credentials_message(status: int, body: Any, client_id: str) -> str:
    detail = ""
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "error_description", "message") if body.get(k)]
        detail = f" ({'; '.join(parts)})" if parts else ""
    return (
        f"Genesys Cloud refused the OAuth client credentials for client id {client_id!r} "
        f"(HTTP {status}){detail}: check the client id and secret (genesys.client_id / client_secret, or "
        "GENESYS_CLOUD_CLIENT_ID / GENESYS_CLOUD_CLIENT_SECRET, which win over the file), that the "
        "OAuth client uses the Client Credentials grant, and that region/base_url points at its org"
    )
