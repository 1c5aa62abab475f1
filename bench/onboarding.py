"""Onboarding one tenant, and an apply with nothing to do, as the city grows; state disk.

    python bench/onboarding.py [--sizes 85,300,1000] [--samples 3] [--converges 10]

Starts the real control plane (`make controlplane` builds it) and drives the `citycloud`
CLI as a user does (a new process per command, the real Pulumi engine) against registries
of 85, 300 and 1,000 generated tenants (bench/generate.py). In each city:

- every tenant but the samples is applied first (`apply --yes`: the real engine; the
  tenants land in their shard stacks, stacks/README.md), the samples' files set aside;
- then each sample is put back and `onboard` of it timed (median), and `apply --yes` with
  nothing to do.

Printed: seconds and the ratio to the smallest city (target: onboarding at 1,000 within
1.2x of 85; a no-op at 1,000 under 2 s). Then, in the smallest city, one tenant is resized
`--converges` times (each a real update), and its shard's state on disk (checkpoint,
history, backups) per tenant it holds, and the CLI's log folder, are measured after the first
and the last (target: within 2x). Timings are wall-clock on a shared machine: read the ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != HERE]
# The control plane the e2e tests start (tests/e2e/controlplane.py, which finds its binaries
# with tests/realparts.py).
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]

import controlplane  # noqa: E402

from citycloud import tenants  # noqa: E402
from citycloud.stacks import layout  # noqa: E402

CLI = pathlib.Path(sys.executable).with_name("citycloud")


def _generate() -> Any:
    spec = importlib.util.spec_from_file_location("generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class City:
    def __init__(self, work: pathlib.Path, size: int, samples: int,
                 kubeconfig: pathlib.Path) -> None:
        self.registry = _generate().generate(work / "registry", tenants=size + samples)
        self.state = work / "state"
        self.kubeconfig = kubeconfig
        self.platform = tenants.load(self.registry)
        self.samples = sorted(self.platform.tenants)[-samples:]
        self.aside = work / "aside"

    def run(self, *args: str) -> float:
        started = time.perf_counter()
        done = subprocess.run(
            [str(CLI), "-r", str(self.registry), "--state-dir", str(self.state), *args],
            capture_output=True, text=True, check=False)
        took = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"citycloud {' '.join(args)} exited {done.returncode}:\n"
                             f"{done.stdout[-2000:]}{done.stderr[-3000:]}")
        return took

    def stack_command(self, *args: str) -> float:
        return self.run(*args, "--yes", "--kubeconfig", str(self.kubeconfig))

    def apply_all_but_the_samples(self) -> float:
        self.aside.mkdir()
        files = [next(self.registry.glob(f"tenants/*/{name}.yaml")) for name in self.samples]
        for path in files:
            path.rename(self.aside / path.name)
        took = self.stack_command("apply", "--parallel", "2")
        for path in files:
            (self.aside / path.name).rename(path)
        return took

    def shard(self, name: str) -> layout.StackRef:
        return layout.shard_of(name, cluster="")


def _size(paths: list[pathlib.Path]) -> int:
    return sum(p.stat().st_size for root in paths if root.exists()
               for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())


def shard_disk(state: pathlib.Path, shard: layout.StackRef) -> int:
    backend = state / "pulumi" / ".pulumi"
    return _size([*(backend / "stacks" / shard.project).glob(f"{shard.name}.json*"),
                  backend / "history" / shard.project / shard.name,
                  backend / "backups" / shard.project / shard.name])


def converges(city: City, name: str, count: int, home: pathlib.Path) -> list[tuple[int, int]]:
    """(state bytes per tenant of its shard, CLI log bytes) after each of `count` resizes
    of one tenant."""
    path = next(city.registry.glob(f"tenants/*/{name}.yaml"))
    shard = city.shard(name)
    held = sum(1 for n in city.platform.tenants if city.shard(n) == shard)
    found = []
    for step in range(count):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"cpu: (\d+)", lambda m: f"cpu: {int(m.group(1)) + 2}", text,
                               count=1), encoding="utf-8")
        city.stack_command("resize", name)
        found.append((shard_disk(city.state, shard) // held, _size([home / "logs"])))
        print(f"  converge {step + 1}: state {found[-1][0] / 1024:.0f} KiB per tenant of its "
              f"shard ({held}), CLI logs {found[-1][1] / 1024:.0f} KiB", flush=True)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="85,300,1000")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--converges", type=int, default=10)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    bin_dir, missing = controlplane.find_bin_dir()
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: run `make controlplane`")
    with tempfile.TemporaryDirectory(prefix="citycloud-bench-") as tmp:
        work = pathlib.Path(tmp)
        home = work / "pulumi-home"
        os.environ["PULUMI_HOME"] = str(home)
        os.environ["CITYCLOUD_PULUMI_BIN_DIR"] = str(bin_dir)
        plane = controlplane.ControlPlane(bin_dir, work / "controlplane")
        plane.start()
        rows = []
        try:
            for size in sizes:
                city = City(work / f"city-{size}", size, args.samples, plane.kubeconfig)
                first = city.apply_all_but_the_samples()
                print(f"{size} tenants: first apply {first:.1f} s", flush=True)
                onboard = statistics.median(city.stack_command("onboard", name)
                                            for name in city.samples)
                noop = statistics.median(city.stack_command("apply") for _ in range(3))
                rows.append((size, onboard, noop))
                print(f"{size} tenants: onboard {onboard:.2f} s, no-op apply {noop:.2f} s",
                      flush=True)
                if size == sizes[0]:
                    disk = converges(city, city.samples[0], args.converges, home)
        finally:
            plane.stop()
    base = rows[0]
    print("\n| tenants | onboard one (s) | vs smallest | apply, nothing to do (s) | vs smallest |")
    print("|---:|---:|---:|---:|---:|")
    for size, onboard, noop in rows:
        print(f"| {size:,} | {onboard:.2f} | {onboard / base[1]:.2f}x | {noop:.2f} | "
              f"{noop / base[2]:.2f}x |")
    first, last = disk[0], disk[-1]
    print(f"\nstate per tenant of a shard after 1 / {len(disk)} converges: {first[0] / 1024:.0f} / "
          f"{last[0] / 1024:.0f} KiB ({last[0] / first[0]:.2f}x); CLI logs {first[1] / 1024:.0f}"
          f" / {last[1] / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
