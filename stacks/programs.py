"""The Pulumi programs: entry points that read config and wire what a stack holds.

A pool stack (project citycloud-pool, stack = pool name) holds one Pool component; a
shard stack (project citycloud-shard, stack = <pool>-<NN>) holds one stacks.objects
resource per tenant unit (stacks/README.md). On a cluster platform.yaml declares, the
stack is <name>.<cluster> (tenants.units.key). The CLI runs them inline through the
Automation API (stacks.engine), and stacks/pool/__main__.py and stacks/shard/__main__.py
run the same functions for anyone using the `pulumi` CLI directly. Only these entry
points read Config; the components take plain arguments.

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
    from citycloud.stacks import components, objects  # noqa: F401 (resources, PRELOADED)


def connection(cluster: Cluster) -> dict[str, str | None]:
    """How a shard's resources reach their cluster (stacks.objects)."""
    return {"kubeconfig": cluster.kubeconfig, "context": cluster.context,
            "renderTo": cluster.render_to}


@dataclasses.dataclass(frozen=True)
class Staged:
    """A tenant unit whose objects are staged (stacks.objects.stage) for its shard."""

    unit: str  # its key: <tenant>[.<cluster>]
    fingerprint: str
    about: dict[str, str]  # tenant, department, pool, cluster


def shard_program(units_: list[Staged], *, staged: pathlib.Path, cluster: Cluster,
                  provider: str) -> Program:
    """The program of a shard stack's update: the units to change, one resource each
    (the engine runs it with --target them: the shard's other units stay as they are).
    Every resource retains its objects when it leaves the stack: only offboarding, which
    lifts that, deletes them."""

    def run() -> None:
        import pulumi

        from citycloud.stacks import objects

        opts = pulumi.ResourceOptions(retain_on_delete=True)
        for unit in units_:
            objects.Objects(unit.unit, provider=provider, fingerprint=unit.fingerprint,
                            staged=staged, connection=connection(cluster), about=unit.about,
                            opts=opts)

    return run


def program(unit: units.Unit, *, cluster: Cluster) -> Program:
    """The program of a pool's stack: its provider and one component holding the pool's
    rendered objects (tenants.units renders them; nothing here renders again)."""

    def run() -> None:
        import pulumi

        from citycloud.stacks import components

        opts = pulumi.ResourceOptions(providers=[provider(cluster)])
        if unit.cluster:
            pulumi.export("cluster", unit.cluster)
        pool = components.Pool(unit.name, unit.manifests, opts=opts)
        pulumi.export("pool", unit.name)
        pulumi.export("namespaces", pool.namespaces)
        pulumi.export("objects", len(pool.manifests))

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


def main_shard() -> None:
    """`pulumi up -s tenants-03` in stacks/shard: every unit of the registry in that shard,
    staged under the state directory `citycloud:stateDir` (default .citycloud)."""
    import pulumi

    from citycloud.stacks import layout

    platform, cluster = _standalone()
    shard, at = units.split(pulumi.get_stack())
    state = layout.StateDir(pathlib.Path(
        pulumi.Config(CONFIG_NAMESPACE).get("stateDir") or ".citycloud"))
    found = [Staged(unit.key, state.stage(unit.manifests), about(platform, unit))
             for name in platform.tenants for unit in units.tenant_units(platform, name)
             if unit.cluster == at
             and layout.shard_of(name, cluster=at).name == units.key(shard, at)]
    from citycloud.stacks import objects

    shard_program(found, staged=state.staged_dir, cluster=cluster.placed(platform, at),
                  provider=objects.serialized_provider())()


def about(platform: Platform, unit: units.Unit) -> dict[str, str]:
    """What a tenant unit's resource keeps of it, for offboarding's record."""
    model = platform.tenants[unit.name]
    return {"tenant": unit.name, "department": model.department, "pool": model.spec.pool,
            "cluster": unit.cluster}


def main_pool() -> None:
    """`pulumi up -s gov` in stacks/pool: the stack's name is the pool's (.<cluster>)."""
    import pulumi

    platform, cluster = _standalone()
    name, at = units.split(pulumi.get_stack())
    unit = next(u for u in units.pool_units(platform, name) if u.cluster == at)
    program(unit, cluster=cluster.placed(platform, at))()
