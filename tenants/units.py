"""Everything the platform becomes in Kubernetes, in units: the one rendering.

A unit is what one stack owns and one folder of the GitOps export holds: a pool (its
platform namespace, RBAC, PriorityClasses, contract ConfigMap, guardrails and their
bindings; tenants.pools) or a tenant (its namespaces and what guards them; tenants.render).
`plan`, `render`, the deployed snapshot, the stack fingerprints and the Pulumi programs all
take their objects from here, so none of them can disagree with another.

Pools come first: their namespaces, priority classes and guardrails must exist before a
tenant's objects are admitted.

Where platform.yaml declares clusters, a unit is also per cluster: a pool's objects on each
of its clusters, a tenant's on each cluster it is placed on (two for disaster recovery).
Such a unit is named `<name>.<cluster>` (its folder, its stack), and its objects carry the
label citycloud.io/cluster; a pool without declared clusters keeps the plain names, so a
registry written before clusters renders exactly as it did.
"""

from __future__ import annotations

import dataclasses
import enum

from citycloud.tenants import pools, render
from citycloud.tenants.platform import IMPLICIT_CLUSTER, Platform

POOL_FOLDER_PREFIX = "pool."  # a dot: no tenant name (a DNS label) can look like a pool's folder
LABEL_CLUSTER = "citycloud.io/cluster"


class Kind(enum.StrEnum):
    POOL = "pool"
    TENANT = "tenant"


@dataclasses.dataclass(frozen=True)
class Unit:
    kind: Kind
    name: str  # the pool's or the tenant's
    manifests: list[render.Manifest]
    cluster: str = IMPLICIT_CLUSTER

    @property
    def key(self) -> str:
        """Its stack's name: the pool's or tenant's name, `.<cluster>` where declared."""
        return key(self.name, self.cluster)

    @property
    def folder(self) -> str:
        """Its folder in an export or the deployed snapshot; also how plan names it."""
        return folder(self.kind, self.key)


def key(name: str, cluster: str) -> str:
    return f"{name}.{cluster}" if cluster else name


def split(unit_key: str) -> tuple[str, str]:
    """A unit's key as (pool or tenant name, cluster): names and clusters are DNS labels,
    so the first dot separates them."""
    name, _, cluster = unit_key.partition(".")
    return name, cluster


def folder(kind: Kind, unit_key: str) -> str:
    return f"{POOL_FOLDER_PREFIX}{unit_key}" if kind is Kind.POOL else unit_key


def pool_units(platform: Platform, name: str) -> list[Unit]:
    """A pool's units: one per cluster it runs on."""
    pool = platform.pools[name]
    return [_placed(Unit(Kind.POOL, name, pools.render_pool(pool, platform=platform), cluster))
            for cluster in platform.pool_clusters[name]]


def tenant_units(platform: Platform, name: str) -> list[Unit]:
    """A tenant's units: one per cluster it is placed on."""
    tenant = platform.tenants[name]
    return [_placed(Unit(Kind.TENANT, name,
                         render.render_tenant(tenant, platform=platform, cluster=cluster),
                         cluster))
            for cluster in platform.placements(tenant)]


def _placed(unit: Unit) -> Unit:
    """A unit on a declared cluster: every object says which, so a folder, a plan and an
    export can tell a disaster-recovery tenant's two copies apart."""
    if unit.cluster != IMPLICIT_CLUSTER:
        for manifest in unit.manifests:
            manifest["metadata"].setdefault("labels", {})[LABEL_CLUSTER] = unit.cluster
    return unit


def render_units(platform: Platform) -> list[Unit]:
    """Every unit of the platform: the pools, then the tenants, in registry order."""
    return ([u for name in platform.pools for u in pool_units(platform, name)]
            + [u for name in platform.tenants for u in tenant_units(platform, name)])


def render_all(platform: Platform) -> list[render.Manifest]:
    """Every object of the platform, pools first."""
    return [m for unit in render_units(platform) for m in unit.manifests]


def apply_order(folder: str) -> tuple[bool, str]:
    """Sort key of unit folders: pools before tenants (their namespaces, priority classes and
    guardrails must exist first), then by name."""
    return (not folder.startswith(POOL_FOLDER_PREFIX), folder)


def folder_of(manifest: render.Manifest) -> str:
    """The unit folder an object belongs to, read from the labels the rendering gives it."""
    labels = manifest["metadata"].get("labels", {})
    cluster = str(labels.get(LABEL_CLUSTER, IMPLICIT_CLUSTER))
    if render.LABEL_TENANT in labels:
        return key(str(labels[render.LABEL_TENANT]), cluster)
    pool = labels.get(render.LABEL_PLATFORM_POOL) or labels.get(render.LABEL_POOL)
    return folder(Kind.POOL, key(str(pool), cluster)) if pool else "_unknown"
