"""The network policy set: no department builds its own duplicate private network.

Since 2009 national policy has been to approve no new department-specific
business network (业务专网) and to carry them on the e-government extranet
instead; the unified cloud exists to end "烟囱林立、信息孤岛". A tenant's
requested network is therefore refused when its range collides with a shared
network or with anyone else's, when a shared network already serves its
purpose, and when another department already runs one of the same purpose
into the same sites. Same-purpose networks of several departments are
reported as consolidation candidates.

Every segment of the platform (each CIDR of a shared network, each tenant
network) is collected once as a `Segment` that knows its file:line, and
overlaps come from the sort-and-sweep in `_prefixes`, so a city of any size
costs O(n log n), never every pair.
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress
import itertools
from collections.abc import Iterable, Iterator, Sequence

from citycloud import tenants
from citycloud.policies import _prefixes, engine
from citycloud.tenants import diagnostics, fields

Diagnostic = diagnostics.Diagnostic
SET = "network"
# How many other networks (sites, CIDRs) one finding names; the rest are counted, so a
# purpose shared by 500 departments gives 500 short findings, not 500 lists of 500.
SHOWN = 3
CIDRS_SHOWN = 10

# Where department networks live when platform.yaml declares no addressPools:
# RFC 1918, and the locally assigned half of IPv6 unique local addresses (RFC 4193;
# fc00::/8 is reserved for a central registry that was never set up).
PRIVATE_SPACE: tuple[fields.Network, ...] = (
    ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("fd00::/8"))

EXTRANET_PURPOSE = "e-government"  # the shared network carrying this is the e-gov extranet


@dataclasses.dataclass(frozen=True)
class Segment:
    """One registered range: a CIDR of a shared network, or one tenant network."""

    network: fields.Network
    name: str  # the tenant's network name, or the shared network's name
    purposes: tuple[str, ...]
    sites: tuple[str, ...]
    file: str
    line: int  # of the CIDR
    path: tuple[str | int, ...]  # of the entry in its file, e.g. ("spec", "networks", 0)
    tenant: str = ""  # "" for a shared network
    department: str = ""

    @property
    def shared(self) -> bool:
        return not self.tenant

    @property
    def purpose(self) -> str:
        return self.purposes[0]

    @property
    def label(self) -> str:
        if self.shared:
            return f"shared network {self.name} ({self.network}, {self.file}:{self.line})"
        return (f"network {self.name!r} {self.network} of {self.tenant} "
                f"({self.file}:{self.line})")

    def finding(self, platform: tenants.Platform, message: str, *, code: str, hint: str,
                at: str = "cidr") -> Diagnostic:
        """A finding pointing at this entry's `at` field (a shared CIDR points at itself)."""
        path = self.path if self.shared else (*self.path, at)
        file, line = platform.where(self.file, *path)
        return Diagnostic(file, line, engine.dotted(path), message, code, hint=hint,
                          tenant=self.tenant)


def segments(platform: tenants.Platform) -> tuple[Segment, ...]:
    """Shared networks' CIDRs (in platform.yaml order), then tenant networks by tenant.

    Collected anew on each call (network_plans and the CLI call it once); the checks
    share one collection per evaluation through the Context."""
    found = []
    for k, shared in enumerate(platform.spec.spec.shared_networks):
        for m, cidr in enumerate(shared.cidrs):
            path: tuple[str | int, ...] = ("spec", "sharedNetworks", k, "cidrs", m)
            file, line = platform.where(tenants.platform.PLATFORM_FILE, *path)
            found.append(Segment(cidr, shared.name, shared.purposes, shared.sites, file, line,
                                 path))
    for tenant in platform.tenants.values():
        for i, network in enumerate(tenant.spec.networks):
            path = ("spec", "networks", i)
            file, line = platform.where_tenant(tenant.name, *path, "cidr")
            found.append(Segment(network.cidr, network.name, (network.purpose,), network.sites,
                                 file, line, path, tenant.name, tenant.department))
    return tuple(found)


# Seven policies read the segments and two share one overlap sweep: each is computed
# once per evaluation, kept by the Context (ctx.derived(_segments), ctx.derived(_overlaps)).
def _segments(ctx: engine.Context) -> tuple[Segment, ...]:
    return segments(ctx.platform)


def _overlaps(ctx: engine.Context) -> list[tuple[Segment, Segment]]:
    return overlaps(ctx.derived(_segments))


def overlaps(found: Sequence[Segment]) -> list[tuple[Segment, Segment]]:
    """Every overlapping pair of segments, the wider (or the earlier of equals) first."""
    spans = [_prefixes.of(s.network) for s in found]
    pairs = _prefixes.overlapping_pairs([s for s, _ in spans], [w for _, w in spans])
    return [(found[i], found[j]) for i, j in pairs]


def ordered(segment: Segment) -> _prefixes.Prefix:
    """Sort key: by address, IPv4 before IPv6, wider first at the same start."""
    start, width = _prefixes.of(segment.network)
    return start, -width


def serving(platform: tenants.Platform) -> dict[str, tenants.models.SharedNetwork]:
    """Purpose -> the first shared network that serves it."""
    served: dict[str, tenants.models.SharedNetwork] = {}
    for shared in platform.spec.spec.shared_networks:
        for purpose in shared.purposes:
            served.setdefault(purpose, shared)
    return served


def extranet(platform: tenants.Platform) -> tenants.models.SharedNetwork | None:
    """The e-government extranet: where national policy says department networks go."""
    return (serving(platform).get(EXTRANET_PURPOSE)
            or platform.shared_networks.get("e-gov-extranet"))


def _allocate_hint(network: fields.Network) -> str:
    length = network.prefixlen or (24 if network.version == 4 else 48)
    return (f"ask for a free range: citycloud networks allocate --prefix-length {length} "
            f"--family {network.version}")


def _relation(mine: fields.Network, other: fields.Network) -> str:
    if mine == other:
        return "is the same range as"
    return "lies inside" if mine.subnet_of(other) else "contains"  # type: ignore[arg-type]


def _listing(items: Iterable[str], total: int, *, shown: int = SHOWN, sep: str = "; ") -> str:
    """The first `shown` of `total` items (only those are formatted), then a count."""
    first = list(itertools.islice(items, shown))
    more = f" and {total - len(first)} more" if total > len(first) else ""
    return sep.join(first) + more


def _overlap_findings(ctx: engine.Context, *, shared: bool) -> Iterator[Diagnostic]:
    """One finding per segment, naming the shared (or the tenant) segments it overlaps.

    Tenant segments are reported against whichever kind is asked for; shared
    segments only against each other (a tenant inside a shared network is the
    tenant's finding, not the platform's).
    """
    hits: dict[Segment, list[Segment]] = collections.defaultdict(list)
    for a, b in ctx.derived(_overlaps):
        for mine, other in ((a, b), (b, a)):
            if other.shared == shared and (shared or not mine.shared):
                hits[mine].append(other)
    code = "network.overlap-shared" if shared else "network.overlap-private"
    for mine, others in hits.items():
        described = (f"{_relation(mine.network, o.network)} {o.label}" for o in others)
        if mine.shared:
            hint = "shared networks must not overlap each other; fix the CIDRs in platform.yaml"
        elif shared:
            hint = (f"to use {others[0].name}, list it in spec.egress instead; for a private "
                    f"range, {_allocate_hint(mine.network)}")
        else:
            hint = _allocate_hint(mine.network)
        yield mine.finding(ctx.platform, f"{mine.network} {_listing(described, len(others))}",
                           code=code, hint=hint)


@engine.policy(
    "network.overlap-shared", set=SET,
    title="A private network must not overlap a shared network",
    rationale="Addresses of the e-government extranet and the other shared networks are "
    "routed city-wide; a department range inside them breaks routing for everyone and hides "
    "a private copy of a network the city already runs. Shared networks must not overlap "
    "each other either.")
def overlap_shared(ctx: engine.Context) -> Iterator[Diagnostic]:
    return _overlap_findings(ctx, shared=True)


@engine.policy(
    "network.overlap-private", set=SET,
    title="A private network must not overlap another tenant's network (IPv4 or IPv6)",
    rationale="Two segments with overlapping addresses cannot both be routed on the "
    "platform. Containment counts (a /16 around another's /24); adjacent ranges do not "
    "overlap, and IPv4 never overlaps IPv6.")
def overlap_private(ctx: engine.Context) -> Iterator[Diagnostic]:
    return _overlap_findings(ctx, shared=False)


def inside(network: fields.Network, space: Iterable[fields.Network]) -> bool:
    return any(network.version == pool.version
               and network.subnet_of(pool)  # type: ignore[arg-type]
               for pool in space)


@engine.policy(
    "network.address-space", set=SET,
    title="A private network must lie inside the platform's address pools",
    rationale="Department networks are carved from the space the platform plans "
    "(spec.addressPools in platform.yaml; RFC 1918 and IPv6 ULA when none are declared). "
    "A request outside it is refused, 0.0.0.0/0 or ::/0 above all: that is every address, "
    "the Internet included, and would overlap every network.")
def address_space(ctx: engine.Context) -> Iterator[Diagnostic]:
    space = pools(ctx.platform)
    for segment in ctx.derived(_segments):
        network = segment.network
        if segment.shared or inside(network, space):
            continue
        problem = (f"{network} is the whole IPv{network.version} address space: it would "
                   "overlap every network, the Internet included" if network.prefixlen == 0
                   else f"{network} is outside the platform's address pools "
                   f"({', '.join(map(str, space))})")
        yield segment.finding(ctx.platform, problem, code="network.address-space",
                              hint=_allocate_hint(network))


def pools(platform: tenants.Platform) -> tuple[fields.Network, ...]:
    """Where department networks come from: spec.addressPools, else private space."""
    return platform.spec.spec.address_pools or PRIVATE_SPACE


@engine.policy(
    "network.purpose-shared", set=SET,
    title="No private network for a purpose a shared network already serves",
    rationale="Since 2009 departments may not build a business network that the "
    "e-government extranet or another shared network already provides; they reach the "
    "shared one through spec.egress.")
def purpose_shared(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    served = serving(platform)
    names = list(platform.shared_networks)
    for segment in ctx.derived(_segments):
        shared = None if segment.shared else served.get(segment.purpose)
        if shared is None:
            continue
        file, line = platform.where(tenants.platform.PLATFORM_FILE, "spec", "sharedNetworks",
                                    names.index(shared.name))
        egress = platform.tenants[segment.tenant].spec.egress
        hint = (f"drop this network: the tenant already reaches {shared.name} through egress"
                if shared.name in egress else
                f"drop this network and add {shared.name!r} to spec.egress")
        yield segment.finding(
            platform, f"purpose {segment.purpose!r} is already served by shared network "
            f"{shared.name} ({', '.join(map(str, shared.cidrs))}, {file}:{line})",
            code="network.purpose-shared", hint=hint, at="purpose")


def by_purpose(ctx: engine.Context) -> dict[str, list[Segment]]:
    """Tenant segments by purpose, without purposes a shared network serves: those are
    refused outright (network.purpose-shared), so grouping them would only repeat it."""
    served = serving(ctx.platform)
    groups: dict[str, list[Segment]] = collections.defaultdict(list)
    for segment in ctx.derived(_segments):
        if not segment.shared and segment.purpose not in served:
            groups[segment.purpose].append(segment)
    return dict(groups)


def consolidation_hint(platform: tenants.Platform, purpose: str) -> str:
    target = extranet(platform)
    carry = f", or carry it on {target.name}" if target else ""
    return (f"add one shared network serving {purpose!r} to spec.sharedNetworks in "
            f"platform.yaml{carry}; see 'citycloud networks report'")


@engine.policy(
    "network.consolidation", set=SET, severity=diagnostics.Severity.WARNING,
    title="Report purposes for which several departments run private networks",
    rationale="Several departments each running a network for the same purpose is the "
    "duplication the unified cloud exists to end; one shared network could carry them all.")
def consolidation(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for purpose, group in by_purpose(ctx).items():
        departments = sorted({s.department for s in group})
        if len(departments) < 2:
            continue
        cidrs = _listing((str(s.network) for s in sorted(group, key=ordered)), len(group),
                         shown=CIDRS_SHOWN, sep=", ")
        for segment in group:
            others = (d for d in departments if d != segment.department)
            yield segment.finding(
                platform, f"consolidation candidate: purpose {purpose!r} is also run by "
                f"{_listing(others, len(departments) - 1, sep=', ')} "
                f"({len(departments)} departments; CIDRs {cidrs})",
                code="network.consolidation", hint=consolidation_hint(platform, purpose),
                at="purpose")


@engine.policy(
    "network.same-purpose", set=SET, severity=diagnostics.Severity.WARNING,
    title="A department holds one network per purpose and address family",
    rationale="Two networks of one purpose in one department are usually a second line "
    "nobody decommissioned. An IPv4 and an IPv6 network of one purpose are dual stack, not "
    "a duplicate, and are not reported.")
def same_purpose(ctx: engine.Context) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str, int], Segment] = {}
    for group in by_purpose(ctx).values():
        for segment in group:
            key = (segment.department, segment.purpose, segment.network.version)
            earlier = first.setdefault(key, segment)
            if earlier is segment:
                continue
            yield segment.finding(
                ctx.platform, f"department {segment.department} already has an "
                f"IPv{segment.network.version} network of purpose {segment.purpose!r}: "
                f"{earlier.label}", code="network.same-purpose", at="purpose",
                hint="merge them into one network, or give each a purpose that says how "
                "they differ")


def site_key(name: str) -> str:
    """Sites are free text; "Hankou HQ" and "hankou  hq" are the same building."""
    return " ".join(name.split()).casefold()


@engine.policy(
    "network.functional-duplicate", set=SET,
    title="No second department network of the same purpose into the same site",
    rationale="Networks of one purpose reaching the same site but owned by different "
    "departments are several departments each leasing a line into one building; one "
    "shared network per site serves them all.")
def functional_duplicate(ctx: engine.Context) -> Iterator[Diagnostic]:
    for purpose, group in by_purpose(ctx).items():
        at_site: dict[str, list[Segment]] = collections.defaultdict(list)
        per_department: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter)
        for segment in group:
            for site in {site_key(s) for s in segment.sites}:
                at_site[site].append(segment)
                per_department[site][segment.department] += 1
        for segment in group:
            met = []  # (site as this tenant spells it, networks of other departments there)
            for site in {site_key(s): s for s in segment.sites}.values():
                key = site_key(site)
                count = len(at_site[key]) - per_department[key][segment.department]
                if count:
                    others = (o.label for o in at_site[key] if o.department != segment.department)
                    met.append(f"at {site}: {_listing(others, count, sep=', ')}")
            if met:
                yield segment.finding(
                    ctx.platform, f"functional duplicate: other departments' {purpose!r} networks "
                    f"reach the same sites: {_listing(met, len(met))}",
                    code="network.functional-duplicate", at="sites",
                    hint=f"run one network per site: make one of them a shared network "
                    f"serving {purpose!r} in platform.yaml and reach it through spec.egress")

