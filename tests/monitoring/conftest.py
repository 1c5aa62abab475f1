"""Fixtures for the exporter: the Wuhan platform (on its four clusters, or on one), a recorded
cluster, isolated registries."""

from __future__ import annotations

import pathlib
import shutil

import exporter_fixtures
import pytest
import registries
from prometheus_client import registry

from citycloud import tenants
from citycloud.monitoring import _families, cluster


@pytest.fixture(scope="session")
def platform(wuhan: pathlib.Path) -> tenants.Platform:
    return tenants.load(wuhan)


@pytest.fixture(scope="session")
def one_cluster(wuhan: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The Wuhan registry as a registry without clusters is: every pool on the one cluster
    the command line names. Read-only, like `wuhan`."""
    root = pathlib.Path(shutil.copytree(wuhan, tmp_path_factory.mktemp("one") / "registry"))
    registries.on_one_cluster(root)
    return root


@pytest.fixture(scope="session")
def one_cluster_platform(one_cluster: pathlib.Path) -> tenants.Platform:
    return tenants.load(one_cluster)


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
