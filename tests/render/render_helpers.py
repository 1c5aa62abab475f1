"""Helpers of the render tests: the Wuhan platform, loaded once, and made-up tenants."""

from __future__ import annotations

import functools
import pathlib
from typing import Any

from citycloud import tenants
from citycloud.tenants import models

WUHAN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "wuhan"


@functools.cache
def wuhan_platform() -> tenants.Platform:
    """Loaded once per session (hypothesis tests cannot take function-scoped fixtures)."""
    return tenants.load(WUHAN)


def make_tenant(**spec: Any) -> models.Tenant:
    """A tenant of wh-gongan in the gov pool, with `spec` fields overriding the defaults."""
    return models.Tenant.model_validate({
        "apiVersion": models.API_VERSION,
        "kind": "Tenant",
        "metadata": {"name": "wh-gongan-made-up", "department": "wh-gongan"},
        "spec": {"pool": "gov", "classification": 2, "owners": ["wh-gongan-admins"],
                 "quota": {"cpu": 8, "memory": "32Gi", "storage": "1Ti"},
                 "namespaces": ["app"]} | spec,
    })
