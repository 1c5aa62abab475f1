"""Private networks (业务专网): what departments registered, and what policy says about it.

The point of the unified cloud is that departments stop building their own
private business networks. Ops watches three things here: how many networks
each department holds per purpose (a purpose held by several departments is
a consolidation candidate, see rules/networks.yaml), the network policies'
findings by kind (overlaps, purposes a shared network already serves,
functional duplicates), and the shared networks that could absorb them. The
plumbing departments build in the cluster without registering it is counted
by the live collector (monitoring.live).
"""

from __future__ import annotations

import collections
from collections.abc import Callable

from citycloud import policies, tenants
from citycloud.monitoring import _families

NETWORK_SET = "network"

ReportGetter = Callable[[], policies.Report]


class NetworkCollector(_families.Collector):
    """Registered private and shared networks, and the network policies' findings."""

    def __init__(self, platform: Callable[[], tenants.Platform], *,
                 report: ReportGetter) -> None:
        self._platform = platform
        self._report = report
        self._registered = _families.Memo(registered_families)
        self._findings = _families.Memo(finding_families)

    def families(self) -> list[_families.Family]:
        families = [*self._registered(self._platform()), *self._findings(self._report())]
        return families


def registered_families(platform: tenants.Platform) -> list[_families.Family]:
    count: collections.Counter[tuple[str, str]] = collections.Counter()
    addresses: collections.Counter[tuple[str, str]] = collections.Counter()
    info = []
    for tenant in platform.tenants.values():
        for network in tenant.spec.networks:
            key = (tenant.department, network.purpose)
            count[key] += 1
            addresses[key] += network.cidr.num_addresses
            info.append(((tenant.name, tenant.department, network.name, str(network.cidr),
                          network.purpose, ",".join(network.sites)), 1.0))
    shared = [((n.name, n.display_name, ",".join(str(c) for c in n.cidrs),
                ",".join(n.purposes)), 1.0) for n in platform.shared_networks.values()]
    return [
        _families.Family(
            "citycloud_private_networks",
            "Private networks registered by the department's tenants, per purpose",
            ("department", "purpose"), [(k, float(v)) for k, v in sorted(count.items())]),
        _families.Family(
            "citycloud_private_network_addresses",
            "Addresses in the department's private networks of the purpose",
            ("department", "purpose"), [(k, float(v)) for k, v in sorted(addresses.items())]),
        _families.Family(
            "citycloud_private_network_info", "A private network a tenant asks for (value 1)",
            ("tenant", "department", "network", "cidr", "purpose", "sites"), info),
        _families.Family(
            "citycloud_shared_network_info",
            "A shared network of the platform that tenants reach instead of their own (value 1)",
            ("network", "display_name", "cidrs", "purposes"), shared),
    ]


def finding_families(report: policies.Report) -> list[_families.Family]:
    counts: collections.Counter[tuple[str, str]] = collections.Counter(
        (kind(d.code), str(d.severity)) for d in report.findings if is_network(d.code))
    for rule_id in report.policies:  # zero rows for network policies that ran clean
        if is_network(rule_id):
            counts.setdefault((kind(rule_id), str(policies.POLICIES[rule_id].severity)), 0)
    return [_families.Family(
        "citycloud_network_findings",
        "Standing findings of the network policies by kind (overlap-private, "
        "functional-duplicate, consolidation, ...)",
        ("kind", "severity"), [(k, float(v)) for k, v in sorted(counts.items())])]


def is_network(code: str) -> bool:
    rule = policies.POLICIES.get(code)
    return rule.set == NETWORK_SET if rule else code.startswith(f"{NETWORK_SET}.")


def kind(code: str) -> str:
    """network.functional-duplicate -> functional-duplicate."""
    return code.removeprefix(f"{NETWORK_SET}.")
