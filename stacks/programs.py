"""The Pulumi programs: entry points that read config and wire one component each.

A pool stack (project citycloud-pool, stack = pool name) holds one Pool; a
tenant stack (project citycloud-tenant, stack = tenant name) holds one Tenant.
The CLI runs them inline through the Automation API (stacks.engine), and
stacks/pool/__main__.py and stacks/tenant/__main__.py run the same functions
for anyone using the `pulumi` CLI directly. Only these entry points read
Config; the components take plain arguments.

Every stack gets its own explicit Kubernetes provider: its kubeconfig and
context come from the command line, not from ambient configuration, and its
`cluster_identifier` is the platform's name, so pointing the same state at a
moved kubeconfig file is an update, not a replacement of every object.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from citycloud import tenants
from citycloud.stacks import components, pools
from citycloud.tenants import platform as platform_

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


def provider(cluster: Cluster) -> kubernetes.Provider:
    args: dict[str, Any] = {"cluster_identifier": cluster.identifier,
                            "enable_server_side_apply": True}
    if cluster.kubeconfig:
        args["kubeconfig"] = cluster.kubeconfig
    if cluster.context:
        args["context"] = cluster.context
    if cluster.render_to:
        args["render_yaml_to_directory"] = cluster.render_to
    return kubernetes.Provider("kubernetes", **args)


def tenant_program(tenant: str, *, platform: platform_.Platform, cluster: Cluster) -> Program:
    """The program of tenant stack `tenant`: its provider and one Tenant component."""
    model = platform.tenants[tenant]

    def program() -> None:
        component = components.Tenant(model, platform=platform, opts=pulumi.ResourceOptions(
            providers=[provider(cluster)]))
        pulumi.export("tenant", model.name)
        pulumi.export("department", model.department)
        pulumi.export("pool", model.spec.pool)
        pulumi.export("namespaces", component.namespaces)

    return program


def pool_settings() -> pools.PoolSettings:
    """The pool stack's config (Pulumi.<pool>.yaml), read inside a running program."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    values = {key: config.get_object(key) for key in ("storageClasses", "adminGroups")}
    return pools.PoolSettings.from_config({k: v for k, v in values.items() if v is not None})


def pool_program(pool: str, *, platform: platform_.Platform, cluster: Cluster) -> Program:
    """The program of pool stack `pool`: its provider and one Pool component."""
    model = platform.pools[pool]

    def program() -> None:
        component = components.Pool(model, platform=platform, settings=pool_settings(),
                                    opts=pulumi.ResourceOptions(providers=[provider(cluster)]))
        pulumi.export("pool", model.name)
        pulumi.export("namespaces", component.namespaces)
        pulumi.export("objects", len(component.manifests))

    return program


# ---- entry points for the `pulumi` CLI (stacks/<project>/__main__.py) ------------------------


def _standalone() -> tuple[platform_.Platform, Cluster]:
    config = pulumi.Config(CONFIG_NAMESPACE)
    registry = config.get("registry") or os.environ.get("CITYCLOUD_REGISTRY", ".")
    platform = tenants.load(pathlib.Path(registry))
    cluster = Cluster(kubeconfig=config.get("kubeconfig"), context=config.get("context"),
                      identifier=platform.name)
    return platform, cluster


def main_tenant() -> None:
    """`pulumi up` in stacks/tenant: the stack's name is the tenant's."""
    platform, cluster = _standalone()
    tenant_program(pulumi.get_stack(), platform=platform, cluster=cluster)()


def main_pool() -> None:
    """`pulumi up -s gov` in stacks/pool: the stack's name is the pool's."""
    platform, cluster = _standalone()
    pool_program(pulumi.get_stack(), platform=platform, cluster=cluster)()
