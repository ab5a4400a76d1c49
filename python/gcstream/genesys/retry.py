"""Backoff with jitter and ``Retry-After`` parsing, shared by REST retries and socket reconnects."""

from __future__ import annotations

import email.utils
import math
import random
import time
from typing import Final

__all__ = ["DEFAULT_RETRY_AFTER_S", "Backoff", "describe_io_error", "parse_retry_after"]

DEFAULT_RETRY_AFTER_S: Final = 1.0
"""Used when a 429 carries no usable ``Retry-After``."""
MAX_RETRY_AFTER_S: Final = 3600.0
"""A ``Retry-After`` beyond this is treated as this (a broken header must not park us for days)."""


class Backoff:
    """Exponential backoff with jitter and a cap.

    Delay number ``n`` (counting failures since the last :meth:`reset`, from 0) is
    ``min(maximum, initial * multiplier**n)`` multiplied by a random factor in ``[1 - jitter, 1]``,
    so it always lies in ``[(1 - jitter) * d, d]`` for the uncapped-then-capped ``d``.

    Args:
        initial: First delay in seconds.
        maximum: Cap in seconds.
        multiplier: Growth per failure.
        jitter: Random fraction, 0 (none) to 1 (full jitter).
        rng: Source of randomness (seed it in tests).
    """

    __slots__ = ("_rng", "attempts", "initial", "jitter", "maximum", "multiplier")

    def __init__(
        self,
        initial: float = 0.25,
        maximum: float = 30.0,
        multiplier: float = 2.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum < initial or multiplier < 1 or not 0 <= jitter <= 1:
            raise ValueError("need 0 < initial <= maximum, multiplier >= 1, 0 <= jitter <= 1")
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
        self.attempts = 0
        self._rng = rng or random.Random()

    def bounds(self, attempt: int) -> tuple[float, float]:
        """Return the (lowest, highest) delay the ``attempt``-th failure can produce."""
        ceiling = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return ceiling * (1.0 - self.jitter), ceiling

    def next_delay(self) -> float:
        """Count one more failure and return how long to wait before the next try."""
        low, high = self.bounds(self.attempts)
        self.attempts += 1
        return low + (high - low) * self._rng.random()

    def reset(self) -> None:
        """Call after a success: the next failure waits ``initial`` again."""
        self.attempts = 0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for, or None if absent or unusable.

    Accepts delta-seconds (``"59"``, also ``"1.5"``) and HTTP dates; clamps to
    ``[0, MAX_RETRY_AFTER_S]``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def describe_io_error(exc: BaseException) -> str:
    """A network error in words for a one-line message: ``Cannot connect to host ... [Connection
    refused]`` rather than the exception's ``repr`` (aiohttp's is a screenful of connection keys)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
