"""The engine's contract for policy authors (the network set registers the same way)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from policy_builders import BAD, TODAY, MakeRegistry
from registries import tenant

from citycloud import policies, tenants
from citycloud.policies import engine


@pytest.fixture
def scratch() -> Iterator[list[str]]:
    """Ids registered by a test, removed afterwards so the catalogue stays as shipped."""
    added: list[str] = []
    yield added
    for rule_id in added:
        engine.POLICIES.pop(rule_id, None)


@pytest.mark.parametrize(("rule_id", "rule_set", "error"), [
    pytest.param("security.pod-security", "security", "registered twice", id="duplicate"),
    pytest.param("misc.rule", "misc", "set must be one of", id="unknown set"),
    pytest.param("standards.x", "security", "must be named 'security.<rule>'", id="wrong prefix"),
])
def test_registration_refuses_mistakes(scratch: list[str], rule_id: str, rule_set: str,
                                       error: str) -> None:
    with pytest.raises(ValueError, match=error):
        engine.policy(rule_id, set=rule_set, title="t", rationale="r")(lambda p: iter(()))


def test_findings_get_the_policy_id_and_severity(make_registry: MakeRegistry,
                                                 scratch: list[str]) -> None:
    def check(ctx: engine.Context) -> Iterator[tenants.Diagnostic]:
        for t in ctx.platform.tenants.values():
            yield engine.tenant_finding(ctx.platform, t, ("spec", "quota", "cpu"), "too round")

    engine.policy("standards.test-round", set="standards", title="t", rationale="r",
                  severity=engine.Severity.WARNING)(check)
    scratch.append("standards.test-round")
    report = policies.evaluate(make_registry(tenant("ct-a-s1")), today=TODAY)
    assert [(d.code, d.severity, d.location, d.field, d.tenant) for d in report.findings] == [
        ("standards.test-round", "warning", "tenants/ct-a/ct-a-s1.yaml:13", "spec.quota.cpu",
         "ct-a-s1")]
    assert report.ok and report.warnings == 1
    assert "standards.test-round" in report.policies


def test_findings_are_grouped_by_tenant_in_a_stable_order(bad_report: policies.Report) -> None:
    tenants_in_order = [d.tenant for d in bad_report.findings]
    assert tenants_in_order == sorted(tenants_in_order)
    again = policies.evaluate(tenants.load(BAD), today=TODAY)
    assert again.findings == bad_report.findings


def test_an_evaluation_keeps_no_platform_once_it_is_done() -> None:
    """What the checks derive lives in the evaluation's Context, not in a module: a cache of
    the last Platform seen (as engine and networks once kept) would hold this one alive."""
    platform = tenants.load(BAD)
    policies.evaluate(platform, today=TODAY)
    held = weakref.ref(platform)
    del platform
    gc.collect()
    assert held() is None


def test_a_context_derives_each_result_once_and_for_itself(make_registry: MakeRegistry,
                                                           ) -> None:
    platform = make_registry(tenant("ct-a-s1"))
    calls: list[engine.Context] = []

    def count(ctx: engine.Context) -> int:
        calls.append(ctx)
        return len(calls)

    first, second = engine.Context(platform), engine.Context(platform)
    assert [first.derived(count), first.derived(count), second.derived(count)] == [1, 1, 2]
    ct_a = platform.tenants["ct-a-s1"]
    assert first.rendered(ct_a) is first.rendered(ct_a)
    assert first.capacity is first.capacity


def test_policies_violations_carries_the_report(bad_report: policies.Report) -> None:
    error = policies.PolicyViolations(bad_report)
    assert error.report is bad_report
    assert str(error) == f"{bad_report.errors} policy violation(s)"
