"""InfluxDB: utterances as line protocol through either write API.

Each utterance is one point, encoded in the core (``encode_line_protocol``)::

    utterance,channel=EXTERNAL,conversation=c1,language=en-US confidence=0.93,duration_ms=1500i,
        latency_ms=820i,pii=1i,words=7i,text="my card is [CREDIT_CARD]",utterance_id="u1" 1700000000000123456

Tags: ``channel`` (the speaker side), ``conversation``, ``language``. Fields: ``confidence``,
``duration_ms``, ``latency_ms``, ``pii`` (findings), ``words``, ``text`` (redacted),
``utterance_id``. The timestamp is the utterance start in ns plus a sub-millisecond offset derived
from the utterance key, so a replayed point overwrites itself (InfluxDB identifies a point by
measurement, tags and time) and two utterances starting in the same millisecond do not collide.

APIs: ``v1`` posts to ``/write?db=...&precision=ns`` (InfluxDB 1.x; optional user/password);
``v2`` posts to ``/api/v2/write?org=...&bucket=...&precision=ns`` with ``Authorization: Token ...``
(InfluxDB 2.x/3.x, and servers that speak it, such as VictoriaMetrics, which keeps numeric fields
only). Large batches are split into requests of at most ``batch_points`` points; each request is
retried with backoff and jitter on 408, 425, 429, 5xx and network errors; 401, 403, 404 (a wrong
token, a missing database or bucket) fail the write at once, to be retried later or spooled.

A request refused with any other 4xx (400 "field type conflict", 413 "too large", 422 ...) is split
in halves and each half sent again, down to single points, so only the points the server really
refuses are reported (:class:`~gcstream.exceptions.SinkRejectedError`) and set aside by the
pipeline; the rest of the batch is written. Resending is harmless: a point overwrites itself.
Halves are sent breadth first, at most ``max_split_requests`` of them per write: a batch the
server refuses point by point (a schema change, say) costs a bounded number of requests rather
than two per point, so the write still ends within the pipeline's ``sink_timeout``. Ranges still
refused when the budget is spent are reported as refused whole (their points go to the dead-letter
file with the others, nothing is dropped) and the error says so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import aiohttp

from gcstream._core import Utterance, encode_line_protocol
from gcstream.exceptions import ConfigError, SinkRejectedError
from gcstream.sinks import fail
from gcstream.sinks._http import Refused, RetryPolicy, check_one_credential, post_with_retries

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["InfluxSink"]


class InfluxSink:
    """Write utterances to InfluxDB.

    Args:
        url: Server base URL, e.g. ``http://127.0.0.1:8086``.
        api: ``v1`` or ``v2``.
        database: v1 database (required for v1).
        org: v2 organisation (required for v2).
        bucket: v2 bucket (required for v2).
        token: v2 API token (sent as ``Authorization: Token ...``).
        username: v1 user, if authentication is on.
        password: v1 password.
        measurement: Measurement name.
        batch_points: Most points per request.
        max_split_requests: Most requests one write spends bisecting refused requests; what is
            still refused after them is reported as refused whole.
        retry: Retry policy per request.
        name: The sink's name in the pipeline.
        session: An aiohttp session to use (default: one owned by the sink).
    """

    kinds: frozenset[str] = frozenset({"utterance"})

    def __init__(
        self,
        url: str,
        *,
        api: Literal["v1", "v2"] = "v2",
        database: str | None = None,
        org: str | None = None,
        bucket: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        measurement: str = "utterance",
        batch_points: int = 5000,
        max_split_requests: int = 128,
        retry: RetryPolicy | None = None,
        name: str = "influx",
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if api == "v1":
            if not database:
                raise ConfigError("InfluxDB v1 needs a database", "database")
            self._path = "/write"
            self._params = {"db": database, "precision": "ns"}
            if username is not None:
                self._params |= {"u": username, "p": password or ""}
            self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        elif api == "v2":
            if not org or not bucket:
                raise ConfigError("InfluxDB v2 needs org and bucket", "bucket")
            self._path = "/api/v2/write"
            self._params = {"org": org, "bucket": bucket, "precision": "ns"}
            self._headers = {"Content-Type": "text/plain; charset=utf-8"}
            if token:
                self._headers["Authorization"] = f"Token {token}"
        else:
            raise ConfigError(f"unknown InfluxDB api {api!r}; expected v1 or v2", "api")
        if batch_points < 1:
            raise ConfigError("batch_points must be >= 1", "batch_points")
        if max_split_requests < 0:
            raise ConfigError("max_split_requests must be >= 0", "max_split_requests")
        check_one_credential(url, token_set=api == "v2" and bool(token))
        self.url = url.rstrip("/")
        self.api = api
        self.measurement = measurement
        self.batch_points = batch_points
        self.max_split_requests = max_split_requests
        self.retry = retry or RetryPolicy()
        self.name = name
        self._session = session
        self._own_session = session is None
        self.counters: dict[str, int] = {"points": 0, "requests": 0, "retries": 0}

    async def open(self) -> None:
        """Create the HTTP session (the server may still be down: writes retry and spool)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True

    async def write(self, batch: Sequence[Record]) -> None:
        """POST the utterances in ``batch`` as line protocol.

        Raises:
            SinkRejectedError: The server refused some points for good; all the others are
                written.
            SinkError: A request failed after its retries, or the server refused our credentials
                or the database/bucket.
        """
        session = self._session
        if session is None:
            raise fail(self.name, "write before open")
        data = encode_line_protocol(batch, self.measurement)
        if not data:
            return
        # One line per utterance, in order (the encoder escapes newlines inside values).
        lines = data.splitlines(keepends=True)
        split = _Split(budget=self.max_split_requests)
        for i in range(0, len(lines), self.batch_points):
            await self._post(session, lines, i, min(i + self.batch_points, len(lines)), split)
        if split.refused:
            positions = [i for i, r in enumerate(batch) if type(r) is Utterance]
            note = ""
            if split.unsplit:
                note = (
                    f"; {split.unsplit} of them in requests refused whole, not bisected further"
                    f" after max_split_requests={self.max_split_requests}"
                )
            raise SinkRejectedError(
                f"{split.first} ({len(split.refused)} of {len(lines)} points refused{note})",
                sink=self.name,
                rejected={positions[line]: reason for line, reason in split.refused.items()},
            )

    async def _post(
        self, session: aiohttp.ClientSession, lines: list[bytes], start: int, end: int, split: _Split
    ) -> None:
        """POST ``lines[start:end]``; a refused request is bisected, breadth first and within
        ``split.budget`` more requests, to find the refused lines."""
        ranges = deque([(start, end)])
        while ranges:
            lo, hi = ranges.popleft()
            self.counters["requests"] += 1
            try:
                await post_with_retries(
                    session,
                    self.url + self._path,
                    sink=self.name,
                    data=b"".join(lines[lo:hi]),
                    headers=self._headers,
                    params=self._params,
                    policy=self.retry,
                    counters=self.counters,
                )
            except Refused as e:
                split.first = split.first or str(e)
                if hi - lo > 1 and split.budget >= 2:
                    split.budget -= 2
                    mid = (lo + hi) // 2
                    ranges += [(lo, mid), (mid, hi)]
                else:
                    split.refused.update(dict.fromkeys(range(lo, hi), e.reason))
                    split.unsplit += hi - lo if hi - lo > 1 else 0
                continue
            self.counters["points"] += hi - lo

    async def flush(self) -> None:
        """Nothing is buffered between writes."""

    async def aclose(self) -> None:
        """Close the owned HTTP session."""
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None


@dataclass
class _Split:
    """What one write's bisection has found so far.

    Attributes:
        budget: Requests it may still spend on halves.
        refused: Line -> reason class, for every line refused (alone or in a range refused whole).
        first: The first refusal's message.
        unsplit: Lines refused in ranges the budget left whole.
    """

    budget: int
    refused: dict[int, str] = field(default_factory=dict)
    first: str = ""
    unsplit: int = 0
