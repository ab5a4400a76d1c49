"""A bounded on-disk FIFO of records for one sink that is down.

Layout of a spool directory (one per sink: ``{spool_dir}/{sink name}/``)::

    000000000001.jsonl    segment files: the core's JSON Lines (schema version 1), in order
    000000000002.jsonl    the last one is the active segment that appends go to
    head                  "{segment number} {byte offset}": where the next read starts

Appends go to the active segment, which is closed and a new one started when it would pass
``segment_bytes``. Reads start at ``head`` and never cross a segment; :meth:`Spool.commit` moves
``head`` (written to a temporary file and renamed, so it is never torn) and deletes a segment once
it is fully delivered. Delivery is at-least-once: a crash between a sink write and the commit
replays those records, which the sinks' idempotent keys absorb.

fsync policy: ``always`` fsyncs the segment after each append and the head after each commit (an
acknowledged record survives power loss); ``segment`` only when a segment is closed and on
:meth:`Spool.close`; ``never`` leaves it to the OS.

Size cap: ``max_bytes`` over all segments. When an append would pass it, ``on_full`` decides:
``block`` raises :class:`SpoolFull` (the pipeline keeps the records in its ring, which then
pushes back on the source), ``drop_oldest`` deletes the oldest segments and counts their records
in ``dropped``.

A restart finds the segments and the head and resumes; a torn last line (a crash mid-append)
is cut off and counted in ``corrupt``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Literal

from gcstream._core import decode_jsonl, encode_jsonl
from gcstream.exceptions import ConfigError, GcstreamError

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["DEFAULT_SEGMENT_BYTES", "ReadToken", "Spool", "SpoolFull"]

DEFAULT_SEGMENT_BYTES: Final = 4 << 20
"""Segment size unless one is given; a smaller ``max_bytes`` caps it (a segment cannot pass the
cap, so a fixed size would make every cap below it unusable)."""

SpoolFsync = Literal["always", "segment", "never"]
SpoolFullPolicy = Literal["block", "drop_oldest"]
ReadToken = tuple[int, int, int]
"""``(segment, end offset, records)`` of a :meth:`Spool.read`, passed back to :meth:`Spool.commit`."""


class SpoolFull(GcstreamError):
    """The spool is at ``max_bytes`` and its policy is ``block``."""


class Spool:
    """A sink's on-disk backlog. Methods block on disk I/O: call them from a thread.

    Args:
        directory: Where the segments live (created if missing).
        max_bytes: Cap over all segments.
        segment_bytes: Size at which the active segment is closed (default:
            :data:`DEFAULT_SEGMENT_BYTES`, or ``max_bytes`` when that is smaller).
        fsync: ``always``, ``segment`` or ``never``.
        on_full: ``block`` or ``drop_oldest``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = 256 << 20,
        segment_bytes: int | None = None,
        fsync: SpoolFsync = "always",
        on_full: SpoolFullPolicy = "block",
    ) -> None:
        if fsync not in ("always", "segment", "never"):
            raise ConfigError(f"unknown spool fsync {fsync!r}; expected always, segment or never", "fsync")
        if on_full not in ("block", "drop_oldest"):
            raise ConfigError(f"unknown spool policy {on_full!r}; expected block or drop_oldest", "on_full")
        if segment_bytes is None:
            segment_bytes = min(DEFAULT_SEGMENT_BYTES, max_bytes)
        if segment_bytes < 1 or max_bytes < segment_bytes:
            raise ConfigError("need 1 <= segment_bytes <= max_bytes", "max_bytes")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.on_full = on_full
        self._segments: list[int] = []  # numbers, oldest first
        self._sizes: dict[int, int] = {}
        self._head: tuple[int, int] = (0, 0)
        self._active: IO[bytes] | None = None
        self._opened = False
        self.pending_records = 0
        self.appended = 0
        self.delivered = 0
        self.dropped = 0
        self.corrupt = 0

    # -- state ------------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """True while records wait to be delivered."""
        return self.pending_records > 0

    @property
    def size(self) -> int:
        """Bytes on disk in segments (including delivered parts of the head segment)."""
        return sum(self._sizes.values())

    def _path(self, n: int) -> Path:
        return self.directory / f"{n:012d}.jsonl"

    # -- open / close -----------------------------------------------------------------------

    def open(self) -> None:
        """Create the directory or find what a previous run left.

        Raises:
            OSError: The directory cannot be created or read.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segments = sorted(int(p.stem) for p in self.directory.glob("*.jsonl") if p.stem.isdigit())
        self._sizes = {n: self._path(n).stat().st_size for n in self._segments}
        head_file = self.directory / "head"
        head = (self._segments[0], 0) if self._segments else (0, 0)
        with contextlib.suppress(FileNotFoundError, ValueError):
            seg, off = head_file.read_text().split()
            if int(seg) in self._sizes:
                head = (int(seg), min(int(off), self._sizes[int(seg)]))
        self._head = head
        for n in [n for n in self._segments if n < head[0]]:  # delivered but not yet deleted
            self._delete(n)
        if self._segments:
            self._cut_torn_tail(self._segments[-1])
        self.pending_records = 0
        for n in self._segments:
            start = self._head[1] if n == self._head[0] else 0
            self.pending_records += _count_lines(self._path(n), start)
        self._opened = True

    def _cut_torn_tail(self, n: int) -> None:
        path = self._path(n)
        size = self._sizes[n]
        if size == 0:
            return
        with path.open("rb+") as f:
            f.seek(max(0, size - (1 << 20)))
            tail = f.read()
            if tail.endswith(b"\n"):
                return
            cut = tail.rfind(b"\n")
            keep = size - len(tail) + cut + 1 if cut >= 0 else max(0, size - len(tail))
            f.truncate(keep)
            self._sizes[n] = keep
            self.corrupt += 1

    def close(self) -> None:
        """Flush and close the active segment (fsync unless the policy is ``never``)."""
        f, self._active = self._active, None
        if f is not None:
            f.flush()
            if self.fsync != "never":
                os.fsync(f.fileno())
            f.close()

    # -- append -----------------------------------------------------------------------------

    def append(self, records: Sequence[Record]) -> None:
        """Append records after everything already spooled.

        Raises:
            SpoolFull: At the cap with policy ``block``; nothing was written.
            OSError: The disk refused (full, read-only, permission); the spool is unchanged
                except for a possible torn line, which the next open cuts off.
        """
        if not records:
            return
        data = encode_jsonl(records)
        self._make_room(len(data))
        f = self._active_for(len(data))
        f.write(data)
        f.flush()
        if self.fsync == "always":
            os.fsync(f.fileno())
        self._sizes[self._segments[-1]] += len(data)
        self.pending_records += len(records)
        self.appended += len(records)

    def _make_room(self, incoming: int) -> None:
        while self.size + incoming > self.max_bytes and self.size > 0:
            if self.on_full == "block":
                raise SpoolFull(f"spool {self.directory} is full ({self.size} of {self.max_bytes} bytes)")
            oldest = self._segments[0]
            if self._active is not None and oldest == self._segments[-1]:
                self.close()
            start = self._head[1] if oldest == self._head[0] else 0
            with self._path(oldest).open("rb") as f:
                f.seek(start)
                lost = f.read().count(b"\n")
            self.dropped += lost
            self.pending_records -= lost
            self._delete(oldest)
            self._head = (self._segments[0], 0) if self._segments else (0, 0)
            self._write_head()

    def _active_for(self, incoming: int) -> IO[bytes]:
        if self._active is not None and self._sizes[self._segments[-1]] + incoming > self.segment_bytes:
            self.close()  # the next append starts a new segment
            if self.fsync == "segment":
                pass  # close() already fsynced
        if self._active is None:
            last = self._segments[-1] if self._segments else 0
            # Appending to a segment a previous run left (or that reads have started on) is fine
            # as long as it has room; otherwise start a new one.
            if self._segments and self._sizes[last] + incoming <= self.segment_bytes:
                n = last
            else:
                n = last + 1
                self._segments.append(n)
                self._sizes[n] = 0
                if len(self._segments) == 1:
                    self._head = (n, 0)
            self._active = self._path(n).open("ab")
        return self._active

    # -- read / commit ----------------------------------------------------------------------

    def read(self, max_records: int) -> tuple[list[Record], ReadToken]:
        """Up to ``max_records`` of the oldest spooled records (never across a segment), and the
        token to :meth:`commit` once they are delivered. Unreadable lines are skipped and counted
        in ``corrupt``.
        """
        if not self._segments:
            return [], (0, 0, 0)
        seg, off = self._head
        if self._active is not None and seg == self._segments[-1]:
            self._active.flush()
        lines: list[bytes] = []
        end = off
        with self._path(seg).open("rb") as f:
            f.seek(off)
            while len(lines) < max_records:
                line = f.readline()
                if not line.endswith(b"\n"):
                    break
                lines.append(line)
                end += len(line)
        records, errors = decode_jsonl(b"".join(lines))
        self.corrupt += len(errors)
        return records, (seg, end, len(lines))

    def commit(self, token: ReadToken) -> None:
        """Mark what :meth:`read` returned as delivered; delete a segment once it is used up."""
        seg, end, n = token
        if n == 0 and seg == 0:
            return
        self._head = (seg, end)
        self.pending_records -= n
        self.delivered += n
        if end >= self._sizes.get(seg, 0):
            is_active = self._active is not None and seg == self._segments[-1]
            if len(self._segments) > 1 or is_active or self.pending_records == 0:
                if is_active:
                    self.close()
                self._delete(seg)
                self._head = (self._segments[0], 0) if self._segments else (0, 0)
        self._write_head()

    def _delete(self, n: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(n).unlink()
        self._segments.remove(n)
        self._sizes.pop(n, None)

    def _write_head(self) -> None:
        tmp = self.directory / "head.tmp"
        with tmp.open("w") as f:
            f.write(f"{self._head[0]} {self._head[1]}\n")
            if self.fsync == "always":
                f.flush()
                os.fsync(f.fileno())
        tmp.replace(self.directory / "head")


def _count_lines(path: Path, start: int) -> int:
    n = 0
    with path.open("rb") as f:
        f.seek(start)
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n
