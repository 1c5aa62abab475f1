"""Amounts for people are written one way everywhere (tenants.quantities): policy messages and
the pull-request review say "1 core" and "-84 cores" alike; tables and charts round to one
decimal in the resource's reading unit."""

from __future__ import annotations

from fractions import Fraction

import pytest

from citycloud.tenants import quantities


@pytest.mark.parametrize(("value", "resource", "shown"), [
    pytest.param(Fraction(1), "cpu", "1 core", id="one-core"),
    pytest.param(Fraction(-1), "cpu", "-1 core", id="one-core-over"),
    pytest.param(Fraction(84), "cpu", "84 cores", id="cores"),
    pytest.param(Fraction(1, 2), "cpu", "500m cores", id="millicores"),
    pytest.param(Fraction(-3, 2), "cpu", "-1500m cores", id="millicores-over"),
    pytest.param(Fraction(256 * 2**30), "memory", "256Gi", id="memory"),
    pytest.param(Fraction(-10 * 2**40), "storage", "-10Ti", id="storage-over"),
])
def test_exact_amounts(value: Fraction, resource: str, shown: str) -> None:
    assert quantities.format_amount(value, resource=resource) == shown


@pytest.mark.parametrize(("value", "resource", "shown"), [
    pytest.param(Fraction(27000), "cpu", "27,000.0 cores", id="cores"),
    pytest.param(Fraction(3 * 2**29), "memory", "1.5 GiB", id="memory"),
    pytest.param(Fraction(6054 * 2**40), "storage", "6,054.0 TiB", id="storage"),
])
def test_rounded_amounts(value: Fraction, resource: str, shown: str) -> None:
    assert quantities.format_rounded(value, resource=resource) == shown
    figure, unit = shown.split(" ")
    assert quantities.format_rounded(value, resource=resource, unit=False) == figure
    assert quantities.reading_unit(resource) == unit
