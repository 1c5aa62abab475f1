"""The Wuhan example rendered once per session."""

from __future__ import annotations

import pytest
from render_helpers import wuhan_platform

from citycloud import tenants
from citycloud.tenants import render


@pytest.fixture(scope="session")
def platform() -> tenants.Platform:
    return wuhan_platform()


@pytest.fixture(scope="session")
def rendered(platform: tenants.Platform) -> dict[str, list[render.Manifest]]:
    """Every Wuhan tenant's objects, by tenant name."""
    return {name: render.render_tenant(tenant, platform=platform)
            for name, tenant in platform.tenants.items()}
