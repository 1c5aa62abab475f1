"""Fixtures for the policy tests: the Wuhan example's report, the deliberately bad registry.

`bad/` is a registry where every input-driven policy trips at a known line
(see test_policy_bad_registry.py); `make_registry` writes small registries (with
tests/registries.py) for edge cases (exactly full pools, waiver dates) clearer
built in the test itself.
"""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import policy_builders
import pytest
import registries

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
    """Write a small registry (one gov pool, department ct-a unless told) and load it.

    Every value on a line of its own (block=True): tests name the lines of its files.
    """

    def make(*tenant_docs: registries.Document, pools: list[registries.Document] | None = None,
             departments: list[registries.Document] | None = None,
             settings: dict[str, Any] | None = None,
             waivers: list[registries.Document] | None = None,
             shared_services: list[registries.Document] | None = None) -> tenants.Platform:
        return registries.make(
            tmp_path / "registry", *tenant_docs,
            platform=registries.platform(*(pools or [policy_builders.POOL]), policies=settings,
                                         shared_services=shared_services),
            departments=departments or [policy_builders.DEPARTMENT], waivers=waivers,
            block=True)

    return make
