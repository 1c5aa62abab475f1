"""Fixtures every test folder shares: the Wuhan example registry, read-only or as a copy.

Helpers shared across folders live beside this file (kube_schema.py); import
them by module name (`import kube_schema`): pytest puts tests/ on sys.path.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable

import clirun
import pytest
from typer.testing import Result

ROOT = pathlib.Path(__file__).resolve().parent.parent
WUHAN = ROOT / "examples" / "wuhan"


@pytest.fixture(scope="session")
def wuhan() -> pathlib.Path:
    """The example registry itself; tests must not write into it (use wuhan_copy)."""
    return WUHAN


@pytest.fixture
def wuhan_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    """A private copy of the Wuhan registry in tmp_path/wuhan, free to edit."""
    return pathlib.Path(shutil.copytree(WUHAN, tmp_path / "wuhan"))


Citycloud = Callable[..., Result]


@pytest.fixture
def citycloud() -> Citycloud:
    """Run the real CLI in-process: citycloud("-r", path, "validate", "-o", "json").

    Exceptions are not caught: a traceback a user would see fails the test.
    """
    return clirun.invoke
