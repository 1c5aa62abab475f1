"""The placement set: tenants land on their pool's nodes, and on CPUs the pool really has.

Xinchuang (信创) systems must run on domestic hardware, and nothing else may
crowd those nodes; government systems must not drift onto the industry pool.
Kubernetes keeps pods apart by node labels and taints, so each pool needs a
selector no other pool's nodes satisfy, and a taint that keeps strangers off.
Domestic CPUs appear in Kubernetes only as `kubernetes.io/arch`: Kunpeng and
Phytium as arm64, Hygon and Zhaoxin as amd64, Loongson as loong64.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from citycloud.policies import engine
from citycloud.tenants import guardrails, models

Diagnostic = engine.Diagnostic
Arch = models.Architecture
Vendor = models.CpuVendor

ARCH_OF = {
    Vendor.KUNPENG: Arch.ARM64,
    Vendor.PHYTIUM: Arch.ARM64,
    Vendor.HYGON: Arch.AMD64,
    Vendor.ZHAOXIN: Arch.AMD64,
    Vendor.LOONGSON: Arch.LOONG64,
}
ARCH_LABEL = "kubernetes.io/arch"


@engine.policy(
    "placement.pool-isolation", set="placement",
    title="Each pool has a node selector no other pool's nodes match, and a taint of its own",
    rationale="Xinchuang tenants must land only on xinchuang nodes, and other pools' tenants "
    "must stay off them. The pool guardrail makes every pod carry its pool's node selector; "
    "that separates pools only if no node can satisfy two pools' selectors, and the taint "
    "keeps pods without a pool (platform components excepted) off the pool's nodes. In the "
    "cluster, tenants' volumes likewise stay on their pool's storage classes.",
    guardrails=("pool-placement", "pool-storage"))
def pool_isolation(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    pools = platform.spec.spec.pools
    for index, pool in enumerate(pools):
        if not pool.placement.node_selector:
            yield engine.platform_finding(
                platform, ("spec", "pools", index, "placement"),
                f"pool {pool.name!r} has no node selector: its tenants could land anywhere",
                hint=f"nodeSelector: {{citycloud.io/pool: {pool.name}}}")
        if pool.placement.taint is None:
            yield engine.platform_finding(
                platform, ("spec", "pools", index, "placement"),
                f"pool {pool.name!r} has no taint: other workloads can land on its nodes",
                hint=f"taint: {{key: citycloud.io/pool, value: {pool.name}}}")
    for (_, a), (j, b) in itertools.combinations(enumerate(pools), 2):
        if a.placement.node_selector and b.placement.node_selector and not _exclusive(
                a.placement.node_selector, b.placement.node_selector):
            yield engine.platform_finding(
                platform, ("spec", "pools", j, "placement", "nodeSelector"),
                f"a node could match the selectors of both {a.name!r} and {b.name!r}",
                hint="give both pools the same key with different values")
        if a.placement.taint and b.placement.taint and (
                a.placement.taint.key, a.placement.taint.value) == (
                b.placement.taint.key, b.placement.taint.value):
            yield engine.platform_finding(
                platform, ("spec", "pools", j, "placement", "taint"),
                f"pools {a.name!r} and {b.name!r} use the same taint",
                hint="each pool's taint value is its name")


def _exclusive(a: dict[str, str], b: dict[str, str]) -> bool:
    """No node can carry both selectors: some key is in both with different values."""
    return any(key in b and b[key] != value for key, value in a.items())


@engine.policy(
    "placement.architectures", set="placement",
    title="A pool declares exactly the CPU architectures of the vendors its nodes have",
    rationale="Images are built per architecture. A pool that declares an architecture none "
    "of its nodes has lets tenants ship images nothing can run; a vendor whose architecture "
    "is undeclared leaves nodes tenants' images were never built for. Kunpeng and Phytium "
    "report arm64, Hygon and Zhaoxin amd64, Loongson loong64.",
    settings=("placement.cpuVendors",), guardrails=("pool-placement",))
def architectures(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    vendors = engine.settings(platform).placement.cpu_vendors
    for index, pool in enumerate(platform.spec.spec.pools):
        declared = set(pool.placement.architectures)
        pinned = pool.placement.node_selector.get(ARCH_LABEL)
        if pinned is not None and pinned not in declared:
            yield engine.platform_finding(
                platform, ("spec", "pools", index, "placement", "nodeSelector", ARCH_LABEL),
                f"pool {pool.name!r} selects {ARCH_LABEL}={pinned}, which it does not declare",
                hint="list it under architectures, or drop it from the selector")
        if pool.name not in vendors:
            if pool.kind is models.PoolKind.XINCHUANG:
                yield engine.platform_finding(
                    platform, ("spec", "pools", index, "placement", "architectures"),
                    f"xinchuang pool {pool.name!r} does not say which domestic CPUs it has",
                    hint=f"set policies.placement.cpuVendors.{pool.name}: [kunpeng, hygon, ...]")
            continue
        have = {ARCH_OF[vendor] for vendor in vendors[pool.name]}
        for arch in sorted(declared - have):
            yield engine.platform_finding(
                platform, ("spec", "pools", index, "placement", "architectures"),
                f"pool {pool.name!r} declares {arch}, but none of its CPU vendors "
                f"({', '.join(vendors[pool.name])}) is {arch}",
                hint="remove the architecture, or add the vendor whose nodes provide it")
        for arch in sorted(have - declared):
            names = [v.value for v in vendors[pool.name] if ARCH_OF[v] == arch]
            yield engine.platform_finding(
                platform, ("spec", "pools", index, "placement", "architectures"),
                f"pool {pool.name!r} has {', '.join(names)} nodes ({arch}) but does not "
                f"declare {arch}", hint=f"add {arch} to architectures")


@engine.policy(
    "placement.guardrail-coverage", set="placement",
    title="Every tenant namespace is selected by its pool's admission guardrails",
    rationale="The guardrails hold placement, images and rights inside the cluster, but only "
    "for namespaces their bindings select by label. A namespace the bindings miss is a "
    "namespace where nothing is enforced; this checks the rendered namespaces against the "
    "rendered bindings.",
    guardrails=("all",))
def guardrail_coverage(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    selectors = {name: guardrails.pool_selector(pool) for name, pool in platform.pools.items()}
    for tenant in platform.tenants.values():
        wanted = selectors[tenant.spec.pool]
        for manifest in ctx.rendered(tenant):
            if manifest["kind"] != "Namespace":
                continue
            labels = manifest["metadata"].get("labels", {})
            if any(labels.get(k) != v for k, v in wanted.items()):
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "pool"),
                    f"namespace {manifest['metadata']['name']} would not carry "
                    f"{', '.join(f'{k}={v}' for k, v in wanted.items())}, so pool "
                    f"{tenant.spec.pool!r}'s guardrails would not apply to it",
                    hint="tenants.render.standard_labels must set the pool labels")


@engine.policy(
    "placement.dr-sites", set="placement",
    title="A tenant on two clusters has them at two sites",
    rationale="A second cluster is asked for to survive the loss of a data centre: two "
    "clusters at one site fall together, and the second copy only doubles the quota.")
def dr_sites(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for tenant in platform.tenants.values():
        placed = [platform.clusters[c] for c in tenant.spec.clusters if c in platform.clusters]
        if len(placed) == 2 and placed[0].site == placed[1].site:
            others = [c.name for c in platform.clusters.values()
                      if c.pool == tenant.spec.pool and c.site != placed[0].site]
            yield engine.tenant_finding(
                platform, tenant, ("spec", "clusters", 1),
                f"clusters {placed[0].name} and {placed[1].name} are both at site "
                f"{placed[0].site!r}: one outage takes both copies",
                hint=(f"name a cluster at another site: {', '.join(others)}" if others else
                      f"pool {tenant.spec.pool!r} has no cluster at another site: drop the "
                      "second cluster until it has"))
