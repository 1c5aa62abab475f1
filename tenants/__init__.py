"""The registry: models, loading, the rendering of the platform into Kubernetes objects
(tenants.units: pools and tenants), plans."""

from citycloud.tenants import (
    allocation,
    guardrails,
    manifests,
    models,
    plan,
    pools,
    quantities,
    render,
    scaffold,
    schema,
    units,
)
from citycloud.tenants.diagnostics import Diagnostic, RegistryError, Severity
from citycloud.tenants.loader import load
from citycloud.tenants.platform import Platform

__all__ = [
    "Diagnostic",
    "Platform",
    "RegistryError",
    "Severity",
    "allocation",
    "guardrails",
    "load",
    "manifests",
    "models",
    "plan",
    "pools",
    "quantities",
    "render",
    "scaffold",
    "schema",
    "units",
]
