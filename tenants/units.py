"""Everything the platform becomes in Kubernetes, in units: the one rendering.

A unit is what one stack owns and one folder of the GitOps export holds: a pool (its
platform namespace, RBAC, PriorityClasses, contract ConfigMap, guardrails and their
bindings; tenants.pools) or a tenant (its namespaces and what guards them; tenants.render).
`plan`, `render`, the deployed snapshot, the stack fingerprints and the Pulumi programs all
take their objects from here, so none of them can disagree with another.

Pools come first: their namespaces, priority classes and guardrails must exist before a
tenant's objects are admitted.
"""

from __future__ import annotations

import dataclasses
import enum

from citycloud.tenants import pools, render
from citycloud.tenants.platform import Platform

POOL_FOLDER_PREFIX = "pool."  # a dot: no tenant name (a DNS label) can look like a pool's folder


class Kind(enum.StrEnum):
    POOL = "pool"
    TENANT = "tenant"


@dataclasses.dataclass(frozen=True)
class Unit:
    kind: Kind
    name: str
    manifests: list[render.Manifest]

    @property
    def folder(self) -> str:
        """Its folder in an export or the deployed snapshot; also how plan names it."""
        return folder(self.kind, self.name)


def folder(kind: Kind, name: str) -> str:
    return f"{POOL_FOLDER_PREFIX}{name}" if kind is Kind.POOL else name


def pool_unit(platform: Platform, name: str) -> Unit:
    return Unit(Kind.POOL, name, pools.render_pool(platform.pools[name], platform=platform))


def tenant_unit(platform: Platform, name: str) -> Unit:
    return Unit(Kind.TENANT, name,
                render.render_tenant(platform.tenants[name], platform=platform))


def render_units(platform: Platform) -> list[Unit]:
    """Every unit of the platform: the pools, then the tenants, in registry order."""
    return ([pool_unit(platform, name) for name in platform.pools]
            + [tenant_unit(platform, name) for name in platform.tenants])


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
    if render.LABEL_TENANT in labels:
        return str(labels[render.LABEL_TENANT])
    pool = labels.get(render.LABEL_PLATFORM_POOL) or labels.get(render.LABEL_POOL)
    return folder(Kind.POOL, str(pool)) if pool else "_unknown"
