"""Benchmark fixtures: the realistic corpus (``benches/corpus.py``) and the pure-Python reference.

Benchmarks are tests: each asserts its result and runs once as a smoke test under
``--benchmark-disable`` (in ``addopts``). The real servers the pipeline benchmarks write to are the
sink tests' (``tests/sinks/services.py``). For measurements, run::

    python -m pytest benches --benchmark-enable --benchmark-only --benchmark-json=.benchmarks/run.json -q
    python benches/guard.py .benchmarks/run.json
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import corpus  # noqa: E402
from sinks.services import influxd, nats_server, victoria, webhook_server  # noqa: E402

__all__ = ["frames", "influxd", "nats_server", "stream_chunks", "victoria", "webhook_server"]

N_FRAMES = 500
"""Envelopes per benchmark round: about 1.3 MB, the A.7 size mix."""


@pytest.fixture(scope="session")
def frames() -> list[bytes]:
    """Realistic transcription envelopes, one per WebSocket message."""
    return corpus.envelopes(N_FRAMES, seed=7)


@pytest.fixture(scope="session")
def stream_chunks(frames: list[bytes]) -> list[bytes]:
    """The same envelopes as a newline-separated stream, cut into 64 KiB chunks."""
    data = b"\n".join(frames) + b"\n"
    return [data[i : i + 65536] for i in range(0, len(data), 65536)]
