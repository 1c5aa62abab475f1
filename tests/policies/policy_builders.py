"""Builders the policy tests share: small registries written to disk, and the fixed day.

Registries are written as YAML files and loaded with tenants.load, the same way
a user's registry is, so line numbers and loader checks are the real ones.
"""

from __future__ import annotations

import datetime
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import yaml

from citycloud import policies, tenants

BAD = pathlib.Path(__file__).resolve().parent / "bad"
TODAY = datetime.date(2026, 1, 1)  # waiver expiry is judged as of this fixed day
MakeRegistry = Callable[..., tenants.Platform]  # the make_registry fixture (conftest.py)

POOL: dict[str, Any] = {
    "name": "gov", "kind": "gov",
    "capacity": {"cpu": "10", "memory": "10Gi", "storage": "1Ti"},
    "placement": {"nodeSelector": {"citycloud.io/pool": "gov"},
                  "taint": {"key": "citycloud.io/pool", "value": "gov"},
                  "architectures": ["amd64"]},
    "imageRegistries": ["registry.city.gov.cn"],
}
DEPARTMENT: dict[str, Any] = {
    "code": "ct-a", "name": "某局", "level": "city", "owners": ["ct-a-admins"],
    "contacts": [{"name": "信息中心", "email": "it@a.gov.cn"}], "costCentre": "CT-A"}


def ours(report: policies.Report) -> list[tenants.Diagnostic]:
    """Findings of the sets this folder tests (the network set has tests/networks)."""
    return [d for d in report.findings if not d.code.startswith("network.")]


def codes(report: policies.Report) -> list[str]:
    return [d.code for d in ours(report)]


def tenant(name: str, *, department: str = "ct-a", pool: str = "gov", classification: int = 2,
           cpu: str = "1", memory: str = "1Gi", storage: str = "10Gi",
           **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "citycloud.io/v1", "kind": "Tenant",
        "metadata": {"name": name, "department": department, "description": "测试系统"},
        "spec": {"pool": pool, "classification": classification, "owners": [f"{department}-admins"],
                 "quota": {"cpu": cpu, "memory": memory, "storage": storage},
                 "namespaces": ["app"], **spec},
    }


def write_registry(root: pathlib.Path, *tenant_docs: dict[str, Any],
                   pools: list[dict[str, Any]] | None = None,
                   departments: list[dict[str, Any]] | None = None,
                   settings: dict[str, Any] | None = None,
                   waivers: list[dict[str, Any]] | None = None) -> pathlib.Path:
    """A small registry (one gov pool, department ct-a unless told) written to `root`."""
    shutil.rmtree(root, ignore_errors=True)
    spec: dict[str, Any] = {"pools": pools or [POOL]}
    if settings is not None:
        spec["policies"] = settings
    _dump(root / "platform.yaml", {"apiVersion": "citycloud.io/v1", "kind": "Platform",
                                   "metadata": {"name": "test-city"}, "spec": spec})
    _dump(root / "departments.yaml", {"apiVersion": "citycloud.io/v1", "kind": "DepartmentList",
                                      "departments": departments or [DEPARTMENT]})
    if waivers is not None:
        _dump(root / "waivers.yaml", {"apiVersion": "citycloud.io/v1", "kind": "WaiverList",
                                      "waivers": waivers})
    for doc in tenant_docs:
        meta = doc["metadata"]
        _dump(root / "tenants" / meta["department"] / f"{meta['name']}.yaml", doc)
    return root


class _NoAliases(yaml.SafeDumper):
    """The registry refuses YAML aliases; write shared test dicts out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(path: pathlib.Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(data, Dumper=_NoAliases, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
