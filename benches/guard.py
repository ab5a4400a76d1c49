"""Fail CI when a speed-up measured in one benchmark run drops below its committed floor.

Usage::

    python -m pytest benches --benchmark-enable --benchmark-only --benchmark-json=.benchmarks/run.json -q
    python benches/guard.py .benchmarks/run.json

Every ratio must be in the run: a missing benchmark (skipped, deselected, failed) fails the guard.
To judge a run of some bench files only, add ``--partial``: ratios whose bench file has no
benchmark at all in the run are reported as not run instead (a file that ran with a benchmark
missing still fails)::

    python -m pytest benches/test_pipeline_bench.py --benchmark-enable --benchmark-only \\
        --benchmark-json=.benchmarks/pipeline.json -q
    python benches/guard.py .benchmarks/pipeline.json --partial

Every ratio compares medians from the same run on the same machine (never an absolute time);
the lower-is-better ratios compare best rounds (see ``UPPER_BOUNDED``):

* ``engine_vs_reference``: pure-Python pipeline / ``Engine.feed_many`` (higher is better);
* ``engine_vs_orjson``: ``orjson.loads`` alone / ``Engine.feed_many`` (higher is better);
* ``engine_feed_vs_orjson``: ``orjson.loads`` alone / ``Engine.feed`` per frame (higher is better);
* ``framing_vs_reference``: raw_decode framer / ``FrameAssembler`` (higher is better);
* ``redact_vs_reference``: ``tests/reference_redact.py`` / ``Redactor.redact`` (higher is better);
* ``redact_vs_presidio``: Presidio's regex recognizers / ``Redactor.redact`` (higher is better);
* ``ring_vs_reference``: a deque with per-sink cursors / ``Ring`` (higher is better);
* ``linearity``: 1 KiB chunks / one chunk on a 1 MiB document (lower is better; capped by
  ``linearity_max``);
* ``engine_beside_10k_live``: the mixed stream ending 2,000 live conversations, fed beside 8,000
  more / without them (lower is better; capped by ``engine_beside_10k_live_max``);
* ``pipeline_overhead``: ``Pipeline`` into a no-op sink / the engine alone on the same frames (lower
  is better; capped by ``pipeline_overhead_max``);
* ``pipeline_<sink>_vs_engine``: ``Pipeline`` into that sink / the engine alone, for the embedded
  sinks (``jsonl``, ``sqlite``) and the network sinks against real servers on loopback
  (``influx_v1``, ``influx_v2``, ``webhook``, ``nats``) (lower is better; capped by ``<name>_max``).

The floors live in ``benches/floors.toml``. The guard refuses a debug build: its numbers mean nothing.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import gcstream

FLOORS = Path(__file__).with_name("floors.toml")

# ratio name -> (numerator benchmark, denominator benchmark)
_ENGINE = "test_engine_bench.py::"
_FRAMING = "test_framing_bench.py::"
_REDACT = "test_redact_bench.py::"
_MIXED = "test_engine_mixed_bench.py::"
_RING = "test_ring_bench.py::"
_PIPELINE = "test_pipeline_bench.py::"
RATIOS = {
    "engine_vs_reference": (_ENGINE + "test_engine_reference", _ENGINE + "test_engine_feed_many"),
    "engine_vs_orjson": (_ENGINE + "test_engine_orjson", _ENGINE + "test_engine_feed_many"),
    "engine_feed_vs_orjson": (_ENGINE + "test_engine_orjson", _ENGINE + "test_engine_feed"),
    "decode_vs_reference": (_ENGINE + "test_engine_reference", _ENGINE + "test_engine_decode_only"),
    "decode_vs_orjson": (_ENGINE + "test_engine_orjson", _ENGINE + "test_engine_decode_only"),
    "framing_vs_reference": (_FRAMING + "test_framing_reference", _FRAMING + "test_framing_core"),
    "redact_vs_reference": (_REDACT + "test_redact_reference", _REDACT + "test_redact_core"),
    "redact_vs_presidio": (_REDACT + "test_redact_presidio", _REDACT + "test_redact_core"),
    "engine_mixed_vs_reference": (_MIXED + "test_reference", _MIXED + "test_core"),
    "engine_mixed_vs_orjson": (_MIXED + "test_orjson", _MIXED + "test_core"),
    "engine_mixed_vs_reference_redacting": (_MIXED + "test_reference_redacting", _MIXED + "test_core"),
    "engine_beside_10k_live": (_MIXED + "test_feed_beside_10k", _MIXED + "test_feed_alone"),
    "ring_vs_reference": (_RING + "test_ring_reference", _RING + "test_ring_core"),
    "linearity": (_FRAMING + "test_linearity_1kib_chunks", _FRAMING + "test_linearity_one_chunk"),
    "pipeline_overhead": (_PIPELINE + "test_pipeline_null", _PIPELINE + "test_engine_alone"),
}
PIPELINE_SINKS = ("jsonl", "sqlite", "influx_v1", "influx_v2", "webhook", "nats")
RATIOS |= {
    f"pipeline_{sink}_vs_engine": (_PIPELINE + f"test_pipeline_{sink}", _PIPELINE + "test_engine_alone")
    for sink in PIPELINE_SINKS
}

# Ratios where lower is better: checked against ``<name>_max`` in floors.toml. They compare the
# fastest round of each side (best of N): these are properties of the algorithm (cost of many
# small calls vs one big one), and scheduling noise on a shared machine only ever adds time, which
# made the sub-millisecond medians swing by 2x between runs. The pipeline into a real server is a
# sum of waits on loopback and on the peer, so its best round is its cost without interference.
UPPER_BOUNDED = frozenset(
    {
        "linearity",
        "pipeline_overhead",
        "engine_beside_10k_live",
        *(f"pipeline_{sink}_vs_engine" for sink in PIPELINE_SINKS),
    }
)
WIDTH = max(map(len, RATIOS)) + 2


def medians(run: dict[str, object], stat: str = "median") -> dict[str, float]:
    """``file.py::test_name`` -> seconds (``stat``: median or min), from a pytest-benchmark JSON."""
    out = {}
    for bench in run["benchmarks"]:  # type: ignore[attr-defined]
        out[bench["fullname"].rsplit("/", 1)[-1]] = float(bench["stats"][stat])
    return out


def per_record(run: dict[str, object]) -> None:
    """Print the ring's time per record and any bench's MB/s, with the goal where the bench names
    one (``extra_info``): information, not judged (absolute figures on a shared machine)."""
    for bench in run["benchmarks"]:  # type: ignore[attr-defined]
        info = bench.get("extra_info", {})
        name = bench["fullname"].rsplit("::", 1)[-1]
        if "ns_per_record" in info:
            best = info.get("ns_per_record_best", float("nan"))
            print(f"{name}: {info['ns_per_record']:.1f} ns per record (best {best:.1f}; goal <= 100)")
        if "mb_per_s" in info:
            notes = []
            if "mb_per_s_best" in info:
                notes.append(f"best {info['mb_per_s_best']:.0f}")
            if "mb_per_s_goal" in info:
                notes.append(f"goal >= {info['mb_per_s_goal']}")
            aside = f" ({'; '.join(notes)})" if notes else ""
            print(f"{name}: {info['mb_per_s']:.0f} MB/s{aside}")


def check(run: dict[str, object], floors: dict[str, float], *, partial: bool = False) -> list[str]:
    """Print the table and return the ratios that missed their floor (or could not be computed).

    With ``partial``, a ratio whose bench file has no benchmark in the run is not run, not failed.
    """
    times = medians(run)
    best = medians(run, "min")
    files_run = {name.split("::", 1)[0] for name in times}
    failures = []
    judged = 0
    print(f"{'ratio':<{WIDTH}}{'measured':>10}{'floor':>10}  status")
    for name, (numerator, denominator) in RATIOS.items():
        if numerator not in times or denominator not in times:
            files = {numerator.split("::", 1)[0], denominator.split("::", 1)[0]}
            if partial and not files & files_run:
                print(f"{name:<{WIDTH}}{'-':>10}{'-':>10}  not run")
                continue
            print(f"{name:<{WIDTH}}{'-':>10}{'-':>10}  MISSING ({numerator} / {denominator})")
            failures.append(name)
            continue
        judged += 1
        source = best if name in UPPER_BOUNDED else times
        ratio = source[numerator] / source[denominator]
        key = f"{name}_max" if name in UPPER_BOUNDED else name
        if key not in floors:
            ok = True
            print(f"{name:<{WIDTH}}{ratio:>10.2f}{'-':>10}  info (no floor)")
        elif name in UPPER_BOUNDED:
            bound = floors[key]
            ok = ratio <= bound
            print(f"{name:<{WIDTH}}{ratio:>10.2f}{'<=' + format(bound, '.2f'):>10}  {'ok' if ok else 'FAIL'}")
        else:
            bound = floors[name]
            ok = ratio >= bound
            print(f"{name:<{WIDTH}}{ratio:>10.2f}{bound:>10.2f}  {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)
    if not judged:
        print("no ratio can be computed from this run")
        failures.append("(nothing to judge)")
    return failures


def main(argv: list[str]) -> int:
    """Entry point: ``guard.py RUN.json [--partial]``; returns the process exit code."""
    args = argv[1:]
    partial = "--partial" in args
    args = [a for a in args if a != "--partial"]
    if len(args) != 1:
        print(__doc__)
        return 2
    if gcstream.build_profile != "release":
        print(f"refusing to judge a {gcstream.build_profile!r} build: build with `maturin develop --release`")
        return 2
    run = json.loads(Path(args[0]).read_text())
    floors = tomllib.loads(FLOORS.read_text())["ratios"]
    failures = check(run, floors, partial=partial)
    per_record(run)
    if failures:
        print(f"below the floor: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
