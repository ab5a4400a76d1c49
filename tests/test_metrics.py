"""gcstream.metrics: Prometheus families from engine, pipeline, source and captions stats."""

from __future__ import annotations

from typing import Any

from gcstream.metrics import METRIC_NAMES, Metrics, latency_buckets
from prometheus_client.parser import text_string_to_metric_families

ENGINE: dict[str, Any] = {
    "frames": 10,
    "bytes": 2048,
    "documents": 10,
    "records": {"utterance": 7, "rejected": 1},
    "rejected": {"invalid_json": 1},
    "controls": {"heartbeat": 2},
    "flags": {"latency_over_threshold": 2},
    "pii": {"credit_card": 2, "ssn": 1},
    "duplicates": 3,
    "words": 70,
    "negative_latency": 0,
    "latency_ms": {
        "count": 7,
        "mean": 1500.0,
        "p50": 1400,
        "p95": 2900,
        "p99": 3000,
        "buckets": [(1216, 2), (1504, 4), (3008, 7)],
    },
    "confidence_mean": 0.8,
    "confidence_min": 0.5,
    "words_per_second": 2.5,
    "conversations_active": 2,
}


def samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(m.exposition().decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_engine_stats_become_counters_gauges_and_a_histogram() -> None:
    m = Metrics()
    m.watch_engine(lambda: ENGINE)
    s = samples(m)
    assert s[("gcstream_records_total", (("kind", "utterance"),))] == 7
    assert s[("gcstream_pii_total", (("kind", "credit_card"),))] == 2
    assert s[("gcstream_duplicates_total", ())] == 3
    assert s[("gcstream_latency_quantile_ms", (("quantile", "0.99"),))] == 3000
    assert s[("gcstream_latency_ms_count", ())] == 7
    assert s[("gcstream_latency_ms_sum", ())] == 7 * 1500.0
    assert s[("gcstream_latency_ms_bucket", (("le", "1000.0"),))] == 0
    assert s[("gcstream_latency_ms_bucket", (("le", "2000.0"),))] == 4
    assert s[("gcstream_latency_ms_bucket", (("le", "+Inf"),))] == 7
    assert s[("gcstream_confidence_mean", ())] == 0.8


def test_pipeline_source_and_captions_figures() -> None:
    m = Metrics()
    m.watch(
        "pipeline",
        lambda: {
            "ring": {"capacity": 1024, "occupancy": 10, "paused": False},
            "sinks": {"sqlite": {"written": 5, "lag": 2, "spool_bytes": 0}},
        },
    )
    m.watch(
        "source", lambda: {"reconnects": 1, "rest": {"requests": 9, "budget_used": 3, "budget_limit": 240}}
    )
    m.watch("captions", lambda: {"clients": 2, "events": 40, "dropped": 0})
    s = samples(m)
    assert s[("gcstream_ring_occupancy", ())] == 10
    assert s[("gcstream_sink_lag_records", (("sink", "sqlite"),))] == 2
    assert s[("gcstream_sink_spool_bytes", (("sink", "sqlite"),))] == 0
    assert s[("gcstream_source_reconnects_total", ())] == 1
    assert s[("gcstream_rest_budget_used", ())] == 3
    assert s[("gcstream_captions_clients", ())] == 2


def test_a_failing_provider_does_not_break_the_scrape(caplog: Any) -> None:
    m = Metrics()

    def broken() -> dict[str, Any]:
        raise RuntimeError("boom")

    m.watch("pipeline", broken)
    assert ("gcstream_up", ()) in samples(m)


def test_every_exposed_name_is_documented() -> None:
    m = Metrics()
    m.watch_engine(lambda: ENGINE)
    m.watch("captions", lambda: {"clients": 0, "events": 0, "dropped": 0})
    names = {fam.name for fam in text_string_to_metric_families(m.exposition().decode())}
    documented = {n.removesuffix("_total") for n in METRIC_NAMES}
    assert names <= documented


def test_latency_buckets_rebin_cumulatively() -> None:
    b = dict(latency_buckets({"count": 3, "buckets": [(100, 1), (2001, 2), (90000, 3)]}))
    assert b["250.0"] == 1
    assert b["2000.0"] == 2
    assert b["60000.0"] == 2
    assert b["120000.0"] == 3
    assert b["+Inf"] == 3
