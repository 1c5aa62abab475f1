"""Benchmark: every policy over a registry of 2,000 tenants, against loading that registry.

    python bench/policies.py [--tenants 2000] [--repeat 5] [--keep DIR]

The registry comes from bench/generate.py (a valid synthetic city: three pools,
one department per five tenants, private and shared networks). Timed in this
process, each repeat on a freshly loaded Platform so no cache carries over:

- load:      tenants.load (read, parse, validate every file) — the peer;
- policies:  policies.evaluate (every enabled policy, waivers, settings checks),
  which includes rendering every tenant once (tenants.render, shared by the
  render guards) and the guardrails are not part of it.

Prints medians of both, the share of load + policies spent in each, the ratio
policies / load, then one breakdown (per set, and the slowest policies) from
a separate pass where each policy runs alone with the tenants already rendered.
Wall times on a shared machine are noisy; CPU time (process_time) is printed
beside them and is the steadier figure.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

import generate  # bench/generate.py: a script's own folder is on sys.path

from citycloud import policies, tenants
from citycloud.policies import engine

T = TypeVar("T")
TODAY = datetime.date(2026, 1, 1)


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def breakdown(root: pathlib.Path) -> tuple[float, dict[str, float]]:
    """Render time, then each policy alone (tenants already rendered), in seconds."""
    platform = tenants.load(root)
    ctx = engine.Context(platform)
    _, render_time, _ = timed(lambda: [ctx.rendered(t) for t in platform.tenants.values()])
    per_policy = {}
    for rule in engine.enabled(platform):
        _, seconds, _ = timed(lambda rule=rule: engine.run(ctx, [rule]))
        per_policy[rule.id] = seconds
    return render_time, per_policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=pathlib.Path, help="write the registry here and keep it")
    args = parser.parse_args(argv)
    root = args.keep or pathlib.Path(tempfile.mkdtemp(prefix="citycloud-bench-")) / "registry"
    try:
        _, seconds, _ = timed(lambda: generate.generate(root, tenants=args.tenants))
        print(f"generated {args.tenants} tenants in {seconds:.2f} s (not timed below)")
        loads, evals = [], []
        report: policies.Report | None = None
        for _ in range(args.repeat):
            platform, wall, cpu = timed(lambda: tenants.load(root))
            loads.append((wall, cpu))
            report, wall, cpu = timed(lambda p=platform: policies.evaluate(p, today=TODAY))
            evals.append((wall, cpu))
        assert report is not None
        load_wall = statistics.median(w for w, _ in loads)
        load_cpu = statistics.median(c for _, c in loads)
        eval_wall = statistics.median(w for w, _ in evals)
        eval_cpu = statistics.median(c for _, c in evals)
        total = load_wall + eval_wall
        print(f"{len(report.policies)} policies, {report.errors} error(s), "
              f"{report.warnings} warning(s) on the synthetic registry")
        print(f"load      median {load_wall:6.3f} s wall, {load_cpu:6.3f} s CPU   "
              f"({load_wall / total:5.1%} of load + policies)")
        print(f"policies  median {eval_wall:6.3f} s wall, {eval_cpu:6.3f} s CPU   "
              f"({eval_wall / total:5.1%} of load + policies)")
        print(f"ratio policies / load: {eval_wall / load_wall:.2f} (wall), "
              f"{eval_cpu / load_cpu:.2f} (CPU); per 1,000 tenants: "
              f"{eval_wall / args.tenants * 1000:.3f} s")
        render_time, per_policy = breakdown(root)
        by_set: dict[str, float] = {}
        for rule_id, seconds in per_policy.items():
            rule_set = engine.POLICIES[rule_id].set
            by_set[rule_set] = by_set.get(rule_set, 0.0) + seconds
        parts = {"render (tenants.render, once)": render_time, **by_set}
        whole = sum(parts.values())
        print("\nbreakdown of one evaluation (each policy alone, tenants pre-rendered):")
        for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"  {name:32s} {seconds:6.3f} s  {seconds / whole:5.1%}")
        print("slowest policies:")
        for rule_id, seconds in sorted(per_policy.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  {rule_id:32s} {seconds:6.3f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(root.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
