"""NATS JetStream: the hand-off to consumers on other machines.

Each record is published to ``{subject_prefix}.{conversation id}.{kind}`` (characters a subject
cannot hold become ``_``) on a stream that captures ``{subject_prefix}.>``, created or updated on
first connect. The payload is the record's JSON Lines encoding (schema version 1); the
``Nats-Msg-Id`` header is the record key, so the server drops a replay within the stream's
duplicate window (``duplicate_window`` seconds, one hour by default). A publish counts only once
JetStream has acknowledged it. Publishes go out in order on one connection, so consumers see a
conversation's records in order.

The connection is made lazily: a server that is down at start-up, or goes away, makes writes fail
(the pipeline spools) until it is back.

Errors: no connection, a timeout or a server-side failure is transient (the pipeline retries or
spools). A record whose message is larger than the server's ``max_payload`` is refused for good
(``too_large``): the others are published and the refused ones reported
(:class:`~gcstream.exceptions.SinkRejectedError`). The size is what the server counts: the
``Nats-Msg-Id`` header block and the payload together. nats-py checks the payload alone, and the
server answers a message over the limit with ``-ERR 'Maximum Payload Violation'`` and closes the
connection, which would look like an outage on every retry. (A publish JetStream itself refuses is
seen as a missing acknowledgement: nats-py's asynchronous publish never fails its future with the
error.)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from gcstream._core import encode_jsonl, record_keys
from gcstream.exceptions import ConfigError, SinkRejectedError
from gcstream.sinks import fail, kind_of

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["NatsSink"]

_SUBJECT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


# The header block of an HPUB, without the record key: the version line, the ``Nats-Msg-Id``
# line and the blank line that ends the block, as nats-py writes them.
_HEADER_OVERHEAD = len(b"NATS/1.0\r\nNats-Msg-Id: \r\n\r\n")


def _token(s: str) -> str:
    return _SUBJECT_UNSAFE.sub("_", s) or "_"


def _message_size(payload: bytes, msg_id: str) -> int:
    """Bytes the server counts against ``max_payload`` for a publish: headers and payload.

    nats-py strips the header value before it writes it, so the stripped key is counted.
    """
    return _HEADER_OVERHEAD + len(msg_id.strip().encode()) + len(payload)


class NatsSink:
    """Publish records to a JetStream stream.

    Args:
        servers: NATS URL(s), e.g. ``nats://127.0.0.1:4222``.
        stream: Stream name (created if missing).
        subject_prefix: First subject token(s); the stream captures ``{prefix}.>``.
        kinds: Record kinds to publish.
        duplicate_window: Seconds the server remembers message ids to drop replays.
        storage: ``file`` or ``memory``.
        ack_timeout: Seconds to wait for each acknowledgement.
        connect_timeout: Seconds for one connection attempt.
        window: Publishes in flight at once (ordered on the wire, acknowledged together).
        name: The sink's name in the pipeline.
    """

    def __init__(
        self,
        servers: str | list[str],
        *,
        stream: str = "GCSTREAM",
        subject_prefix: str = "gcstream",
        kinds: frozenset[str] = frozenset({"utterance", "conversation_update"}),
        duplicate_window: float = 3600.0,
        storage: str = "file",
        ack_timeout: float = 5.0,
        connect_timeout: float = 2.0,
        window: int = 256,
        name: str = "nats",
    ) -> None:
        if storage not in ("file", "memory"):
            raise ConfigError(f"unknown storage {storage!r}; expected file or memory", "storage")
        if window < 1:
            raise ConfigError("window must be >= 1", "window")
        self.servers = servers
        self.stream = stream
        self.subject_prefix = subject_prefix.rstrip(".")
        self.kinds = kinds
        self.duplicate_window = duplicate_window
        self.storage = StorageType.FILE if storage == "file" else StorageType.MEMORY
        self.ack_timeout = ack_timeout
        self.connect_timeout = connect_timeout
        self.window = window
        self.name = name
        self._nc: NatsClient | None = None
        self.last_error: str | None = None
        self._lock = asyncio.Lock()
        self.counters: dict[str, int] = {"published": 0, "duplicates": 0, "connects": 0}

    async def open(self) -> None:
        """Try to connect and declare the stream; a server that is down is not an error yet."""
        try:
            await self._connect()
        except Exception:
            return

    async def _connect(self) -> Any:
        if self._nc is not None and self._nc.is_connected:
            return self._nc.jetstream()
        if self._nc is not None:
            await self._drop()
        # nats-py retries a failed first connect on its own; bound it (the pipeline retries).
        async with asyncio.timeout(2 * self.connect_timeout):
            nc = await nats.connect(
                self.servers,
                connect_timeout=self.connect_timeout,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                name=f"gcstream-{self.name}",
                error_cb=self._on_error,
            )
        self._nc = nc
        self.counters["connects"] += 1
        js = nc.jetstream(timeout=self.ack_timeout)
        config = StreamConfig(
            name=self.stream,
            subjects=[f"{self.subject_prefix}.>"],
            storage=self.storage,
            duplicate_window=self.duplicate_window,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)  # exists with other settings: bring it in line
        return js

    async def _on_error(self, error: Exception) -> None:
        """Connection errors surface as a failed write; keep the last one for the report."""
        self.last_error = f"{type(error).__name__}: {error}"

    async def _drop(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await nc.close()
            except (TimeoutError, NatsError, OSError):
                return

    def subject(self, record: Record) -> str:
        """The subject a record is published to."""
        conversation = getattr(record, "conversation_id", None) or getattr(record, "stream", None) or "_"
        return f"{self.subject_prefix}.{_token(str(conversation))}.{kind_of(record)}"

    async def write(self, batch: Sequence[Record]) -> None:
        """Publish ``batch`` in order and wait for every acknowledgement.

        Raises:
            SinkRejectedError: Some records were refused for good (see the module docs); every
                other record is acknowledged.
            SinkError: Not connected and cannot connect, or an acknowledgement did not come; the
                acknowledged part is deduplicated on replay.
        """
        records = [r for r in batch if kind_of(r) in self.kinds]
        if not records:
            return
        keys = record_keys(records)
        payloads = encode_jsonl(records).splitlines()
        positions = [i for i, r in enumerate(batch) if kind_of(r) in self.kinds]
        refused: dict[int, str] = {}
        largest = 0
        async with self._lock:
            try:
                js = await self._connect()
                max_payload = self._nc.max_payload if self._nc is not None else 0
                for i in range(0, len(records), self.window):
                    # Sent one after the other (so in order on the wire), acknowledged together.
                    futures = []
                    for j in range(i, min(i + self.window, len(records))):
                        size = _message_size(payloads[j], keys[j])
                        if max_payload and size > max_payload:
                            # The server would close the connection on it, on every retry.
                            refused[positions[j]] = "too_large"
                            largest = max(largest, size)
                            continue
                        msg_id = {"Nats-Msg-Id": keys[j]}
                        futures.append(
                            await js.publish_async(self.subject(records[j]), payloads[j], headers=msg_id)
                        )
                    async with asyncio.timeout(self.ack_timeout):
                        acks = await asyncio.gather(*futures)
                    self.counters["published"] += len(acks)
                    self.counters["duplicates"] += sum(1 for a in acks if a.duplicate)
            except (NatsError, OSError, TimeoutError) as e:
                await self._drop()
                raise fail(self.name, f"publish to {self.servers} failed", e) from e
        if refused:
            raise SinkRejectedError(
                f"{self.name}: {len(refused)} of {len(records)} records refused for good "
                f"(too_large: messages of up to {largest} bytes with headers; max_payload is {max_payload})",
                sink=self.name,
                rejected=refused,
            )

    async def flush(self) -> None:
        """Every publish is acknowledged before ``write`` returns; nothing to do."""

    async def aclose(self) -> None:
        """Close the connection."""
        async with self._lock:
            await self._drop()
