"""Framing benchmarks: the core's stream assembler against the pure-Python framer, and linearity.

Group ``framing``: the corpus as a stream in 64 KiB chunks, through ``FrameAssembler`` and through
``RawDecodeFramer`` (``json.JSONDecoder.raw_decode`` in a loop, the usual Python way).

Group ``linearity``: one 1 MiB document fed in 1 KiB chunks and in one chunk; the guard checks
that the chunked run costs at most ``linearity_max`` times the single one.
"""

from __future__ import annotations

import json
from typing import Any

import corpus
import gcstream
import pytest
from reference import RawDecodeFramer

MIB = 1 << 20


def frame_with_core(chunks: list[bytes]) -> int:
    fa = gcstream.FrameAssembler("stream", max_document_bytes=2 * MIB)
    n = 0
    for chunk in chunks:
        n += len(fa.feed(chunk))
    n += len(fa.finish())
    assert not fa.take_errors()
    return n


def frame_with_reference(chunks: list[bytes]) -> int:
    framer = RawDecodeFramer()
    n = 0
    for chunk in chunks:
        n += len(framer.feed(chunk))
    return n


@pytest.mark.benchmark(group="framing")
def test_framing_core(benchmark: Any, stream_chunks: list[bytes], frames: list[bytes]) -> None:
    assert benchmark(frame_with_core, stream_chunks) == len(frames)


@pytest.mark.benchmark(group="framing")
def test_framing_reference(benchmark: Any, stream_chunks: list[bytes], frames: list[bytes]) -> None:
    assert benchmark(frame_with_reference, stream_chunks) == len(frames)


@pytest.fixture(scope="module")
def big_document() -> bytes:
    """One JSON document of about 1 MiB: an array of realistic envelopes."""
    out = bytearray(b"[")
    for envelope in corpus.envelopes(600, seed=11):
        if len(out) + len(envelope) + 2 > MIB:
            break
        out += envelope + b","
    out[-1:] = b"]"
    json.loads(out)
    return bytes(out)


def frame_chunks(chunks: list[bytes]) -> int:
    fa = gcstream.FrameAssembler("stream", max_document_bytes=2 * MIB)
    docs = [d for chunk in chunks for d in fa.feed(chunk)]
    assert not fa.take_errors()
    return len(docs[0]) if len(docs) == 1 else -1


@pytest.mark.benchmark(group="linearity")
def test_linearity_one_chunk(benchmark: Any, big_document: bytes) -> None:
    assert benchmark(frame_chunks, [big_document]) == len(big_document)


@pytest.mark.benchmark(group="linearity")
def test_linearity_1kib_chunks(benchmark: Any, big_document: bytes) -> None:
    chunks = [big_document[i : i + 1024] for i in range(0, len(big_document), 1024)]
    assert benchmark(frame_chunks, chunks) == len(big_document)
