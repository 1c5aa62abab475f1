"""The policy engine: policies are small pure functions Platform -> Diagnostics.

A policy is registered with the `policy` decorator, which records its id, set,
severity and the reason it exists (shown by `citycloud policies explain`).
`evaluate` runs every enabled policy over a Platform and returns findings in a
stable order. Policies never read files or the network: everything they need
is in the Platform (and the rendered objects, via tenants.render).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import tenants
from tenants import diagnostics

Check = Callable[[tenants.Platform], Iterable[diagnostics.Diagnostic]]


@dataclasses.dataclass(frozen=True)
class Policy:
    id: str  # stable, e.g. "security.pod-security"; the code of its findings
    set: str  # security | standards | capacity | placement | network
    severity: diagnostics.Severity
    title: str  # one line: what the rule demands
    rationale: str  # why the rule exists, with the regulation or incident behind it
    check: Check


POLICIES: dict[str, Policy] = {}


def policy(id: str, *, set: str, title: str, rationale: str,
           severity: diagnostics.Severity = diagnostics.Severity.ERROR) -> Callable[[Check], Check]:
    """Register a check as a policy. Its findings get the policy's id and severity."""

    def register(check: Check) -> Check:
        if id in POLICIES:
            raise ValueError(f"policy {id!r} is registered twice")
        POLICIES[id] = Policy(id, set, severity, title, rationale, check)
        return check

    return register


def run(platform: tenants.Platform, policies: Iterable[Policy]) -> list[diagnostics.Diagnostic]:
    """Findings of the given policies, each stamped with its policy's id and severity."""
    found = []
    for rule in policies:
        for finding in rule.check(platform):
            found.append(dataclasses.replace(finding, code=rule.id, severity=rule.severity))
    return sorted(found)
