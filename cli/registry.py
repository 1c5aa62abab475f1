"""Registry commands: init, validate, plan, render, schema."""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import shutil
from typing import Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax

from citycloud import policies, tenants
from citycloud.cli import audit, gitops, options, output, state
from citycloud.cli import policies as cli_policies
from citycloud.tenants import diagnostics, files, loader
from citycloud.tenants import plan as plan_


def register(app: typer.Typer) -> None:
    for command in (init, validate, plan, render, schema):
        app.command()(command)


def init(
    ctx: typer.Context,
    path: Annotated[pathlib.Path, typer.Argument(
        help="Directory for the new registry (must be empty or missing).")],
    name: Annotated[str, typer.Option(help="The platform's name (DNS label).")] = "city-cloud",
    department: Annotated[str, typer.Option(
        help="Code of a first department, e.g. wh-zwfw.")] = "city-platform",
) -> None:
    """Scaffold a new registry repo: platform.yaml, departments.yaml, tenants/, JSON schemas."""
    with files.writing(path):
        written = tenants.scaffold.init_registry(path, name=name, department=department)
    audit.record(ctx, action="init", target=str(path), summary={"files": len(written)},
                 state_dir=state.get(ctx).state_dir or path / ".citycloud", registry=path)
    output.stdout.print(f"created registry {path} ({len(written)} files)")
    output.stdout.print("next: edit platform.yaml and departments.yaml, then "
                        f"'citycloud --registry {path} tenant new ...'", highlight=False)


def validate(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    today: Annotated[datetime.datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Judge waiver expiry as of this day (default: today).")
    ] = None,
    changed_since: Annotated[str | None, typer.Option(
        metavar="REF", help="Review only what changed since REF (a pull request's base, e.g. "
        "origin/main): changed tenants, pool effects, and the findings the change introduces."
    )] = None,
    author_department: Annotated[str | None, typer.Option(
        metavar="DEPT", help="With --changed-since: the author's department; a change outside "
        "tenants/DEPT/ is refused.")] = None,
) -> None:
    """Check the whole registry, then run the shared policies over it.

    Exit 2 on invalid input (schema, references, names); exit 1 when a policy
    finds an error that no active waiver in waivers.yaml excuses. Findings are
    grouped by tenant; 'citycloud policies explain ID' says why a rule exists.
    """
    platform = state.get(ctx, fmt).platform
    if changed_since is not None or author_department is not None:
        if changed_since is None:
            raise typer.BadParameter("needs --changed-since REF", param_hint="--author-department")
        gitops.print_review(gitops.review(
            platform, since=changed_since, author_department=author_department,
            today=(today or datetime.datetime.now()).date()), fmt)
        return
    report = policies.evaluate(platform, today=(today or datetime.datetime.now()).date())
    report = dataclasses.replace(  # what loads but looks wrong, e.g. no tenants/ folder
        report, findings=(*loader.warnings(platform), *report.findings))
    if not report.ok:
        raise policies.PolicyViolations(report)
    summary = {"departments": len(platform.departments), "tenants": len(platform.tenants)}
    cli_policies.print_report(report, fmt, title=f"registry {platform.name} is valid "
                              f"({summary['departments']} departments, "
                              f"{summary['tenants']} tenants)", summary=summary)


def _deployed_dir(current: state.State, deployed: pathlib.Path | None) -> pathlib.Path:
    return deployed or current.state_path / "deployed"


def plan(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    deployed: Annotated[pathlib.Path | None, typer.Option(
        exists=True, file_okay=False, help="Manifests of what is deployed now.",
        show_default="STATE_DIR/deployed, which apply keeps")] = None,
    tenant: Annotated[list[str] | None, typer.Option(
        "--tenant", "-t", help="Only these tenants, or pool.<name> for a pool's own objects, "
        "on each of their clusters; NAME.CLUSTER for one cluster (repeatable).")] = None,
    show_diff: Annotated[bool, typer.Option(
        "--diff/--no-diff", help="Show the YAML diff of every change, creations too.")] = False,
) -> None:
    """Show what applying the registry would create, change and delete, as a diff."""
    current = state.get(ctx, fmt)
    with output.working("loading the registry"):
        platform = current.platform
    with output.working(f"rendering {len(platform.pools)} pools and "
                        f"{len(platform.tenants):,} tenants"):
        desired = tenants.units.render_all(platform)
    with output.working("reading what is deployed"):
        have = tenants.manifests.read(_deployed_dir(current, deployed))
    with output.working(f"comparing {len(desired):,} objects with {len(have):,} deployed"):
        changes = plan_.diff(desired, have)
    if tenant:
        pool_folders = {tenants.units.folder(tenants.units.Kind.POOL, p) for p in platform.pools}
        _check_tenants(tenant, known={*platform.tenants, *pool_folders, *(c.unit for c in changes)})
        changes = [c for c in changes if c.unit in tenant or _unplaced(c.unit) in tenant]
    _print_plan(changes, fmt, show_diff=show_diff)


def _unplaced(folder: str) -> str:
    """A unit's folder without its cluster: `-t wh-x` selects wh-x on each of its clusters,
    `-t pool.gov` the pool on each of its clusters (tenants.units names them)."""
    prefix = tenants.units.POOL_FOLDER_PREFIX
    pool = folder.startswith(prefix)
    name, _ = tenants.units.split(folder.removeprefix(prefix) if pool else folder)
    return f"{prefix}{name}" if pool else name


def _check_tenants(names: list[str], *, known: set[str]) -> None:
    """A misspelt --tenant would otherwise plan nothing and look like "no changes"."""
    for name in names:
        if name not in known:
            hint = diagnostics.did_you_mean(name, known)
            raise typer.BadParameter(f"{name!r} is neither in the registry nor deployed"
                                     + (f"; {hint}" if hint else ""), param_hint="--tenant")


def _print_plan(changes: list[plan_.Change], fmt: output.Format, *, show_diff: bool) -> None:
    counts = plan_.summary(changes)
    if fmt is output.Format.JSON:
        output.print_json({"summary": counts, "changes": [
            {"action": c.action.value, "apiVersion": c.api_version, "kind": c.kind,
             "namespace": c.namespace, "name": c.name, "unit": c.unit,
             "destructive": c.destructive, "diff": c.diff} for c in changes]})
        return
    per_unit: dict[str, dict[str, int]] = {}  # in the plan's order: pools first
    for change in sorted(changes, key=lambda c: tenants.units.apply_order(c.unit)):
        row = per_unit.setdefault(change.unit, {a.value: 0 for a in plan_.Action})
        row[change.action.value] += 1
    rows = [(u, r["create"], r["update"], r["delete"]) for u, r in per_unit.items()]
    output.table("Plan by pool and tenant", ["unit", "create", "update", "delete"], rows, fmt)
    for change in changes:
        if change.destructive:
            output.stderr.print(
                f"[bold red]DANGER[/bold red] deletes {escape(change.title)} of "
                f"{escape(change.unit)} and every workload and volume in it; offboard the "
                "tenant instead ('citycloud offboard')")
        if show_diff or change.action is not plan_.Action.CREATE:
            if fmt is output.Format.TABLE:
                output.stdout.print(Syntax(change.diff, "diff", background_color="default"))
            else:
                print(f"```diff\n{change.diff}```\n")
    output.stdout.print(f"Plan: {counts['create']} to create, {counts['update']} to update, "
                        f"{counts['delete']} to delete.", highlight=False)


def render(
    ctx: typer.Context,
    out: Annotated[pathlib.Path, typer.Argument(
        file_okay=False, help="Directory to write (replaced whole): one folder per pool and "
        "per tenant (and cluster), each with a kustomization.yaml, one at the top, and one "
        "per declared cluster under clusters/.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Render even when the registry fails the shared policies.")] = False,
) -> None:
    """Write every Kubernetes object of the platform to a directory (for Argo CD or Flux).

    Pools (platform namespace, RBAC, PriorityClasses, contract, admission guardrails) and
    tenants, in folders a kustomization.yaml at the top lists, pools first: applied with
    server-side apply it makes the same cluster as 'citycloud apply'. Where platform.yaml
    declares clusters, point each cluster's Flux Kustomization or Argo CD Application at
    clusters/<cluster>: it lists that cluster's folders alone.

    The registry must pass the shared policies first (as 'citycloud validate'; exit 1):
    Argo CD or Flux would deploy whatever is rendered.
    """
    with output.working("loading the registry and checking the shared policies"):
        platform = state.get(ctx).platform
        cli_policies.hold_to_policies(platform, force=force, doing="rendering")
    with output.working(f"rendering {len(platform.pools)} pools and "
                        f"{len(platform.tenants):,} tenants"):
        manifests = tenants.units.render_all(platform)
    with output.working(f"writing {len(manifests):,} manifests to {out}"), files.writing(out):
        count = tenants.manifests.write(out, manifests)
    clusters = sorted(platform.clusters)
    output.stdout.print(f"wrote {count} manifests to {out}" + (
        f"; a kustomization per cluster in {out / tenants.manifests.CLUSTERS_DIR}: "
        f"{', '.join(clusters)}" if clusters else ""), highlight=False)


def schema(
    out: Annotated[pathlib.Path | None, typer.Option(
        file_okay=False, help="Write <kind>.schema.json files here instead of printing.")] = None,
    kind: Annotated[str | None, typer.Option(
        help="tenant, platform, departments, waivers (waivers.yaml) or nodes (a node "
        "inventory).", show_default="tenant; with --out, every kind")] = None,
) -> None:
    """Print the JSON Schema of registry files, for editors and CI."""
    documents = tenants.schema.documents()
    if kind is not None and kind not in documents:
        raise typer.BadParameter(f"choose one of {', '.join(documents)}", param_hint="--kind")
    if out is None:
        output.print_document(documents[kind or "tenant"])
        return
    if kind is not None:
        documents = {kind: documents[kind]}
    created = not out.exists()
    with files.writing(out):
        try:
            out.mkdir(parents=True, exist_ok=True)
            for name, document in documents.items():
                files.write_atomic(out / f"{name}.schema.json",
                                   json.dumps(document, indent=2) + "\n")
        except BaseException:
            if created:  # nothing half-written: a folder we made goes again
                shutil.rmtree(out, ignore_errors=True)
            raise
    output.stdout.print(f"wrote {len(documents)} schemas to {out}", highlight=False)
