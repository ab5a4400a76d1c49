"""gcstream.logging: structured lines, and no PII or secret ever reaches a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from gcstream.demo import DEMO_CLIENT_SECRET, DemoOptions, pii_needles, run_demo
from gcstream.logging import configure, mask_url, mask_urls, register_secret, scrub, url_secrets


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure("DEBUG", "json", stream=stream)
    yield stream
    logging.getLogger("gcstream").removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_level_logger_message_and_extra_fields(log_stream: io.StringIO) -> None:
    logging.getLogger("gcstream.test").info("socket %d open", 3, extra={"channel": "streaming-0-abc"})
    (doc,) = lines(log_stream)
    assert doc["level"] == "info"
    assert doc["logger"] == "gcstream.test"
    assert doc["msg"] == "socket 3 open"
    assert doc["channel"] == "streaming-0-abc"
    assert str(doc["ts"]).endswith("Z")


def test_levels_filter(log_stream: io.StringIO) -> None:
    configure("WARNING", "json", stream=log_stream)
    logging.getLogger("gcstream.test").info("quiet")
    logging.getLogger("gcstream.test").warning("loud")
    assert [d["msg"] for d in lines(log_stream)] == ["loud"]


@pytest.mark.parametrize(
    ("pii", "tag"),
    [
        ("4111 1111 1111 1111", "[CREDIT_CARD]"),
        ("4111-1111-1111-1111", "[CREDIT_CARD]"),
        ("219-09-9999", "[SSN]"),
        ("617-555-0123", "[PHONE]"),
        ("jane.doe@example.com", "[EMAIL]"),
        ("four one one one one one one one", "[SPOKEN_DIGITS]"),
        ("jane dot doe at example dot com", "[EMAIL]"),
    ],
)
def test_pii_patterns_are_scrubbed_from_messages_args_and_extras(
    log_stream: io.StringIO, pii: str, tag: str
) -> None:
    log = logging.getLogger("gcstream.test")
    log.warning(f"said {pii} twice")
    log.warning("value: %s", pii)
    log.warning("extra", extra={"detail": f"it is {pii}"})
    docs = lines(log_stream)
    assert tag in str(docs[0]["msg"])
    assert tag in str(docs[1]["msg"])
    assert tag in str(docs[2]["detail"])
    assert pii not in log_stream.getvalue()


def test_ids_and_times_are_not_mistaken_for_pii() -> None:
    text = "conversation 3c9d2a7e-1111-4222-8333-444455556666 latency 1504 ms at 1704067204000"
    assert scrub(text) == text


def test_registered_secrets_are_masked_in_messages_and_tracebacks(log_stream: io.StringIO) -> None:
    register_secret("tok-abcdef123456")
    log = logging.getLogger("gcstream.test")
    try:
        raise RuntimeError("refused token tok-abcdef123456")
    except RuntimeError:
        log.exception("auth failed for tok-abcdef123456")
    out = log_stream.getvalue()
    assert "tok-abcdef123456" not in out
    assert "***" in out
    assert "RuntimeError" in out


@pytest.mark.slow
async def test_no_log_line_of_a_demo_run_has_ground_truth_pii_or_the_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every line the demo logs (its log file, and everything propagated) is free of the values the
    simulated callers spoke and of the OAuth client secret."""
    caplog.set_level(logging.DEBUG, logger="gcstream")
    opts = DemoOptions(
        out=tmp_path / "demo", conversations=3, duration=10.0, http="", speed=20.0, progress=False
    )
    import asyncio

    async with asyncio.timeout(60):
        result = await run_demo(opts)
    log_file = Path(result.files["log"])
    file_lines = log_file.read_text(encoding="utf-8").splitlines()
    assert file_lines, "the demo wrote no log"
    for line in file_lines:
        json.loads(line)  # structured: every line is one JSON object
    captured = [
        r.getMessage() + " " + json.dumps({k: str(v) for k, v in vars(r).items()}) for r in caplog.records
    ]
    every = [*file_lines, *captured]
    assert result.summary["ground_truth"]["pii_values_sent"] > 0
    needles = pii_needles(_ground_truth(result))
    assert needles
    for line in every:
        low = line.lower()
        assert DEMO_CLIENT_SECRET not in line
        leaked = [n for n in needles if n in low]
        assert not leaked, f"PII in a log line ({len(leaked)} values)"


def _ground_truth(result: object) -> list[dict[str, object]]:
    truth = getattr(result, "ground_truth", None)
    assert truth is not None, "DemoResult.ground_truth is missing"
    return list(truth)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://svc:hunter2pass@kb.example.com/ingest?api_key=AKIA-SECRET-123&v=1",
            "https://svc:***@kb.example.com/ingest?api_key=***&v=1",
        ),
        ("http://admin:influxpw@127.0.0.1:8086", "http://admin:***@127.0.0.1:8086"),
        ("nats://u:p%40ss@127.0.0.1:4222", "nats://u:***@127.0.0.1:4222"),
        ("nats://s3cr3tTOKEN@127.0.0.1:4222", "nats://***@127.0.0.1:4222"),  # NATS token auth
        ("https://APIKEY-123@kb.example.com/in", "https://***@kb.example.com/in"),
        ("http://h/w?db=cc&u=me&p=pw123;sig=abc#f", "http://h/w?db=cc&u=me&p=***;sig=***#f"),
        (
            "http://h/x?access_token=t0k&X-Amz-Signature=s1g",
            "http://h/x?access_token=***&X-Amz-Signature=***",
        ),
        ("http://127.0.0.1:8086/write?db=cc", "http://127.0.0.1:8086/write?db=cc"),
        ("not a url", "not a url"),
    ],
)
def test_urls_are_shown_without_their_credentials(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert mask_urls(f"webhook: {url} failed") == f"webhook: {shown} failed"
    for secret in url_secrets(url):
        assert secret not in shown
    if "@" in url:
        assert url_secrets(url), "the user info's secret is registered too"


def test_url_credentials_are_masked_in_log_lines(log_stream: io.StringIO) -> None:
    logging.getLogger("gcstream.test").warning("POST %s failed", "https://svc:pw-xyz-1@h/in?token=tk-9876")
    (doc,) = lines(log_stream)
    assert doc["msg"] == "POST https://svc:***@h/in?token=*** failed"
