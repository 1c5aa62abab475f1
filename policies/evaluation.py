"""One evaluation of a Platform: every enabled policy, waivers applied, one Report.

`evaluate` creates the Context the checks share, runs every policy the
platform's settings switch on, applies the waivers of `waivers.yaml`, and
returns one Report in a stable order: validate, the exporter and the GitOps
flow all read that Report, so they cannot disagree about what is a violation.

This module sits above the engine, the waivers and the set modules; it imports
the sets so that every built-in policy is registered before anything runs, and
none of them imports it back.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator

from citycloud import tenants
from citycloud.policies import (
    capacity,
    engine,
    networks,
    placement,
    security,
    sharing,
    standards,
    waivers,
)
from citycloud.tenants import errors

Diagnostic = engine.Diagnostic
# The built-in sets: importing them registers their policies with the engine.
BUILT_IN = (capacity, networks, placement, security, sharing, standards)


@dataclasses.dataclass(frozen=True)
class Report:
    findings: tuple[Diagnostic, ...]  # what stands: unwaived findings, settings and waivers
    waived: tuple[waivers.Waived, ...]
    policies: tuple[str, ...]  # ids of the policies that ran

    @property
    def errors(self) -> int:
        return sum(d.severity is engine.Severity.ERROR for d in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def only(self, rule_set: str) -> Report:
        """One set's part of the report (`citycloud networks check`): the same evaluation,
        settings and waivers applied exactly as for the whole, then filtered."""
        mine = f"{rule_set}."
        return Report(tuple(d for d in self.findings if d.code.startswith(mine)),
                      tuple(w for w in self.waived if w.finding.code.startswith(mine)),
                      tuple(p for p in self.policies if p.startswith(mine)))


class PolicyViolations(errors.CitycloudError):
    """Error-level findings stand: nothing may be applied (exit code 1)."""

    exit_code = errors.VIOLATIONS

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(f"{report.errors} policy violation(s)")


def evaluate(platform: tenants.Platform, *, today: datetime.date) -> Report:
    """Every enabled policy over the platform, with waivers applied as of `today`."""
    rules = engine.enabled(platform)
    raw = engine.run(engine.Context(platform), rules)
    kept, waived, about_waivers = waivers.apply(platform, raw, today=today)
    found = sorted([*kept, *about_waivers, *engine.check_settings(platform)], key=_by_tenant)
    return Report(tuple(found), tuple(waived), tuple(r.id for r in rules))


def _by_tenant(d: Diagnostic) -> tuple[str, Diagnostic]:
    return (d.tenant, d)


def findings_of(report: Report, tenant: str) -> Iterator[Diagnostic]:
    return (d for d in report.findings if d.tenant == tenant)
