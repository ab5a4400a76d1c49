"""``python -m gcstream.simulator`` (= ``gcstream simulate``): URL first, runs until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from gcstream.simulator import SimulatorConfig, cli
from gcstream.simulator.conversations import Directory

from .conftest import Client


def test_add_arguments_and_bad_faults(capsys: pytest.CaptureFixture[str]) -> None:
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    args = p.parse_args(["--seed", "3", "--faults", "bogus"])
    assert cli.run(args) == 2
    assert "unknown fault" in capsys.readouterr().err
    assert cli.run(p.parse_args(["--faults", "drop:p=abc"])) == 2
    assert "fault 'drop': p='abc'" in capsys.readouterr().err
    cfg = cli.config_from_args(p.parse_args(["--client-id", "a", "--client-secret", "b", "--rate", "5"]))
    assert cfg.clients[0].client_id == "a"
    assert cfg.rate == 5


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--expires-in", "-5"], "expires_in) must be >= 1 second"),
        (["--expires-in", "0"], "expires_in) must be >= 1 second"),
        (["--max-conversations", "-1"], "max_conversations must be >= 0"),
        (["--conversation-duration", "0"], "conversation_duration must be > 0"),
        (["--time-scale", "-2"], "time_scale must be > 0"),
    ],
)
def test_values_the_simulator_cannot_honour_exit_2(
    option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    assert cli.run(p.parse_args(option)) == 2
    assert message in capsys.readouterr().err


async def test_cli_serves_and_writes_ground_truth(tmp_path: Path) -> None:
    gt = tmp_path / "truth.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gcstream.simulator",
        "--seed",
        "4",
        "--time-scale",
        "60",
        "--conversation-duration",
        "30",
        "--client-id",
        "me",
        "--client-secret",
        "pw",
        "--ground-truth",
        str(gt),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(20):
            url = (await proc.stdout.readline()).decode().strip()
        assert url.startswith("http://127.0.0.1:")
        assert proc.stderr is not None
        said: list[str] = []
        async with asyncio.timeout(20):
            while not said or not said[-1].startswith("(... is the --client-secret"):
                said.append((await proc.stderr.readline()).decode().rstrip())
        # The queue ids it serves, in a `gcstream run` line pointed at it (the secret not echoed).
        defaults = SimulatorConfig()
        queues = ",".join(Directory.build(4, defaults.queues, defaults.agents).queue_ids)
        assert f"queue ids: {queues}" in said
        assert f"  GENESYS_CLOUD_BASE_URL={url} GENESYS_CLOUD_CLIENT_ID=me \\" in said
        assert f"  GENESYS_CLOUD_QUEUES={queues} \\" in said
        assert "  GENESYS_CLOUD_CLIENT_SECRET=... gcstream run" in said
        assert not any("pw" in line for line in said)
        async with aiohttp.ClientSession() as http:
            await Client(url, http).login("me", "pw")
        async with asyncio.timeout(20):
            while not gt.exists() or not gt.read_text().strip():
                await asyncio.sleep(0.05)
        rec = json.loads(gt.read_text().splitlines()[0])
        assert {
            "conversationId",
            "communicationId",
            "utteranceId",
            "channel",
            "text",
            "decoratedText",
            "pii",
        } <= set(rec)
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await proc.wait() == 0
