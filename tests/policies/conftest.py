"""Fixtures for the policy tests: the Wuhan example's report, the deliberately bad registry.

`bad/` is a registry where every input-driven policy trips at a known line
(see test_policy_bad_registry.py); `make_registry` writes small registries for
edge cases (exactly full pools, waiver dates) clearer built in the test itself.
"""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import policy_builders
import pytest

from citycloud import policies, tenants


@pytest.fixture(scope="session")
def wuhan_report(wuhan: pathlib.Path) -> policies.Report:
    return policies.evaluate(tenants.load(wuhan), today=policy_builders.TODAY)


@pytest.fixture(scope="session")
def bad_report() -> policies.Report:
    return policies.evaluate(tenants.load(policy_builders.BAD), today=policy_builders.TODAY)


@pytest.fixture
def bad_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(shutil.copytree(policy_builders.BAD, tmp_path / "bad"))


@pytest.fixture
def make_registry(tmp_path: pathlib.Path) -> policy_builders.MakeRegistry:
    """Write a small registry (see policy_builders.write_registry) and load it."""

    def make(*tenant_docs: dict[str, Any], **options: Any) -> tenants.Platform:
        return tenants.load(policy_builders.write_registry(
            tmp_path / "registry", *tenant_docs, **options))

    return make
