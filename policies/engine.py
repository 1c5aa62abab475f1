"""The policy engine: policies are small pure functions Platform -> Diagnostics.

A policy is registered with the `policy` decorator, which records its id, set,
severity and the reason it exists (shown by `citycloud policies explain`).
`evaluate` runs every policy the platform's settings switch on, applies the
waivers of `waivers.yaml`, and returns one Report in a stable order: validate,
the exporter and the GitOps flow all read that Report, so they cannot disagree
about what is a violation. Policies never read files or the network: everything
they need is in the Platform (and the rendered objects, via `rendered`).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from citycloud import tenants
from citycloud.tenants import allocation, diagnostics, errors, models, render, sources

Check = Callable[[tenants.Platform], Iterable[diagnostics.Diagnostic]]
Diagnostic = diagnostics.Diagnostic
Severity = diagnostics.Severity

SETS = ("security", "standards", "capacity", "placement", "network")
ENGINE_SET = "engine"  # findings about settings and waivers themselves; always on


@dataclasses.dataclass(frozen=True)
class Policy:
    id: str  # stable, e.g. "security.pod-security"; the code of its findings
    set: str  # security | standards | capacity | placement | network | engine
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


_memo: tuple[tenants.Platform, dict[Any, Any]] | None = None


def _memory(platform: tenants.Platform) -> dict[Any, Any]:
    """Results derived from one Platform, shared by all checks; forgotten with the Platform."""
    global _memo
    memo = _memo  # read once: another thread may swap it for its own Platform meanwhile
    if memo is None or memo[0] is not platform:
        memo = _memo = (platform, {})
    return memo[1]


def rendered(platform: tenants.Platform, tenant: models.Tenant) -> list[render.Manifest]:
    """The tenant's objects from tenants.render, rendered once per Platform for all checks."""
    memory = _memory(platform)
    key = ("render", tenant.name)
    if key not in memory:
        memory[key] = render.render_tenant(tenant, platform=platform)
    result: list[render.Manifest] = memory[key]
    return result


def capacity_report(platform: tenants.Platform) -> list[allocation.PoolCapacity]:
    """tenants.allocation's report, summed once per Platform for all capacity checks."""
    memory = _memory(platform)
    if "capacity" not in memory:
        memory["capacity"] = allocation.report(platform)
    result: list[allocation.PoolCapacity] = memory["capacity"]
    return result


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


def run(platform: tenants.Platform, policies: Iterable[Policy]) -> list[Diagnostic]:
    """Findings of the given policies, each stamped with its policy's id and severity."""
    found = []
    for rule in policies:
        if rule.check is None:
            continue
        for result in rule.check(platform):
            found.append(dataclasses.replace(result, code=rule.id, severity=rule.severity))
    return sorted(found)


@dataclasses.dataclass(frozen=True)
class Waived:
    """A finding an active waiver suppresses: not a violation, but still counted."""

    finding: Diagnostic
    waiver: models.Waiver
    location: str  # waivers.yaml:line of the waiver


@dataclasses.dataclass(frozen=True)
class Report:
    findings: tuple[Diagnostic, ...]  # what stands: unwaived findings, settings and waivers
    waived: tuple[Waived, ...]
    policies: tuple[str, ...]  # ids of the policies that ran

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def ok(self) -> bool:
        return self.errors == 0


class PolicyViolations(errors.CitycloudError):
    """Error-level findings stand: nothing may be applied (exit code 1)."""

    exit_code = errors.VIOLATIONS

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(f"{report.errors} policy violation(s)")


def evaluate(platform: tenants.Platform, *, today: datetime.date) -> Report:
    """Every enabled policy over the platform, with waivers applied as of `today`."""
    # Imported here: the set modules register themselves with this one on import.
    from citycloud.policies import waivers

    rules = enabled(platform)
    raw = run(platform, rules)
    kept, waived, about_waivers = waivers.apply(platform, raw, today=today)
    found = sorted([*kept, *about_waivers, *check_settings(platform)], key=_by_tenant)
    return Report(tuple(found), tuple(waived), tuple(r.id for r in rules))


def _by_tenant(d: Diagnostic) -> tuple[str, Diagnostic]:
    return (d.tenant, d)


def findings_of(report: Report, tenant: str) -> Iterator[Diagnostic]:
    return (d for d in report.findings if d.tenant == tenant)


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


def _engine(found: Diagnostic, rule_id: str) -> Diagnostic:
    return dataclasses.replace(found, code=rule_id, severity=POLICIES[rule_id].severity)
