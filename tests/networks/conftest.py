"""Fixtures of the network tests: an empty city to fill with tenants."""

from __future__ import annotations

import pathlib

import netcity
import pytest


@pytest.fixture
def city(tmp_path: pathlib.Path) -> netcity.City:
    return netcity.new_city(tmp_path / "city")
