"""What the network registry tells planners: a consolidation report, and free ranges.

The network policies say no to one request at a time; planners need the
whole picture (per purpose: which departments, how many addresses, which
shared network could carry them) and, when a department does get a network,
a range that collides with nothing registered. Both read the same `Segment`s
as the policies, so the report and the findings cannot disagree.
"""

from __future__ import annotations

import collections
import dataclasses

from citycloud import tenants
from citycloud.policies import _prefixes, networks
from citycloud.tenants import errors, fields


@dataclasses.dataclass(frozen=True)
class Purpose:
    """One purpose served by department networks, and where it could move."""

    purpose: str
    departments: tuple[str, ...]
    tenants: tuple[str, ...]
    cidrs: tuple[str, ...]  # by address, IPv4 first
    ipv4_addresses: int
    ipv6_subnets: int  # /64s, the unit IPv6 networks are planned in
    shared_sites: tuple[str, ...]  # sites reached by networks of more than one department
    absorber: str  # the shared network that could carry them, "" if none exists
    why: str  # why that one
    verdict: str  # refuse | functional-duplicate | consolidate | single

    def as_dict(self) -> dict[str, object]:
        return {"purpose": self.purpose, "departments": list(self.departments),
                "tenants": list(self.tenants), "cidrs": list(self.cidrs),
                "ipv4Addresses": self.ipv4_addresses, "ipv6Subnets": self.ipv6_subnets,
                "sharedSites": list(self.shared_sites), "absorber": self.absorber,
                "why": self.why, "verdict": self.verdict}


VERDICTS = ("refuse", "functional-duplicate", "consolidate", "single")


def report(platform: tenants.Platform) -> list[Purpose]:
    """Every purpose of a tenant network, the ones most worth consolidating first."""
    served = networks.serving(platform)
    extranet = networks.extranet(platform)
    groups: dict[str, list[networks.Segment]] = collections.defaultdict(list)
    for segment in networks.segments(platform):
        if not segment.shared:
            groups[segment.purpose].append(segment)
    rows = []
    for purpose, group in groups.items():
        group.sort(key=networks.ordered)
        departments = tuple(sorted({s.department for s in group}))
        sites = _shared_sites(group)
        if purpose in served:
            absorber, why, verdict = served[purpose].name, f"serves {purpose!r}", "refuse"
        else:
            absorber = extranet.name if extranet else ""
            why = "the e-government extranet, by national policy" if extranet else ""
            verdict = ("functional-duplicate" if sites else
                       "consolidate" if len(departments) > 1 else "single")
        rows.append(Purpose(
            purpose, departments, tuple(sorted({s.tenant for s in group})),
            tuple(str(s.network) for s in group),
            sum(s.network.num_addresses for s in group if s.network.version == 4),
            sum(s.network.num_addresses >> 64 for s in group if s.network.version == 6),
            sites, absorber, why, verdict))
    return sorted(rows, key=lambda r: (VERDICTS.index(r.verdict), -len(r.departments),
                                       r.purpose))


def _shared_sites(group: list[networks.Segment]) -> tuple[str, ...]:
    reached: dict[str, set[str]] = collections.defaultdict(set)
    for segment in group:
        for site in segment.sites:
            reached[networks.site_key(site)].add(segment.department)
    return tuple(sorted(site for site, departments in reached.items() if len(departments) > 1))


# ---- allocation ---------------------------------------------------------------


class AllocationError(errors.InputError):
    """No range can be suggested: bad size, no pool of that family, or all taken."""


@dataclasses.dataclass(frozen=True)
class Allocation:
    network: fields.Network
    pool: fields.Network
    purpose: str
    same_purpose: tuple[str, ...]  # other departments' networks of this purpose, if any

    def as_dict(self) -> dict[str, object]:
        return {"cidr": str(self.network), "family": self.network.version,
                "addresses": self.network.num_addresses, "pool": str(self.pool),
                "purpose": self.purpose, "samePurpose": list(self.same_purpose)}


def allocate(platform: tenants.Platform, *, prefix_length: int, family: int = 4,
             purpose: str = "") -> Allocation:
    """The first free range of that size in the address pools (first fit, pool order).

    Free means overlapping nothing registered: shared networks, management
    networks, and every tenant network, including ones with unresolved findings.
    """
    bits = {4: 32, 6: 128}.get(family)
    if bits is None:
        raise AllocationError(f"family must be 4 or 6, not {family}")
    if not 0 < prefix_length <= bits:
        raise AllocationError(
            f"--prefix-length must be 1..{bits} for IPv{family}"
            + (" (a /0 is every address: it would overlap every network)"
               if prefix_length == 0 else ""))
    served = networks.serving(platform).get(purpose)
    if served is not None:
        raise AllocationError(
            f"purpose {purpose!r} is served by shared network {served.name} "
            f"({', '.join(map(str, served.cidrs))}): add it to the tenant's spec.egress "
            "instead of asking for a private network")
    pools = [p for p in networks.pools(platform) if p.version == family]
    if not pools:
        raise AllocationError(
            f"the platform has no IPv{family} address pool: add one to spec.addressPools in "
            "platform.yaml")
    found = networks.segments(platform)
    # Management networks are registered too (security.managementNetworks): a range there
    # would be refused by security.management-network.
    management = platform.spec.spec.policies.security.management_networks
    taken = _prefixes.merged([*(_prefixes.of(s.network) for s in found),
                              *(_prefixes.of(n) for n in management)])
    width = bits - prefix_length
    widest = -1
    for pool in pools:
        for first, last in _prefixes.gaps(_prefixes.of(pool), taken):
            block = _prefixes.first_block(first, last, width=width)
            if block is not None:
                same = tuple(s.label for s in found
                             if purpose and not s.shared and s.purpose == purpose)
                return Allocation(_prefixes.to_network(block), pool, purpose, same)
            widest = max(widest, _prefixes.widest_block(first, last)[1])
    shown = ", ".join(map(str, pools))
    largest = (f"the largest free block is a /{bits - widest}" if widest >= 0
               else "they are full")
    raise AllocationError(
        f"no free /{prefix_length} in the IPv{family} address pools ({shown}): {largest}; "
        "ask for a smaller network or add a pool to spec.addressPools")
