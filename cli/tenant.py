"""Tenant commands: scaffold a department's request."""

from __future__ import annotations

import datetime
from typing import Annotated

import pydantic
import typer
from rich.markup import escape

from citycloud import policies, tenants
from citycloud.cli import audit, output, state
from citycloud.tenants import files

app = typer.Typer(no_args_is_help=True)


@app.command("new")
def new(
    ctx: typer.Context,
    department: Annotated[str, typer.Argument(help="Department code, e.g. wh-gongan.")],
    name: Annotated[str, typer.Argument(
        help="Tenant name; must start with the department code, e.g. wh-gongan-video.")],
    pool: Annotated[str, typer.Option(help="Resource pool from platform.yaml.")] = "gov",
    classification: Annotated[int, typer.Option(
        min=1, max=4, help="MLPS (等保) level 1..4; drives the security baseline.")] = 2,
    cpu: Annotated[str, typer.Option(help="CPU quota in cores, e.g. 16 or 500m.")] = "8",
    memory: Annotated[str, typer.Option(help="Memory quota, e.g. 32Gi.")] = "32Gi",
    storage: Annotated[str, typer.Option(help="Storage quota, e.g. 1Ti.")] = "1Ti",
    namespace: Annotated[list[str] | None, typer.Option(
        "--namespace", "-n", help="Namespace short name (repeatable).", show_default="app")] = None,
    owner: Annotated[list[str] | None, typer.Option(
        help="Owner group (repeatable).", show_default="the department's owners")] = None,
    description: Annotated[str, typer.Option(
        help="The business system it runs, e.g. 不动产登记 (policies want one).")] = "",
    cluster: Annotated[list[str] | None, typer.Option(
        "--cluster", help="Cluster of the pool to run on; twice, at two sites, for disaster "
        "recovery.", show_default="where the pool has several: the one with the most "
        "CPU headroom")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Write the request even when it fails the shared policies.")] = False,
) -> None:
    """Write tenants/<department>/<name>.yaml, a request ready for a pull request."""
    platform = state.get(ctx).platform
    known = platform.departments.get(department)
    if known is None:
        raise typer.BadParameter(f"{department!r} is not in departments.yaml",
                                 param_hint="DEPARTMENT")
    if pool not in platform.pools:
        raise typer.BadParameter(f"choose one of {', '.join(platform.pools)}", param_hint="--pool")
    if cluster and len(cluster) > 2:
        raise typer.BadParameter("give one cluster, or two at two sites for disaster recovery",
                                 param_hint="--cluster")
    try:
        tenant = tenants.models.Tenant.model_validate({
            "apiVersion": tenants.models.API_VERSION, "kind": "Tenant",
            "metadata": {"name": name, "department": department, "description": description},
            "spec": {"pool": pool, "classification": classification,
                     "owners": list(owner or known.owners),
                     "quota": {"cpu": cpu, "memory": memory, "storage": storage},
                     "namespaces": list(namespace or ["app"]),
                     **_placement(platform, pool, cluster or [])},
        })
    except pydantic.ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in err.errors(include_input=False))
        raise typer.BadParameter(problems) from None
    if not name.startswith(f"{department}-"):
        raise typer.BadParameter(f"must start with '{department}-'", param_hint="NAME")
    with audit.recorded(ctx, action="tenant new", target=name) as outcome:
        with files.writing(platform.root / tenants.platform.TENANTS_DIR):
            path = tenants.scaffold.write_tenant(
                platform, tenant,
                check=lambda with_it: _check_policies(with_it, name, force=force))
        outcome.summary = {"file": path.relative_to(platform.root).as_posix()}
    output.stdout.print(f"wrote {path.relative_to(platform.root)}; commit it and open a pull "
                        "request", highlight=False)


def _placement(platform: tenants.Platform, pool: str, asked: list[str]) -> dict[str, list[str]]:
    """spec.clusters where there is one to write: a pool with one cluster (or none) leaves
    the file as it was before clusters existed."""
    chosen = tenants.scaffold.clusters_for(platform, pool=pool, asked=asked)
    return {"clusters": chosen} if chosen else {}


def _check_policies(with_it: tenants.Platform, name: str, *, force: bool) -> None:
    """The shared policies over the registry with the request in it: a request CI would
    reject is refused here (exit 1) unless --force; its warnings are printed."""
    report = policies.evaluate(with_it, today=datetime.date.today())
    found = tuple(policies.evaluation.findings_of(report, name))
    mine = policies.Report(found, (), report.policies)
    if not mine.ok and not force:
        raise policies.PolicyViolations(mine)
    for finding in found:
        output.stderr.print(f"{finding.severity} {escape(str(finding))}", highlight=False)
    if not mine.ok:
        output.stderr.print(f"warning: writing despite {mine.errors} policy violation(s) "
                            "(--force); CI's 'citycloud validate' will fail", highlight=False)
