"""A rendered Kubernetes manifest (a plain dict) -> the pulumi_kubernetes resource that owns it.

The stacks never describe an object themselves: they take the renderer's dicts
and hand them to the typed resource class of their kind, unchanged. The class
is found from apiVersion and kind (`rbac.authorization.k8s.io/v1` RoleBinding
-> `pulumi_kubernetes.rbac.v1.RoleBinding`), so a kind the renderer starts to
emit needs no code here; kinds outside Kubernetes' own API groups (custom
resources) go through `apiextensions.CustomResource`.

Nested dicts keep their camelCase keys: that is the wire format the provider
expects, and it lets a test compare the engine's inputs with the rendered
dicts key for key. Only the top-level fields become keyword arguments, and
their names are the classes' snake_case ones (`roleRef` -> `role_ref`).
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any

import pulumi
from pulumi_kubernetes import apiextensions

from citycloud.tenants import render

# Kinds whose deletion takes data with it: protected, and kept in the cluster if their
# resource ever leaves a stack other than by `citycloud offboard`.
PROTECTED_KINDS = frozenset({("v1", "Namespace")})

# API groups served by Kubernetes itself, for which pulumi_kubernetes has typed classes.
_BUILTIN_GROUPS = frozenset({"apps", "batch", "policy", "autoscaling"})
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

# pulumi_kubernetes reaches its API modules lazily, by attribute, which is not thread-safe:
# with stacks run in parallel (threads of one process), one program saw another's half-run
# import ("module 'pulumi_kubernetes.meta.v1' has no attribute 'ObjectMetaArgs'"). So every
# module the pool and tenant objects use is imported here, whole, before any program runs
# (tests/stacks/test_programs.py checks the list against the objects).
PRELOADED = tuple(importlib.import_module(f"pulumi_kubernetes.{name}") for name in (
    "meta.v1", "core.v1", "networking.v1", "rbac.v1", "scheduling.v1",
    "admissionregistration.v1"))


def logical_name(manifest: render.Manifest) -> str:
    """The resource's name in the stack: `namespace/name`, or `name` if cluster-scoped.

    It derives from the object's identity only, so it never changes while the
    object stays the same object (a changed logical name would be a replace).
    """
    _, _, namespace, name = render.key(manifest)
    return f"{namespace}/{name}" if namespace else name


def is_protected(manifest: render.Manifest) -> bool:
    return (manifest["apiVersion"], manifest["kind"]) in PROTECTED_KINDS


@functools.cache
def resource_class(api_version: str, kind: str) -> type[pulumi.CustomResource] | None:
    """The typed pulumi_kubernetes class of a built-in kind; None for custom resources."""
    group, _, version = api_version.rpartition("/")
    if group and not (group.endswith(".k8s.io") or group in _BUILTIN_GROUPS):
        return None
    module_name = group.split(".")[0] if group else "core"
    try:
        module = importlib.import_module(f"pulumi_kubernetes.{module_name}.{version}")
    except ImportError:
        return None
    cls = getattr(module, kind, None)
    if isinstance(cls, type) and issubclass(cls, pulumi.CustomResource):
        return cls
    return None


def arguments(manifest: render.Manifest) -> dict[str, Any]:
    """Top-level fields as the typed class's keyword arguments; nested values untouched."""
    return {_CAMEL.sub("_", field).lower(): value for field, value in manifest.items()
            if field not in ("apiVersion", "kind")}


def create(manifest: render.Manifest, *, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register one manifest as a Pulumi resource with the given options."""
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    name = logical_name(manifest)
    cls = resource_class(api_version, kind)
    if cls is None:
        extra = {field: value for field, value in manifest.items()
                 if field not in ("apiVersion", "kind", "metadata")}
        return apiextensions.CustomResource(
            name, api_version=api_version, kind=kind, metadata=manifest.get("metadata"),
            opts=opts, **extra)
    resource: pulumi.CustomResource = cls(name, opts=opts, **arguments(manifest))
    return resource
