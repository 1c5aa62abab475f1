"""The registry: models, loading, rendering of tenants into Kubernetes objects, plans."""

from citycloud.tenants import (
    capacity,
    manifests,
    models,
    plan,
    quantities,
    render,
    scaffold,
    schema,
)
from citycloud.tenants.diagnostics import Diagnostic, RegistryError, Severity
from citycloud.tenants.loader import load
from citycloud.tenants.platform import Platform

__all__ = [
    "Diagnostic",
    "Platform",
    "RegistryError",
    "Severity",
    "capacity",
    "load",
    "manifests",
    "models",
    "plan",
    "quantities",
    "render",
    "scaffold",
    "schema",
]
