"""NatsSink against a real nats-server -js."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gcstream
import nats
import pytest
from gcstream.exceptions import SinkError, SinkRejectedError
from gcstream.sinks import encode_jsonl, kind_of, record_keys
from gcstream.sinks.nats import NatsSink

from sinks.services import BASE_MS, Service, frame, frames, free_port, records, start_nats, utterances

TIMEOUT = 20.0
MAX_PAYLOAD = 4096
LONG = "conv-long"


@pytest.fixture
def small_nats(tmp_path: Path) -> Iterator[Service]:
    """A nats-server whose messages, headers included, are at most ``MAX_PAYLOAD`` bytes."""
    svc = start_nats(tmp_path, max_payload=MAX_PAYLOAD)
    try:
        yield svc
    finally:
        svc.stop()


def _batch_with(text: str) -> list[Any]:
    """The records of two short conversations and, in the middle of their frames, one utterance of
    conversation ``LONG`` with ``text`` (its decorated text stays short, so one more character of
    ``text`` is one more byte of its message)."""
    data = frames(2, 3)
    data.insert(3, frame(LONG, 0, text=text, decorated="Long."))
    engine = gcstream.Engine()
    out = list(engine.feed_many(data, received_at_ms=BASE_MS + 10**6))
    return out + engine.finish()


def _long_position(batch: list[Any]) -> int:
    return next(i for i, r in enumerate(batch) if type(r) is gcstream.Utterance and r.conversation_id == LONG)


def _message_bytes(record: Any) -> int:
    """What nats-server counts against max_payload for the sink's publish of ``record``: the HPUB
    header block (version line, ``Nats-Msg-Id``, blank line) and the JSON line."""
    headers = b"NATS/1.0\r\nNats-Msg-Id: " + record_keys([record])[0].encode() + b"\r\n\r\n"
    return len(headers) + len(encode_jsonl([record]).rstrip(b"\n"))


def _batch_of_size(size: int) -> list[Any]:
    """:func:`_batch_with` a text that makes the long utterance's message exactly ``size`` bytes."""
    probe = _batch_with("x" * 100)
    text = "x" * (100 + size - _message_bytes(probe[_long_position(probe)]))
    batch = _batch_with(text)
    assert _message_bytes(batch[_long_position(batch)]) == size
    return batch


def _another_conversation() -> list[Any]:
    """The records of one utterance in a conversation no other helper uses."""
    engine = gcstream.Engine()
    out = list(engine.feed_many([frame("conv-after", 0)], received_at_ms=BASE_MS + 10**6))
    return out + engine.finish()


def _stored_keys(batch: list[Any], sink: NatsSink, without: int) -> list[str]:
    """The keys the stream should hold after ``batch``: every record of the sink's kinds but the
    one at position ``without``, in batch order."""
    keys = record_keys(batch)
    return [
        k
        for i, (r, k) in enumerate(zip(batch, keys, strict=True))
        if i != without and kind_of(r) in sink.kinds
    ]


async def _stream_messages(url: str, stream: str) -> list[tuple[str, dict[str, object], str]]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            out.append(
                (msg.subject, json.loads(msg.data or b"{}"), (msg.headers or {}).get("Nats-Msg-Id", ""))
            )
        return out
    finally:
        await nc.close()


async def test_publishes_in_order_and_server_deduplicates(nats_server: Service) -> None:
    recs = records(3, 4)
    sink = NatsSink(nats_server.url, kinds=frozenset({"utterance"}), window=5)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        await sink.write(recs)
        await sink.write(recs)  # replay: same Nats-Msg-Id, dropped by the server
        await sink.aclose()
        msgs = await _stream_messages(nats_server.url, "GCSTREAM")
    utts = utterances(recs)
    assert [m[1]["utterance_id"] for m in msgs] == [u.utterance_id for u in utts]
    assert msgs[0][0] == f"gcstream.{utts[0].conversation_id}.utterance"
    assert msgs[0][2] == msgs[0][1]["key"]
    assert sink.counters["duplicates"] == len(utts)


async def test_down_server_is_a_sink_error_and_recovers(tmp_path: object) -> None:
    from pathlib import Path

    from sinks.services import start_nats

    port = free_port()
    sink = NatsSink(f"nats://127.0.0.1:{port}", connect_timeout=0.5)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()  # not an error: the server may come later
        with pytest.raises(SinkError, match="publish"):
            await sink.write(records(1, 2))
    svc = start_nats(Path(str(tmp_path)), port)
    try:
        async with asyncio.timeout(TIMEOUT):
            await sink.write(records(1, 2))
            await sink.aclose()
            msgs = await _stream_messages(svc.url, "GCSTREAM")
        assert len(msgs) == len(
            [r for r in records(1, 2) if type(r).__name__ in ("Utterance", "ConversationUpdate")]
        )
    finally:
        svc.stop()


async def test_a_record_over_max_payload_is_refused_alone(small_nats: Service) -> None:
    batch = _batch_with("x" * 2 * MAX_PAYLOAD)
    long = _long_position(batch)
    sink = NatsSink(small_nats.url)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        with pytest.raises(SinkRejectedError, match=f"1 of .* max_payload is {MAX_PAYLOAD}") as caught:
            await sink.write(batch)
        await sink.aclose()
        msgs = await _stream_messages(small_nats.url, "GCSTREAM")
    assert caught.value.rejected == {long: "too_large"}
    assert [m[1]["key"] for m in msgs] == _stored_keys(batch, sink, without=long)
    assert len(msgs) > 1


@pytest.mark.parametrize("over", [0, 1])
async def test_max_payload_counts_the_header_block(small_nats: Service, over: int) -> None:
    """A message of exactly max_payload bytes, headers included, is published; one byte more is
    refused before the server sees it (the server would close the connection), though its
    payload alone fits."""
    batch = _batch_of_size(MAX_PAYLOAD + over)
    long = _long_position(batch)
    assert len(encode_jsonl([batch[long]])) < MAX_PAYLOAD
    sink = NatsSink(small_nats.url)
    async with asyncio.timeout(TIMEOUT):
        await sink.open()
        if over:
            with pytest.raises(SinkRejectedError) as caught:
                await sink.write(batch)
            assert caught.value.rejected == {long: "too_large"}
        else:
            await sink.write(batch)
        after = _another_conversation()
        await sink.write(after)  # on the same connection: the server did not close it
        await sink.aclose()
        msgs = await _stream_messages(small_nats.url, "GCSTREAM")
    stored = _stored_keys(batch, sink, without=long if over else -1) + _stored_keys(after, sink, without=-1)
    assert [m[1]["key"] for m in msgs] == stored
    assert sink.counters["connects"] == 1
