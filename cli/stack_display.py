"""How stack operations look: rich progress while Pulumi runs, the diff, confirmation, results.

The Display is the Reporter stacks.operations and stacks.offboarding call:
they never print. Progress goes to stderr (stdout stays clean for
`--output json`); a live bar on a terminal, one line per stack elsewhere
(CI logs). Any step that would delete or replace a namespace is printed in
red, whatever the format.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)

from citycloud.cli import output
from citycloud.stacks import changes, layout, offboarding, operations
from citycloud.stacks import errors as stack_errors

_DETAIL_LIMIT = 60  # more steps than this and the diff is summarised per stack
_OP_STYLE = {"create": "green", "update": "yellow", "delete": "red", "replace": "red",
             "create-replacement": "red", "delete-replaced": "red", "import": "cyan"}


@dataclasses.dataclass
class _Phase:
    """How far a phase (preview, update, destroy) has come, for the lines of a log."""

    total: int
    started: float = dataclasses.field(default_factory=time.monotonic)
    done: int = 0

    def eta(self) -> str:
        if not self.done or self.done >= self.total:
            return ""
        left = (time.monotonic() - self.started) / self.done * (self.total - self.done)
        minutes, seconds = divmod(round(left), 60)
        return f", about {minutes}m{seconds:02d}s left" if minutes else f", about {seconds}s left"


class Display:
    def __init__(self, *, fmt: output.Format, yes: bool) -> None:
        self.fmt = fmt
        self.yes = yes
        self.live = output.stderr.is_terminal and fmt is output.Format.TABLE
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description:<8}"), BarColumn(),
            MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[current]}", markup=False),
            console=output.stderr, transient=True, disable=not self.live)
        self._tasks: dict[str, Any] = {}
        self._phases: dict[str, _Phase] = {}

    def __enter__(self) -> Display:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    # ---- the Reporter protocol -----------------------------------------------------------

    def begin(self, phase: str, total: int) -> None:
        self.progress.start()  # again after a confirmation stopped it; a no-op otherwise
        self._tasks[phase] = self.progress.add_task(phase, total=total, current="")
        self._phases[phase] = _Phase(total)

    def journal(self, ref: layout.StackRef, phase: str) -> changes.Journal:
        task = self._tasks.get(phase)

        def show(journal: changes.Journal) -> None:
            if task is not None:
                self.progress.update(task, current=f"{ref}: {journal.current}")

        return changes.Journal(on_change=show)

    def finished(self, outcome: operations.Outcome, phase: str) -> None:
        task = self._tasks.get(phase)
        if task is not None:
            self.progress.advance(task)
        progress = self._phases.setdefault(phase, _Phase(0))
        progress.done += 1
        failed = outcome.status in (operations.Status.FAILED, operations.Status.BLOCKED)
        if self.live and failed:  # named as it happens, above the bar; details at the end
            first = (outcome.error or "").strip().splitlines()[:1]
            output.stderr.print(f"[red]{escape(phase)} {escape(str(outcome.ref))}: "
                                f"{outcome.status}[/red] {escape(first[0]) if first else ''}")
        if not self.live and self.fmt is not output.Format.JSON:
            counts = ", ".join(f"{n} {op}" for op, n in changes.summary(outcome.steps).items())
            count = f" {progress.done}/{progress.total}" if progress.total else ""
            output.stderr.print(f"{phase}{count} {outcome.ref}: "
                                f"{outcome.status}{' (' + counts + ')' if counts else ''}"
                                f"{progress.eta()}", highlight=False, markup=False)

    def confirm(self, outcomes: Sequence[operations.Outcome]) -> bool:
        self.progress.stop()
        if not self.yes:
            self._refuse_unattended()
        if self.fmt is not output.Format.JSON:  # JSON carries the steps in its result
            show_plan(outcomes)
        return self._ask("Apply these changes?")

    def confirm_offboard(self, plan: offboarding.Plan) -> bool:
        self.progress.stop()
        show_offboard(plan)  # on stderr, also with --output json
        if self.yes:
            return True
        self._refuse_unattended()
        try:
            answer = typer.prompt(f"Type the tenant's name ({plan.tenant}) to delete it",
                                  default="", show_default=False, err=True)
        except typer.Abort:
            raise stack_errors.UsageError(
                "no confirmation (no terminal); pass --yes to offboard without asking") from None
        return bool(answer.strip() == plan.tenant)

    def _ask(self, question: str) -> bool:
        if self.yes:
            return True
        self._refuse_unattended()
        try:
            return typer.confirm(question, default=False, err=True)
        except typer.Abort:
            raise stack_errors.UsageError(
                "no confirmation (no terminal); review with --dry-run, then pass --yes"
            ) from None


    def _refuse_unattended(self) -> None:
        if self.fmt is output.Format.JSON:
            raise stack_errors.UsageError(
                "--output json has no one to confirm changes: pass --yes (or --dry-run)")


# ---- printing ------------------------------------------------------------------------------


def danger(outcomes: Sequence[operations.Outcome]) -> None:
    for outcome in outcomes:
        for step in outcome.dangerous:
            output.stderr.print(
                f"[bold red]DANGER[/bold red] {outcome.ref}: would {step.op.upper()} "
                f"{escape(step.title)} and every workload and volume in it; refused "
                "(namespaces are protected). Offboard the tenant instead ('citycloud offboard')",
                highlight=False)


def show_plan(outcomes: Sequence[operations.Outcome]) -> None:
    """The previewed changes: per stack, then step by step when there are few."""
    changed = [o for o in outcomes if o.steps]
    rows = [(str(o.ref), o.status.value, *(_count(o, op) for op in ("create", "update")),
             _count(o, "delete"), _count(o, "replace")) for o in changed]
    output.table("Changes", ["stack", "status", "create", "update", "delete", "replace"], rows,
                 output.Format.TABLE)
    steps = sum(len(o.steps) for o in changed)
    if steps <= _DETAIL_LIMIT:
        for outcome in changed:
            for step in outcome.steps:
                style = _OP_STYLE.get(step.op, "white")
                diffs = f" ({', '.join(step.diffs)})" if step.diffs else ""
                output.stdout.print(f"  [{style}]{step.op:>8}[/{style}] {outcome.ref}: "
                                    f"{escape(step.title)}{escape(diffs)}", highlight=False)
    danger(outcomes)


def _count(outcome: operations.Outcome, op: str) -> int:
    if op == "replace":
        return sum(s.op in ("replace", "create-replacement") for s in outcome.steps)
    return sum(s.op == op for s in outcome.steps)


def result_json(result: operations.Result) -> dict[str, Any]:
    return {
        "dryRun": result.dry_run,
        "confirmed": result.confirmed,
        "ok": not result.failed,
        "summary": _summary(result),
        "stacks": [{"stack": str(o.ref), "kind": o.ref.kind.value, "name": o.ref.name,
                    "status": o.status.value, "recovered": o.recovered, "error": o.error,
                    "steps": [{"op": s.op, "kind": s.kind, "name": s.name,
                               "dangerous": s.dangerous} for s in o.steps]}
                   for o in result.outcomes],
        "orphans": result.orphans,
    }


def _summary(result: operations.Result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return counts


def show_result(result: operations.Result) -> None:
    """For people: the plan or what was blocked, failures, orphans (JSON: cli/stacks.py)."""
    if result.dry_run:
        show_plan(result.outcomes)
    else:
        danger([o for o in result.outcomes if o.status is operations.Status.BLOCKED])
    for outcome in result.failed:
        output.stderr.print(f"[red]{outcome.status}[/red] {escape(outcome.error)}",
                            highlight=False)
    if result.orphans:
        output.stderr.print(
            f"[yellow]{len(result.orphans)} tenant stack(s) no longer in the registry, left as "
            f"they are:[/yellow] {escape(', '.join(result.orphans))} "
            "('citycloud offboard TENANT' deletes one)", highlight=False)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(_summary(result).items()))
    verb = ("previewed" if result.dry_run else "" if result.confirmed
            else " (cancelled, nothing changed)")
    output.stdout.print(f"{len(result.outcomes)} stack(s){' ' + verb if result.dry_run else verb}:"
                        f" {counts}", highlight=False)


def show_quota(found: Sequence[operations.QuotaChange], tenant: str) -> None:
    if not found:
        output.stdout.print(f"the quota of {tenant} is what was last applied", highlight=False)
        return
    output.table(f"Quota of {tenant}: applied -> registry",
                 ["namespace", "resource", "applied", "registry"],
                 [(q.namespace, q.resource, q.before, q.after) for q in found],
                 output.Format.TABLE)


def show_offboard(plan: offboarding.Plan) -> None:
    output.stderr.print(
        f"[bold red]DANGER[/bold red] offboarding {plan.tenant} DELETES namespace(s) "
        f"{escape(', '.join(plan.namespaces) or '(none)')} with every workload and volume in "
        f"them, and {len(plan.resources)} object(s) in all.", highlight=False)
    if plan.claims:
        output.stderr.print(f"[bold red]forced:[/bold red] {len(plan.claims)} "
                            f"PersistentVolumeClaim(s) go with them: "
                            f"{escape(', '.join(plan.claims))}", highlight=False)
    if plan.in_registry:
        output.stderr.print(
            f"[yellow]{plan.tenant} is still in the registry: the next 'citycloud apply' "
            "onboards it again; remove its file in a pull request[/yellow]", highlight=False)
