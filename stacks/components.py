"""The Pool component: a pool's objects, one node in the resource graph of its stack.

(Tenants were components too, a stack each, until they moved into shard stacks as one
stacks.objects resource each: stacks/README.md.)

A component's children are exactly the manifests it is given, rendered once by
tenants.units (the one rendering), created generically by kind through
stacks.resources: nothing here knows what a ResourceQuota looks like, so a
plan, an export and an apply cannot disagree.

Options every child gets, and why:
- `parent=self`, so `pulumi stack --show-urns` reads as the registry does;
- `depends_on` its namespace, so objects are created after and deleted before it;
- namespaces `protect=True` and `retain_on_delete=True`: a registry edit that
  would delete or replace one fails instead of deleting workloads and volumes,
  and even a forced state edit leaves it in the cluster. `citycloud offboard`
  lifts both, in the stack's state, after its own checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from citycloud.stacks import resources
from citycloud.tenants import render

POOL_TYPE = "citycloud:pools:Pool"


def _children(parent: pulumi.ComponentResource,
              manifests: Sequence[render.Manifest]) -> dict[str, pulumi.CustomResource]:
    """Create every manifest as a child of `parent`; return them by logical name."""
    created: dict[str, pulumi.CustomResource] = {}
    namespaces: dict[str, pulumi.CustomResource] = {}
    for manifest in manifests:
        _, kind, namespace, name = render.key(manifest)
        protected = resources.is_protected(manifest)
        owner = namespaces.get(namespace)
        opts = pulumi.ResourceOptions(
            parent=parent,
            depends_on=[owner] if owner is not None else [],
            protect=protected,
            retain_on_delete=protected,
        )
        resource = resources.create(manifest, opts=opts)
        created[resources.logical_name(manifest)] = resource
        if kind == "Namespace" and manifest["apiVersion"] == "v1":
            namespaces[name] = resource
    return created


class _Unit(pulumi.ComponentResource):
    """The objects of one unit (tenants.units), as children created by kind."""

    manifests: list[render.Manifest]
    objects: dict[str, pulumi.CustomResource]
    namespaces: list[str]

    def __init__(self, type_: str, name: str, manifests: Sequence[render.Manifest],
                 opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_, name, None, opts)
        self.manifests = list(manifests)
        self.objects = _children(self, self.manifests)
        self.namespaces = [m["metadata"]["name"] for m in self.manifests
                           if m["kind"] == "Namespace" and m["apiVersion"] == "v1"]
        self.register_outputs(_outputs(self.manifests, namespaces=self.namespaces))


class Pool(_Unit):
    """One resource pool's pool-wide objects: platform namespace, RBAC, priorities, guardrails."""

    def __init__(self, name: str, manifests: Sequence[render.Manifest], *,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(POOL_TYPE, name, manifests, opts)


def _outputs(manifests: Sequence[render.Manifest], *, namespaces: list[str]) -> dict[str, Any]:
    return {"namespaces": namespaces, "objects": len(manifests)}
