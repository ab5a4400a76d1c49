"""Prometheus metrics, read at scrape time from the stats the running parts already keep.

Nothing is counted twice: the engine counts in Rust (``Engine.stats()``), the pipeline, sinks and
sources keep their own counters, and :class:`Metrics` turns a snapshot of each into Prometheus
families when ``/metrics`` is scraped (or when the demo prints its summary)::

    metrics = Metrics()
    metrics.watch_engine(engine.stats)
    metrics.watch("pipeline", pipeline.stats)      # any () -> Mapping
    body = metrics.exposition()                    # text format 0.0.4

Metric names (all prefixed ``gcstream_``) are listed in :data:`METRIC_NAMES`. Stats a provider
does not have yet are simply absent from the output.

Expected provider shapes (missing keys are skipped):

* engine: what ``Engine.stats()`` returns.
* ``pipeline``: ``{"ring": {"capacity", "occupancy", "high_watermark", "paused"},
  "sinks": {name: {"written", "lag", "spool_bytes", "spool_records", "errors", "retries",
  "rejected"}},
  "records_in", "records_out", "dropped"}``.
* ``source``: ``{"reconnects", "frames", "bytes", "sockets_open", "channels",
  "subscriptions", "rest": {"requests", "rate_limited", "budget_used", "budget_limit"}}``.
* ``captions``: ``{"clients", "events", "dropped"}``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

__all__ = ["LATENCY_BUCKETS_MS", "METRIC_NAMES", "Metrics", "StatsProvider", "latency_buckets"]

log = logging.getLogger("gcstream.metrics")

StatsProvider = Callable[[], Mapping[str, Any]]
"""A callable returning a fresh snapshot of some component's counters."""

LATENCY_BUCKETS_MS: Final = (250, 500, 1000, 2000, 3000, 5000, 10000, 20000, 35000, 60000, 120000)
"""Upper bounds of the latency histogram, ms (Genesys: ~1-3 s low-latency, ~35 s default)."""

PREFIX: Final = "gcstream_"

METRIC_NAMES: Final = (
    "gcstream_frames_total",
    "gcstream_bytes_total",
    "gcstream_documents_total",
    "gcstream_records_total",
    "gcstream_rejected_total",
    "gcstream_controls_total",
    "gcstream_flags_total",
    "gcstream_pii_total",
    "gcstream_duplicates_total",
    "gcstream_words_total",
    "gcstream_negative_latency_total",
    "gcstream_latency_ms",
    "gcstream_latency_quantile_ms",
    "gcstream_confidence_mean",
    "gcstream_confidence_min",
    "gcstream_words_per_second",
    "gcstream_conversations_active",
    "gcstream_ring_capacity",
    "gcstream_ring_occupancy",
    "gcstream_ring_high_watermark",
    "gcstream_ring_paused",
    "gcstream_pipeline_records_in_total",
    "gcstream_pipeline_records_out_total",
    "gcstream_pipeline_dropped_total",
    "gcstream_sink_written_total",
    "gcstream_sink_lag_records",
    "gcstream_sink_spool_bytes",
    "gcstream_sink_spool_records",
    "gcstream_sink_errors_total",
    "gcstream_sink_retries_total",
    "gcstream_sink_rejected_total",
    "gcstream_source_reconnects_total",
    "gcstream_source_frames_total",
    "gcstream_source_bytes_total",
    "gcstream_source_sockets_open",
    "gcstream_source_channels",
    "gcstream_source_subscriptions",
    "gcstream_rest_requests_total",
    "gcstream_rest_rate_limited_total",
    "gcstream_rest_budget_used",
    "gcstream_rest_budget_limit",
    "gcstream_captions_clients",
    "gcstream_captions_events_total",
    "gcstream_captions_dropped_total",
    "gcstream_up",
)
"""Every family :class:`Metrics` can expose (counters without the ``_total`` suffix in the text
format's ``# TYPE`` line, as Prometheus writes them)."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def latency_buckets(stats: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Re-bin the engine's log-linear latency histogram onto :data:`LATENCY_BUCKETS_MS`.

    The engine reports non-empty buckets as ``(upper bound exclusive, cumulative count)``; a fixed
    Prometheus bucket ``le=b`` gets the cumulative count of every engine bucket that lies wholly
    at or below ``b`` (so within the engine's ~3 % resolution).

    Returns:
        ``[(le, cumulative count), ..., ("+Inf", count)]``.
    """
    raw = [(int(u), int(c)) for u, c in stats.get("buckets") or ()]
    total = int(stats.get("count") or 0)
    out: list[tuple[str, float]] = []
    for bound in LATENCY_BUCKETS_MS:
        below = [c for upper, c in raw if upper - 1 <= bound]
        out.append((str(float(bound)), float(below[-1] if below else 0)))
    out.append(("+Inf", float(total)))
    return out


class _Collector(Collector):
    def __init__(self, owner: Metrics) -> None:
        self._owner = owner

    def collect(self) -> Iterator[Metric]:
        yield from self._owner.families()


class Metrics:
    """A Prometheus registry whose figures come from stats providers at scrape time.

    Args:
        registry: Where to register; a fresh private registry by default (so several pipelines
            in one process, or tests, never collide).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=False)
        self._engines: list[StatsProvider] = []
        self._providers: dict[str, StatsProvider] = {}
        self.registry.register(_Collector(self))

    def watch_engine(self, stats: StatsProvider) -> None:
        """Read an engine's counters (``engine.stats``) at every scrape; several engines add up."""
        self._engines.append(stats)

    def watch(self, name: str, stats: StatsProvider) -> None:
        """Read a component's counters at every scrape.

        Args:
            name: ``pipeline``, ``source`` or ``captions`` (see the module docstring for shapes).
            stats: Returns a fresh snapshot.
        """
        self._providers[name] = stats

    def snapshot(self) -> dict[str, Any]:
        """Every provider's current stats: ``{"engine": merged engine stats, name: stats, ...}``."""
        out: dict[str, Any] = {"engine": self._engine_stats()}
        for name, provider in self._providers.items():
            out[name] = self._safe(name, provider)
        return out

    def exposition(self) -> bytes:
        """Render the registry in the Prometheus text format (what ``/metrics`` serves)."""
        return generate_latest(self.registry)

    # -- families -----------------------------------------------------------------------

    @staticmethod
    def _safe(name: str, provider: StatsProvider) -> Mapping[str, Any]:
        try:
            return provider()
        except Exception:  # a broken provider must not take /metrics down with it
            log.exception("stats provider failed", extra={"provider": name})
            return {}

    def _engine_stats(self) -> dict[str, Any]:
        snaps = [self._safe("engine", e) for e in self._engines]
        if len(snaps) == 1:
            return dict(snaps[0])
        return _merge_engine_stats(snaps)

    def families(self) -> Iterator[Metric]:
        """Build every metric family from fresh snapshots."""
        up = GaugeMetricFamily(PREFIX + "up", "1 while the process is ingesting.")
        up.add_metric([], 1.0)
        yield up
        yield from _engine_families(self._engine_stats())
        for name, provider in self._providers.items():
            snap = self._safe(name, provider)
            if name == "pipeline":
                yield from _pipeline_families(snap)
            elif name == "source":
                yield from _source_families(snap)
            elif name == "captions":
                yield from _captions_families(snap)


def _merge_engine_stats(snaps: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up counters of several engines (latency quantiles are taken from the busiest)."""
    out: dict[str, Any] = {}
    for snap in snaps:
        for key, value in snap.items():
            if isinstance(value, dict) and key != "latency_ms":
                inner = out.setdefault(key, {})
                for k, v in value.items():
                    inner[k] = inner.get(k, 0) + v
            elif (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and key
                not in (
                    "confidence_mean",
                    "confidence_min",
                )
            ):
                out[key] = out.get(key, 0) + value
    busiest = max(snaps, key=lambda s: (s.get("latency_ms") or {}).get("count") or 0, default={})
    for key in ("latency_ms", "confidence_mean", "confidence_min"):
        if key in busiest:
            out[key] = busiest[key]
    return out


def _counter(name: str, doc: str, value: Any) -> Iterator[Metric]:
    v = _num(value)
    if v is not None:
        fam = CounterMetricFamily(PREFIX + name, doc)
        fam.add_metric([], v)
        yield fam


def _gauge(name: str, doc: str, value: Any) -> Iterator[Metric]:
    v = _num(value)
    if v is not None:
        fam = GaugeMetricFamily(PREFIX + name, doc)
        fam.add_metric([], v)
        yield fam


def _labelled(
    kind: type[CounterMetricFamily] | type[GaugeMetricFamily], name: str, doc: str, label: str, values: Any
) -> Iterator[Metric]:
    if not isinstance(values, Mapping):
        return
    fam = kind(PREFIX + name, doc, labels=[label])
    for key, value in sorted(values.items()):
        v = _num(value)
        if v is not None:
            fam.add_metric([str(key)], v)
    yield fam


def _engine_families(s: Mapping[str, Any]) -> Iterator[Metric]:
    yield from _counter("frames", "Frames fed to the engine.", s.get("frames"))
    yield from _counter("bytes", "Bytes fed to the engine.", s.get("bytes"))
    yield from _counter("documents", "JSON documents framed.", s.get("documents"))
    yield from _labelled(
        CounterMetricFamily, "records", "Records emitted, by kind.", "kind", s.get("records")
    )
    yield from _labelled(
        CounterMetricFamily, "rejected", "Rejected input, by reason.", "reason", s.get("rejected")
    )
    yield from _labelled(
        CounterMetricFamily, "controls", "Protocol events, by kind.", "kind", s.get("controls")
    )
    yield from _labelled(
        CounterMetricFamily, "flags", "Quality flags raised, by flag.", "flag", s.get("flags")
    )
    yield from _labelled(CounterMetricFamily, "pii", "PII spans redacted, by kind.", "kind", s.get("pii"))
    yield from _counter("duplicates", "Repeated utterances dropped.", s.get("duplicates"))
    yield from _counter("words", "Words in final utterances.", s.get("words"))
    yield from _counter(
        "negative_latency", "Utterances received before they ended (clock skew).", s.get("negative_latency")
    )
    lat = s.get("latency_ms")
    if isinstance(lat, Mapping):
        count = int(lat.get("count") or 0)
        mean = _num(lat.get("mean")) or 0.0
        hist = HistogramMetricFamily(
            PREFIX + "latency_ms", "Utterance latency: received minus utterance end, ms."
        )
        hist.add_metric([], latency_buckets(lat), sum_value=mean * count)
        yield hist
        q = GaugeMetricFamily(
            PREFIX + "latency_quantile_ms", "Latency quantiles over the run, ms.", labels=["quantile"]
        )
        for label, key in (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")):
            v = _num(lat.get(key))
            if v is not None:
                q.add_metric([label], v)
        yield q
    yield from _gauge("confidence_mean", "Mean utterance confidence.", s.get("confidence_mean"))
    yield from _gauge("confidence_min", "Lowest utterance confidence.", s.get("confidence_min"))
    yield from _gauge("words_per_second", "Words per second of speech.", s.get("words_per_second"))
    yield from _gauge("conversations_active", "Conversations being tracked.", s.get("conversations_active"))


def _pipeline_families(s: Mapping[str, Any]) -> Iterator[Metric]:
    ring = s.get("ring")
    if isinstance(ring, Mapping):
        yield from _gauge("ring_capacity", "Ring buffer slots.", ring.get("capacity"))
        yield from _gauge("ring_occupancy", "Ring buffer slots in use.", ring.get("occupancy"))
        yield from _gauge("ring_high_watermark", "Occupancy that pauses reading.", ring.get("high_watermark"))
        yield from _gauge("ring_paused", "1 while reading is paused by backpressure.", ring.get("paused"))
    yield from _counter("pipeline_records_in", "Records put in the ring.", s.get("records_in"))
    yield from _counter("pipeline_records_out", "Records every sink has passed.", s.get("records_out"))
    yield from _counter("pipeline_dropped", "Records dropped by an explicit drop policy.", s.get("dropped"))
    sinks = s.get("sinks")
    if isinstance(sinks, Mapping):
        for field, name, kind, doc in (
            ("written", "sink_written", CounterMetricFamily, "Records a sink has delivered."),
            ("lag", "sink_lag_records", GaugeMetricFamily, "Records in the ring a sink has not passed."),
            ("spool_bytes", "sink_spool_bytes", GaugeMetricFamily, "Bytes spooled to disk for a sink."),
            ("spool_records", "sink_spool_records", GaugeMetricFamily, "Records spooled for a sink."),
            ("errors", "sink_errors", CounterMetricFamily, "Failed deliveries."),
            ("retries", "sink_retries", CounterMetricFamily, "Retried deliveries."),
            (
                "rejected",
                "sink_rejected",
                CounterMetricFamily,
                "Records a sink refused for good (set aside in its dead-letter file).",
            ),
        ):
            per = {
                sink: st.get(field) for sink, st in sinks.items() if isinstance(st, Mapping) and field in st
            }
            if per:
                yield from _labelled(kind, name, doc, "sink", per)


def _source_families(s: Mapping[str, Any]) -> Iterator[Metric]:
    yield from _counter("source_reconnects", "WebSocket reconnects.", s.get("reconnects"))
    yield from _counter("source_frames", "Frames received.", s.get("frames"))
    yield from _counter("source_bytes", "Bytes received.", s.get("bytes"))
    yield from _gauge("source_sockets_open", "Open WebSockets.", s.get("sockets_open"))
    yield from _gauge("source_channels", "Notification channels in use.", s.get("channels"))
    yield from _gauge("source_subscriptions", "Topics subscribed.", s.get("subscriptions"))
    rest = s.get("rest")
    if isinstance(rest, Mapping):
        yield from _counter("rest_requests", "REST requests sent.", rest.get("requests"))
        yield from _counter("rest_rate_limited", "REST requests answered 429.", rest.get("rate_limited"))
        yield from _gauge("rest_budget_used", "REST requests in the current window.", rest.get("budget_used"))
        yield from _gauge("rest_budget_limit", "REST requests allowed per window.", rest.get("budget_limit"))


def _captions_families(s: Mapping[str, Any]) -> Iterator[Metric]:
    yield from _gauge("captions_clients", "Browsers connected to the captions stream.", s.get("clients"))
    yield from _counter("captions_events", "Caption events broadcast.", s.get("events"))
    yield from _counter(
        "captions_dropped", "Caption events not delivered to a slow browser.", s.get("dropped")
    )
