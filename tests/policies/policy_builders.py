"""What the policy tests share: the small registry's pool and department, the fixed day.

Registries are built with tests/registries.py (the make_registry fixture of
conftest.py writes them and loads them with tenants.load).
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Callable

import registries

from citycloud import policies, tenants

BAD = pathlib.Path(__file__).resolve().parent / "bad"
TODAY = datetime.date(2026, 1, 1)  # waiver expiry is judged as of this fixed day
MakeRegistry = Callable[..., tenants.Platform]  # the make_registry fixture (conftest.py)

# The small registry's one pool and one department, unless a test gives others.
POOL = registries.pool("gov", cpu="10", memory="10Gi", storage="1Ti")
DEPARTMENT = registries.department("ct-a", name="某局", cost_centre="CT-A",
                                   contacts=[{"name": "信息中心", "email": "it@a.gov.cn"}])


def ours(report: policies.Report) -> list[tenants.Diagnostic]:
    """Findings of the sets this folder tests (the network set has tests/networks)."""
    return [d for d in report.findings if not d.code.startswith("network.")]


def codes(report: policies.Report) -> list[str]:
    return [d.code for d in ours(report)]
