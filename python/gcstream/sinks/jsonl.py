"""The JSON Lines audit log: one line per record, rotated by size and age, fsynced by policy.

Each line is the core's JSON Lines encoding (schema version 1, see ``gcstream._core.encode_jsonl``):
``{"v":1,"type":"utterance","key":"utterance/c/-/u","conversation_id":...}``. Text is already
redacted. Failures of other sinks are audited in the same file as
``{"v":1,"type":"sink_failure","sink":"influx","error":"...","records":12,"action":"spooled","at_ms":...}``,
and each record another sink refused for good as ``{"v":1,"type":"sink_rejected","sink":"webhook",
"reason":"http_422","key":"utterance/...","error":"...","dead_letter":"spool/webhook.rejected.jsonl",
"at_ms":...}``. This sink itself never refuses a record: its failures are the disk's (transient).

Files: the live file is ``path``; rotation renames it to ``{stem}.{UTC time}.{n}{suffix}`` beside it
(``audit.20260321T011012Z.1.jsonl``) and starts a new one. Nothing is ever deleted.

Idempotency: the sink remembers the keys of the last ``dedup_keys`` records it wrote (reloaded
from the live file and the newest rotated file on ``open``) and skips a record whose key it has
already written, so a replay after a retry or a restart does not add lines.

fsync policy: ``always`` (after every batch: nothing acknowledged is lost on power failure),
``interval`` (at most every ``fsync_interval`` seconds, and on flush/rotate/close), ``never``
(the OS decides; flush still pushes to the OS).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import time
from collections.abc import Sequence
from io import FileIO
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from gcstream._core import encode_jsonl, record_keys
from gcstream.exceptions import ConfigError
from gcstream.sinks import ALL_KINDS, fail

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["JsonlSink"]

FsyncPolicy = Literal["always", "interval", "never"]
_KEY_PREFIX: Final = b'"key":'


class JsonlSink:
    """Append records to a JSON Lines file.

    Args:
        path: The live file; its directory is created if missing.
        name: The sink's name in the pipeline.
        kinds: Record kinds to write (default: all).
        max_bytes: Rotate before the live file would pass this size (0: never by size).
        max_age: Rotate when the live file is older than this many seconds (0: never by age).
        fsync: ``always``, ``interval`` or ``never`` (see the module docs).
        fsync_interval: Seconds between fsyncs under ``interval``.
        dedup_keys: How many recent keys are remembered to skip replays.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str = "jsonl",
        kinds: frozenset[str] = ALL_KINDS,
        max_bytes: int = 64 << 20,
        max_age: float = 3600.0,
        fsync: FsyncPolicy = "always",
        fsync_interval: float = 1.0,
        dedup_keys: int = 100_000,
    ) -> None:
        if fsync not in ("always", "interval", "never"):
            raise ConfigError(f"unknown fsync policy {fsync!r}; expected always, interval or never", "fsync")
        if max_bytes < 0 or max_age < 0 or dedup_keys < 0:
            raise ConfigError("max_bytes, max_age and dedup_keys must be >= 0", "jsonl")
        self.path = Path(path)
        self.name = name
        self.kinds = kinds
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.fsync = fsync
        self.fsync_interval = fsync_interval
        self.dedup_keys = dedup_keys
        self._file: FileIO | None = None
        self._closed = False
        self._size = 0
        self._opened_at = 0.0
        self._last_fsync = 0.0
        self._recent: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = asyncio.Lock()
        self.lines_written = 0
        self.duplicates_skipped = 0
        self.rotations = 0

    # -- protocol ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the directory, reload recent keys, open the live file for appending (once: an
        audit entry may have opened it already).

        Raises:
            SinkError: The file cannot be created or read (permission, missing disk, ...).
        """
        async with self._lock:
            if self._file is not None:
                return
            try:
                await asyncio.to_thread(self._open_sync)
            except OSError as e:
                raise fail(self.name, f"cannot open audit log {self.path}", e) from e

    async def write(self, batch: Sequence[Record]) -> None:
        """Append the records whose keys were not written yet.

        Raises:
            SinkError: The write or fsync failed (disk full, I/O error); the batch may be partly
                written, and a retry skips the lines that made it.
        """
        if not batch:
            return
        keys = record_keys(batch)
        fresh = [(k, r) for k, r in zip(keys, batch, strict=True) if k not in self._recent]
        self.duplicates_skipped += len(batch) - len(fresh)
        if not fresh:
            return
        data = encode_jsonl([r for _, r in fresh])
        async with self._lock:
            try:
                await asyncio.to_thread(self._append_sync, data)
            except OSError as e:
                raise fail(self.name, f"cannot write {self.path}", e) from e
        for k, _ in fresh:
            self._remember(k)
        self.lines_written += len(fresh)

    async def flush(self) -> None:
        """Push buffered lines to the OS and fsync (unless the policy is ``never``).

        Raises:
            SinkError: fsync failed.
        """
        async with self._lock:
            try:
                await asyncio.to_thread(self._flush_sync, self.fsync != "never")
            except OSError as e:
                raise fail(self.name, f"cannot flush {self.path}", e) from e

    async def aclose(self) -> None:
        """Flush and close the live file."""
        async with self._lock:
            self._closed = True
            f, self._file = self._file, None
            if f is not None:
                try:
                    await asyncio.to_thread(self._close_sync, f)
                except OSError as e:
                    raise fail(self.name, f"cannot close {self.path}", e) from e

    async def audit_failure(self, sink: str, error: str, *, records: int, action: str) -> None:
        """Append a ``sink_failure`` line (never raises: the audit of a failure must not fail the
        pipeline; a failing audit log reports its own errors through its writes)."""
        await self._audit(
            {"type": "sink_failure", "sink": sink, "error": error, "records": records, "action": action}
        )

    async def audit_rejected(
        self, sink: str, *, reason: str, key: str, error: str, dead_letter: str | None
    ) -> None:
        """Append a ``sink_rejected`` line (never raises, like :meth:`audit_failure`)."""
        await self._audit(
            {"type": "sink_rejected", "sink": sink, "reason": reason, "key": key, "error": error}
            | {"dead_letter": dead_letter}
        )

    async def _audit(self, entry: dict[str, object]) -> None:
        line = {"v": 1, **entry, "at_ms": time.time_ns() // 1_000_000}
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        async with self._lock:
            try:
                # Another sink can fail before the pipeline first writes to this one: open now
                # rather than drop the entry (not after aclose: the run is over then).
                if self._file is None and not self._closed:
                    await asyncio.to_thread(self._open_sync)
                await asyncio.to_thread(self._append_sync, data)
            except OSError:
                return

    # -- blocking parts, run in a thread ----------------------------------------------------

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for old in self._reload_candidates():
            self._reload_keys(old)
        self._file = self.path.open("ab", buffering=0)
        self._size = self._file.tell()
        self._opened_at = time.monotonic()
        self._last_fsync = self._opened_at

    def _reload_candidates(self) -> list[Path]:
        rotated = sorted(
            self.path.parent.glob(f"{self.path.stem}.*{self.path.suffix}"), key=lambda p: p.stat().st_mtime
        )
        live = [self.path] if self.path.is_file() else []  # not a device such as /dev/full
        return rotated[-1:] + live

    def _reload_keys(self, path: Path) -> None:
        with path.open("rb") as f:
            for line in f:
                at = line.find(_KEY_PREFIX)
                if at < 0:
                    continue
                try:
                    key = json.JSONDecoder().raw_decode(line[at + len(_KEY_PREFIX) :].decode())[0]
                except (ValueError, UnicodeDecodeError):
                    continue  # a torn last line after a crash: the record will be written again
                if isinstance(key, str):
                    self._remember(key)

    def _remember(self, key: str) -> None:
        if self.dedup_keys == 0:
            return
        self._recent[key] = None
        if len(self._recent) > self.dedup_keys:
            self._recent.popitem(last=False)

    def _append_sync(self, data: bytes) -> None:
        if self._file is None:
            raise OSError("the audit log is not open")
        now = time.monotonic()
        too_big = self.max_bytes and self._size > 0 and self._size + len(data) > self.max_bytes
        too_old = self.max_age and now - self._opened_at >= self.max_age and self._size > 0
        if too_big or too_old:
            self._rotate_sync()
        f = self._file
        assert f is not None
        try:
            view = memoryview(data)
            while view:
                n = f.write(view)
                view = view[n or 0 :]
        except OSError:
            # Cut off the partial batch so the retry does not follow a torn line.
            with contextlib.suppress(OSError):
                os.ftruncate(f.fileno(), self._size)
            raise
        self._size += len(data)
        due = now - self._last_fsync >= self.fsync_interval
        if self.fsync == "always" or (self.fsync == "interval" and due):
            self._flush_sync(True)

    def _flush_sync(self, sync: bool) -> None:
        if self._file is None:
            return
        if sync:
            os.fsync(self._file.fileno())
            self._last_fsync = time.monotonic()

    def _close_sync(self, f: FileIO) -> None:
        try:
            if self.fsync != "never":
                os.fsync(f.fileno())
        finally:
            f.close()

    def _rotate_sync(self) -> None:
        assert self._file is not None
        self._close_sync(self._file)
        self._file = None
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        n = 1
        while (target := self.path.with_name(f"{self.path.stem}.{stamp}.{n}{self.path.suffix}")).exists():
            n += 1
        self.path.rename(target)
        self._file = self.path.open("ab", buffering=0)
        self._size = 0
        self._opened_at = time.monotonic()
        self.rotations += 1
