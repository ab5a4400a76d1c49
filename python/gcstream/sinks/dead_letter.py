"""Where the records a sink refused for good are kept: one JSON Lines file per sink.

A sink that raises :class:`~gcstream.exceptions.SinkRejectedError` has stored every record of the
batch but the ones it names, and would refuse those again; the pipeline appends each of them here
and goes on (see :mod:`gcstream.sinks` for which errors are permanent). The file is
``{directory}/{sink}.rejected.jsonl``, beside the sinks' spools by default, and holds one envelope
per line::

    {"v":1,"type":"sink_rejected","sink":"webhook","reason":"http_422","key":"utterance/c/-/u",
     "error":"webhook: https://kb.example.com/ingest refused the request: HTTP 422: ...",
     "at_ms":1700000000000,"record":{"v":1,"type":"utterance","key":"utterance/c/-/u",...}}

``record`` is the record's JSON Lines object (schema version 1, already redacted), so
``gcstream.sinks.decode_jsonl`` reads it back once the cause is fixed. Nothing deletes the file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gcstream._core import encode_jsonl

if TYPE_CHECKING:
    from gcstream._core import _Record as Record

__all__ = ["DeadLetters"]


class DeadLetters:
    """One sink's dead-letter file. :meth:`append` blocks on disk I/O: call it from a thread.

    Args:
        directory: Where the file goes (created when the first record is set aside).
        sink: The sink's name.
    """

    def __init__(self, directory: str | os.PathLike[str], sink: str) -> None:
        self.sink = sink
        self.path = Path(directory) / f"{sink}.rejected.jsonl"

    def append(
        self, records: Sequence[Record], *, keys: Sequence[str], reasons: Sequence[str], error: str
    ) -> None:
        """Append one envelope per record and fsync: nothing else keeps these records.

        Raises:
            OSError: The file cannot be written.
        """
        at_ms = time.time_ns() // 1_000_000
        lines = []
        for line, key, reason in zip(encode_jsonl(records).splitlines(), keys, reasons, strict=True):
            entry = {"v": 1, "type": "sink_rejected", "sink": self.sink, "reason": reason, "key": key}
            entry |= {"error": error, "at_ms": at_ms, "record": json.loads(line)}
            lines.append(json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write("".join(lines))
            f.flush()
            os.fsync(f.fileno())
