"""One pool of platform.yaml -> the Ansible inventory its nodes are prepared from.

The playbooks decide nothing about a pool on their own: its node labels and
taints, the CPU architectures and OSes it takes and the MLPS level its
baseline follows all come from the registry through here, as inventory
variables. So `nodes check` shows exactly what the registry asks for, and a
change to platform.yaml is a change to the nodes.

Values reach Ansible, which treats "{{" in a string as a template: every string
here comes from a validated field (DNS labels, host names, Kubernetes labels),
and `build` refuses anything that still looks like a template.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from citycloud import tenants
from citycloud.stacks.nodes import errors
from citycloud.tenants import models

Diagnostic = tenants.Diagnostic
PLATFORM_FILE = "platform.yaml"

# Kubernetes label syntax (apimachinery validation.IsQualifiedName / IsValidLabelValue).
_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_KEY = re.compile(rf"({_PREFIX}/)?{_NAME}")
_LABEL_VALUE = re.compile(rf"({_NAME})?")

# Labels the kubelet may set on its own node: in kubernetes.io and k8s.io only
# these (NodeRestriction); it refuses to start with any other one there.
_KUBELET_LABELS = {
    "kubernetes.io/hostname", "kubernetes.io/instance-type", "kubernetes.io/os",
    "kubernetes.io/arch", "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch", "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region", "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
}
_KUBELET_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def build(platform: tenants.Platform, pool_name: str, *, limit: Sequence[str] = (),
          cluster: str | None = None) -> dict[str, Any]:
    """The inventory of one pool's nodes (all, those of one of its clusters, or those named
    in `limit`)."""
    pool = _pool(platform, pool_name)
    nodes = platform.pool_nodes(pool.name)
    problems = list(_check(platform, pool))
    if problems:
        raise tenants.RegistryError(problems)
    if cluster is not None:
        own = [c for c in platform.pool_clusters[pool.name] if c]
        if cluster not in own:
            raise errors.InvalidRequest(
                f"--cluster {cluster}: not a cluster of pool {pool.name}; "
                + (f"its clusters are {', '.join(own)}" if own else "it declares none"))
        nodes = tuple(n for n in nodes if n.cluster == cluster)
    unknown = sorted(set(limit) - {n.name for n in nodes})
    if unknown:
        raise errors.InvalidRequest(
            f"--limit {', '.join(unknown)}: not a node of pool {pool.name}; its nodes are "
            f"{', '.join(n.name for n in nodes)}")
    assert pool.nodes is not None  # _check refuses a pool without nodes
    hosts = {node.name: host_vars(node, pool=pool.nodes) for node in nodes
             if not limit or node.name in limit}
    group = "pool_" + pool.name.replace("-", "_")  # Ansible group names take no "-"
    inventory = {"all": {"children": {group: {"vars": pool_vars(platform, pool),
                                              "hosts": hosts}}}}
    _refuse_templates(inventory)
    return inventory


def hosts_of(inventory: dict[str, Any]) -> list[str]:
    """Host names of an inventory that `build` made (tests may add hosts of their own)."""
    return sorted(host for group in inventory["all"]["children"].values()
                  for host in group.get("hosts", {}))


def mlps_level(platform: tenants.Platform, pool: models.Pool) -> int:
    """The level a pool's baseline follows: its maxClassification, or a tenant's if higher.

    Nodes are hardened for what the pool may hold, not only for what it holds
    today, so onboarding a level-3 tenant needs no new run on the nodes.
    """
    return max([pool.max_classification,
                *(t.spec.classification for t in platform.tenants_in(pool.name))])


def pool_vars(platform: tenants.Platform, pool: models.Pool) -> dict[str, Any]:
    taint = pool.placement.taint
    return {
        "citycloud_pool": pool.name,
        "citycloud_pool_kind": pool.kind.value,
        "citycloud_pool_architectures": [a.value for a in pool.placement.architectures],
        "citycloud_pool_oses": ([o.value for o in models.XINCHUANG_OSES]
                                if pool.kind is models.PoolKind.XINCHUANG else []),
        "citycloud_node_labels": dict(sorted(pool.placement.node_selector.items())),
        "citycloud_node_taints": ([{"key": taint.key, "value": taint.value,
                                    "effect": taint.effect}] if taint else []),
        "citycloud_mlps_level": mlps_level(platform, pool),
        "citycloud_time_servers": list(pool.nodes.time_servers if pool.nodes else ()),
    }


def host_vars(node: models.Node, *, pool: models.PoolNodes) -> dict[str, Any]:
    found: dict[str, Any] = {"citycloud_node_arch": node.arch.value,
                             "citycloud_node_os": node.os.value}
    if node.cluster:
        found["citycloud_cluster"] = node.cluster
    if node.connection == "local":
        # This very machine, with the Python citycloud runs on (it has what modules need).
        found.update(ansible_connection="local", ansible_python_interpreter=sys.executable)
        return found
    found.update(ansible_host=node.address, ansible_port=node.ssh_port, ansible_become=True)
    user = node.ssh_user or pool.ssh_user
    if user:
        found["ansible_user"] = user
    return found


def _pool(platform: tenants.Platform, name: str) -> models.Pool:
    pool = platform.pools.get(name)
    if pool is None:
        raise errors.InvalidRequest(
            f"pool {name!r} is not in platform.yaml; pools: {', '.join(platform.pools)}")
    return pool


def _check(platform: tenants.Platform, pool: models.Pool) -> Iterator[Diagnostic]:
    """What the registry allows but the kubelet or the baseline would refuse."""
    index = next(i for i, p in enumerate(platform.spec.spec.pools) if p.name == pool.name)
    at = ("spec", "pools", index)

    def where(*path: str | int) -> tuple[str, int, str]:
        loc = (*at, *path)
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        return (*platform.where(PLATFORM_FILE, *loc), field)

    if not platform.pool_nodes(pool.name):
        yield Diagnostic(*where("nodes"), f"pool {pool.name!r} has no nodes to prepare",
                         "no_nodes", hint="list them under nodes.hosts, or name a NodeInventory "
                         "file in nodes.inventory")
    for key, value in pool.placement.node_selector.items():
        problem = _label_problem(key, value)
        if problem:
            yield Diagnostic(*where("placement", "nodeSelector", key), problem, "node_label",
                             hint="the kubelet registers the node with these labels")
    taint = pool.placement.taint
    if taint and (not _LABEL_KEY.fullmatch(taint.key) or not _LABEL_VALUE.fullmatch(taint.value)):
        yield Diagnostic(*where("placement", "taint"), f"taint {taint.key}={taint.value} is not "
                         "a valid Kubernetes taint", "node_taint",
                         hint="key like example.io/name, value of letters, digits, '-', '_', '.'")
    level = mlps_level(platform, pool)
    for i, node in enumerate(platform.pool_nodes(pool.name)):
        user = node.ssh_user or (pool.nodes.ssh_user if pool.nodes else "")
        if level >= 3 and user == "root" and node.connection == "ssh":
            yield Diagnostic(*platform.where_node(pool.name, i, "sshUser"),
                             f"node {node.name} would be prepared over SSH as root, which the "
                             f"MLPS level {level} baseline forbids (PermitRootLogin no)",
                             "root_login", hint="log in as an administrator with sudo: set "
                             "sshUser on the node or on the pool's nodes")


def _label_problem(key: str, value: str) -> str:
    if not _LABEL_KEY.fullmatch(key) or len(key) > 316:
        return f"{key!r} is not a Kubernetes label key such as citycloud.io/pool"
    if not _LABEL_VALUE.fullmatch(value):
        return f"{value!r} is not a Kubernetes label value (letters, digits, '-', '_', '.')"
    prefix = key.partition("/")[0] if "/" in key else ""

    def within(*namespaces: str) -> bool:
        return any(prefix == ns or prefix.endswith("." + ns) for ns in namespaces)

    if within("kubernetes.io", "k8s.io") and not (
            key in _KUBELET_LABELS or within(*_KUBELET_NAMESPACES)):
        return (f"the kubelet may not set {key!r} on its own node (kubernetes.io and k8s.io "
                "labels are reserved); use a label of the platform's own, e.g. citycloud.io/pool")
    return ""


def _refuse_templates(value: Any) -> None:
    if isinstance(value, str):
        if "{{" in value or "{%" in value or "{#" in value:
            raise errors.InvalidRequest(f"{value[:80]!r} looks like a Jinja template; the "
                                        "inventory takes plain values only")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_templates(key)
            _refuse_templates(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_templates(item)
