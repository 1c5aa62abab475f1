"""The sharing map: who publishes what, who calls whom, drawn for people.

tenants.sharing decides each flow; this module only arranges what it decided for
reading: the published services with their consumer counts, the flows with their
standing, and a graph of both (tenants grouped by department, or departments alone)
as plain nodes and edges, Mermaid or Graphviz DOT. `citycloud services`, the HTML
report and the exporter read these rows, so a service counted in one place is
counted the same way in the others. `deployed_grants` reads the grants back out of
a deployed snapshot, for the audit record of an apply.
"""

from __future__ import annotations

import dataclasses
import enum
import pathlib
from collections.abc import Iterable, Mapping

import yaml

from citycloud.tenants import models, render, sharing
from citycloud.tenants.platform import Platform


@dataclasses.dataclass(frozen=True)
class Filter:
    """Keep only what concerns a tenant, a department and/or a kind of system (all given)."""

    tenant: str | None = None
    department: str | None = None
    kind: str | None = None

    def keeps_service(self, tenant: models.Tenant, service: models.Service) -> bool:
        return ((self.tenant is None or tenant.name == self.tenant)
                and (self.department is None or tenant.department == self.department)
                and (self.kind is None or service.kind == self.kind))

    def keeps_flow(self, flow: sharing.Flow) -> bool:
        provider_department = flow.provider.department if flow.provider else None
        return ((self.tenant is None or self.tenant in (flow.consumer.name, flow.request.tenant))
                and (self.department is None
                     or self.department in (flow.consumer.department, provider_department))
                and (self.kind is None
                     or (flow.service is not None and flow.service.kind == self.kind)))


EVERYTHING = Filter()


@dataclasses.dataclass(frozen=True)
class Published:
    """A published service, whether the city's catalogue names it, and who calls it."""

    tenant: models.Tenant
    service: models.Service
    catalogue: str  # the catalogue kind it provides for the city; "" if none
    consumers: tuple[str, ...]  # granted consumer tenants
    refused: tuple[str, ...]  # tenants that ask for it but are not in its audience

    @property
    def namespace(self) -> str:
        return models.namespace_name(self.tenant.name, self.service.namespace)

    def as_dict(self) -> dict[str, object]:
        audience = self.service.audience
        return {
            "tenant": self.tenant.name, "department": self.tenant.department,
            "service": self.service.name, "kind": self.service.kind,
            "namespace": self.namespace, "ports": ports(self.service),
            "audience": {"departments": list(audience.departments),
                         "pools": list(audience.pools), "city": audience.city},
            "minClassification": self.service.min_classification,
            "catalogue": self.catalogue or None, "consumers": len(self.consumers),
            "consumerTenants": list(self.consumers), "refused": list(self.refused),
        }


def ports(service: models.Service) -> list[str]:
    """443/TCP, 5432/TCP: how ports read in a table or a label."""
    return [f"{p.port}/{p.protocol}" for p in service.ports]


def audience_text(audience: models.Audience) -> str:
    if audience.city:
        return "city"
    parts = [*(f"department {d}" for d in audience.departments),
             *(f"pool {p}" for p in audience.pools)]
    return ", ".join(parts) or "nobody"


def catalogue(platform: Platform) -> dict[tuple[str, str], str]:
    """(tenant, service) -> the catalogue kind it provides for the whole city."""
    return {(entry.tenant, entry.service): kind
            for kind, entry in sharing.catalogue(platform).items()}


def services(platform: Platform, *, only: Filter = EVERYTHING,
             flows: Iterable[sharing.Flow] | None = None) -> list[Published]:
    """Every published service `only` keeps, in tenant order, with its consumers."""
    resolved = list(sharing.resolve(platform) if flows is None else flows)
    granted: dict[tuple[str, str], list[str]] = {}
    refused: dict[tuple[str, str], list[str]] = {}
    for flow in resolved:
        if flow.service is None:
            continue
        into = granted if flow.granted else refused
        into.setdefault((flow.request.tenant, flow.request.service), []).append(
            flow.consumer.name)
    provided = catalogue(platform)
    rows = []
    for tenant, _, service in sharing.published(platform):
        if not only.keeps_service(tenant, service):
            continue
        key = (tenant.name, service.name)
        rows.append(Published(tenant, service, provided.get(key, ""),
                              tuple(sorted(set(granted.get(key, ())))),
                              tuple(sorted(set(refused.get(key, ()))))))
    return rows


def flows(platform: Platform, *, only: Filter = EVERYTHING) -> list[sharing.Flow]:
    return [flow for flow in sharing.resolve(platform) if only.keeps_flow(flow)]


def flow_dict(flow: sharing.Flow) -> dict[str, object]:
    return {
        "consumer": flow.consumer.name, "consumerDepartment": flow.consumer.department,
        "provider": flow.request.tenant,
        "providerDepartment": flow.provider.department if flow.provider else None,
        "service": flow.request.service, "kind": flow.service.kind if flow.service else None,
        "status": str(flow.status), "granted": flow.granted,
        "namespaces": flow.consumer_namespaces(),
    }


# A granted flow renders as NetworkPolicies named citycloud-share-in-... (the provider's side)
# and citycloud-share-out-... (the consumer's), annotated with the grant; tenants.manifests
# names their files networkpolicy-<namespace>-<name>.yaml. tests/cli/test_cli_services.py
# holds the three to each other.
_SHARE_POLICY_FILE = "networkpolicy-*-citycloud-share-*.yaml"


def deployed_grants(directory: pathlib.Path, *,
                    folders: Iterable[str] | None = None) -> set[str]:
    """The grants ("<consumer> -> <provider>/<service>") whose NetworkPolicies a manifest
    directory holds (STATE/deployed: what was applied), for the audit trail; only in the
    unit `folders` named, if any are (both parties of a grant hold an end of it).

    Reads only the files of share policies, so an apply of thousands of tenants does not
    parse the whole snapshot twice for it; a file that cannot be read is left out (the
    audit record of an apply must not fail the apply: `plan` reports a broken snapshot)."""
    found = set()
    paths = (directory.glob(f"*/{_SHARE_POLICY_FILE}") if folders is None else
             (p for folder in folders for p in (directory / folder).glob(_SHARE_POLICY_FILE)))
    for path in paths:
        try:
            manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, yaml.YAMLError):
            continue
        metadata = manifest.get("metadata") if isinstance(manifest, dict) else None
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        grant = annotations.get(render.ANNOTATION_SHARE_GRANT) if isinstance(
            annotations, dict) else None
        if isinstance(grant, str):
            found.add(grant)
    return found


def parties(grant: str) -> tuple[str, str]:
    """(consumer, provider) of a grant as deployed_grants gives it, "<consumer> ->
    <provider>/<service>" (render.ANNOTATION_SHARE_GRANT)."""
    consumer, _, target = grant.partition(" -> ")
    return consumer, target.partition("/")[0]


# ---- the graph -----------------------------------------------------------------------


class By(enum.StrEnum):
    TENANT = "tenant"  # tenants as nodes, grouped by department
    DEPARTMENT = "department"  # one node per department


@dataclasses.dataclass(frozen=True)
class Node:
    id: str  # safe in Mermaid and DOT: letters, digits, underscores
    name: str  # the tenant or department code ("" never)
    label: str
    group: str  # the department a tenant node is drawn in; "" for department nodes
    catalogue: tuple[str, ...]  # catalogue kinds it provides for the city
    own: tuple[str, ...] = ()  # catalogue kinds it runs a system of its own of (duplicates)
    known: bool = True  # False: a tenant a request names that is not in the registry

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "label": self.label,
                "department": (self.group or self.name) if self.known else None,
                "catalogue": list(self.catalogue), "ownSystems": list(self.own),
                "known": self.known}


@dataclasses.dataclass(frozen=True)
class Edge:
    source: str  # node ids: the consumer calls the provider
    target: str
    service: str
    kind: str  # "" when the service is unknown
    status: sharing.Status
    catalogue: bool  # the edge reaches a service of the city's catalogue

    @property
    def granted(self) -> bool:
        return self.status is sharing.Status.GRANTED

    @property
    def label(self) -> str:
        return self.service if self.granted else f"{self.service} ({self.status})"

    def as_dict(self) -> dict[str, object]:
        return {"from": self.source, "to": self.target, "service": self.service,
                "kind": self.kind or None, "status": str(self.status),
                "granted": self.granted, "catalogue": self.catalogue}


@dataclasses.dataclass(frozen=True)
class Graph:
    by: By
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: Mapping[str, str]  # department code -> its label, for the tenant view's clusters

    def as_dict(self) -> dict[str, object]:
        return {"by": str(self.by), "nodes": [n.as_dict() for n in self.nodes],
                "edges": [e.as_dict() for e in self.edges]}


def graph(platform: Platform, *, by: By = By.TENANT, only: Filter = EVERYTHING) -> Graph:
    """The sharing map: granted and refused flows, and the providers they reach."""
    resolved = sharing.resolve(platform)
    chosen = [flow for flow in resolved if only.keeps_flow(flow)]
    published = services(platform, only=only, flows=resolved)
    provided = catalogue(platform)
    kinds: dict[str, set[str]] = {}  # node name -> catalogue kinds it provides
    for (provider, _), kind in provided.items():
        if provider in platform.tenants:
            name = provider if by is By.TENANT else platform.tenants[provider].department
            kinds.setdefault(name, set()).add(kind)
    own: dict[str, set[str]] = {}  # node name -> catalogue kinds it duplicates
    for duplicate, _, _, entry in sharing.duplicates(platform):
        own.setdefault(duplicate.name if by is By.TENANT else duplicate.department,
                       set()).add(entry.kind)

    nodes: dict[str, Node] = {}

    def node(tenant_name: str) -> str:
        tenant = platform.tenants.get(tenant_name)
        if tenant is None:
            found = Node(_id("u", tenant_name), tenant_name, f"{tenant_name} (not registered)",
                         "", (), known=False)
        elif by is By.TENANT:
            found = Node(_id("t", tenant.name), tenant.name, tenant.name, tenant.department,
                         tuple(sorted(kinds.get(tenant.name, ()))),
                         tuple(sorted(own.get(tenant.name, ()))))
        else:
            found = Node(_id("d", tenant.department), tenant.department,
                         _department_label(platform, tenant.department), "",
                         tuple(sorted(kinds.get(tenant.department, ()))),
                         tuple(sorted(own.get(tenant.department, ()))))
        nodes.setdefault(found.id, found)
        return found.id

    for row in published:
        node(row.tenant.name)
    edges: dict[tuple[str, str, str, str], Edge] = {}
    for flow in chosen:
        source, target = node(flow.consumer.name), node(flow.request.tenant)
        # The department view names the provider tenant with the service: two tenants of a
        # department may publish services of the same name.
        service = (flow.request.service if by is By.TENANT
                   else f"{flow.request.tenant}/{flow.request.service}")
        edge = Edge(source, target, service, flow.service.kind if flow.service else "",
                    flow.status, (flow.request.tenant, flow.request.service) in provided)
        edges.setdefault((source, target, service, str(flow.status)), edge)
    groups = {n.group: _department_label(platform, n.group) for n in nodes.values() if n.group}
    return Graph(by, tuple(sorted(nodes.values(), key=lambda n: (n.group, n.id))),
                 tuple(edges.values()), dict(sorted(groups.items())))


def _id(prefix: str, name: str) -> str:
    # DNS labels: lower-case letters, digits and hyphens; underscores cannot collide.
    return f"{prefix}_{name.replace('-', '_')}"


def _department_label(platform: Platform, code: str) -> str:
    department = platform.departments.get(code)
    return f"{code} {department.name}" if department and department.name != code else code


def _node_text(node: Node) -> str:
    notes = [*(["city " + ", ".join(node.catalogue)] if node.catalogue else []),
             *(["own " + ", ".join(node.own)] if node.own else [])]
    return f"{node.label} ({'; '.join(notes)})" if notes else node.label


def mermaid(drawn: Graph) -> str:
    """A Mermaid flowchart: solid arrows granted, dotted refused, catalogue providers
    drawn as a subroutine (double-sided box) in bold, tenants running their own system of
    a catalogue kind in orange; GitHub renders it in comments."""
    lines = ["flowchart LR"]

    def box(node: Node) -> str:
        text = _mermaid_text(_node_text(node))
        return f"{node.id}[[{text}]]" if node.catalogue else f"{node.id}[{text}]"

    for group, label in drawn.groups.items():
        lines.append(f"  subgraph {_id('g', group)} [{_mermaid_text(label)}]")
        lines += [f"    {box(n)}" for n in drawn.nodes if n.group == group]
        lines.append("  end")
    lines += [f"  {box(n)}" for n in drawn.nodes if not n.group]
    for edge in drawn.edges:
        arrow = "-->" if edge.granted else "-.->"
        lines.append(f"  {edge.source} {arrow}|{_mermaid_text(edge.label)}| {edge.target}")
    lines.append("  classDef catalogue stroke-width:3px,fill:#e8f1fb")
    lines.append("  classDef duplicate stroke:#d9822b,fill:#fdf0e2")
    lines.append("  classDef unknown stroke-dasharray:4 4,fill:#fbeaea")
    for name, chosen in (("catalogue", [n.id for n in drawn.nodes if n.catalogue]),
                         ("duplicate", [n.id for n in drawn.nodes if n.own and not n.catalogue]),
                         ("unknown", [n.id for n in drawn.nodes if not n.known])):
        if chosen:
            lines.append(f"  class {','.join(chosen)} {name}")
    refused = [str(i) for i, e in enumerate(drawn.edges) if not e.granted]
    if refused:
        lines.append(f"  linkStyle {','.join(refused)} stroke:#c0392b")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # A quoted label takes any character but the quote, which Mermaid spells as an entity.
    return '"' + text.replace('"', "#quot;") + '"'


def dot(drawn: Graph) -> str:
    """Graphviz DOT: a cluster per department, dashed red edges refused, catalogue
    providers with a double border, tenants running their own system of a catalogue kind
    in orange."""
    lines = ["digraph sharing {", "  rankdir=LR;",
             '  node [shape=box, style="rounded", fontname="sans-serif"];',
             '  edge [fontname="sans-serif", fontsize=10];']

    def statement(node: Node) -> str:
        attrs = [f"label={_dot_text(_node_text(node))}"]
        if node.catalogue:
            attrs += ["peripheries=2", 'style="rounded,bold"']
        elif node.own:
            attrs += ['style="rounded,filled"', 'color="#d9822b"', 'fillcolor="#fdf0e2"']
        if not node.known:
            attrs += ['style="rounded,dashed"', 'color="#c0392b"']
        return f"{node.id} [{', '.join(attrs)}];"

    for group, label in drawn.groups.items():
        lines.append(f"  subgraph cluster_{_id('g', group)} {{")
        lines.append(f"    label={_dot_text(label)};")
        lines += [f"    {statement(n)}" for n in drawn.nodes if n.group == group]
        lines.append("  }")
    lines += [f"  {statement(n)}" for n in drawn.nodes if not n.group]
    for edge in drawn.edges:
        attrs = [f"label={_dot_text(edge.label)}"]
        if not edge.granted:
            attrs += ["style=dashed", 'color="#c0392b"']
        elif edge.catalogue:
            attrs.append("penwidth=2")
        lines.append(f"  {edge.source} -> {edge.target} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
