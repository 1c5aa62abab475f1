"""Capacity commands: the pools and how much of each (and of each cluster) is handed out."""

from __future__ import annotations

import pathlib
from typing import Annotated

import typer

from citycloud import tenants
from citycloud.cli import options, output, state
from citycloud.tenants import allocation, files, quantities


def register(app: typer.Typer) -> None:
    app.command()(pools)
    app.command()(capacity)


def pools(ctx: typer.Context, fmt: options.Output = output.Format.TABLE) -> None:
    """List the resource pools: kind, CPU architectures, physical capacity, overcommit."""
    platform = state.get(ctx, fmt).platform
    if fmt is output.Format.JSON:  # field names a script can use, values as in platform.yaml
        output.print_json([{
            "pool": p.name, "kind": p.kind.value, "name": p.display_name,
            "architectures": [a.value for a in p.placement.architectures],
            "capacity": {r: str(getattr(platform.pool_capacity(p.name), r))
                         for r in allocation.RESOURCES},
            "overcommit": {r: getattr(p.overcommit, r) for r in allocation.RESOURCES},
            "maxClassification": p.max_classification, "dedicated": p.dedicated,
            "tenants": len(platform.tenants_in(p.name)),
        } for p in platform.pools.values()])
        return
    rows = [(
        p.name, p.kind.value, p.display_name, ",".join(a.value for a in p.placement.architectures),
        *(str(getattr(platform.pool_capacity(p.name), r)) for r in allocation.RESOURCES),
        f"{p.overcommit.cpu}/{p.overcommit.memory}/{p.overcommit.storage}",
        p.max_classification, len(platform.tenants_in(p.name)),
    ) for p in platform.pools.values()]
    output.table("Pools", ["pool", "kind", "name", "architectures", "cpu", "memory", "storage",
                           "overcommit cpu/mem/sto", "max MLPS", "tenants"], rows, fmt)


def capacity(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    html: Annotated[pathlib.Path | None, typer.Option(
        "--html", dir_okay=False, help="Also write a static HTML report with charts (inline "
        "SVG, nothing to download), for people without Grafana.")] = None,
) -> None:
    """Quota allocated to tenants vs. physical and allocatable capacity, per pool (and per
    cluster, where platform.yaml declares clusters)."""
    platform = state.get(ctx, fmt).platform
    if html is not None:
        try:
            # Imported here: the report pulls in prometheus_client, which no other
            # registry command needs at start-up (tests/cli/test_cli_startup.py).
            from citycloud.monitoring import report as html_report

            with files.writing(html):
                size = html_report.write(platform, html)
        except OSError as err:
            raise typer.BadParameter(f"cannot write {html}: {err.strerror or err}",
                                     param_hint="--html") from None
        output.stderr.print(f"wrote {html} ({size:,} bytes)", highlight=False)
    report = allocation.report(platform)
    clusters = allocation.cluster_report(platform)
    if fmt is output.Format.JSON:
        output.print_json([_pool_json(p, [c for c in clusters if c.cluster.pool == p.pool.name])
                           for p in report])
        return
    rows = [(pool.pool.name, *_figures(resource, usage), pool.tenants)
            for pool in report for resource, usage in pool.usage.items()]
    output.table("Capacity: quota allocated vs. capacity (allocatable = physical x overcommit)",
                 ["pool", *_COLUMNS, "tenants"], rows, fmt)
    if clusters:  # a disaster-recovery tenant counts on each of its clusters
        rows = [(c.cluster.name, c.cluster.site, c.cluster.pool, *_figures(resource, usage),
                 len(c.tenants)) for c in clusters for resource, usage in c.usage.items()]
        output.table("Capacity by cluster", ["cluster", "site", "pool", *_COLUMNS, "tenants"],
                     rows, fmt)


_COLUMNS = ["resource", "physical", "allocatable", "allocated", "headroom", "allocated %"]


def _figures(resource: str, usage: allocation.Usage) -> list[str]:
    figures = [quantities.format_rounded(amount, resource=resource, unit=False)
               for amount in (usage.physical, usage.allocatable, usage.allocated,
                              usage.headroom)]
    return [f"{resource} ({quantities.reading_unit(resource)})", *figures, f"{usage.ratio:.1%}"]


def _resources(usage: dict[str, allocation.Usage]) -> dict[str, object]:
    """Cores for cpu, bytes for memory and storage (Prometheus base units)."""
    exact = quantities.json_number
    return {r: {"physical": exact(u.physical), "allocatable": exact(u.allocatable),
                "allocated": exact(u.allocated), "headroom": exact(u.headroom),
                "ratio": u.ratio} for r, u in usage.items()}


def _pool_json(pool: tenants.allocation.PoolCapacity,
               clusters: list[allocation.ClusterCapacity]) -> dict[str, object]:
    found: dict[str, object] = {
        "pool": pool.pool.name, "kind": pool.pool.kind.value, "tenants": pool.tenants,
        "departments": pool.departments, "resources": _resources(pool.usage)}
    if clusters:  # where platform.yaml declares them
        found["clusters"] = [{"cluster": c.cluster.name, "site": c.cluster.site,
                              "tenants": len(c.tenants), "resources": _resources(c.usage)}
                             for c in clusters]
    return found
