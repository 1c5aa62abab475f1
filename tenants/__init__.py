"""The registry: models, loading, rendering of tenants into Kubernetes objects, plans."""

from tenants import capacity, manifests, models, plan, quantities, render, scaffold, schema
from tenants.diagnostics import Diagnostic, RegistryError, Severity
from tenants.loader import load
from tenants.platform import Platform

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
