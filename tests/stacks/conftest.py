"""Fixtures of the stacks tests: Pulumi mocks per test, the real engine when it is built.

Mocks are process-global in the Pulumi SDK, so `mock_engine` installs them
per test (a RecordingMonitor, see stack_mocks.py) and resets the root stack
and config afterwards. `pulumi_bin` finds the real `pulumi` and
`pulumi-resource-kubernetes` (stacks.binaries) for the tests that run the
real engine, and skips them when neither `make controlplane` nor PATH
provides them.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
import realparts
from pulumi.runtime import settings as pulumi_settings
from stack_mocks import MockEngine, Mocks, RecordingMonitor

from citycloud import tenants
from citycloud.stacks import binaries, errors


@pytest.fixture
def mock_engine() -> Iterator[MockEngine]:
    """Install recording mocks for one stack: mock_engine(project, stack, config={...})."""

    def install(project: str, stack: str, config: dict[str, Any] | None = None
                ) -> RecordingMonitor:
        monitor = RecordingMonitor(Mocks())
        pulumi_settings.ROOT.set(None)
        pulumi.runtime.set_all_config(
            {key: value if isinstance(value, str) else json.dumps(value)
             for key, value in (config or {}).items()}, [])
        pulumi.runtime.set_mocks(Mocks(), project=project, stack=stack, preview=False,
                                 monitor=monitor)
        return monitor

    yield install
    pulumi.runtime.set_all_config({}, [])
    pulumi_settings.ROOT.set(None)


@pytest.fixture(scope="session")
def wuhan_platform(wuhan: pathlib.Path) -> tenants.Platform:
    return tenants.load(wuhan)


@pytest.fixture(scope="session")
def pulumi_bin() -> binaries.Binaries:
    """The real pulumi CLI and Kubernetes provider, or skip (make controlplane builds them)."""
    try:
        return binaries.find()
    except errors.PulumiMissing as err:
        realparts.unavailable(f"real Pulumi engine not available: {str(err)[:160]}",
                              how="run `make controlplane` to build it")
