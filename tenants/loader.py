"""Registry files -> a validated Platform, or every problem at once.

Loading reports all problems of all files in one pass (a pull request with
three mistakes should fail once, not three times), each as a Diagnostic with
file, line and field. Nothing is written anywhere: callers decide what to do
with a Platform only once it is whole.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import pydantic

from citycloud.tenants import diagnostics, models, sources
from citycloud.tenants.platform import (
    DEPARTMENTS_FILE,
    PLATFORM_FILE,
    TENANTS_DIR,
    WAIVERS_FILE,
    Platform,
)

MAX_TENANT_FILES = 50_000

M = TypeVar("M", bound=models.Model)
Diagnostic = diagnostics.Diagnostic


def load(root: pathlib.Path, *, pending: Mapping[str, str] | None = None) -> Platform:
    """Read and check a registry; raise RegistryError listing every problem found.

    `pending` holds tenant files not written yet (name relative to the root -> text): the
    registry is checked as if they were there, so `tenant new` refuses before it writes.
    """
    root = root.absolute()
    pending = dict(pending or {})
    if not root.is_dir():
        raise diagnostics.RegistryError([Diagnostic(
            str(root), 0, "", "is not a directory", "not_a_registry",
            hint="pass --registry PATH, or run 'citycloud init PATH' to create one")])
    problems: list[Diagnostic] = []
    read: dict[str, sources.Source] = {}
    spec = _read_model(root / PLATFORM_FILE, models.PlatformFile, root, read, problems)
    departments_file = _read_model(
        root / DEPARTMENTS_FILE, models.DepartmentsFile, root, read, problems)
    waivers_path = root / WAIVERS_FILE
    waivers = None
    if waivers_path.exists() or waivers_path.is_symlink():  # optional, unlike the two above
        waivers = _read_model(waivers_path, models.WaiverList, root, read, problems)
    node_inventories = _read_node_inventories(root, spec, read, problems) if spec else {}
    tenant_files: dict[str, str] = {}
    tenants: dict[str, models.Tenant] = {}
    paths = [p for p in _tenant_paths(root, problems)
             if sources.relative_name(p, root=root) not in pending]
    for path in [*paths, *(root / rel for rel in sorted(pending))]:
        file = sources.relative_name(path, root=root)
        if file in pending:
            tenant = _parse_model(pending[file], file, models.Tenant, read, problems)
        else:
            tenant = _read_model(path, models.Tenant, root, read, problems)
        if tenant is None:
            continue
        if tenant.name in tenants:
            problems.append(Diagnostic(
                file, read[file].line_of(("metadata", "name")), "metadata.name",
                f"tenant {tenant.name!r} is already defined in {tenant_files[tenant.name]}",
                "duplicate_tenant", hint="tenant names are unique across the city; pick another"))
            continue
        tenants[tenant.name] = tenant
        tenant_files[tenant.name] = file
    if spec is None or departments_file is None:
        raise diagnostics.RegistryError(problems)
    departments = {d.code: d for d in departments_file.departments}
    platform = Platform(
        root=root,
        spec=spec,
        departments=departments,
        tenants=dict(sorted(tenants.items())),
        sources=read,
        tenant_files=tenant_files,
        waivers=waivers.waivers if waivers else (),
        node_inventories=node_inventories,
    )
    problems.extend(_check_platform(platform))
    problems.extend(_check_departments(platform, departments_file))
    for tenant in platform.tenants.values():
        problems.extend(_check_tenant(platform, tenant))
    problems.extend(_check_collisions(
        platform, "namespaces", lambda t: t.namespace_names(), what="namespace",
        code="namespace_collision", hint="choose another namespace name"))
    problems.extend(_check_collisions(
        platform, "hosts", lambda t: t.spec.hosts, what="host",
        code="host_collision", hint="a host name is served for one tenant only; ask the "
        "other tenant's department, or choose another name"))
    problems.extend(_check_nodes(platform))
    if problems:
        raise diagnostics.RegistryError(problems)
    return platform


def _tenant_paths(root: pathlib.Path, problems: list[Diagnostic]) -> list[pathlib.Path]:
    folder = root / TENANTS_DIR
    if not folder.is_dir():
        if folder.exists() or folder.is_symlink():
            problems.append(Diagnostic(
                TENANTS_DIR, 0, "", "is not a folder", "tenants_not_a_folder",
                hint="move it away; tenant files live at tenants/<department>/<tenant>.yaml"))
        return []
    found: list[pathlib.Path] = []
    for parts in _walk(folder):
        path = folder.joinpath(*parts)
        rel = "/".join((TENANTS_DIR, *parts))
        name = parts[-1]
        if name.startswith(".") or name.lower() in {"readme.md", "codeowners"}:
            continue
        if len(parts) != 2 or not name.endswith((".yaml", ".yml")):
            problems.append(Diagnostic(
                rel, 0, "", "is not where tenant files go", "misplaced_file",
                hint="tenant files live at tenants/<department>/<tenant>.yaml"))
            continue
        found.append(path)
        if len(found) > MAX_TENANT_FILES:
            problems.append(Diagnostic(
                TENANTS_DIR, 0, "", f"holds more than {MAX_TENANT_FILES} tenant files",
                "too_many_files"))
            return []
    return found


def warnings(platform: Platform) -> list[Diagnostic]:
    """What loads but is likely a mistake: a registry with departments and no tenants/
    folder (say, the wrong --registry) would otherwise validate as a city of no tenants."""
    if platform.departments and not (platform.root / TENANTS_DIR).exists():
        return [Diagnostic(
            TENANTS_DIR, 0, "", "no tenant files were found at "
            "tenants/<department>/<tenant>.yaml: the folder is missing", "no_tenants",
            severity=diagnostics.Severity.WARNING,
            hint="check --registry; 'citycloud tenant new' writes the first request")]
    return []


def _walk(folder: pathlib.Path) -> list[tuple[str, ...]]:
    """Everything under `folder` but real directories, as path parts, in sorted order.

    Links to directories are listed, not followed (a link may point anywhere).
    os.walk, not Path.rglob: this lists every tenant file of the city.
    """
    found = []
    for current, dirs, files in os.walk(folder):
        base = pathlib.PurePath(current).relative_to(folder).parts
        linked = [d for d in dirs if os.path.islink(os.path.join(current, d))]
        dirs[:] = [d for d in dirs if d not in linked]
        found += [(*base, name) for name in files + linked]
    return sorted(found)


def _read_model(path: pathlib.Path, model: type[M], root: pathlib.Path,
                read: dict[str, sources.Source], problems: list[Diagnostic]) -> M | None:
    rel = sources.relative_name(path, root=root)
    if not path.exists() and not path.is_symlink():
        problems.append(Diagnostic(
            rel, 0, "", "is missing", "missing_file",
            hint="every registry has platform.yaml and departments.yaml; "
                 "'citycloud init' writes both"))
        return None
    try:
        source = sources.read(path, root=root)
    except sources.SourceError as err:
        problems.append(err.diagnostic)
        return None
    return _from_source(source, model, read, problems)


def _parse_model(text: str, rel: str, model: type[M], read: dict[str, sources.Source],
                 problems: list[Diagnostic]) -> M | None:
    try:
        source = sources.parse(text, rel)
    except sources.SourceError as err:
        problems.append(err.diagnostic)
        return None
    return _from_source(source, model, read, problems)


def _from_source(source: sources.Source, model: type[M], read: dict[str, sources.Source],
                 problems: list[Diagnostic]) -> M | None:
    rel = source.file
    read[rel] = source
    if not isinstance(source.data, dict):
        problems.append(Diagnostic(
            rel, 1, "", f"must be a YAML mapping with apiVersion and kind, "
            f"not {_kind_of(source.data)}", "not_a_mapping"))
        return None
    try:
        return model.model_validate(source.data)
    except pydantic.ValidationError as err:
        problems.extend(_from_pydantic(err, source, model))
        return None


# pydantic speaks of Python types; a department writes YAML.
_MESSAGES = {
    "tuple_type": "must be a list, such as [a, b]",
    "list_type": "must be a list, such as [a, b]",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "dict_type": "must be a mapping",
    "missing": "is required",
}


def _from_pydantic(err: pydantic.ValidationError, source: sources.Source,
                   model: type[pydantic.BaseModel]) -> Iterator[Diagnostic]:
    """One Diagnostic per mistake: a misspelt field is not also reported as a missing one."""
    errors = err.errors(include_input=False, include_url=False)
    locs = [tuple(error["loc"]) for error in errors]
    found: list[tuple[tuple[Any, ...], Diagnostic]] = []
    misspelt: set[tuple[Any, ...]] = set()  # fields a misspelt one was matched to
    for error, loc in zip(errors, locs, strict=True):
        if error["type"] == "too_short" and any(
                len(other) > len(loc) and other[:len(loc)] == loc for other in locs):
            continue  # pydantic counts only the items that validated; their errors say why
        message, hint = _MESSAGES.get(error["type"], error["msg"]), ""
        if error["type"] == "extra_forbidden":
            known = _known_fields(model, loc[:-1])
            message = "is not a known field"
            hint = diagnostics.did_you_mean(str(loc[-1]), known,
                                            otherwise=f"known fields: {', '.join(known)}")
            close = diagnostics.closest_name(str(loc[-1]), known)
            if close:
                misspelt.add((*loc[:-1], close))
        found.append((loc, Diagnostic(source.file, source.line_of(loc), _dotted(loc), message,
                                      str(error["type"]), hint=hint)))
    for loc, diagnostic in found:
        if not (diagnostic.code == "missing" and loc in misspelt):
            yield diagnostic


def _known_fields(model: type[pydantic.BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The YAML field names allowed at `loc`, to suggest a fix for a misspelt one."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = _fields_by_alias(current).get(str(part))
        if info is None:
            return []
        current = _model_in(info.annotation)
        if current is None:
            return []
    return sorted(_fields_by_alias(current))


def _fields_by_alias(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _model_in(annotation: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _kind_of(data: Any) -> str:
    return "an empty file" if data is None else f"a {type(data).__name__}"


# ---- checks across files ----------------------------------------------------


def _duplicates(names: Iterable[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield index, name
        seen.add(name)


def _check_platform(platform: Platform) -> Iterator[Diagnostic]:
    spec = platform.spec.spec
    file = PLATFORM_FILE
    for index, name in _duplicates(p.name for p in spec.pools):
        yield Diagnostic(*platform.where(file, "spec", "pools", index, "name"),
                         f"spec.pools[{index}].name", f"pool {name!r} is defined twice",
                         "duplicate_pool")
    for index, name in _duplicates(n.name for n in spec.shared_networks):
        yield Diagnostic(*platform.where(file, "spec", "sharedNetworks", index, "name"),
                         f"spec.sharedNetworks[{index}].name",
                         f"shared network {name!r} is defined twice", "duplicate_network")
    yield from _check_clusters(platform)


def _check_clusters(platform: Platform) -> Iterator[Diagnostic]:
    """Each cluster belongs to a known pool, and each pool's capacity is given once: on the
    pool, or (a pool on several clusters) on each of its clusters."""
    spec = platform.spec.spec

    def at(*path: str | int) -> tuple[str, int, str]:
        return (*platform.where(PLATFORM_FILE, *path), _dotted(path))

    for index, name in _duplicates(c.name for c in spec.clusters):
        yield Diagnostic(*at("spec", "clusters", index, "name"),
                         f"cluster {name!r} is defined twice", "duplicate_cluster")
    for index, cluster in enumerate(spec.clusters):
        if cluster.pool not in platform.pools:
            yield Diagnostic(*at("spec", "clusters", index, "pool"),
                             f"pool {cluster.pool!r} is not in platform.yaml", "unknown_pool",
                             hint=_suggest(cluster.pool, platform.pools))
    for index, pool in enumerate(spec.pools):
        clusters = [(i, c) for i, c in enumerate(spec.clusters) if c.pool == pool.name]
        sized = [i for i, c in clusters if c.capacity is not None]
        if pool.capacity is not None and sized:
            yield Diagnostic(*at("spec", "clusters", sized[0], "capacity"),
                             f"pool {pool.name!r} has its capacity on the pool and on its "
                             "clusters", "capacity_twice",
                             hint="give it once: on each cluster (the pool's is their sum), "
                             "or on the pool alone if it has one cluster")
        elif pool.capacity is None and (len(clusters) <= 1 and not sized):
            yield Diagnostic(*at("spec", "pools", index, "name"),
                             f"pool {pool.name!r} has no capacity", "missing_capacity",
                             hint="add capacity: {cpu, memory, storage} to the pool (or to "
                             "each of its clusters)")
        elif len(clusters) > 1 and len(sized) < len(clusters):
            missing = next(i for i, c in clusters if c.capacity is None)
            yield Diagnostic(*at("spec", "clusters", missing, "name"),
                             f"cluster {spec.clusters[missing].name!r} has no capacity, and "
                             f"its pool {pool.name!r} has several clusters",
                             "missing_capacity",
                             hint="give each of the pool's clusters its capacity: {cpu, "
                             "memory, storage}" + (" (and drop the pool's own, which is "
                                                   "their sum)" if pool.capacity else ""))


def _check_departments(platform: Platform,
                       departments: models.DepartmentsFile) -> Iterator[Diagnostic]:
    file = DEPARTMENTS_FILE
    for index, code in _duplicates(d.code for d in departments.departments):
        yield Diagnostic(*platform.where(file, "departments", index, "code"),
                         f"departments[{index}].code", f"department {code!r} is defined twice",
                         "duplicate_department")


def _check_tenant(platform: Platform, tenant: models.Tenant) -> Iterator[Diagnostic]:
    file = platform.tenant_files[tenant.name]

    def at(*path: str | int) -> tuple[str, int, str]:
        return (*platform.where(file, *path), _dotted(path))

    department = tenant.department
    folder = pathlib.PurePosixPath(file).parent.name
    if department not in platform.departments:
        yield Diagnostic(*at("metadata", "department"),
                         f"department {department!r} is not in departments.yaml",
                         "unknown_department", hint=_suggest(department, platform.departments),
                         tenant=tenant.name)
    if folder != department:
        yield Diagnostic(*at("metadata", "department"),
                         f"tenant of department {department!r} is filed under another "
                         f"department's folder {folder!r}", "wrong_folder",
                         hint=f"move the file to tenants/{department}/", tenant=tenant.name)
    if not tenant.name.startswith(f"{department}-"):
        yield Diagnostic(*at("metadata", "name"),
                         f"tenant name must start with its department code '{department}-'",
                         "name_prefix", hint=f"e.g. '{department}-{tenant.name}'",
                         tenant=tenant.name)
    if pathlib.PurePosixPath(file).stem != tenant.name:
        yield Diagnostic(*at("metadata", "name"),
                         f"file name must be the tenant name: {tenant.name}.yaml",
                         "file_name", hint=f"rename the file to {tenant.name}.yaml",
                         tenant=tenant.name)
    if tenant.spec.pool not in platform.pools:
        yield Diagnostic(*at("spec", "pool"), f"pool {tenant.spec.pool!r} is not in platform.yaml",
                         "unknown_pool", hint=_suggest(tenant.spec.pool, platform.pools),
                         tenant=tenant.name)
    yield from _check_placement(platform, tenant, at)
    for index, network in enumerate(tenant.spec.egress):
        if network not in platform.shared_networks:
            yield Diagnostic(*at("spec", "egress", index),
                             f"shared network {network!r} is not in platform.yaml",
                             "unknown_network",
                             hint=_suggest(network, platform.shared_networks),
                             tenant=tenant.name)
    for index, short in enumerate(tenant.spec.namespaces):
        name = models.namespace_name(tenant.name, short)
        if len(name) > 63:
            yield Diagnostic(*at("spec", "namespaces", index),
                             f"namespace {name!r} would be longer than 63 characters",
                             "namespace_too_long", hint="shorten the tenant or namespace name",
                             tenant=tenant.name)
    for index, short in _duplicates(tenant.spec.namespaces):
        yield Diagnostic(*at("spec", "namespaces", index), f"namespace {short!r} is listed twice",
                         "duplicate_namespace", tenant=tenant.name)
    pods, count = tenant.spec.quota.pods, len(tenant.spec.namespaces)
    if pods is not None and pods < count:  # quotas are split per namespace (render.py)
        yield Diagnostic(*at("spec", "quota", "pods"),
                         f"{pods} pod(s) cannot be shared by {count} namespaces",
                         "quota_too_small", hint=f"allow at least {count} pods, one per namespace",
                         tenant=tenant.name)
    for index, name in _duplicates(n.name for n in tenant.spec.networks):
        yield Diagnostic(*at("spec", "networks", index, "name"),
                         f"network {name!r} is listed twice", "duplicate_network",
                         tenant=tenant.name)
    for index, name in _duplicates(tenant.spec.hosts):
        yield Diagnostic(*at("spec", "hosts", index), f"host {name!r} is listed twice",
                         "duplicate_host", tenant=tenant.name)


def _check_placement(platform: Platform, tenant: models.Tenant,
                     at: Callable[..., tuple[str, int, str]]) -> Iterator[Diagnostic]:
    """A tenant runs on clusters of its own pool; where the pool has several it names one
    (or two, for disaster recovery), so placement never shifts with capacity."""
    pool = tenant.spec.pool
    if pool not in platform.pools:
        return
    own = [c for c in platform.pool_clusters[pool] if c]
    choices = (f"pool {pool!r} runs on {', '.join(own)}" if own else
               f"pool {pool!r} declares no clusters: drop spec.clusters")
    for index, name in enumerate(tenant.spec.clusters):
        cluster = platform.clusters.get(name)
        if cluster is None:
            yield Diagnostic(*at("spec", "clusters", index),
                             f"cluster {name!r} is not in platform.yaml", "unknown_cluster",
                             hint=diagnostics.did_you_mean(name, own, otherwise=choices),
                             tenant=tenant.name)
        elif cluster.pool != pool:
            yield Diagnostic(*at("spec", "clusters", index),
                             f"cluster {name!r} belongs to pool {cluster.pool!r}, not to the "
                             f"tenant's pool {pool!r}", "cluster_of_other_pool", hint=choices,
                             tenant=tenant.name)
    for index, name in _duplicates(tenant.spec.clusters):
        yield Diagnostic(*at("spec", "clusters", index), f"cluster {name!r} is listed twice",
                         "duplicate_cluster", tenant=tenant.name)
    if not tenant.spec.clusters and len(own) > 1:
        yield Diagnostic(*at("spec", "pool"),
                         f"pool {pool!r} runs on several clusters ({', '.join(own)}) and the "
                         "tenant names none", "cluster_required",
                         hint="add spec.clusters: [NAME] ('citycloud tenant new' proposes the "
                         "one with the most headroom), or two at two sites for disaster "
                         "recovery", tenant=tenant.name)


def _check_collisions(platform: Platform, field: str,
                      names_of: Callable[[models.Tenant], Sequence[str]], *, what: str,
                      code: str, hint: str) -> Iterator[Diagnostic]:
    """Names (namespaces, hosts) that two tenants claim: the later one is the error."""
    owner: dict[str, str] = {}
    for tenant in platform.tenants.values():
        for index, name in enumerate(names_of(tenant)):
            first = owner.setdefault(name, tenant.name)
            if first != tenant.name:
                yield Diagnostic(*platform.where_tenant(tenant.name, "spec", field, index),
                                 f"spec.{field}[{index}]",
                                 f"{what} {name!r} is also claimed by tenant {first!r}",
                                 code, hint=hint, tenant=tenant.name)


def _read_node_inventories(root: pathlib.Path, spec: models.PlatformFile,
                           read: dict[str, sources.Source],
                           problems: list[Diagnostic]) -> dict[str, models.NodeInventory]:
    """The NodeInventory files that pools name in nodes.inventory, each read once."""
    found: dict[str, models.NodeInventory] = {}
    reserved = {PLATFORM_FILE, DEPARTMENTS_FILE, WAIVERS_FILE}
    for index, pool in enumerate(spec.spec.pools):
        ref = pool.nodes.inventory if pool.nodes else ""
        if not ref or ref in found:
            continue
        loc = ("spec", "pools", index, "nodes", "inventory")
        at = (PLATFORM_FILE, read[PLATFORM_FILE].line_of(loc), _dotted(loc))
        if ref in reserved or ref.startswith(f"{TENANTS_DIR}/"):
            problems.append(Diagnostic(*at, f"{ref} is not a node inventory", "invalid_inventory",
                                       hint=f"keep nodes in a file of their own, e.g. "
                                            f"nodes/{pool.name}.yaml"))
        elif not (root / ref).exists() and not (root / ref).is_symlink():
            problems.append(Diagnostic(*at, f"names {ref}, which does not exist",
                                       "missing_inventory",
                                       hint="create it (kind: NodeInventory) or list the "
                                            "nodes under nodes.hosts"))
        else:
            inventory = _read_model(root / ref, models.NodeInventory, root, read, problems)
            if inventory is not None:
                found[ref] = inventory
    return found


def _check_nodes(platform: Platform) -> Iterator[Diagnostic]:
    """Node names and addresses are unique; each node's CPU and OS are ones its pool takes."""
    names: dict[str, str] = {}
    addresses: dict[tuple[str, int], str] = {}
    for pool in platform.pools.values():
        allowed = pool.placement.architectures
        for index, node in enumerate(platform.pool_nodes(pool.name)):
            if node.name in names:
                yield Diagnostic(*platform.where_node(pool.name, index, "name"),
                                 f"node {node.name!r} is listed twice (also in pool "
                                 f"{names[node.name]!r})", "duplicate_node",
                                 hint="node names are unique across the city")
            names.setdefault(node.name, pool.name)
            other = addresses.setdefault((node.address, node.ssh_port), node.name)
            if other != node.name:
                yield Diagnostic(*platform.where_node(pool.name, index, "address"),
                                 f"address {node.address} is also the address of node {other!r}",
                                 "duplicate_address")
            if node.arch not in allowed:
                yield Diagnostic(*platform.where_node(pool.name, index, "arch"),
                                 f"pool {pool.name!r} runs {', '.join(allowed)}, not {node.arch}",
                                 "node_arch", hint="move the node to a pool that runs its CPU, "
                                 "or add the architecture to the pool's placement.architectures")
            yield from _check_node_cluster(platform, pool.name, index, node)
            if pool.kind is models.PoolKind.XINCHUANG and node.os not in models.XINCHUANG_OSES:
                yield Diagnostic(*platform.where_node(pool.name, index, "os"),
                                 f"xinchuang pool nodes run a domestic OS "
                                 f"({', '.join(models.XINCHUANG_OSES)}), not {node.os}",
                                 "node_os", hint="install openEuler, Kylin or UOS, or move the "
                                 "node to another pool")


def _check_node_cluster(platform: Platform, pool: str, index: int,
                        node: models.Node) -> Iterator[Diagnostic]:
    """A node joins a cluster of its own pool, named where the pool has several."""
    own = [c for c in platform.pool_clusters[pool] if c]
    if node.cluster and node.cluster not in own:
        yield Diagnostic(*platform.where_node(pool, index, "cluster"),
                         f"node {node.name!r}: cluster {node.cluster!r} is not a cluster of "
                         f"pool {pool!r}", "unknown_cluster",
                         hint=diagnostics.did_you_mean(node.cluster, own, otherwise=(
                             f"pool {pool!r} runs on {', '.join(own)}" if own else
                             f"pool {pool!r} declares no clusters: drop the node's cluster")))
    elif not node.cluster and len(own) > 1:
        yield Diagnostic(*platform.where_node(pool, index, "name"),
                         f"node {node.name!r} names no cluster, and pool {pool!r} runs on "
                         f"several ({', '.join(own)})", "cluster_required",
                         hint="add cluster: NAME to the node")


def _suggest(name: str, known: Iterable[str]) -> str:
    return diagnostics.did_you_mean(name, known,
                                    otherwise="known: " + ", ".join(sorted(known)[:10]))
