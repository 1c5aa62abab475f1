"""The Wuhan example rendered once per session."""

from __future__ import annotations

import pytest
from render_helpers import wuhan_platform

from citycloud import tenants
from citycloud.tenants import render, units


@pytest.fixture(scope="session")
def platform() -> tenants.Platform:
    return wuhan_platform()


@pytest.fixture(scope="session")
def rendered(platform: tenants.Platform) -> dict[str, list[render.Manifest]]:
    """Every Wuhan tenant's objects, by tenant name (on its first cluster: a
    disaster-recovery tenant has the same on its second)."""
    return {name: units.tenant_units(platform, name)[0].manifests for name in platform.tenants}
