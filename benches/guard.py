"""Fail CI when a speed-up measured in one benchmark run drops below its committed floor.

Usage::

    python -m pytest benches --benchmark-enable --benchmark-only --benchmark-json=.benchmarks/run.json -q
    python benches/guard.py .benchmarks/run.json

Every ratio compares medians from the same run on the same machine (never an absolute time);
the lower-is-better ratios compare best rounds (see ``UPPER_BOUNDED``):

* ``engine_vs_reference``: pure-Python pipeline / ``Engine.feed_many`` (higher is better);
* ``engine_vs_orjson``: ``orjson.loads`` alone / ``Engine.feed_many`` (higher is better);
* ``engine_feed_vs_orjson``: ``orjson.loads`` alone / ``Engine.feed`` per frame (higher is better);
* ``framing_vs_reference``: raw_decode framer / ``FrameAssembler`` (higher is better);
* ``redact_vs_reference``: ``tests/reference_redact.py`` / ``Redactor.redact`` (higher is better);
* ``redact_vs_presidio``: Presidio's regex recognizers / ``Redactor.redact`` (higher is better);
* ``linearity``: 1 KiB chunks / one chunk on a 1 MiB document (lower is better; capped by
  ``linearity_max``).

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
    "ring_vs_reference": (_RING + "test_ring_reference", _RING + "test_ring_core"),
    "linearity": (_FRAMING + "test_linearity_1kib_chunks", _FRAMING + "test_linearity_one_chunk"),
    "pipeline_overhead": (_PIPELINE + "test_pipeline_null", _PIPELINE + "test_engine_alone"),
}

# Ratios where lower is better: checked against ``<name>_max`` in floors.toml. They compare the
# fastest round of each side (best of N): these are properties of the algorithm (cost of many
# small calls vs one big one), and scheduling noise on a shared machine only ever adds time, which
# made the sub-millisecond medians swing by 2x between runs.
UPPER_BOUNDED = frozenset({"linearity", "pipeline_overhead"})


def medians(run: dict[str, object], stat: str = "median") -> dict[str, float]:
    """``file.py::test_name`` -> seconds (``stat``: median or min), from a pytest-benchmark JSON."""
    out = {}
    for bench in run["benchmarks"]:  # type: ignore[attr-defined]
        out[bench["fullname"].rsplit("/", 1)[-1]] = float(bench["stats"][stat])
    return out


def check(run: dict[str, object], floors: dict[str, float]) -> list[str]:
    """Print the table and return the ratios that missed their floor (or could not be computed)."""
    times = medians(run)
    best = medians(run, "min")
    failures = []
    print(f"{'ratio':<24}{'measured':>10}{'floor':>10}  status")
    for name, (numerator, denominator) in RATIOS.items():
        if numerator not in times or denominator not in times:
            print(f"{name:<24}{'-':>10}{'-':>10}  MISSING ({numerator} / {denominator})")
            failures.append(name)
            continue
        source = best if name in UPPER_BOUNDED else times
        ratio = source[numerator] / source[denominator]
        if name in UPPER_BOUNDED:
            bound = floors[f"{name}_max"]
            ok = ratio <= bound
            print(f"{name:<24}{ratio:>10.2f}{'<=' + format(bound, '.2f'):>10}  {'ok' if ok else 'FAIL'}")
        elif name not in floors:
            ok = True
            print(f"{name:<24}{ratio:>10.2f}{'-':>10}  info (no floor)")
        else:
            bound = floors[name]
            ok = ratio >= bound
            print(f"{name:<24}{ratio:>10.2f}{bound:>10.2f}  {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)
    return failures


def main(argv: list[str]) -> int:
    """Entry point: ``guard.py RUN.json``; returns the process exit code."""
    if len(argv) != 2:
        print(__doc__)
        return 2
    if gcstream.build_profile != "release":
        print(f"refusing to judge a {gcstream.build_profile!r} build: build with `maturin develop --release`")
        return 2
    run = json.loads(Path(argv[1]).read_text())
    floors = tomllib.loads(FLOORS.read_text())["ratios"]
    failures = check(run, floors)
    if failures:
        print(f"below the floor: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
