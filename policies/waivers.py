"""Waivers: approved, time-limited exceptions to one policy for one tenant.

A department sometimes cannot comply at once (a vendor system that only ships
from a public registry, a migration half done). The platform's answer is a
waiver in `waivers.yaml`: the policy, the tenant, why, who approved it, and
until when. An active waiver suppresses the matching findings, but reports
still count them, so an exception never becomes invisible. From the day after
it expires a waiver stops working and is itself reported, and a waiver that
names a policy or tenant that does not exist is an error: it would otherwise
look like an exception that holds when it holds nothing.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable

from citycloud import tenants
from citycloud.policies import engine
from citycloud.tenants import models

Diagnostic = engine.Diagnostic
Severity = engine.Severity
FILE = tenants.platform.WAIVERS_FILE

EXPIRED = engine.engine_rule(
    "engine.waiver-expired", severity=Severity.WARNING,
    title="A waiver past its expiry date no longer suppresses anything",
    rationale="Exceptions are granted for a time, not forever (the 'data iron cage': every "
    "use of power is recorded and checkable). After its date the waived findings count again, "
    "and the waiver is reported so that someone renews it with a new approval or removes it.")
UNKNOWN = engine.engine_rule(
    "engine.waiver-unknown", severity=Severity.ERROR,
    title="A waiver names a policy and a tenant that exist",
    rationale="A waiver for a misspelt policy or a tenant that was renamed waives nothing, "
    "while reviewers believe an exception is on record. The waiver must be fixed or removed.")
UNUSED = engine.engine_rule(
    "engine.waiver-unused", severity=Severity.WARNING,
    title="A waiver that no finding needs any more is removed",
    rationale="Once a tenant complies, a leftover waiver would silently excuse the next "
    "violation of the same policy. Remove it; a new exception needs a new approval.")


@dataclasses.dataclass(frozen=True)
class Waived:
    """A finding an active waiver suppresses: not a violation, but still counted."""

    finding: Diagnostic
    waiver: models.Waiver
    location: str  # waivers.yaml:line of the waiver


def apply(platform: tenants.Platform, found: Iterable[Diagnostic], *, today: datetime.date,
          ) -> tuple[list[Diagnostic], list[Waived], list[Diagnostic]]:
    """Split findings into (kept, waived) and report on the waivers themselves."""
    about: list[Diagnostic] = []
    active: dict[tuple[str, str], tuple[int, models.Waiver]] = {}
    for index, waiver in enumerate(platform.waivers):
        problem = _unknown(platform, waiver)
        if problem:
            about.append(_finding(platform, index, problem[0], problem[1], UNKNOWN, waiver,
                                  hint="fix the name, or remove the waiver"))
        elif waiver.expires < today:
            about.append(_finding(
                platform, index, "expires",
                f"waiver of {waiver.policy} for {waiver.tenant} expired on "
                f"{waiver.expires.isoformat()}; its findings count again",
                EXPIRED, waiver, hint="renew it with a new approval and date, or remove it"))
        else:
            active.setdefault((waiver.policy, waiver.tenant), (index, waiver))
    kept: list[Diagnostic] = []
    waived: list[Waived] = []
    used: set[tuple[str, str]] = set()
    for result in found:
        match = active.get((result.code, result.tenant))
        if match is None:
            kept.append(result)
            continue
        index, waiver = match
        used.add((result.code, result.tenant))
        file, line = platform.where(FILE, "waivers", index)
        waived.append(Waived(result, waiver, f"{file}:{line}"))
    ran = {rule.id for rule in engine.enabled(platform)}
    for key, (index, waiver) in active.items():
        if key not in used and waiver.policy in ran:
            about.append(_finding(
                platform, index, "policy",
                f"waiver of {waiver.policy} for {waiver.tenant} matches no finding",
                UNUSED, waiver, hint="the tenant complies now: remove the waiver"))
    return kept, waived, about


def _unknown(platform: tenants.Platform, waiver: models.Waiver) -> tuple[str, str] | None:
    rule = engine.POLICIES.get(waiver.policy)
    if rule is None or rule.check is None:
        return "policy", f"no policy is called {waiver.policy!r}"
    if waiver.tenant not in platform.tenants:
        return "tenant", f"no tenant is called {waiver.tenant!r}"
    return None


def _finding(platform: tenants.Platform, index: int, field: str, message: str, code: str,
             waiver: models.Waiver, *, hint: str = "") -> Diagnostic:
    found = engine.finding(platform, FILE, ("waivers", index, field), message, hint=hint,
                           tenant=waiver.tenant if waiver.tenant in platform.tenants else "")
    return dataclasses.replace(found, code=code, severity=engine.POLICIES[code].severity)
