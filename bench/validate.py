"""Benchmark: `citycloud validate` of a whole registry, as a user runs it, vs. plain YAML parsing.

    python bench/validate.py [--sizes 500,1000,2000,4000] [--repeat 5] [--keep DIR]

Each run is a fresh process (`citycloud -r DIR validate`), so the figures include
interpreter start-up and imports, like CI running the command on a pull request.
Peers, measured in the same run on the same generated files, each also a fresh
process: `yaml.safe_load` of every file (PyYAML's pure-Python loader, what most
projects call) and `yaml.load(..., CSafeLoader)` (libyaml, the fastest PyYAML
offers, and what validate's reader is built on). Validate does more than either:
hostile-input checks, line numbers, pydantic models, references, and the policies.

Prints, per size: median and best wall time, CPU time (user+sys), the wall time of
`tenants.load` alone (start-up and the registry checks, without policies), ratio to each
peer, and the cost per 1,000 tenants between sizes; then a least-squares line
t = a + b*N with its R^2 to show whether growth is linear. The issue's target is
under 1.5 s wall at N=2,000; the verdict line says whether this machine met it.
Wall times on a shared machine are noisy: CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import generate

TARGET_TENANTS = 2000
TARGET_SECONDS = 1.5

PEER_SAFE_LOAD = """
import pathlib, sys, yaml
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    yaml.safe_load(path.read_text(encoding="utf-8"))
"""
# validate minus the policies and the CLI: start-up, then the registry's own checks only.
LOAD_ONLY = """
import pathlib, sys, tenants
tenants.load(pathlib.Path(sys.argv[1]))
"""
PEER_CSAFE_LOAD = """
import pathlib, sys, yaml
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
"""


def citycloud_command() -> list[str]:
    """The installed console script, else the same entry point through this interpreter."""
    script = shutil.which("citycloud")
    if script:
        return [script]
    return [sys.executable, "-c", "import sys; from cli.app import main; sys.argv[0] = "
            "'citycloud'; main()"]


def timed(command: list[str], *, expect: int = 0) -> tuple[float, float]:
    """Wall and CPU (user+sys) seconds of one run of `command` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != expect:
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n"
                 f"{done.stdout.decode()[-2000:]}{done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(command: list[str], repeat: int) -> dict[str, float]:
    timed(command)  # warm the page cache and .pyc files; not counted
    runs = [timed(command) for _ in range(repeat)]
    walls = [wall for wall, _ in runs]
    cpus = [cpu for _, cpu in runs]
    return {"wall": statistics.median(walls), "best": min(walls), "cpu": statistics.median(cpus)}


def fit(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """Least squares t = a + b*N; returns a, b and R^2."""
    xs, ys = [float(n) for n, _ in points], [t for _, t in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for y in ys)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return intercept, slope, 1 - residual / total if total else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,4000",
                        help="tenant counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--keep", type=pathlib.Path,
                        help="generate registries here and keep them (default: a temp dir)")
    args = parser.parse_args(argv)
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    workdir = args.keep or pathlib.Path(tempfile.mkdtemp(prefix="citycloud-bench-"))
    validate = citycloud_command()
    print(f"citycloud validate vs. PyYAML, fresh process per run, median of {args.repeat} "
          f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    print(f"{'tenants':>8} {'validate':>9} {'best':>6} {'cpu':>6} {'load only':>9} "
          f"{'safe_load':>9} {'CSafeLoader':>11} {'x safe_load':>11} {'x CSafe':>8} "
          f"{'ms/tenant':>9}")
    results: dict[int, dict[str, dict[str, float]]] = {}
    try:
        for size in sizes:
            registry = generate.generate(workdir / f"registry-{size}", tenants=size)
            results[size] = {
                "validate": measure([*validate, "--registry", str(registry), "validate"],
                                    args.repeat),
                "load": measure([sys.executable, "-c", LOAD_ONLY, str(registry)], args.repeat),
                "safe_load": measure([sys.executable, "-c", PEER_SAFE_LOAD, str(registry)],
                                     args.repeat),
                "csafe": measure([sys.executable, "-c", PEER_CSAFE_LOAD, str(registry)],
                                 args.repeat),
            }
            row = results[size]
            wall = row["validate"]["wall"]
            print(f"{size:>8} {wall:>8.3f}s {row['validate']['best']:>5.2f}s "
                  f"{row['validate']['cpu']:>5.2f}s {row['load']['wall']:>8.3f}s "
                  f"{row['safe_load']['wall']:>8.3f}s "
                  f"{row['csafe']['wall']:>10.3f}s {wall / row['safe_load']['wall']:>10.2f}x "
                  f"{wall / row['csafe']['wall']:>7.2f}x {1000 * wall / size:>9.3f}")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    _growth(results)
    if TARGET_TENANTS in results:
        wall = results[TARGET_TENANTS]["validate"]["wall"]
        verdict = "met" if wall < TARGET_SECONDS else "NOT met"
        print(f"target: validate of {TARGET_TENANTS} tenants under {TARGET_SECONDS} s wall incl. "
              f"start-up: {verdict} ({wall:.3f} s median, "
              f"{results[TARGET_TENANTS]['validate']['best']:.3f} s best)")
    return 0


def _growth(results: dict[int, dict[str, dict[str, float]]]) -> None:
    sizes = sorted(results)
    if len(sizes) < 2:
        return
    print("growth (validate):")
    for small, large in itertools.pairwise(sizes):
        extra = 1000 * (results[large]["validate"]["wall"] - results[small]["validate"]["wall"])
        extra_cpu = 1000 * (results[large]["validate"]["cpu"] - results[small]["validate"]["cpu"])
        print(f"  {small:>5} -> {large:>5} tenants: +{extra / (large - small) * 1000:.0f} ms "
              f"wall, +{extra_cpu / (large - small) * 1000:.0f} ms cpu per 1,000 tenants")
    for measure_name in ("wall", "cpu"):
        a, b, r2 = fit([(n, results[n]["validate"][measure_name]) for n in sizes])
        print(f"  least squares ({measure_name}): t = {a:.3f} s + {1000 * b:.3f} s per 1,000 "
              f"tenants; R^2 = {r2:.4f}")
    first, last = sizes[0], sizes[-1]
    ratio = results[last]["validate"]["wall"] / results[first]["validate"]["wall"]
    print(f"  {last / first:.0f}x the tenants took {ratio:.2f}x the time "
          f"({'below' if ratio < last / first else 'NOT below'} the size ratio; linear growth "
          "with a fixed start-up cost stays below it)")


if __name__ == "__main__":
    sys.exit(main())
