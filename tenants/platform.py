"""The whole registry in memory: pools, shared networks, departments, tenants.

A Platform is what every later stage reads — policies, rendering, plans,
stacks, exporters — so it is immutable and knows where each fact came from
(file and line), letting any stage point a user at the line to change.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from collections.abc import Mapping

from citycloud.tenants import models, sources


@dataclasses.dataclass(frozen=True)
class Platform:
    root: pathlib.Path
    spec: models.PlatformFile
    departments: Mapping[str, models.Department]
    tenants: Mapping[str, models.Tenant]  # by name, sorted
    sources: Mapping[str, sources.Source]  # by file name relative to root
    tenant_files: Mapping[str, str]  # tenant name -> file name
    waivers: tuple[models.Waiver, ...] = ()  # from the optional waivers.yaml
    # NodeInventory files named by pools' nodes.inventory, by that name
    node_inventories: Mapping[str, models.NodeInventory] = dataclasses.field(
        default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.metadata.name

    # Cached: render and policies look these up once per tenant and network (2,000+ times).
    @functools.cached_property
    def pools(self) -> Mapping[str, models.Pool]:
        return {pool.name: pool for pool in self.spec.spec.pools}

    @functools.cached_property
    def clusters(self) -> Mapping[str, models.Cluster]:
        return {cluster.name: cluster for cluster in self.spec.spec.clusters}

    @functools.cached_property
    def pool_clusters(self) -> Mapping[str, tuple[str, ...]]:
        """Each pool's clusters by name, in platform.yaml's order. A pool that declares none
        has one: IMPLICIT_CLUSTER, the cluster the command line names."""
        found: dict[str, list[str]] = {name: [] for name in self.pools}
        for cluster in self.spec.spec.clusters:
            found.setdefault(cluster.pool, []).append(cluster.name)
        return {pool: tuple(names) or (IMPLICIT_CLUSTER,) for pool, names in found.items()}

    def placements(self, tenant: models.Tenant) -> tuple[str, ...]:
        """The clusters a tenant runs on: those its file names, else its pool's only one
        (none where the pool has several and the file names none: the loader says so)."""
        if tenant.spec.clusters:
            return tenant.spec.clusters
        clusters = self.pool_clusters.get(tenant.spec.pool, ())
        return clusters if len(clusters) == 1 else ()

    def cluster_capacity(self, cluster: str, pool: str) -> models.Resources | None:
        """A cluster's physical capacity: its own, or its pool's where it is the pool's one
        cluster (or the implicit one)."""
        declared = self.clusters.get(cluster)
        if declared is not None and declared.capacity is not None:
            return declared.capacity
        return self.pools[pool].capacity if len(self.pool_clusters[pool]) == 1 else None

    def pool_capacity(self, pool: str) -> models.Resources:
        """A pool's physical capacity: on the pool, or the sum of its clusters' (the loader
        makes sure exactly one of the two is given)."""
        own = self.pools[pool].capacity
        if own is not None:
            return own
        sizes = [c.capacity for c in self.spec.spec.clusters
                 if c.pool == pool and c.capacity is not None]
        total = sizes[0]
        for size in sizes[1:]:
            total = models.Resources(cpu=total.cpu + size.cpu, memory=total.memory + size.memory,
                                     storage=total.storage + size.storage)
        return total

    @functools.cached_property
    def shared_networks(self) -> Mapping[str, models.SharedNetwork]:
        return {network.name: network for network in self.spec.spec.shared_networks}

    @functools.cached_property
    def consumes_by_provider(self) -> Mapping[str, tuple[tuple[models.Tenant, int], ...]]:
        """Who asks for a tenant's services: provider name -> (consumer, index in its
        spec.consumes), in tenant order. Rendering needs both sides of a tenant's flows
        (tenants.sharing.requests_for); one pass here spares a pass over the city per tenant."""
        found: dict[str, list[tuple[models.Tenant, int]]] = {}
        for tenant in self.tenants.values():
            for index, request in enumerate(tenant.spec.consumes):
                found.setdefault(request.tenant, []).append((tenant, index))
        return {name: tuple(requests) for name, requests in found.items()}

    def tenants_in(self, pool: str) -> list[models.Tenant]:
        return [t for t in self.tenants.values() if t.spec.pool == pool]

    def where(self, file: str, *path: str | int) -> tuple[str, int]:
        """File and line of a value, e.g. where(f, "spec", "quota", "cpu")."""
        source = self.sources.get(file)
        return file, source.line_of(path) if source else 0

    def where_tenant(self, tenant: str, *path: str | int) -> tuple[str, int]:
        return self.where(self.tenant_files[tenant], *path)

    def pool_nodes(self, pool: str) -> tuple[models.Node, ...]:
        """A pool's machines, listed in platform.yaml or in the NodeInventory file it names."""
        nodes = self.pools[pool].nodes
        if nodes is None:
            return ()
        if nodes.inventory:
            inventory = self.node_inventories.get(nodes.inventory)
            return inventory.hosts if inventory else ()
        return nodes.hosts

    def where_node(self, pool: str, index: int, *path: str) -> tuple[str, int, str]:
        """File, line and dotted field of a pool's node, wherever the node is listed."""
        at = next(i for i, p in enumerate(self.spec.spec.pools) if p.name == pool)
        nodes = self.spec.spec.pools[at].nodes
        loc: tuple[str | int, ...]
        if nodes is not None and nodes.inventory:
            file, loc = nodes.inventory, ("hosts", index, *path)
        else:
            file, loc = PLATFORM_FILE, ("spec", "pools", at, "nodes", "hosts", index, *path)
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
        return (*self.where(file, *loc), field.lstrip("."))


IMPLICIT_CLUSTER = ""  # a pool's cluster where platform.yaml declares none
PLATFORM_FILE = "platform.yaml"
DEPARTMENTS_FILE = "departments.yaml"
WAIVERS_FILE = "waivers.yaml"  # optional: approved exceptions to policies
TENANTS_DIR = "tenants"
