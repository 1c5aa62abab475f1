"""A registry of deliberately bad tenants trips each policy exactly where expected.

tests/policies/bad/ is a registry a careless city could write: each mistake is
on a line of its own, and the table below says which policy must report it, at
which file:line. Nothing else may be reported (apart from the network set,
tested in tests/networks), so a policy that fires in the wrong place, or twice,
fails here as surely as one that stays silent.
"""

from __future__ import annotations

import collections

import policy_builders
import pytest

from citycloud import policies
from citycloud.policies import engine

EXPECTED = [
    # departments.yaml
    ("departments.yaml:10", "standards.contacts"),  # bd-beta: tenants, no contact
    ("departments.yaml:14", "standards.cost-centre"),  # bd-beta: 'beta' fails ^BD-[A-Z]+$
    ("departments.yaml:15", "standards.department-code"),  # xx-gamma: not 'bd-'
    ("departments.yaml:15", "standards.cost-centre"),  # xx-gamma: no cost centre at all
    ("departments.yaml:24", "standards.department-code"),  # town under a city department
    # platform.yaml: pools
    ("platform.yaml:18", "security.image-registries"),  # gov approves docker.io/library
    ("platform.yaml:19", "security.encrypted-storage"),  # industry: a level-3 tenant, no class
    ("platform.yaml:21", "capacity.pool-allocatable"),  # industry: 9 of 8 cores
    ("platform.yaml:22", "placement.pool-isolation"),  # industry: no taint
    ("platform.yaml:27", "security.encrypted-storage"),  # xinchuang: a level-3 tenant, no class
    ("platform.yaml:27", "capacity.pool-headroom"),  # xinchuang: 130Gi of its clusters' 156Gi
    ("platform.yaml:31", "placement.pool-isolation"),  # xc selector does not exclude gov's
    ("platform.yaml:31", "placement.pool-isolation"),  # ... nor industry's
    ("platform.yaml:33", "placement.architectures"),  # loong64 declared, no Loongson vendor
    ("platform.yaml:33", "placement.architectures"),  # Hygon nodes, amd64 not declared
    # platform.yaml: policy settings
    ("platform.yaml:41", "engine.unknown-reference"),  # disabled: [security.no-such-rule]
    ("platform.yaml:52", "capacity.department-ceiling"),  # bd-alpha: 163 of 20 cores
    ("platform.yaml:53", "engine.unknown-reference"),  # ceiling for bd-ghost
    ("platform.yaml:59", "engine.unknown-reference"),  # allowedPoolFlows: pool 'industy'
    # platform.yaml: the catalogue of shared services
    ("platform.yaml:66", "sharing.catalogue"),  # bd-alpha-oa publishes no 'flies'
    ("platform.yaml:67", "sharing.catalogue"),  # office-automation listed twice
    ("platform.yaml:68", "sharing.catalogue"),  # tenant bd-alpha-oaa
    # platform.yaml: the clusters of the xinchuang pool
    ("platform.yaml:74", "capacity.cluster-headroom"),  # bd-xc-a: 5 of 6 cores
    ("platform.yaml:82", "capacity.cluster-allocatable"),  # bd-xc-c: 40Gi of 36Gi memory
    # tenants
    ("tenants/bd-alpha/bd-alpha-averyveryverylongsystemnamethatgoeson.yaml:4",
     "standards.naming"),  # 46 characters
    ("tenants/bd-alpha/bd-alpha-big.yaml:11", "capacity.tenant-fits"),  # 120 of 100 cores
    ("tenants/bd-alpha/bd-alpha-l4.yaml:8", "security.mlps-pool"),  # level 4, shared pool
    ("tenants/bd-alpha/bd-alpha-l4.yaml:9", "security.mlps-pool"),  # level 4 > maxClassification
    ("tenants/bd-alpha/bd-alpha-l4.yaml:14", "sharing.not-in-audience"),  # mail: not bd-alpha
    ("tenants/bd-alpha/bd-alpha-l4.yaml:16", "sharing.service-namespace"),  # calls from 'ap'
    ("tenants/bd-alpha/bd-alpha-lvl.yaml:9", "security.mlps-pool"),  # level 3 on industry
    ("tenants/bd-alpha/bd-alpha-oa.yaml:18", "sharing.declaration"),  # audience pool xinchaung
    ("tenants/bd-alpha/bd-alpha-oa.yaml:21", "sharing.service-namespace"),  # 'data'
    ("tenants/bd-alpha/bd-alpha-oa-web.yaml:16", "sharing.unknown-service"),  # 'mial'
    ("tenants/bd-alpha/bd-alpha-oa-web.yaml:17", "sharing.declaration"),  # files twice
    ("tenants/bd-alpha/bd-alpha-oa-web.yaml:18", "sharing.declaration"),  # its own service
    ("tenants/bd-alpha/bd-alpha-xc.yaml:14", "sharing.pool-flow"),  # xinchuang -> gov
    ("tenants/bd-alpha/bd-alpha-xc.yaml:14", "sharing.cross-cluster"),  # bd-xc-c: no podCidrs
    ("tenants/bd-beta/bd-beta-exposed.yaml:10", "security.cross-department-rights"),
    ("tenants/bd-beta/bd-beta-exposed.yaml:14", "security.default-deny"),  # 8.8.8.0/24
    ("tenants/bd-beta/bd-beta-mgmt.yaml:14", "security.management-network"),
    ("tenants/bd-beta/bd-beta-mgmt.yaml:19", "sharing.duplicate-system"),  # its own OA
    ("tenants/bd-beta/bd-beta-web.yaml:11", "standards.naming"),  # namespace 'default'
    ("tenants/bd-beta/bd-beta-web.yaml:13", "sharing.classification"),  # level 2 < mail's 3
    ("tenants/xx-gamma/xx-gamma-xc.yaml:13", "placement.dr-sites"),  # both at bd-north
    # waivers.yaml
    ("waivers.yaml:13", "engine.waiver-expired"),  # expired 2000-01-01
    ("waivers.yaml:14", "engine.waiver-unknown"),  # policy security.no-such
    ("waivers.yaml:20", "engine.waiver-unknown"),  # tenant bd-nobody
    ("waivers.yaml:24", "engine.waiver-unused"),  # bd-alpha-ok complies
]

# Policies that check what tenants.render makes of a tenant: no registry input can trip
# them while the renderer is right; test_policy_sets.py breaks the renderer to trip them.
RENDER_GUARDS = {"security.pod-security", "security.audit-annotations",
                 "standards.required-labels", "placement.guardrail-coverage"}
WAIVED = [("standards.description", "bd-beta-web")]  # the active waiver's finding


def test_every_expected_finding_and_nothing_else(bad_report: policies.Report) -> None:
    found = collections.Counter((d.location, d.code) for d in policy_builders.ours(bad_report))
    assert found == collections.Counter(EXPECTED)


def test_the_active_waiver_suppresses_its_finding_but_it_is_counted(
        bad_report: policies.Report) -> None:
    assert [(w.finding.code, w.finding.tenant) for w in bad_report.waived] == WAIVED
    assert bad_report.waived[0].location == "waivers.yaml:4"
    assert "standards.description" not in policy_builders.codes(bad_report)


def test_the_clean_tenant_of_the_bad_registry_has_no_finding(bad_report: policies.Report) -> None:
    assert [d for d in bad_report.findings if d.tenant == "bd-alpha-ok"
            and d.code != "engine.waiver-unknown" and d.code != "engine.waiver-unused"] == []


@pytest.mark.parametrize("rule", sorted(
    r.id for r in engine.POLICIES.values() if r.set != "network"))
def test_every_policy_is_tripped_here_or_by_a_broken_renderer(rule: str) -> None:
    """A new policy without a case in bad/ (or a render guard test) fails this test."""
    tripped = {code for _, code in EXPECTED} | {code for code, _ in WAIVED} | RENDER_GUARDS
    assert rule in tripped
