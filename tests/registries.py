"""Registries for tests: documents built from keyword arguments, written as YAML, loaded.

One place builds every registry file the tests write, so a new field of the
registry is added to the tests once. Documents are plain dicts, so a test can
still break one value by hand before writing it; `write` puts them where a
registry keeps them and `make` loads the result with tenants.load, the way a
user's registry is loaded, so loader checks and line numbers are the real ones.

The layout of the text is part of the contract: tests name the lines of the
files written here (tests/registry, tests/networks, tests/policies). `text`
writes a collection of scalars below a document's top level on one line, as
people write them (`quota: {cpu: 8, memory: 32Gi, storage: 1Ti}`,
`namespaces: [app]`), everything else one value a line; `block=True` writes
every collection one value a line. Neither ever wraps a long line.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from citycloud import tenants
from citycloud.tenants import models

Document = dict[str, Any]
Quantity = str | int  # "500m", "32Gi" or 8, as a registry file may give it

API_VERSION = models.API_VERSION


# ---- documents --------------------------------------------------------------------


def tenant(name: str, *, department: str | None = None, description: str | None = "业务系统",
           pool: str = "gov", classification: int = 2, owners: Sequence[str] | None = None,
           cpu: Quantity = "1", memory: Quantity = "1Gi", storage: Quantity = "10Gi",
           namespaces: Sequence[str] = ("app",), egress: Sequence[str] | None = None,
           networks: Sequence[Mapping[str, Any]] | None = None,
           hosts: Sequence[str] | None = None,
           services: Sequence[Mapping[str, Any]] | None = None,
           consumes: Sequence[Mapping[str, Any]] | None = None, **spec: Any) -> Document:
    """A tenant of `department` (the name's first two parts unless told), owned by its admins.

    None leaves a field out; `services` and `consumes` take service() and consumption()
    entries; `spec` adds fields (or replaces one, such as a whole `quota`) at the end of
    spec, valid or not.
    """
    department = department or "-".join(name.split("-")[:2])
    metadata: Document = {"name": name, "department": department}
    if description is not None:
        metadata["description"] = description
    body: Document = {
        "pool": pool, "classification": classification,
        "owners": list(owners) if owners is not None else [f"{department}-admins"],
        "quota": {"cpu": cpu, "memory": memory, "storage": storage},
        "namespaces": list(namespaces)}
    for key, value in (("egress", egress), ("networks", networks), ("hosts", hosts),
                       ("services", services), ("consumes", consumes)):
        if value is not None:
            body[key] = [dict(v) if isinstance(v, Mapping) else v for v in value]
    return {"apiVersion": API_VERSION, "kind": "Tenant", "metadata": metadata,
            "spec": body | spec}


def department(code: str, *, name: str | None = None, level: str = "city",
               owners: Sequence[str] | None = None,
               contacts: Sequence[Mapping[str, str]] | None = None,
               cost_centre: str | None = None) -> Document:
    """An entry of departments.yaml: `name` is the code and the owners its admins unless told."""
    entry: Document = {"code": code, "name": name or code, "level": level,
                       "owners": list(owners) if owners is not None else [f"{code}-admins"]}
    if contacts is not None:
        entry["contacts"] = [dict(c) for c in contacts]
    if cost_centre is not None:
        entry["costCentre"] = cost_centre
    return entry


def department_list(*departments: Document) -> Document:
    return {"apiVersion": API_VERSION, "kind": "DepartmentList",
            "departments": list(departments)}


def pool(name: str, *, kind: str | None = None, cpu: Quantity = 100,
         memory: Quantity = "400Gi", storage: Quantity = "10Ti",
         architectures: Sequence[str] = ("amd64",), isolated: bool = True,
         image_registries: Sequence[str] | None = ("registry.city.gov.cn",),
         **fields: Any) -> Document:
    """An entry of platform.yaml's pools (`kind` is the name unless told).

    `isolated` gives the pool's nodes a selector and a taint of their own, as the
    placement.pool-isolation policy asks; `fields` adds (or replaces) fields at the end.
    """
    placement: Document = {}
    if isolated:
        placement["nodeSelector"] = {"citycloud.io/pool": name}
        placement["taint"] = {"key": "citycloud.io/pool", "value": name}
    placement["architectures"] = list(architectures)
    entry: Document = {"name": name, "kind": kind or name,
                       "capacity": {"cpu": cpu, "memory": memory, "storage": storage},
                       "placement": placement}
    if image_registries is not None:
        entry["imageRegistries"] = list(image_registries)
    return entry | fields


def cluster(name: str, *, pool: str = "gov", site: str = "dc1", cpu: Quantity | None = 50,
            memory: Quantity = "200Gi", storage: Quantity = "5Ti",
            **fields: Any) -> Document:
    """An entry of platform.yaml's clusters (`cpu=None` leaves its capacity out); `fields`
    adds (or replaces) fields at the end, such as context or podCidrs."""
    entry: Document = {"name": name, "pool": pool, "site": site}
    if cpu is not None:
        entry["capacity"] = {"cpu": cpu, "memory": memory, "storage": storage}
    return entry | fields


def shared_network(name: str, *, cidrs: Sequence[str], purposes: Sequence[str]) -> Document:
    """An entry of platform.yaml's sharedNetworks."""
    return {"name": name, "cidrs": list(cidrs), "purposes": list(purposes)}


def service(name: str, *, kind: str, namespace: str = "app", ports: Sequence[int] = (443,),
            departments: Sequence[str] | None = None, pools: Sequence[str] | None = None,
            city: bool | None = None, min_classification: int | None = None,
            **fields: Any) -> Document:
    """An entry of a tenant's spec.services (TCP ports); the audience is what is given.

    `fields` adds (or replaces) fields at the end, valid or not."""
    audience: Document = {}
    for key, value in (("departments", departments), ("pools", pools)):
        if value is not None:
            audience[key] = list(value)
    if city is not None:
        audience["city"] = city
    entry: Document = {"name": name, "namespace": namespace,
                       "ports": [{"port": port} for port in ports], "kind": kind,
                       "audience": audience}
    if min_classification is not None:
        entry["minClassification"] = min_classification
    return entry | fields


def consumption(tenant: str, service: str, *,
                namespaces: Sequence[str] | None = None) -> Document:
    """An entry of a tenant's spec.consumes: all its namespaces call it unless told."""
    entry: Document = {"tenant": tenant, "service": service}
    if namespaces is not None:
        entry["namespaces"] = list(namespaces)
    return entry


def shared_service(kind: str, *, tenant: str, service: str,
                   display_name: str | None = None) -> Document:
    """An entry of platform.yaml's sharedServices, the city's catalogue."""
    entry: Document = {"kind": kind}
    if display_name is not None:
        entry["displayName"] = display_name
    return entry | {"tenant": tenant, "service": service}


def platform(*pools: Document, name: str = "test-city",
             shared_networks: Sequence[Document] | None = None,
             policies: Mapping[str, Any] | None = None,
             shared_services: Sequence[Document] | None = None, **spec: Any) -> Document:
    """platform.yaml: the pools (one gov pool unless told), shared networks, policy settings,
    the catalogue of shared services (shared_service() entries).

    `spec` adds fields such as addressPools after them.
    """
    body: Document = {"pools": list(pools) or [pool("gov")]}
    if shared_networks is not None:
        body["sharedNetworks"] = list(shared_networks)
    if policies is not None:
        body["policies"] = dict(policies)
    if shared_services is not None:
        body["sharedServices"] = list(shared_services)
    return {"apiVersion": API_VERSION, "kind": "Platform", "metadata": {"name": name},
            "spec": body | spec}


def waiver(policy: str, *, tenant: str, expires: Any,
           reason: str = "the system moves to the shared service next quarter",
           approver: str = "platform-security-office") -> Document:
    """An entry of waivers.yaml; `expires` is a datetime.date (or text, to test the loader)."""
    return {"policy": policy, "tenant": tenant, "reason": reason, "approver": approver,
            "expires": expires}


def waiver_list(*waivers: Document) -> Document:
    return {"apiVersion": API_VERSION, "kind": "WaiverList", "waivers": list(waivers)}


# ---- text and files ---------------------------------------------------------------


def text(document: Mapping[str, Any], *, block: bool = False) -> str:
    """The YAML of a document, laid out as the module docstring says."""
    return yaml.dump(_styled(document, 0, block=block), Dumper=_Dumper, allow_unicode=True,
                     sort_keys=False, default_flow_style=False, width=_NEVER_WRAP)


def path_of(document: Mapping[str, Any]) -> str:
    """Where a registry keeps a document, relative to its root."""
    kind = document["kind"]
    if kind == "Tenant":
        meta = document["metadata"]
        return f"tenants/{meta['department']}/{meta['name']}.yaml"
    return _FILES[kind]


def put(root: pathlib.Path, document: Mapping[str, Any], *, block: bool = False) -> pathlib.Path:
    """Write one document where the registry under `root` keeps it; its path is returned."""
    path = root / path_of(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text(document, block=block), encoding="utf-8")
    return path


def write(root: pathlib.Path, *tenant_docs: Document, platform: Document | None = None,
          departments: Sequence[Document] | None = None,
          waivers: Sequence[Document] | None = None, block: bool = False) -> pathlib.Path:
    """A whole registry in `root`, replacing whatever was there; `root` is returned.

    Unless told: the default platform(), and one department() for each
    department the tenants name; no waivers.yaml unless `waivers` is given.
    """
    shutil.rmtree(root, ignore_errors=True)
    if departments is None:
        codes = sorted({doc["metadata"]["department"] for doc in tenant_docs})
        departments = [department(code) for code in codes]
    put(root, platform if platform is not None else _default_platform(), block=block)
    put(root, department_list(*departments), block=block)
    if waivers is not None:
        put(root, waiver_list(*waivers), block=block)
    (root / "tenants").mkdir(exist_ok=True)
    for doc in tenant_docs:
        put(root, doc, block=block)
    return root


def make(root: pathlib.Path, *tenant_docs: Document, platform: Document | None = None,
         departments: Sequence[Document] | None = None,
         waivers: Sequence[Document] | None = None, block: bool = False) -> tenants.Platform:
    """`write` the registry, then load it with tenants.load."""
    return tenants.load(write(root, *tenant_docs, platform=platform, departments=departments,
                              waivers=waivers, block=block))


def edit_platform(root: pathlib.Path, change: Callable[[Document], None]) -> None:
    """Change the platform.yaml of a registry (often a copy of the Wuhan example) in place."""
    path = root / "platform.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(text(data), encoding="utf-8")


def on_one_cluster(root: pathlib.Path) -> None:
    """Make a registry copy run as a registry without clusters does: every pool on the one
    cluster the command line names (the clusters' capacities summed onto their pools, the
    tenants' and nodes' clusters dropped). For tests about one cluster's behaviour on the
    example."""
    from citycloud.tenants import quantities

    def merge(data: Document) -> None:
        clusters = data["spec"].pop("clusters", [])
        for entry in data["spec"]["pools"]:
            for node in (entry.get("nodes") or {}).get("hosts", ()):
                node.pop("cluster", None)
            sized = [c["capacity"] for c in clusters
                     if c["pool"] == entry["name"] and "capacity" in c]
            if sized and "capacity" not in entry:
                entry["capacity"] = {r: str(sum((quantities.parse(c[r]) for c in sized[1:]),
                                                quantities.parse(sized[0][r])))
                                     for r in ("cpu", "memory", "storage")}

    edit_platform(root, merge)
    for path in sorted((root / "tenants").glob("*/*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document["spec"].pop("clusters", None) is not None:
            path.write_text(text(document), encoding="utf-8")


def pools_of(data: Mapping[str, Any]) -> dict[str, Document]:
    """The pools of a platform.yaml document, by name (to edit them in place)."""
    return {entry["name"]: entry for entry in data["spec"]["pools"]}


# ---- the layout -------------------------------------------------------------------

_FILES = {"Platform": "platform.yaml", "DepartmentList": "departments.yaml",
          "WaiverList": "waivers.yaml"}
_NEVER_WRAP = 1 << 30


def _default_platform() -> Document:
    return platform()


class _Flow(dict[str, Any]):
    """A mapping written on one line."""


class _FlowList(list[Any]):
    """A sequence written on one line."""


class _Dumper(yaml.SafeDumper):
    """Sequences indented under their key; no aliases (the registry refuses them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_mapping(
    "tag:yaml.org,2002:map", data, flow_style=True))
_Dumper.add_representer(_FlowList, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=True))


def _styled(data: Any, depth: int, *, block: bool) -> Any:
    """Copy `data`, marking the collections of scalars below the top level for one line."""
    if isinstance(data, Mapping):
        items = {key: _styled(value, depth + 1, block=block) for key, value in data.items()}
        one_line = not block and depth >= 2 and bool(items) and all(
            _is_scalar(v) for v in data.values())
        return _Flow(items) if one_line else items
    if isinstance(data, list | tuple):
        values = [_styled(value, depth + 1, block=block) for value in data]
        one_line = not block and depth >= 2 and all(_is_scalar(v) for v in data)
        return _FlowList(values) if one_line else values
    return data


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)
