"""``gcstream run --config FILE`` end to end: the real CLI process against the built-in simulator.

The simulator runs in this test's event loop (so its ground truth and the "sent while subscribed"
tracker of the connectivity tests can be read directly); ``gcstream run`` runs as a real
subprocess configured by a TOML file, writes JSONL and SQLite in ``tmp_path`` and is stopped with
SIGTERM. Bad configurations must make it exit non-zero quickly with one clear line on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gcstream.demo import leak_check, pii_needles
from gcstream.simulator import OAuthClient, Simulator, SimulatorConfig

sys.path.insert(0, str(Path(__file__).resolve().parent / "connect"))
from gc_connect_helpers import SentTracker

CLIENT_ID = "e2e-client"
CLIENT_SECRET = "e2e-Secret-9f3a7c51d2b8"
"""Distinctive, so that a leak into any output or log line is found by a plain search."""
REDACTED_KINDS = ("ssn", "phone", "email", "credit_card")
HEARTBEAT = 1.0
SHUTDOWN_TIMEOUT = 20.0


def gcstream_command() -> list[str]:
    """The installed console script, or the module when there is none."""
    script = shutil.which("gcstream", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "gcstream"]


def child_env(**extra: str) -> dict[str, str]:
    """This environment without any GENESYS_CLOUD_* / GCSTREAM_* variable (the file must rule)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_CLOUD_", "GCSTREAM_"))}
    return env | extra


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def write_toml(path: Path, tables: Mapping[str, Mapping[str, Any]]) -> Path:
    lines: list[str] = []
    for table, keys in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_config(
    tmp_path: Path, sim: Simulator, *, genesys: Mapping[str, Any] = (), **tables: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """A complete configuration for ``gcstream run`` against ``sim``, every path in ``tmp_path``."""
    out = tmp_path / "out"
    cfg: dict[str, dict[str, Any]] = {
        "genesys": {
            "base_url": sim.base_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "queues": list(sim.directory.queue_ids),
            "channel_state_path": str(tmp_path / "channels.json"),
            "subscribe_debounce": 0.02,
            "unsubscribe_linger": 1.0,
            **dict(genesys),
        },
        "genesys.backoff": {"initial": 0.05, "maximum": 1.0},
        "genesys.watchdog": {"interval": HEARTBEAT, "open_timeout": 3.0},
        "pipeline": {"shutdown_timeout": SHUTDOWN_TIMEOUT},
        "sinks": {"spool_dir": str(tmp_path / "spool")},
        "sinks.jsonl": {"path": str(out / "audit.jsonl")},
        "sinks.sqlite": {"path": str(out / "gcstream.db")},
        "http": {"listen": "127.0.0.1:0"},
        "logging": {"level": "DEBUG"},
    }
    for name, keys in tables.items():
        cfg.setdefault(name.replace("__", "."), {}).update(keys)
    return cfg


def sim_config(**over: Any) -> SimulatorConfig:
    base: dict[str, Any] = {
        "seed": 23,
        "clients": (OAuthClient(CLIENT_ID, CLIENT_SECRET),),
        "time_scale": 10.0,
        "conversations": 3,
        "max_conversations": 6,
        "conversation_duration": 40.0,
        "heartbeat_interval": HEARTBEAT,
    }
    base.update(over)
    return SimulatorConfig(**base)


@dataclass
class Run:
    """A ``gcstream run`` subprocess whose stdout and stderr go to files (scanned afterwards)."""

    proc: asyncio.subprocess.Process
    stdout: Path
    stderr: Path

    @classmethod
    async def start(cls, config: Path, cwd: Path, *args: str) -> Run:
        stdout, stderr = cwd / "run.stdout", cwd / "run.stderr"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *gcstream_command(),
                "run",
                "--config",
                str(config),
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=child_env(),
            )
        return cls(proc, stdout, stderr)

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    async def wait(self, timeout: float) -> int:
        try:
            async with asyncio.timeout(timeout):
                return await self.proc.wait()
        except TimeoutError:
            raise AssertionError(
                f"gcstream run did not exit within {timeout} s:\n{self.err()[-3000:]}"
            ) from None

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def wait_for(pred: Any, what: str, timeout: float, run: Run | None = None) -> None:
    """Poll ``pred`` (every 50 ms) until it holds; fail naming ``what`` (and the child's stderr)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if run is not None and run.proc.returncode is not None:
            raise AssertionError(
                f"gcstream run exited ({run.proc.returncode}) while waiting for {what}:\n{run.err()}"
            )
        if time.monotonic() > deadline:
            tail = f":\n{run.err()[-3000:]}" if run is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{tail}")
        await asyncio.sleep(0.05)


def subscribed(sim: Simulator) -> bool:
    """The client's channel has a socket and every queue's discovery topic (the run is listening)."""
    want = {f"v2.routing.queues.{q}.conversations" for q in sim.directory.queue_ids}
    return any(
        ch.session is not None and want <= set(ch.topics)
        for ch in sim.platform.channels.values()
        if ch.client.client_id == CLIENT_ID
    )


def jsonl_utterances(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc = json.loads(line)
            if doc["type"] == "utterance":
                out.append((doc["conversation_id"], doc["utterance_id"]))
    return out


def sqlite_utterances(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return [(c, u) for c, u in db.execute("SELECT conversation_id, utterance_id FROM utterances")]


def redacted_needles(truth: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {v: k for v, k in pii_needles(truth).items() if k in REDACTED_KINDS}


def issued_tokens(sim: Simulator) -> list[str]:
    return list(sim.platform.tokens)


def assert_no_secrets(text: str, sim: Simulator, where: str) -> None:
    assert CLIENT_SECRET not in text, f"the client secret is in {where}"
    leaked = [t for t in issued_tokens(sim) if t in text]
    assert not leaked, f"{len(leaked)} access token(s) in {where}"


def assert_nothing_left_subscribed(sim: Simulator) -> None:
    mine = [c for c in sim.platform.channels.values() if c.client.client_id == CLIENT_ID]
    assert mine, "the run never created a channel"
    assert all(not c.topics for c in mine), "subscriptions left behind after SIGTERM"


def output_files(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_file())


# -- a good configuration, a live peer, SIGTERM ------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_run_delivers_every_utterance_once_to_jsonl_and_sqlite_then_exits_0_on_sigterm(
    tmp_path: Path,
) -> None:
    """Calls already in progress at start-up (recovered with the analytics query) and calls that
    start later; SIGTERM once the traffic is over and delivered."""
    async with Simulator(sim_config()) as sim:
        tracker = SentTracker(sim)
        # Some calls start before the run does: what they say before it subscribes is not
        # expected, what they say afterwards is (recover_in_flight).
        await wait_for(lambda: len(sim.ground_truth) >= 5, "the first calls to start", 30)
        before = {cid for cid, _ in tracker.truth()}
        config = write_toml(tmp_path / "gcstream.toml", run_config(tmp_path, sim))
        run = await Run.start(config, tmp_path)
        try:
            await wait_for(lambda: subscribed(sim), "the run to subscribe", 30, run)
            await sim.wait_traffic_done(90)
            audit = tmp_path / "out" / "audit.jsonl"
            # Everything sent while subscribed should reach the audit log; a final that may end in
            # PII is held for up to 10 s, so allow for that before stopping.
            expected = tracker.expected()
            with_time = time.monotonic() + 20
            while not expected <= set(jsonl_utterances(audit)) and time.monotonic() < with_time:
                assert run.proc.returncode is None, run.err()
                await asyncio.sleep(0.1)
            expected = tracker.expected()  # final: nothing is published any more
            stopped = time.monotonic()
            run.proc.send_signal(signal.SIGTERM)
            code = await run.wait(SHUTDOWN_TIMEOUT + 10)
            took = time.monotonic() - stopped
        finally:
            await run.kill()
        assert code == 0, run.err()[-3000:]
        assert took < SHUTDOWN_TIMEOUT, f"SIGTERM took {took:.1f} s"
        truth = tracker.truth()
        in_jsonl = jsonl_utterances(audit)
        in_sqlite = sqlite_utterances(tmp_path / "out" / "gcstream.db")
        # The "while subscribed" window is not vacuous: it covers calls recovered at start-up and
        # calls that started later.
        assert expected
        assert {cid for cid, _ in expected} & before, "no call already in progress was recovered"
        assert {cid for cid, _ in expected} - before, "no call started while the run was up"
        for name, got in (("JSONL", in_jsonl), ("SQLite", in_sqlite)):
            assert len(got) == len(set(got)), f"an utterance is twice in {name}"
            assert set(got) <= truth, f"{name} has an utterance that was never published"
            missing = expected - set(got)
            assert not missing, (
                f"{len(missing)} of {len(expected)} utterances sent while subscribed not in {name}"
            )
        assert set(in_jsonl) == set(in_sqlite)

        # No PII of a redacted kind that was actually spoken while subscribed, anywhere.
        needles = redacted_needles(
            g for g in sim.ground_truth if (g["conversationId"], g["utteranceId"]) in expected
        )
        assert needles, "the calls carried no PII of a redacted kind: the check would be vacuous"
        files = [*output_files(tmp_path / "out"), run.stdout, run.stderr]
        assert leak_check(files, redacted_needles(sim.ground_truth))["leaks"] == []
        with sqlite3.connect(tmp_path / "out" / "gcstream.db") as db:
            (found,) = db.execute("SELECT COALESCE(SUM(count), 0) FROM pii_counts").fetchone()
        assert found > 0, "PII was spoken but none was reported as redacted"

        # No secret in any log line or output; the run logged at DEBUG, so it had every chance.
        logs = run.output()
        assert "obtained an access token" in logs  # the logs are really there
        assert_no_secrets(logs, sim, "the process output")
        for f in output_files(tmp_path / "out"):
            assert_no_secrets(f.read_bytes().decode("utf-8", "replace"), sim, f.name)
        assert "Traceback" not in logs
        assert_nothing_left_subscribed(sim)


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_sigterm_while_calls_are_in_progress_drains_what_was_read_to_both_sinks(
    tmp_path: Path,
) -> None:
    """SIGTERM in the middle of calls: the drain (the frames read, then what the engine still
    held) reaches both sinks alike, each utterance once; the channel is emptied; exit code 0."""
    async with Simulator(sim_config(max_conversations=None, autostart=False)) as sim:
        tracker = SentTracker(sim)
        config = write_toml(tmp_path / "gcstream.toml", run_config(tmp_path, sim))
        run = await Run.start(config, tmp_path)
        try:
            await wait_for(lambda: subscribed(sim), "the run to subscribe", 30, run)
            sim.start_traffic()
            audit = tmp_path / "out" / "audit.jsonl"
            await wait_for(lambda: len(jsonl_utterances(audit)) >= 15, "utterances in the audit log", 60, run)
            assert sim.active_conversations(), "calls must still be going on"
            stopped = time.monotonic()
            run.proc.send_signal(signal.SIGTERM)
            code = await run.wait(SHUTDOWN_TIMEOUT + 10)
            took = time.monotonic() - stopped
        finally:
            await run.kill()
        assert code == 0, run.err()[-3000:]
        assert took < SHUTDOWN_TIMEOUT, f"SIGTERM took {took:.1f} s"
        in_jsonl = jsonl_utterances(audit)
        in_sqlite = sqlite_utterances(tmp_path / "out" / "gcstream.db")
        assert len(in_jsonl) == len(set(in_jsonl))
        assert len(in_sqlite) == len(set(in_sqlite))
        assert set(in_jsonl) == set(in_sqlite), "the two sinks disagree after the drain"
        assert set(in_jsonl) <= tracker.expected()
        files = [*output_files(tmp_path / "out"), run.stdout, run.stderr]
        assert leak_check(files, redacted_needles(sim.ground_truth))["leaks"] == []
        assert_no_secrets(run.output(), sim, "the process output")
        assert "Traceback" not in run.output()
        assert_nothing_left_subscribed(sim)
        # At DEBUG (no secret and no PII in it, as checked above) each lifecycle step is there.
        steps = [
            "gcstream.cli: configuration loaded: 3 queue(s), 0 user(s), 0 conversation(s)",
            "connecting to 127.0.0.1 as OAuth client e2e-client",
            "checking 0 stored channel(s) for reuse",
            "opening a socket on channel",
            "topic(s) subscribed over REST",
            "gcstream.cli: stop requested: draining to the sinks",
            "closing the source: unsubscribing",
            "unsubscribing channel",
            "closing 1 socket(s)",
            "gcstream.cli: pipeline stopped; closing the web server",
        ]
        err = run.err()
        assert all(step in err for step in steps), [step for step in steps if step not in err]
        at = [err.index(step) for step in steps]
        assert at == sorted(at), "lifecycle steps logged out of order"


@pytest.mark.timeout(90)
async def test_sigterm_while_still_connecting_exits_at_once(tmp_path: Path) -> None:
    """The platform answers 429 with a long Retry-After: the run is still waiting to connect when
    SIGTERM comes, and must not wait for the connection (nor for its shutdown_timeout) to stop."""
    async with Simulator(sim_config(autostart=False)) as sim:
        sim.faults.rate_limit_storm(1000, retry_after=5)
        cfg = run_config(tmp_path, sim)
        cfg["logging"]["level"] = "INFO"
        run = await Run.start(write_toml(tmp_path / "gcstream.toml", cfg), tmp_path)
        try:
            await wait_for(lambda: sim.stats.rate_limited >= 1, "the run to be rate-limited", 30, run)
            stopped = time.monotonic()
            run.proc.send_signal(signal.SIGTERM)
            code = await run.wait(SHUTDOWN_TIMEOUT + 10)
            took = time.monotonic() - stopped
        finally:
            await run.kill()
            sim.faults.clear()
        assert code == 0, run.err()
        assert took < 5, f"SIGTERM took {took:.1f} s while connecting"
        assert "Traceback" not in run.err()
        assert_no_secrets(run.output(), sim, "the process output")


# -- bad configurations: exit non-zero quickly, one clear line, no secret ----------------------


def error_lines(stderr: str) -> list[str]:
    """The CLI's own error lines (log lines start with a time stamp; the captions address is
    announced on a ``gcstream run: captions ...`` line)."""
    return [
        line
        for line in stderr.splitlines()
        if line.startswith("gcstream run:") and not line.startswith("gcstream run: captions ")
    ]


BAD_SECRET = "Wrong-Secret-3e8b41c0"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("wrong_secret", "HTTP 401"),
        ("queue_name_not_id", "'Sales Support'"),
        ("sqlite_unwritable", "gcstream.db"),
        ("jsonl_unwritable", "audit.jsonl"),
        ("spool_unwritable", "sinks.spool_dir"),
        ("log_file_unwritable", "gcstream.log"),
        ("unreachable", "cannot reach the OAuth endpoint http://127.0.0.1:9/oauth/token: Client"),
    ],
)
async def test_bad_config_fails_fast_with_one_clear_line(tmp_path: Path, case: str, needle: str) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be\n")
    async with Simulator(sim_config(autostart=False)) as sim:
        cfg = run_config(tmp_path, sim)
        if case == "wrong_secret":
            cfg["genesys"]["client_secret"] = BAD_SECRET
        elif case == "queue_name_not_id":
            cfg["genesys"]["queues"] = ["Sales Support"]
        elif case == "sqlite_unwritable":
            cfg["sinks.sqlite"]["path"] = str(blocker / "gcstream.db")
        elif case == "jsonl_unwritable":
            cfg["sinks.jsonl"]["path"] = str(blocker / "audit.jsonl")
        elif case == "spool_unwritable":
            cfg["sinks"]["spool_dir"] = str(blocker / "spool")
        elif case == "log_file_unwritable":
            cfg["logging"]["file"] = str(blocker / "gcstream.log")
        elif case == "unreachable":
            cfg["genesys"]["base_url"] = "http://127.0.0.1:9"  # discard port: connection refused
        cfg["logging"]["level"] = "INFO"  # what a user sees by default
        config = write_toml(tmp_path / "gcstream.toml", cfg)
        started = time.monotonic()
        run = await Run.start(config, tmp_path)
        try:
            code = await run.wait(30)
        finally:
            await run.kill()
        took = time.monotonic() - started
        stderr = run.err()
        assert code == 2, stderr
        assert took < 20, f"took {took:.1f} s to give up"
        lines = error_lines(stderr)
        assert len(lines) == 1, stderr
        assert stderr.splitlines()[-1] == lines[0], "the error is not the last thing printed"
        assert needle in lines[0], lines[0]
        # Said once: not repeated by a log line, not buried in a traceback.
        assert stderr.count(lines[0].removeprefix("gcstream run:").strip()) == 1, stderr
        assert "Traceback" not in stderr, stderr
        assert CLIENT_SECRET not in run.output()
        assert BAD_SECRET not in run.output()
        assert_no_secrets(run.output(), sim, "the process output")
        if case != "unreachable":
            # Nothing was left subscribed by a run that never got going.
            assert all(not c.topics for c in sim.platform.channels.values())
