"""Registry health: policy findings by severity and waivers about to expire.

The figures are the policy engine's own Report (`policies.evaluate`),
the same one `citycloud validate` prints, so a dashboard never shows a
violation validate would not. Evaluating every policy over thousands of
tenants is the most expensive thing the exporter does, so `Evaluator` runs it
once per registry version and day (waivers expire by date) and shares the
Report between this collector and the network collector.
"""

from __future__ import annotations

import collections
import datetime
from collections.abc import Callable

from citycloud import policies, tenants
from citycloud.monitoring import _families

EXPIRING_DAYS = 30  # waivers expiring within this many days are counted as expiring soon

Today = Callable[[], datetime.date]


class Evaluator:
    """The policy Report of the current registry, computed once per Platform and day."""

    def __init__(self, platform: Callable[[], tenants.Platform], *,
                 today: Today = datetime.date.today) -> None:
        self.platform = platform
        self.today = today
        self._memo = _families.Memo(_evaluate)

    def report(self) -> policies.Report:
        return self._memo((self.platform(), self.today()))


def _evaluate(key: tuple[tenants.Platform, datetime.date]) -> policies.Report:
    platform, today = key
    return policies.evaluate(platform, today=today)


class FindingsCollector(_families.Collector):
    """Findings per policy and severity; waivers by state and expiry."""

    def __init__(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator
        self._families = _families.Memo(_findings_families)

    def families(self) -> list[_families.Family]:
        evaluator = self._evaluator
        platform, today = evaluator.platform(), evaluator.today()
        return self._families((evaluator.report(), platform, today))


def _findings_families(key: tuple[policies.Report, tenants.Platform, datetime.date],
                       ) -> list[_families.Family]:
    report, platform, today = key
    standing = collections.Counter((d.code, str(d.severity)) for d in report.findings)
    waived = collections.Counter(w.finding.code for w in report.waived)
    # Every policy that ran gets a row, zero included, so "no findings" is a value, not a gap.
    for rule_id in report.policies:
        standing.setdefault((rule_id, str(policies.POLICIES[rule_id].severity)), 0)
    return [
        _families.Family(
            "citycloud_policy_findings",
            "Findings that stand (not waived) in the registry, by policy and severity",
            ("policy", "set", "severity"),
            [((code, _set_of(code), severity), float(count))
             for (code, severity), count in sorted(standing.items())]),
        _families.Family(
            "citycloud_policy_findings_waived",
            "Findings an active waiver suppresses, by policy; they still count here",
            ("policy", "set"),
            [((code, _set_of(code)), float(count)) for code, count in sorted(waived.items())]),
        *waiver_families(platform, today=today),
    ]


def _set_of(code: str) -> str:
    rule = policies.POLICIES.get(code)
    return rule.set if rule else code.partition(".")[0]


def waiver_families(platform: tenants.Platform, *, today: datetime.date,
                    ) -> list[_families.Family]:
    soon = today + datetime.timedelta(days=EXPIRING_DAYS)
    states = collections.Counter("expired" if w.expires < today else "active"
                                 for w in platform.waivers)
    expiring = sum(today <= w.expires <= soon for w in platform.waivers)
    # Two waivers of one policy for one tenant: the later date is the one that counts.
    ends: dict[tuple[str, str], datetime.date] = {}
    for waiver in platform.waivers:
        key = (waiver.policy, waiver.tenant)
        ends[key] = max(ends.get(key, waiver.expires), waiver.expires)
    return [
        _families.Family(
            "citycloud_waivers", "Waivers in waivers.yaml by state (expired: past its date)",
            ("state",), [((state,), float(states[state])) for state in ("active", "expired")]),
        _families.single(
            "citycloud_waivers_expiring",
            f"Active waivers that expire within {EXPIRING_DAYS} days", float(expiring)),
        _families.Family(
            "citycloud_waiver_expiry_timestamp_seconds",
            "When the waiver stops working: the start of the day after its expiry date",
            ("policy", "tenant"),
            [(key, expiry_timestamp(expires)) for key, expires in sorted(ends.items())]),
    ]


def expiry_timestamp(expires: datetime.date) -> float:
    """A waiver holds through its expiry date, local time; it ends at the next midnight."""
    end = datetime.datetime.combine(expires + datetime.timedelta(days=1), datetime.time())
    return end.timestamp()
