"""Capacity commands: the pools and how much of each is handed out."""

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
            "capacity": {r: str(getattr(p.capacity, r)) for r in allocation.RESOURCES},
            "overcommit": {r: getattr(p.overcommit, r) for r in allocation.RESOURCES},
            "maxClassification": p.max_classification, "dedicated": p.dedicated,
            "tenants": len(platform.tenants_in(p.name)),
        } for p in platform.pools.values()])
        return
    rows = [(
        p.name, p.kind.value, p.display_name, ",".join(a.value for a in p.placement.architectures),
        str(p.capacity.cpu), str(p.capacity.memory), str(p.capacity.storage),
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
    """Quota allocated to tenants vs. physical and allocatable capacity, per pool."""
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
    if fmt is output.Format.JSON:
        output.print_json([_pool_json(p) for p in report])
        return
    rows = []
    for pool in report:
        for resource, usage in pool.usage.items():
            figures = [quantities.format_rounded(amount, resource=resource, unit=False)
                       for amount in (usage.physical, usage.allocatable, usage.allocated,
                                      usage.headroom)]
            rows.append((pool.pool.name, f"{resource} ({quantities.reading_unit(resource)})",
                         *figures, f"{usage.ratio:.1%}", pool.tenants))
    output.table("Capacity: quota allocated vs. capacity (allocatable = physical x overcommit)",
                 ["pool", "resource", "physical", "allocatable", "allocated", "headroom",
                  "allocated %", "tenants"], rows, fmt)


def _pool_json(pool: tenants.allocation.PoolCapacity) -> dict[str, object]:
    exact = quantities.json_number
    return {
        "pool": pool.pool.name, "kind": pool.pool.kind.value, "tenants": pool.tenants,
        "departments": pool.departments,
        # cores for cpu, bytes for memory and storage (Prometheus base units)
        "resources": {r: {"physical": exact(u.physical), "allocatable": exact(u.allocatable),
                          "allocated": exact(u.allocated), "headroom": exact(u.headroom),
                          "ratio": u.ratio} for r, u in pool.usage.items()},
    }
