"""Benchmark: one scrape of the exporter over 2,000 tenants, against prometheus_client.

    python bench/exporter.py [--tenants 2000] [--repeat 15]

The registry comes from bench/generate.py; the cluster is a synthetic one with a
ResourceQuota (status.hard and status.used) in every tenant namespace and a little
unregistered plumbing, given to the exporter as the JSON list bodies an API server
sends, so every scrape parses them (`cluster.parse`) — only the network is left out.

Scenarios, timed in this process:

- cold:   the first scrape after the registry loads (policies, capacity sums and
          all text rendered once for this registry version);
- steady: what Prometheus gets every scrape interval: the registry's files are
          checked for changes (a walk of 2,000 files), the cluster snapshot is new
          (parsed, usage summed, its text rendered), registry families are reused;
- peer:   prometheus_client's generate_latest over a CollectorRegistry of plain
          labelled Gauges holding the same number of samples — the cost of
          exposing these series with the client library's own encoder;
- own collectors through generate_latest: the same scrape, rendered by
          prometheus_client instead of the exporter's text cache.

Prints medians (wall and CPU), series and bytes per scrape (plain and gzip level 1,
as served to Prometheus), µs per series, and the ratios against the peers.
Target: steady scrape under 10 µs per series.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import importlib.util
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

# bench/ holds policies.py: with bench/ first on sys.path (as for any script) `import
# policies` inside the exporter would import that file. Drop bench/; load generate.py by path.
_HERE = pathlib.Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != _HERE]

from prometheus_client import exposition, registry  # noqa: E402
from prometheus_client import metrics as client_metrics  # noqa: E402

from citycloud import tenants  # noqa: E402
from citycloud.monitoring import cluster, exporter, live, sources  # noqa: E402
from citycloud.tenants import render  # noqa: E402

_spec = importlib.util.spec_from_file_location("generate", _HERE / "generate.py")
assert _spec is not None and _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

TODAY = datetime.date(2026, 1, 1)


def cluster_bodies(platform: tenants.Platform) -> dict[str, Any]:
    """The list responses of a cluster where every tenant is onboarded and busy."""
    quotas, services, pods = [], [], []
    for index, tenant in enumerate(platform.tenants.values()):
        for namespace in tenant.namespace_names():
            quota = render.resource_quota(tenant, namespace=namespace)
            hard = quota["spec"]["hard"]
            used = {"requests.cpu": f"{index % 7 + 1}", "requests.memory": f"{index % 5 + 1}Gi",
                    "requests.storage": f"{index % 3 + 1}Gi"}
            quota["status"] = {"hard": hard, "used": used}
            quotas.append(quota)
            pods.append({"metadata": {"namespace": namespace, "name": "app-0"},
                         "spec": {"hostNetwork": index % 97 == 0}})
            if index % 50 == 0:
                services.append({"metadata": {"namespace": namespace, "name": "edge"},
                                 "spec": {"type": "NodePort"}})
    return {"quotas": {"items": quotas}, "services": {"items": services},
            "pods": {"items": pods}, "attachments": None}


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def median_of(work: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    runs = [timed(work) for _ in range(repeat)]
    return (runs[-1][0], statistics.median(r[1] for r in runs),
            statistics.median(r[2] for r in runs))


def series_in(text: bytes) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))


def peer_registry(series: int) -> registry.CollectorRegistry:
    """Plain labelled Gauges with `series` samples, shaped like the tenant metrics."""
    peer = registry.CollectorRegistry()
    gauges = [client_metrics.Gauge(f"peer_tenant_quota_{unit}", "A tenant's quota",
                                   ["tenant", "department", "pool"], registry=peer)
              for unit in ("cpu_cores", "memory_bytes", "storage_bytes")]
    for index in range(series):
        gauge = gauges[index % len(gauges)]
        gauge.labels(f"gen-d{index // 15:04d}-t{index // 3}", f"gen-d{index // 15:04d}",
                     ("gov", "industry", "xinchuang")[index % 3]).set(index * 1.5)
    return peer


def breakdown(root: pathlib.Path, read: Callable[[], cluster.Snapshot], repeat: int) -> None:
    """CPU time of the parts of a steady scrape, each measured alone."""
    platform = tenants.load(root)
    owners = live.namespace_owners(platform)
    snapshot = read()
    usage = live.usage_families(snapshot, owners=owners)

    def text() -> None:
        for family in usage:
            family.__dict__.pop("text", None)  # drop the cached text: render it again
            _ = family.text

    parts = {
        "registry files check (signature)": lambda: sources.signature(root),
        "cluster.parse of the list bodies": read,
        "usage sums per tenant": lambda: live.usage_families(snapshot, owners=owners),
        "text of the usage families": text,
    }
    print("steady scrape, parts measured alone (median CPU):")
    for name, work in parts.items():
        _, _, cpu = median_of(work, repeat)
        print(f"  {name:34s} {cpu * 1e3:7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    root = pathlib.Path(tempfile.mkdtemp(prefix="citycloud-bench-")) / "registry"
    try:
        generate.generate(root, tenants=args.tenants)
        bodies = cluster_bodies(tenants.load(root))
        print(f"{args.tenants} tenants, {len(bodies['quotas']['items'])} namespaces with a quota")

        def read() -> cluster.Snapshot:  # what cluster.read does after the HTTP calls
            return cluster.parse(quotas=bodies["quotas"], services=bodies["services"],
                                 pods=bodies["pods"], attachments=None, read_at=time.time())

        # Every scrape checks the files once and reads the cluster, as when Prometheus
        # scrapes every 15-30 s (the exporter's own intervals, 1 s and 5 s, are shorter).
        built = exporter.build(root, connect=lambda _context: read, today=lambda: TODAY,
                               recheck=0, cluster_interval=0)
        cold_text, cold, cold_cpu = timed(built.render)
        text, steady, steady_cpu = median_of(built.render, args.repeat)
        series = series_in(text)
        assert series == series_in(cold_text)
        zipped, gzip_time, _ = median_of(lambda: gzip.compress(text, compresslevel=1),
                                         args.repeat)
        _, own_latest, own_latest_cpu = median_of(
            lambda: exposition.generate_latest(built.registry), max(3, args.repeat // 3))
        peer = peer_registry(series)
        peer_text, peer_time, peer_cpu = median_of(lambda: exposition.generate_latest(peer),
                                                   max(3, args.repeat // 3))
        assert series_in(peer_text) == series

        per_series = steady / series * 1e6
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (wall times include "
              "waiting for a CPU; CPU times do not)")
        print(f"series per scrape:        {series:,}")
        print(f"response size:            {len(text):,} bytes; gzip (level 1, as served) "
              f"{len(zipped):,} bytes in {gzip_time * 1e3:.1f} ms")
        print(f"cold scrape (after load): {cold * 1e3:8.1f} ms wall {cold_cpu * 1e3:8.1f} ms CPU")
        print(f"steady scrape:            {steady * 1e3:8.1f} ms wall "
              f"{steady_cpu * 1e3:8.1f} ms CPU   {per_series:.2f} µs/series wall, "
              f"{steady_cpu / series * 1e6:.2f} µs/series CPU (target < 10)")
        print(f"peer generate_latest, {series:,} plain Gauge samples: "
              f"{peer_time * 1e3:8.1f} ms wall {peer_cpu * 1e3:8.1f} ms CPU   "
              f"{peer_time / series * 1e6:.2f} µs/series wall, "
              f"{peer_cpu / series * 1e6:.2f} CPU")
        print(f"own collectors through generate_latest: {own_latest * 1e3:8.1f} ms wall "
              f"{own_latest_cpu * 1e3:8.1f} ms CPU")
        print(f"ratio steady / peer:      {steady / peer_time:.2f} (wall), "
              f"{steady_cpu / peer_cpu:.2f} (CPU)")
        print(f"ratio steady / own collectors through generate_latest: "
              f"{steady / own_latest:.2f} (wall)")
        breakdown(root, read, args.repeat)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
