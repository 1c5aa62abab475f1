"""A state directory with an audit log of five records, to read, tamper with and prune.

Records are written through the real `tenants.audit.trail.record` (real files, real
flock), dated 300, 250, 200, 10 and 1 days before auditlogs.NOW, so that
pruning finds records on both sides of the 180-day line.
"""

from __future__ import annotations

import pathlib

import auditlogs
import pytest

from citycloud.tenants.audit import trail


@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(trail.KEY_ENV, raising=False)
    monkeypatch.delenv(trail.ACTOR_ENV, raising=False)
    monkeypatch.delenv("CITYCLOUD_STATE_DIR", raising=False)


@pytest.fixture
def state_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A state directory holding records 1..5, on lines 1..5 of audit.jsonl."""
    return auditlogs.fill(tmp_path / "state")
