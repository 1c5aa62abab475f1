"""Policy commands: `citycloud policies list|explain ID`, and how a policy report prints.

People who are told "no" by a policy want to know why the rule exists, who can
tune it and how an exception is granted; `explain` answers from the same
catalogue the engine runs, so the explanation cannot drift from the rule.
"""

from __future__ import annotations

import datetime
import sys
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from citycloud import policies
from citycloud.cli import options, output, state
from citycloud.policies import engine
from citycloud.tenants import diagnostics
from citycloud.tenants.platform import PLATFORM_FILE, Platform

app = typer.Typer(no_args_is_help=True, help="The shared policies: what they demand and why.")


def _platform_if_any(current: state.State) -> Platform | None:
    """The registry's platform when --registry points at one; the catalogue alone otherwise."""
    if not (current.registry / PLATFORM_FILE).exists():
        return None
    return current.platform


def catalogue(platform: Platform | None, *, only_set: str | None = None,
              ) -> list[dict[str, Any]]:
    on = {rule.id for rule in engine.enabled(platform)} if platform else None
    rows = []
    for rule in sorted(policies.POLICIES.values(), key=lambda r: (r.set, r.id)):
        if only_set and rule.set != only_set:
            continue
        row: dict[str, Any] = {"id": rule.id, "set": rule.set, "severity": str(rule.severity),
                               "title": rule.title}
        if on is not None:
            row["enabled"] = rule.check is None or rule.id in on
        rows.append(row)
    return rows


@app.command("list")
def list_(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    only_set: Annotated[str | None, typer.Option(
        "--set", help="Only this set: security, standards, capacity, placement, network, "
        "sharing, engine.")] = None,
) -> None:
    """List every policy: id, set, severity and what it demands.

    With a registry (--registry, or the current directory when it holds
    platform.yaml), also whether its platform.yaml switches the policy on.
    """
    current = state.get(ctx, fmt)
    sets = sorted({rule.set for rule in policies.POLICIES.values()})
    if only_set is not None and only_set not in sets:
        hint = diagnostics.did_you_mean(only_set, sets)
        raise typer.BadParameter(
            f"no policy set is called {only_set!r}"
            + (f"; {hint}" if hint else "") + f" (sets: {', '.join(sets)})",
            param_hint="--set")
    rows = catalogue(_platform_if_any(current), only_set=only_set)
    if fmt is output.Format.JSON:
        output.print_json(rows)
        return
    columns = list(rows[0]) if rows else ["id", "set", "severity", "title"]
    cells = [[("yes" if v is True else "no" if v is False else v) for v in row.values()]
             for row in rows]
    title = "Policies ('citycloud policies explain ID' tells why)"
    if fmt is not output.Format.TABLE:
        output.table(title, columns, cells, fmt)
        return
    # Ids are what people copy into waivers and `explain`: never wrap or truncate them.
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=column != "title", overflow="fold")
    for row in cells:
        table.add_row(*(Text(str(cell)) for cell in row))
    output.stdout.print(table)


@app.command()
def explain(
    ctx: typer.Context,
    policy_id: Annotated[str, typer.Argument(
        metavar="ID", help="A policy id from 'citycloud policies list', e.g. "
        "security.pod-security.")],
    fmt: options.Output = output.Format.TABLE,
) -> None:
    """Why a policy exists, what tunes it, what holds it in the cluster, how to get a waiver."""
    state.get(ctx, fmt)
    rule = policies.POLICIES.get(policy_id)
    if rule is None:
        raise typer.BadParameter(
            f"no policy is called {policy_id!r}; " + diagnostics.did_you_mean(
                policy_id, policies.POLICIES, otherwise="see 'citycloud policies list'"),
            param_hint="ID")
    facts = explanation(rule)
    if fmt is output.Format.JSON:
        output.print_json(facts)
        return
    if fmt in (output.Format.MARKDOWN, output.Format.GITHUB):
        sys.stdout.write(f"### `{rule.id}` ({rule.set}, {rule.severity})\n\n**{rule.title}**\n\n"
                         + "".join(f"- **{k}:** {v}\n" for k, v in facts["details"].items())
                         + "\n")
        return
    output.stdout.print(f"[bold]{escape(rule.id)}[/bold] ({rule.set}, {rule.severity})")
    output.stdout.print(escape(rule.title))
    for key, value in facts["details"].items():
        output.stdout.print(f"\n[bold]{escape(key)}[/bold]\n  {escape(value)}")


def hold_to_policies(platform: Platform, *, force: bool = False,
                     doing: str = "") -> None:
    """Refuse (exit 1, with the report) a registry that fails the shared policies, as
    'citycloud validate' would; with `force`, say that `doing` goes on despite them."""
    report = policies.evaluate(platform, today=datetime.date.today())
    if report.ok:
        return
    if not force:
        raise policies.PolicyViolations(report)
    output.stderr.print(f"warning: {doing} despite {report.errors} policy violation(s) "
                        "(--force); 'citycloud validate' lists them", highlight=False)


def explanation(rule: policies.Policy) -> dict[str, Any]:
    details = {"Why": rule.rationale}
    if rule.settings:
        details["Tuned by"] = ", ".join(f"policies.{s}" for s in rule.settings) + \
            " in platform.yaml"
    if rule.guardrails == ("all",):
        details["In the cluster"] = "decides whether each pool's guardrails apply at all"
    elif rule.guardrails:
        names = " and ".join(f"citycloud-<pool>-{name}" for name in rule.guardrails)
        details["In the cluster"] = (f"the pool guardrails {names} "
                                     "(ValidatingAdmissionPolicies; see tenants/guardrails.py)")
    if rule.check is None:
        details["Reported by"] = "the engine itself; it cannot be switched off or waived"
    else:
        details["Switch off"] = (f"policies.disabled: [{rule.id}] or policies.sets.{rule.set}: "
                                 "false in platform.yaml (for the whole platform)")
        details["Exception"] = (f"a waiver in waivers.yaml: {{policy: {rule.id}, tenant: <name>, "
                                "reason: ..., approver: ..., expires: YYYY-MM-DD}")
    return {"id": rule.id, "set": rule.set, "severity": str(rule.severity), "title": rule.title,
            "details": details}


def print_report(report: policies.Report, fmt: output.Format, *, title: str,
                 summary: dict[str, Any] | None = None) -> None:
    """A policy report in any format: findings grouped by tenant, then what waivers excused."""
    waived = [{"waiver": w.location, "approver": w.waiver.approver,
               "expires": w.waiver.expires.isoformat(), "reason": w.waiver.reason,
               **output.diagnostic_dict(w.finding)} for w in report.waived]
    facts = {**(summary or {}), "policies": len(report.policies), "waived": len(waived)}
    if fmt is output.Format.JSON:
        output.report_diagnostics(list(report.findings), fmt, title=title,
                                  summary={**facts, "waivedFindings": waived})
        return
    output.report_diagnostics(list(report.findings), fmt, title=title, summary=facts)
    if not waived or fmt is output.Format.GITHUB:
        return
    if fmt is output.Format.MARKDOWN:
        sys.stdout.write(output.markdown_table(
            "Waived (still counted)", ["tenant", "code", "where", "approver", "expires", "waiver"],
            [(w["tenant"], f"`{w['code']}`", f"`{w['file']}:{w['line']}`", w["approver"],
              w["expires"], f"`{w['waiver']}`") for w in waived]))
        return
    output.stdout.print(f"{len(waived)} finding(s) waived, still counted:", highlight=False)
    for entry in waived:
        output.stdout.print(
            f"  [dim]waived {escape(entry['code'])} for {escape(entry['tenant'])} by "
            f"{escape(entry['approver'])} until {entry['expires']} ({escape(entry['waiver'])})"
            "[/dim]", highlight=False)
