"""Fault injection: a compact spec string, its parsed plan, and the runtime controller.

Spec grammar (``--faults``)::

    SPEC   := ITEM ("," ITEM)*
    ITEM   := NAME [":" PARAM (";" PARAM)*]
    PARAM  := KEY "=" VALUE
    VALUE  := number | duration | bool | word     duration: 250ms, 30s, 2m, 1h (bare = seconds)

Every item takes one of three triggers:

* ``p=0.05``   a probability per published message (socket faults, ``evict``: the channel the
  message went to) or per REST request (``429``, ``5xx``);
* ``every=30s``  repeatedly, first after one period;
* ``after=10s``  once, after a delay.

An item with no trigger fires once, right at start-up (``after=0``).

======================  =========================================================================
name                    effect and extra keys
======================  =========================================================================
``drop``                abort every socket (TCP reset, no close frame: the client sees 1006)
``stall``               write nothing, not even heartbeats or pongs, for ``for=5s``; frames queue
``dup``                 send a data message twice (same ``utteranceId``)
``malformed``           send a frame that is not valid JSON (truncated / garbage), ``n=1``
``oversized``           send a valid envelope of ``bytes=2097152`` bytes (default 2 MiB)
``429``                 answer the next ``burst=20`` REST requests with 429 (``retry=1`` s)
``5xx``                 answer the next ``count=5`` REST requests with ``status=503``
``revoke``              revoke every token (``v2.system.token_revoked`` on their sockets)
``closing``             ``v2.system.socket_closing`` (``warn=true``) then close after ``grace=60s``
                        (scaled by ``time_scale``); ``warn=false`` closes without the warning
``evict``               evict every channel that has a socket, as the 21st channel would: it is
                        removed (HEAD 404), its socket closed silently (1000), a reconnect gets
                        ``{"result":"404"}``
======================  =========================================================================

Example: ``drop:every=30s,dup:p=0.05,malformed:p=0.01,429:burst=20;every=60s``.

The same faults are available at run time from Python through :class:`FaultController`
(``sim.faults``), e.g. ``sim.faults.drop_sockets()``, ``sim.faults.evict_channel(cid)`` or
``sim.faults.duplicates(0.1)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

FAULT_NAMES: Final = (
    "drop",
    "stall",
    "dup",
    "malformed",
    "oversized",
    "429",
    "5xx",
    "revoke",
    "closing",
    "evict",
)
_KEYS: Final[dict[str, frozenset[str]]] = {
    "drop": frozenset(),
    "stall": frozenset({"for"}),
    "dup": frozenset(),
    "malformed": frozenset({"n"}),
    "oversized": frozenset({"n", "bytes"}),
    "429": frozenset({"burst", "retry"}),
    "5xx": frozenset({"status", "count"}),
    "revoke": frozenset(),
    "closing": frozenset({"warn", "grace"}),
    "evict": frozenset(),
}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
DEFAULT_OVERSIZED_BYTES: Final = 2 * 1024 * 1024


def parse_duration(text: str) -> float:
    """Parse ``250ms``, ``30s``, ``2m``, ``1h`` or bare seconds into seconds.

    Raises:
        ValueError: If the text is not a duration.
    """
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    value, unit = float(m.group(1)), m.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


_EXPECTED: Final = {"p": "a probability from 0 to 1", "warn": "true or false"}
"""What a fault key takes, for the error message (the others take durations or counts)."""


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass(frozen=True, slots=True)
class FaultItem:
    """One parsed item of a spec."""

    name: str
    p: float | None = None
    every: float | None = None
    after: float | None = None
    params: dict[str, str] = field(default_factory=dict)

    def num(self, key: str, default: float) -> float:
        """Return a numeric parameter (durations allowed)."""
        raw = self.params.get(key)
        return default if raw is None else parse_duration(raw)

    def flag(self, key: str, default: bool) -> bool:
        """Return a boolean parameter."""
        raw = self.params.get(key)
        return default if raw is None else _parse_bool(raw)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Faults configured up front (``--faults`` or ``SimulatorConfig.faults``)."""

    items: tuple[FaultItem, ...] = ()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        """Parse a spec string (see the module docstring).

        Raises:
            ValueError: On an unknown fault, key or malformed value, naming the culprit.
        """
        if not spec or not spec.strip():
            return cls()
        items: list[FaultItem] = []
        for chunk in spec.split(","):
            text = chunk.strip()
            if not text:
                continue
            name, _, rest = text.partition(":")
            name = name.strip().lower()
            if name not in _KEYS:
                raise ValueError(f"unknown fault {name!r} (known: {', '.join(FAULT_NAMES)})")
            p = every = after = None
            params: dict[str, str] = {}
            for part in filter(None, (x.strip() for x in rest.split(";"))):
                key, eq, value = part.partition("=")
                key = key.strip().lower()
                if not eq:
                    raise ValueError(f"fault {name!r}: expected KEY=VALUE, got {part!r}")
                if key not in {"p", "every", "after"} and key not in _KEYS[name]:
                    raise ValueError(f"fault {name!r}: unknown key {key!r}")
                try:
                    if key == "p":
                        p = float(value)
                    elif key == "every":
                        every = parse_duration(value)
                    elif key == "after":
                        after = parse_duration(value)
                    else:
                        params[key] = value.strip()
                        if key == "warn":
                            _parse_bool(value)
                        elif key in {"for", "grace", "bytes", "n", "burst", "count", "status", "retry"}:
                            parse_duration(value)
                except ValueError:
                    # float() would say only "could not convert string to float".
                    expected = _EXPECTED.get(key, "a number or a duration such as 250ms, 30s or 2m")
                    given = f"{key}={value.strip()!r}"
                    raise ValueError(f"fault {name!r}: {given}, expected {expected}") from None
                if p is not None and not 0.0 <= p <= 1.0:
                    raise ValueError(f"fault {name!r}: p must be in [0, 1]")
                if every is not None and every <= 0:
                    raise ValueError(f"fault {name!r}: every must be > 0")
            if p is None and every is None and after is None:
                after = 0.0
            items.append(FaultItem(name, p, every, after, params))
        return cls(tuple(items))

    def probability(self, name: str) -> float:
        """Return the per-event probability configured for ``name`` (0 if none)."""
        return max((i.p for i in self.items if i.name == name and i.p is not None), default=0.0)

    def timed(self) -> list[FaultItem]:
        """Items triggered by time (``every`` / ``after``)."""
        return [i for i in self.items if i.p is None]


class FaultTarget(Protocol):
    """What the controller acts on (implemented by the platform)."""

    def fault_drop(self) -> int: ...
    def fault_stall(self, seconds: float) -> int: ...
    def fault_malformed(self, n: int) -> int: ...
    def fault_oversized(self, n: int, size: int) -> int: ...
    def fault_revoke(self) -> int: ...
    def fault_closing(self, warn: bool, grace_s: float | None) -> int: ...
    def fault_evict(self, channel_id: str | None) -> int: ...


class FaultController:
    """Runtime fault injection (``sim.faults``). Socket faults apply to every connected socket.

    Probabilistic faults (``duplicates``, ``malformed_rate``...) start from the plan and can be
    changed at any time.
    """

    def __init__(self, target: FaultTarget, plan: FaultPlan) -> None:
        self._target = target
        self.plan = plan
        self.dup_p = plan.probability("dup")
        self.malformed_p = plan.probability("malformed")
        self.oversized_p = plan.probability("oversized")
        self.drop_p = plan.probability("drop")
        self.stall_p = plan.probability("stall")
        self.closing_p = plan.probability("closing")
        self.revoke_p = plan.probability("revoke")
        self.evict_p = plan.probability("evict")
        self.rest_429_p = plan.probability("429")
        self.rest_5xx_p = plan.probability("5xx")
        self.rest_5xx_status = 503
        self.retry_after_s = 1
        self.oversized_bytes = DEFAULT_OVERSIZED_BYTES
        for item in plan.items:
            if item.name == "5xx":
                self.rest_5xx_status = int(item.num("status", 503))
            if item.name == "429":
                self.retry_after_s = int(item.num("retry", 1))
            if item.name == "oversized":
                self.oversized_bytes = int(item.num("bytes", DEFAULT_OVERSIZED_BYTES))
        self._queued_rest: list[tuple[int, int]] = []  # (status, retry_after) per request
        self.log: list[dict[str, Any]] = []

    # -- socket faults ------------------------------------------------------------------

    def drop_sockets(self) -> int:
        """Abort every socket now (no close frame). Returns how many were dropped."""
        return self._note("drop", self._target.fault_drop())

    def stall(self, seconds: float) -> int:
        """Stop writing to every socket for ``seconds``; frames queue and flush afterwards."""
        return self._note("stall", self._target.fault_stall(seconds))

    def socket_closing(self, warn: bool = True, grace: float | None = None) -> int:
        """Planned close: ``v2.system.socket_closing`` first if ``warn``, close after ``grace`` s.

        ``grace`` defaults to 60 s divided by ``time_scale``.
        """
        return self._note("closing", self._target.fault_closing(warn, grace))

    def revoke_tokens(self) -> int:
        """Revoke every issued token: REST answers 401, their sockets get ``token_revoked``."""
        return self._note("revoke", self._target.fault_revoke())

    def evict_channel(self, channel_id: str | None = None) -> int:
        """Evict a channel exactly as the 21st channel of its OAuth client would.

        The channel is removed with its subscriptions (``HEAD`` then answers 404), its socket is
        closed without any system message (code 1000) after flushing what was queued, and a
        reconnect to its ``connectUri`` gets ``{"result":"404"}``. ``None`` evicts every channel
        that currently has a socket. Returns how many channels were evicted (0 for an unknown id).
        """
        return self._note("evict", self._target.fault_evict(channel_id))

    def malformed(self, n: int = 1) -> int:
        """Send ``n`` frames of invalid JSON to every socket."""
        return self._note("malformed", self._target.fault_malformed(n))

    def oversized(self, n: int = 1, size: int | None = None) -> int:
        """Send ``n`` valid but huge envelopes (default 2 MiB) to every socket."""
        return self._note("oversized", self._target.fault_oversized(n, size or self.oversized_bytes))

    def duplicates(self, prob: float) -> None:
        """Send each data message twice with probability ``prob`` from now on."""
        self.dup_p = prob

    # -- REST faults --------------------------------------------------------------------

    def rest_errors(self, status: int = 503, count: int = 1) -> None:
        """Answer the next ``count`` REST requests (``/api/v2`` and ``/oauth``) with ``status``."""
        self._queued_rest += [(status, 0)] * count

    def rate_limit_storm(self, n: int, retry_after: int = 1) -> None:
        """Answer the next ``n`` REST requests with 429 and ``Retry-After: retry_after``."""
        self._queued_rest += [(429, retry_after)] * n

    def clear(self) -> None:
        """Stop all probabilistic faults and forget queued REST errors."""
        self.dup_p = self.malformed_p = self.oversized_p = self.drop_p = 0.0
        self.stall_p = self.closing_p = self.revoke_p = self.evict_p = 0.0
        self.rest_429_p = self.rest_5xx_p = 0.0
        self._queued_rest.clear()

    def take_rest_fault(self, rand: Callable[[], float]) -> tuple[int, int] | None:
        """Called per REST request: the forced ``(status, retry_after)``, or None."""
        if self._queued_rest:
            return self._queued_rest.pop(0)
        if self.rest_429_p and rand() < self.rest_429_p:
            return 429, self.retry_after_s
        if self.rest_5xx_p and rand() < self.rest_5xx_p:
            return self.rest_5xx_status, 0
        return None

    def fire(self, item: FaultItem, time_scale: float) -> None:
        """Fire a timed plan item once."""
        if item.name == "drop":
            self.drop_sockets()
        elif item.name == "stall":
            self.stall(item.num("for", 5.0))
        elif item.name == "malformed":
            self.malformed(int(item.num("n", 1)))
        elif item.name == "oversized":
            self.oversized(int(item.num("n", 1)), int(item.num("bytes", self.oversized_bytes)))
        elif item.name == "dup":
            self.dup_p = 1.0
        elif item.name == "429":
            self.rate_limit_storm(int(item.num("burst", 20)), int(item.num("retry", 1)))
        elif item.name == "5xx":
            self.rest_errors(int(item.num("status", 503)), int(item.num("count", 5)))
        elif item.name == "revoke":
            self.revoke_tokens()
        elif item.name == "evict":
            self.evict_channel()
        elif item.name == "closing":
            grace = item.params.get("grace")
            self.socket_closing(
                item.flag("warn", True), None if grace is None else parse_duration(grace) / time_scale
            )

    def _note(self, name: str, n: int) -> int:
        self.log.append({"fault": name, "affected": n})
        return n
