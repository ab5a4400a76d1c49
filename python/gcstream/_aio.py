"""Small asyncio helpers shared by the sources and the subscription manager."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None, timeout: float | None = None) -> bool:
    """Cancel ``tasks`` and wait until they are done, at most ``timeout`` seconds.

    Unlike ``task.cancel(); with suppress(CancelledError): await task``, a cancellation of the
    *caller* while it waits is not swallowed: that pattern eats it, and with it the deadline of
    any ``asyncio.timeout`` the caller runs under, which is how a bounded shutdown turns into a
    hang. The tasks' own exceptions are retrieved (so none is reported as never retrieved) and
    never raised here.

    Returns:
        True when every task finished within ``timeout``.
    """
    live = [t for t in tasks if t is not None]
    pending = {t for t in live if not t.done()}
    for t in pending:
        t.cancel()
    if pending:
        _, pending = await asyncio.wait(pending, timeout=timeout)
    for t in live:
        if t.done() and not t.cancelled():
            t.exception()
    return not pending
