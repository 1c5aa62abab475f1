"""The policy engine: policies are small pure functions Context -> Diagnostics.

A policy is registered with the `policy` decorator, which records its id, set,
severity and the reason it exists (shown by `citycloud policies explain`).
`run` calls the checks with one `Context`: the Platform, and what several
checks derive from it (rendered objects, the capacity report, a set's own
indexes), computed once per evaluation and forgotten with it. Policies never
read files or the network: everything they need is in the Context.

This module is the bottom of the package: the set modules and waivers register
with it, and policies.evaluation, above them all, runs them (waivers, Report).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar, cast

from citycloud import tenants
from citycloud.tenants import allocation, diagnostics, models, render, sources, units

T = TypeVar("T")
Diagnostic = diagnostics.Diagnostic
Check = Callable[["Context"], Iterable[Diagnostic]]
Severity = diagnostics.Severity

SETS = ("security", "standards", "capacity", "placement", "network", "sharing")
ENGINE_SET = "engine"  # findings about settings and waivers themselves; always on


@dataclasses.dataclass(frozen=True)
class Policy:
    id: str  # stable, e.g. "security.pod-security"; the code of its findings
    set: str  # security | standards | capacity | placement | network | sharing | engine
    severity: Severity
    title: str  # one line: what the rule demands
    rationale: str  # why the rule exists, with the regulation or incident behind it
    check: Check | None  # None: the engine itself reports these (settings, waivers)
    settings: tuple[str, ...] = ()  # platform.yaml keys under `policies:` that tune it
    # The in-cluster admission rules (tenants.guardrails) that hold the same line, if any;
    # ("all",) for the policy that decides whether the guardrails apply at all.
    guardrails: tuple[str, ...] = ()


POLICIES: dict[str, Policy] = {}


def policy(id: str, *, set: str, title: str, rationale: str,
           severity: Severity = Severity.ERROR, settings: tuple[str, ...] = (),
           guardrails: tuple[str, ...] = ()) -> Callable[[Check], Check]:
    """Register a check as a policy. Its findings get the policy's id and severity."""
    if set not in SETS:
        raise ValueError(f"policy {id!r}: set must be one of {', '.join(SETS)}")

    def register(check: Check) -> Check:
        _add(Policy(id, set, severity, title, rationale, check, settings, guardrails))
        return check

    return register


def _add(rule: Policy) -> None:
    if rule.id in POLICIES:
        raise ValueError(f"policy {rule.id!r} is registered twice")
    if not rule.id.startswith(f"{rule.set}."):
        raise ValueError(f"policy {rule.id!r} must be named '{rule.set}.<rule>'")
    POLICIES[rule.id] = rule


def engine_rule(id: str, *, title: str, rationale: str, severity: Severity) -> str:
    """Register a code the engine reports itself, so `policies explain` knows it too."""
    _add(Policy(id, ENGINE_SET, severity, title, rationale, None))
    return id


# ---- what a check needs ----------------------------------------------------


def settings(platform: tenants.Platform) -> models.PolicySettings:
    return platform.spec.spec.policies


def enabled(platform: tenants.Platform) -> list[Policy]:
    """The policies this platform's settings switch on, in id order."""
    config = settings(platform)
    return [rule for rule in sorted(POLICIES.values(), key=lambda r: r.id)
            if rule.check is not None and getattr(config.sets, rule.set, True)
            and rule.id not in config.disabled]


@dataclasses.dataclass(frozen=True, eq=False)
class Context:
    """One evaluation of a Platform: what every check receives.

    Several checks read the same derived data (each tenant's rendered objects, the
    capacity report, the network set's segments). The Context computes each once,
    on first use, and keeps it only as long as the evaluation: nothing derived from
    one Platform is held where another evaluation, or another thread, could read it.
    """

    platform: tenants.Platform
    _rendered: dict[str, list[render.Manifest]] = dataclasses.field(
        default_factory=dict, init=False, repr=False)
    _derived: dict[object, object] = dataclasses.field(
        default_factory=dict, init=False, repr=False)

    @functools.cached_property
    def capacity(self) -> list[allocation.PoolCapacity]:
        """tenants.allocation's report, summed once for all capacity checks."""
        return allocation.report(self.platform)

    def rendered(self, tenant: models.Tenant) -> list[render.Manifest]:
        """The tenant's objects as tenants.units renders them (on its first cluster: a
        disaster-recovery copy differs only in its doors), once for all checks."""
        if tenant.name not in self._rendered:
            self._rendered[tenant.name] = units.tenant_units(self.platform,
                                                             tenant.name)[0].manifests
        return self._rendered[tenant.name]

    def derived(self, compute: Callable[[Context], T]) -> T:
        """`compute(self)`, computed once: for data a set module owns and several of its
        checks read (the network set's segments and their overlaps)."""
        if compute not in self._derived:
            self._derived[compute] = compute(self)
        return cast(T, self._derived[compute])


def dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def finding(platform: tenants.Platform, file: str, path: sources.Path, message: str, *,
            hint: str = "", tenant: str = "") -> Diagnostic:
    """A finding at a value of a registry file; code and severity are stamped by `run`."""
    file, line = platform.where(file, *path)
    return Diagnostic(file, line, dotted(path), message, "", hint=hint, tenant=tenant)


def tenant_finding(platform: tenants.Platform, tenant: models.Tenant, path: sources.Path,
                   message: str, *, hint: str = "") -> Diagnostic:
    return finding(platform, platform.tenant_files[tenant.name], path, message, hint=hint,
                   tenant=tenant.name)


def platform_finding(platform: tenants.Platform, path: sources.Path, message: str, *,
                     hint: str = "") -> Diagnostic:
    return finding(platform, tenants.platform.PLATFORM_FILE, path, message, hint=hint)


def pool_index(platform: tenants.Platform, pool: str) -> int:
    return next(i for i, p in enumerate(platform.spec.spec.pools) if p.name == pool)


def department_index(platform: tenants.Platform, code: str) -> int:
    return list(platform.departments).index(code)


# ---- running ---------------------------------------------------------------


def run(ctx: Context, policies: Iterable[Policy]) -> list[Diagnostic]:
    """Findings of the given policies, each stamped with its policy's id and severity."""
    found = []
    for rule in policies:
        if rule.check is None:
            continue
        for result in rule.check(ctx):
            found.append(dataclasses.replace(result, code=rule.id, severity=rule.severity))
    return sorted(found)


UNKNOWN_SETTING = engine_rule(
    "engine.unknown-reference", severity=Severity.ERROR,
    title="Policy settings and waivers name only policies, pools and departments that exist",
    rationale="A setting that names a misspelt pool or policy silently does nothing: a "
    "ceiling that never applies, a rule someone believes is off but is not. Refusing unknown "
    "names keeps platform.yaml saying what the platform enforces.")


def check_settings(platform: tenants.Platform) -> Iterator[Diagnostic]:
    """Names in the `policies:` section must exist; a typo there must not fail open."""
    config = settings(platform)
    base = ("spec", "policies")
    for index, rule_id in enumerate(config.disabled):
        if rule_id not in POLICIES or POLICIES[rule_id].check is None:
            yield _engine(platform_finding(
                platform, (*base, "disabled", index), f"no policy is called {rule_id!r}",
                hint="'citycloud policies list' shows the ids"), UNKNOWN_SETTING)
    references: list[tuple[tuple[str, ...], Iterable[str], object, str]] = [
        (("security", "encryptedStorageClasses"), config.security.encrypted_storage_classes,
         platform.pools, "pool"),
        (("placement", "cpuVendors"), config.placement.cpu_vendors, platform.pools, "pool"),
        (("capacity", "departmentCeilings"), config.capacity.department_ceilings,
         platform.departments, "department"),
    ]
    for path, names, known, what in references:
        for name in names:
            if name not in known:  # type: ignore[operator]
                yield _engine(platform_finding(
                    platform, (*base, *path, name), f"{what} {name!r} does not exist",
                    hint=f"name a {what} of the registry"), UNKNOWN_SETTING)
    for index, flow in enumerate(config.sharing.allowed_pool_flows):
        for side in ("consumer", "provider"):
            name = getattr(flow, side)
            if name not in platform.pools:
                yield _engine(platform_finding(
                    platform, (*base, "sharing", "allowedPoolFlows", index, side),
                    f"pool {name!r} does not exist", hint=diagnostics.did_you_mean(
                        name, platform.pools, otherwise="name a pool of the registry")),
                    UNKNOWN_SETTING)


def _engine(found: Diagnostic, rule_id: str) -> Diagnostic:
    return dataclasses.replace(found, code=rule_id, severity=POLICIES[rule_id].severity)
