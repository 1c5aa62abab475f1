"""Fixtures of the node tests; nodecity.py says what the registry they use holds."""

from __future__ import annotations

import pathlib

import pytest
from nodecity import make_node_registry

from citycloud import tenants


@pytest.fixture
def node_registry(tmp_path: pathlib.Path, wuhan: pathlib.Path) -> pathlib.Path:
    return make_node_registry(tmp_path / "registry", wuhan)


@pytest.fixture
def node_platform(node_registry: pathlib.Path) -> tenants.Platform:
    return tenants.load(node_registry)
