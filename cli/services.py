"""Shared-service commands: the sharing map for people (list, graph) and the consolidation
report (report): which departments still run their own system of a kind the city provides."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable
from typing import Annotated

import typer

from citycloud.cli import options, output, state
from citycloud.tenants import allocation, diagnostics, quantities, sharing, sharing_map
from citycloud.tenants.platform import Platform

app = typer.Typer(
    no_args_is_help=True,
    help="The services departments publish to each other, who calls whom, and which "
    "departments still run their own system of a kind the city provides for everyone. A flow "
    "exists only when both tenant files agree: the provider's audience admits the consumer "
    "and the consumer asks for it.")

TenantOption = Annotated[str | None, typer.Option(
    "--tenant", "-t", help="Only what this tenant publishes or asks for, e.g. wh-gongan-video.")]
DepartmentOption = Annotated[str | None, typer.Option(
    "--department", "-d", help="Only what this department's tenants publish or ask for, "
    "e.g. wh-gongan.")]
KindOption = Annotated[str | None, typer.Option(
    "--kind", "-k", help="Only services of this kind of system, e.g. identity.")]


def _filter(platform: Platform, *, tenant: str | None, department: str | None,
            kind: str | None) -> sharing_map.Filter:
    """The filter the options ask for; a name nothing in the registry has is exit 2."""
    named = {flow.request.tenant for flow in sharing.resolve(platform)}
    kinds = ({service.kind for _, _, service in sharing.published(platform)}
             | {entry.kind for entry in platform.spec.spec.shared_services})
    _known(tenant, [*platform.tenants, *named], what="tenant", hint="--tenant")
    _known(department, platform.departments, what="department", hint="--department")
    _known(kind, kinds, what="kind of published service", hint="--kind")
    return sharing_map.Filter(tenant=tenant, department=department, kind=kind)


def _known(name: str | None, known: Iterable[str], *, what: str, hint: str) -> None:
    names = sorted(set(known))
    if name is None or name in names:
        return
    otherwise = f"there are: {', '.join(names)}" if 0 < len(names) <= 12 else (
        "" if names else "there are none")
    suggestion = diagnostics.did_you_mean(name, names, otherwise=otherwise)
    raise typer.BadParameter(f"no {what} is called {name!r}"
                             + (f"; {suggestion}" if suggestion else ""), param_hint=hint)


@app.command("list")
def list_(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    tenant: TenantOption = None,
    department: DepartmentOption = None,
    kind: KindOption = None,
) -> None:
    """Every published service (who publishes it, its kind, namespace, ports, audience, how
    many tenants it is granted to) and every request for one, with its standing.

    A request is granted when the provider's audience admits the consumer; otherwise it is
    not-in-audience, unknown-tenant or unknown-service, and no traffic is opened for it.

    Examples:

      citycloud services list

      citycloud services list --department wh-gongan -o markdown

      citycloud services list --kind identity -o json
    """
    platform = state.get(ctx, fmt).platform
    only = _filter(platform, tenant=tenant, department=department, kind=kind)
    published = sharing_map.services(platform, only=only)
    flows = sharing_map.flows(platform, only=only)
    if fmt is output.Format.JSON:
        output.print_json({"services": [row.as_dict() for row in published],
                           "flows": [sharing_map.flow_dict(flow) for flow in flows]})
        return
    sep = "\n" if fmt is output.Format.TABLE else ", "
    output.table("Published services", [
        "tenant", "department", "service", "kind", "namespace", "ports", "audience",
        "consumers", "city catalogue"], [(
            row.tenant.name, row.tenant.department, row.service.name, row.service.kind,
            row.namespace, sep.join(sharing_map.ports(row.service)),
            sharing_map.audience_text(row.service.audience), len(row.consumers),
            row.catalogue or "-") for row in published], fmt)
    output.table("Requests", ["consumer", "department", "provider", "service", "kind",
                              "status"], [(
        flow.consumer.name, flow.consumer.department, flow.request.tenant,
        flow.request.service, flow.service.kind if flow.service else "-", str(flow.status))
        for flow in flows], fmt)
    if fmt is output.Format.TABLE:
        granted = sum(flow.granted for flow in flows)
        output.stdout.print(
            f"{len(published)} service(s) published, {len(flows)} request(s): {granted} "
            f"granted, {len(flows) - granted} refused ('citycloud services graph' draws them)",
            highlight=False)


class GraphFormat(enum.StrEnum):
    MERMAID = "mermaid"
    DOT = "dot"


@app.command()
def graph(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    graph_format: Annotated[GraphFormat, typer.Option(
        "--format", "-f", help="mermaid (renders in GitHub and GitLab comments) or dot "
        "(Graphviz: pipe into 'dot -Tsvg').")] = GraphFormat.MERMAID,
    by: Annotated[sharing_map.By, typer.Option(
        help="tenant: tenants as nodes, grouped by department; department: one node per "
        "department.")] = sharing_map.By.TENANT,
    tenant: TenantOption = None,
    department: DepartmentOption = None,
    kind: KindOption = None,
) -> None:
    """Draw the sharing map: an arrow from each consumer to the provider it calls, labelled
    with the service; refused requests dashed, the providers of the city's catalogue
    marked (double border), tenants running their own system of a catalogue kind in orange.

    -o table (the default) prints the graph text, -o markdown wraps it in a fenced block
    for a pull-request comment, -o json gives the nodes and edges.

    Examples:

      citycloud services graph > sharing.mmd

      citycloud services graph --format dot | dot -Tsvg > sharing.svg

      citycloud services graph --by department --kind identity -o markdown
    """
    platform = state.get(ctx, fmt).platform
    only = _filter(platform, tenant=tenant, department=department, kind=kind)
    drawn = sharing_map.graph(platform, by=by, only=only)
    if fmt is output.Format.JSON:
        output.print_json(drawn.as_dict())
        return
    text = (sharing_map.mermaid(drawn) if graph_format is GraphFormat.MERMAID
            else sharing_map.dot(drawn))
    if fmt is output.Format.TABLE:
        sys.stdout.write(text)
        return
    sys.stdout.write(f"### Sharing map of {platform.name}\n\n```{graph_format}\n{text}```\n\n")


@app.command()
def report(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    kind: KindOption = None,
) -> None:
    """Consolidation report: per kind of system the city provides (platform.yaml
    sharedServices), its provider, how many tenants use it, and the departments that run
    a system of that kind of their own, with the quota those systems hold.

    Each such system is the application-level twin of a duplicate private network: the
    department could call the city's service instead ('citycloud services list --kind
    KIND' shows who already does).

    Examples:

      citycloud services report

      citycloud services report -o markdown >> pr-comment.md
    """
    platform = state.get(ctx, fmt).platform
    only = _filter(platform, tenant=None, department=None, kind=kind)
    rows = [row for row in sharing.consolidation(platform)
            if only.kind is None or row.kind == only.kind]
    consumers = {(p.tenant.name, p.service.name): len(p.consumers)
                 for p in sharing_map.services(platform)}
    if fmt is output.Format.JSON:
        output.print_json([_consolidation_dict(row, consumers=consumers.get(
            (row.tenant, row.service), 0)) for row in rows])
        return
    sep = "\n" if fmt is output.Format.TABLE else ", "
    output.table("The city's shared services, and the departments running their own", [
        "kind", "name", "provided by", "consumers", "own systems", "departments", "tenants",
        *allocation.RESOURCES], [(
            row.kind, row.display_name or "-", f"{row.tenant}/{row.service}",
            consumers.get((row.tenant, row.service), 0), len(row.systems),
            sep.join(row.departments) or "-", sep.join(s.tenant for s in row.systems) or "-",
            *(quantities.format_rounded(row.quota[r], resource=r)
              for r in allocation.RESOURCES)) for row in rows], fmt)
    if fmt is output.Format.TABLE and not rows:
        output.stdout.print("no shared services in the catalogue: platform.yaml lists them "
                            "under spec.sharedServices", highlight=False)


def _consolidation_dict(row: sharing.Consolidation, *, consumers: int) -> dict[str, object]:
    exact = quantities.json_number  # cores for cpu, bytes for memory and storage
    return {
        "kind": row.kind, "displayName": row.display_name, "tenant": row.tenant,
        "service": row.service, "consumers": consumers, "departments": list(row.departments),
        "systems": [{"tenant": s.tenant, "department": s.department, "pool": s.pool,
                     "services": list(s.services),
                     "quota": {r: exact(v) for r, v in s.quota.items()}}
                    for s in row.systems],
        "quota": {r: exact(v) for r, v in row.quota.items()},
    }
