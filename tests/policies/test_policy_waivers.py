"""Waivers: an active one suppresses a finding (still counted), an expired one stops working.

Every case writes a real waivers.yaml and loads it with tenants.load, so the
dates are parsed the way a user's file is and findings point at its lines.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from policy_builders import TODAY, MakeRegistry, codes
from registries import tenant

from citycloud import policies, tenants

DAY = datetime.timedelta(days=1)
NAMING = tenant("ct-a-s1", namespaces=["default"])  # trips standards.naming, tenant-level


def waiver(expires: Any, policy: str = "standards.naming", name: str = "ct-a-s1") -> dict[str, Any]:
    return {"policy": policy, "tenant": name, "reason": "legacy namespace during migration",
            "approver": "平台安全组", "expires": expires}


@pytest.mark.parametrize(("expires", "active"), [
    pytest.param(TODAY + DAY, True, id="tomorrow"),
    pytest.param(TODAY, True, id="today is the last day"),
    pytest.param(TODAY - DAY, False, id="yesterday"),
])
def test_a_waiver_works_until_the_end_of_its_day(make_registry: MakeRegistry,
                                                 expires: datetime.date, active: bool) -> None:
    report = policies.evaluate(make_registry(NAMING, waivers=[waiver(expires)]), today=TODAY)
    if active:
        assert codes(report) == []
        assert [(w.finding.code, w.location) for w in report.waived] == [
            ("standards.naming", "waivers.yaml:4")]
        assert report.ok
    else:
        assert sorted(codes(report)) == ["engine.waiver-expired", "standards.naming"]
        assert report.waived == ()
        expired = next(d for d in report.findings if d.code == "engine.waiver-expired")
        assert (expired.location, expired.severity) == ("waivers.yaml:8", "warning")
        assert not report.ok


def test_a_waiver_only_covers_its_own_tenant(make_registry: MakeRegistry) -> None:
    other = tenant("ct-a-s2", namespaces=["default"])
    report = policies.evaluate(make_registry(NAMING, other, waivers=[waiver(TODAY)]), today=TODAY)
    assert [(d.code, d.tenant) for d in report.findings] == [("standards.naming", "ct-a-s2")]
    assert len(report.waived) == 1


@pytest.mark.parametrize(("policy", "name", "field"), [
    pytest.param("standards.nameing", "ct-a-s1", "waivers[0].policy", id="misspelt policy"),
    pytest.param("engine.waiver-expired", "ct-a-s1", "waivers[0].policy", id="engine codes"),
    pytest.param("standards.naming", "ct-a-gone", "waivers[0].tenant", id="unknown tenant"),
])
def test_a_waiver_naming_nothing_is_an_error(make_registry: MakeRegistry, policy: str,
                                             name: str, field: str) -> None:
    report = policies.evaluate(make_registry(NAMING, waivers=[waiver(TODAY, policy, name)]),
                               today=TODAY)
    assert sorted(codes(report)) == ["engine.waiver-unknown", "standards.naming"]
    unknown = next(d for d in report.findings if d.code == "engine.waiver-unknown")
    assert (unknown.field, unknown.severity) == (field, "error")


def test_a_waiver_nothing_needs_is_reported(make_registry: MakeRegistry) -> None:
    report = policies.evaluate(make_registry(tenant("ct-a-s1"), waivers=[waiver(TODAY)]),
                               today=TODAY)
    assert codes(report) == ["engine.waiver-unused"]
    assert report.ok  # a warning: the registry is still valid


def test_a_waiver_of_a_switched_off_policy_is_not_unused(make_registry: MakeRegistry) -> None:
    platform = make_registry(tenant("ct-a-s1"), waivers=[waiver(TODAY)],
                             settings={"disabled": ["standards.naming"]})
    assert codes(policies.evaluate(platform, today=TODAY)) == []


@pytest.mark.parametrize(("entry", "code"), [
    pytest.param({"expires": "next week"}, "date_from_datetime_parsing", id="not a date"),
    pytest.param({"approver": ""}, "string_too_short", id="no approver"),
    pytest.param({"reason": "ok"}, "string_too_short", id="no real reason"),
])
def test_a_malformed_waiver_file_is_invalid_input(make_registry: MakeRegistry,
                                                  entry: dict[str, Any], code: str) -> None:
    with pytest.raises(tenants.RegistryError) as caught:
        make_registry(NAMING, waivers=[{**waiver(TODAY), **entry}])
    assert [(d.file, d.code) for d in caught.value.diagnostics] == [("waivers.yaml", code)]
