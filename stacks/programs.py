"""The Pulumi programs: entry points that read config and wire one component each.

A pool stack (project citycloud-pool, stack = pool name) holds one Pool; a
tenant stack (project citycloud-tenant, stack = tenant name) holds one Tenant. On a
cluster platform.yaml declares, the stack is <name>.<cluster> (tenants.units.key).
The CLI runs them inline through the Automation API (stacks.engine), and
stacks/pool/__main__.py and stacks/tenant/__main__.py run the same functions
for anyone using the `pulumi` CLI directly. Only these entry points read
Config; the components take plain arguments.

Programs are handed the objects tenants.units rendered (the same ones plan, render and the
fingerprints see) and only create them.

Every stack gets its own explicit Kubernetes provider: its kubeconfig and
context come from the command line (a declared cluster's context from the registry), not
from ambient configuration, and its
`cluster_identifier` is the platform's name, so pointing the same state at a
moved kubeconfig file is an update, not a replacement of every object.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from citycloud import tenants
from citycloud.tenants import units
from citycloud.tenants.platform import Platform

if TYPE_CHECKING:
    import pulumi_kubernetes as kubernetes

CONFIG_NAMESPACE = "citycloud"
Program = Callable[[], None]


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Where stacks apply. None means the provider's default (KUBECONFIG, current context)."""

    kubeconfig: str | None = None
    context: str | None = None
    identifier: str = "citycloud"  # the provider is replaced only if this changes
    render_to: str | None = None  # write YAML files here instead of talking to a cluster

    def fingerprint(self) -> str:
        return "|".join(str(v) for v in dataclasses.astuple(self))

    def placed(self, platform: Platform, cluster: str) -> Cluster:
        """The connection to one of the registry's clusters: its kubeconfig context in the
        same kubeconfig, and an identifier of its own. The implicit cluster of a pool that
        declares none is this one, as the command line gave it."""
        declared = platform.clusters.get(cluster)
        if declared is None:
            return self
        if self.render_to:  # no cluster to reach: a folder per cluster (the provider takes
            # no context with renderYamlToDirectory)
            return dataclasses.replace(self, identifier=f"{self.identifier}.{cluster}",
                                       render_to=f"{self.render_to}/{cluster}")
        return dataclasses.replace(self, context=declared.kube_context,
                                   identifier=f"{self.identifier}.{cluster}")


def provider(cluster: Cluster) -> kubernetes.Provider:
    import pulumi_kubernetes as kubernetes  # see load()

    args: dict[str, Any] = {"cluster_identifier": cluster.identifier,
                            "enable_server_side_apply": True}
    if cluster.kubeconfig:
        args["kubeconfig"] = cluster.kubeconfig
    if cluster.context:
        args["context"] = cluster.context
    if cluster.render_to:
        args["render_yaml_to_directory"] = cluster.render_to
    return kubernetes.Provider("kubernetes", **args)


def load() -> None:
    """Import the Pulumi SDK and every pulumi_kubernetes module the programs use.

    Not at import time: a second of a command's start, which a no-op `apply` (every stack
    unchanged), `plan` and our own previews never need. Call it, once, before programs run
    in threads (stacks.engine does): pulumi_kubernetes's lazy imports are not thread-safe
    (stacks.resources.PRELOADED)."""
    from citycloud.stacks import components  # noqa: F401 (imports resources, PRELOADED)


def program(unit: units.Unit, *, platform: Platform, cluster: Cluster) -> Program:
    """The program of a unit's stack: its provider and one component holding the unit's
    rendered objects (tenants.units renders them; nothing here renders again)."""

    def run() -> None:
        import pulumi

        from citycloud.stacks import components

        opts = pulumi.ResourceOptions(providers=[provider(cluster)])
        if unit.cluster:
            pulumi.export("cluster", unit.cluster)
        if unit.kind is units.Kind.POOL:
            pool = components.Pool(unit.name, unit.manifests, opts=opts)
            pulumi.export("pool", unit.name)
            pulumi.export("namespaces", pool.namespaces)
            pulumi.export("objects", len(pool.manifests))
            return
        model = platform.tenants[unit.name]
        tenant = components.Tenant(unit.name, unit.manifests, opts=opts)
        pulumi.export("tenant", model.name)
        pulumi.export("department", model.department)
        pulumi.export("pool", model.spec.pool)
        pulumi.export("namespaces", tenant.namespaces)

    return run


# ---- entry points for the `pulumi` CLI (stacks/<project>/__main__.py) ------------------------


def _standalone() -> tuple[Platform, Cluster]:
    import pulumi

    config = pulumi.Config(CONFIG_NAMESPACE)
    registry = config.get("registry") or os.environ.get("CITYCLOUD_REGISTRY", ".")
    platform = tenants.load(pathlib.Path(registry))
    cluster = Cluster(kubeconfig=config.get("kubeconfig"), context=config.get("context"),
                      identifier=platform.name)
    return platform, cluster


def _main(kind: units.Kind) -> None:
    import pulumi

    platform, cluster = _standalone()
    name, at = units.split(pulumi.get_stack())
    found = (units.pool_units(platform, name) if kind is units.Kind.POOL
             else units.tenant_units(platform, name))
    unit = next(u for u in found if u.cluster == at)
    program(unit, platform=platform, cluster=cluster.placed(platform, at))()


def main_tenant() -> None:
    """`pulumi up` in stacks/tenant: the stack's name is the tenant's (.<cluster>)."""
    _main(units.Kind.TENANT)


def main_pool() -> None:
    """`pulumi up -s gov` in stacks/pool: the stack's name is the pool's (.<cluster>)."""
    _main(units.Kind.POOL)
