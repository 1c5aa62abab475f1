"""Benchmark: the same registry on 1, 3 and 6 clusters: `citycloud apply` and one exporter scrape.

    python bench/clusters.py [--tenants 30] [--clusters 1,3,6]

One generated registry (bench/generate.py) is applied three times, each time to fresh real
control planes (tests/e2e/controlplane.py: etcd, kube-apiserver, kube-controller-manager):

- 1 cluster: platform.yaml declares none; every pool on the one cluster the kubeconfig names;
- 3 clusters: one per pool;
- 6 clusters: two per pool, at two sites, the pool's tenants placed on them in turn.

Each control plane runs on this 2-core machine, so more clusters also means more idle
API servers sharing the cores: the ratio measures citycloud's cost of many clusters plus
that. Printed: `citycloud apply --yes` (a new process, the real Pulumi engine, --parallel 4)
and one exporter scrape after it (monitoring.exporter over every cluster, read at once),
each as a ratio to the one-cluster run; beside the scrape, each cluster read alone (the
slowest) and all read one after the other, its peers: a scrape that reads at once costs
about the slowest, not the sum, where the cores allow.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != HERE]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]

import controlplane  # noqa: E402

from citycloud.monitoring import cluster, exporter  # noqa: E402

CLI = pathlib.Path(sys.executable).with_name("citycloud")
POOLS = ("gov", "industry", "xinchuang")


def _generate() -> Any:
    spec = importlib.util.spec_from_file_location("generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def place(registry: pathlib.Path, count: int) -> list[str]:
    """Declare `count` clusters (0: none) over the pools and place every tenant on one; the
    cluster names, in order. Each cluster holds its pool's capacity divided evenly."""
    if count <= 1:
        return ["default"]
    per_pool = count // len(POOLS)
    platform_file = registry / "platform.yaml"
    data = yaml.safe_load(platform_file.read_text(encoding="utf-8"))
    names: dict[str, list[str]] = {}
    clusters = []
    for pool in data["spec"]["pools"]:
        capacity = pool.pop("capacity")
        names[pool["name"]] = [f"{pool['name']}-{i}" for i in range(per_pool)]
        for i, name in enumerate(names[pool["name"]]):
            share = {"cpu": int(capacity["cpu"]) // per_pool + 1,
                     "memory": f"{int(capacity['memory'].removesuffix('Gi')) // per_pool + 1}Gi",
                     "storage": f"{int(capacity['storage'].removesuffix('Gi')) // per_pool + 1}Gi"}
            clusters.append({"name": name, "pool": pool["name"], "site": f"dc{i}",
                             "capacity": share})
    data["spec"]["clusters"] = clusters
    platform_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                             encoding="utf-8")
    turn = dict.fromkeys(names, 0)
    for path in sorted((registry / "tenants").glob("*/*.yaml")):
        tenant = yaml.safe_load(path.read_text(encoding="utf-8"))
        pool = tenant["spec"]["pool"]
        if len(names[pool]) > 1:
            tenant["spec"]["clusters"] = [names[pool][turn[pool] % len(names[pool])]]
            turn[pool] += 1
            path.write_text(yaml.safe_dump(tenant, sort_keys=False, allow_unicode=True),
                            encoding="utf-8")
    return [c["name"] for c in clusters]


def run(work: pathlib.Path, *, tenants: int, count: int,
        bin_dir: pathlib.Path) -> tuple[float, float, float, float]:
    """Seconds of the registry on `count` clusters: apply, one scrape (every cluster read
    at once), the slowest cluster read alone, and all of them read one after the other."""
    registry = _generate().generate(work / "registry", tenants=tenants)
    names = place(registry, count)
    for name in names:
        (work / name).mkdir()
    planes = {name: controlplane.ControlPlane(bin_dir, work / name) for name in names}
    with controlplane.running(planes):
        config = controlplane.kubeconfig_of(planes, work / "kubeconfig", current=names[0])
        env = {**os.environ, "KUBECONFIG": str(config), "PULUMI_HOME": str(work / "home"),
               "CITYCLOUD_PULUMI_BIN_DIR": str(bin_dir)}
        started = time.monotonic()
        done = subprocess.run([str(CLI), "-r", str(registry), "--state-dir", str(work / "state"),
                               "apply", "--yes", "--parallel", "4"], env=env,
                              capture_output=True, text=True, check=False)
        applied = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"apply on {count} cluster(s) failed:\n{done.stdout}\n{done.stderr}")
        connect = cluster.connector(kubeconfig=config, context=None, timeout=30)
        assert connect is not None  # a kubeconfig file: never the pod's service account
        built = exporter.build(registry, connect=connect, cluster_interval=0, cluster_timeout=30)
        built.render()  # the first scrape starts every read; time a steady one
        started = time.monotonic()
        text = built.render()
        scraped = time.monotonic() - started
        up = [line for line in text.decode().splitlines()
              if line.startswith("citycloud_cluster_up") and not line.endswith(" 1.0")]
        if up:
            raise SystemExit(f"a cluster was not read: {up}")
        alone = []  # each cluster read by itself, one after the other: the scrape's peers
        for name in names:
            reader = connect(None if count <= 1 else name)
            started = time.monotonic()
            reader()
            alone.append(time.monotonic() - started)
        return applied, scraped, max(alone), sum(alone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=30)
    parser.add_argument("--clusters", default="1,3,6",
                        help="cluster counts: 1, or multiples of the 3 pools")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.clusters.split(",")]
    bin_dir, missing = controlplane.find_bin_dir()
    if missing:
        raise SystemExit(f"missing {', '.join(missing)} in {bin_dir}: run `make controlplane`")
    figures = {}
    for count in counts:
        with tempfile.TemporaryDirectory(prefix=f"citycloud-clusters-{count}-") as tmp:
            figures[count] = run(pathlib.Path(tmp), tenants=args.tenants, count=count,
                                 bin_dir=bin_dir)
        print(f"{count} cluster(s): apply {figures[count][0]:.1f} s, "
              f"scrape {figures[count][1] * 1000:.0f} ms", flush=True)
    base = figures[counts[0]]
    print(f"\n{args.tenants} tenants\n| clusters | apply | ratio | scrape | ratio | slowest "
          "read alone | reads one after the other |\n|---|---|---|---|---|---|---|")
    for count, (applied, scraped, slowest, serial) in figures.items():
        print(f"| {count} | {applied:.1f} s | {applied / base[0]:.2f}x | "
              f"{scraped * 1000:.0f} ms | {scraped / base[1]:.2f}x | {slowest * 1000:.0f} ms | "
              f"{serial * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
