"""Fixtures for the exporter: the Wuhan platform, a recorded cluster, isolated registries."""

from __future__ import annotations

import pathlib
import shutil

import exporter_fixtures
import pytest
from prometheus_client import registry

from citycloud import tenants
from citycloud.monitoring import _families, cluster


@pytest.fixture(scope="session")
def platform(wuhan: pathlib.Path) -> tenants.Platform:
    return tenants.load(wuhan)


@pytest.fixture
def snapshot() -> cluster.Snapshot:
    return exporter_fixtures.recorded_snapshot()


@pytest.fixture
def isolated() -> exporter_fixtures.Isolated:
    """A fresh CollectorRegistry holding only the given collectors (never the global one)."""

    def make(*collectors: _families.Collector) -> registry.CollectorRegistry:
        fresh = registry.CollectorRegistry()
        for collector in collectors:
            fresh.register(collector)
        return fresh

    return make


@pytest.fixture
def registry_copy(tmp_path: pathlib.Path, wuhan: pathlib.Path) -> pathlib.Path:
    """A private copy of the Wuhan registry, free to edit."""
    return pathlib.Path(shutil.copytree(wuhan, tmp_path / "registry"))
