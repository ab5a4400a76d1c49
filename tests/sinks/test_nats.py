"""NatsSink against a real nats-server -js."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest
from gcstream.exceptions import SinkError
from gcstream.sinks.nats import NatsSink

from sinks.services import Service, free_port, records, utterances

TIMEOUT = 20.0


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
