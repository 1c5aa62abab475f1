"""Audit commands (log, verify, prune), and `recorded`, which mutating commands wrap around
their work so that each use of them appends one record.

`audit verify` exits 1 when it finds the log edited, records removed, reordered
or cut off (a finding, like a policy violation), and 2 when it cannot read what
it needs. `audit prune` refuses to go below 180 days (exit 2).
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

from citycloud.cli import exits, options, output, state
from citycloud.tenants import files, sharing_map
from citycloud.tenants.audit import chain, trail
from citycloud.tenants.gitops import git

app = typer.Typer(no_args_is_help=True, help="The audit trail of every change citycloud made.")


@dataclasses.dataclass
class Outcome:
    """What a command fills in while it runs; written into its record when it ends."""

    summary: Any = None  # e.g. the plan's counts
    commit: str | None = None  # the registry commit acted on [default: HEAD, if in git]
    result: str = "ok"


@contextlib.contextmanager
def recorded(ctx: typer.Context, *, action: str, target: str = "",
             state_dir: pathlib.Path | None = None, registry: pathlib.Path | None = None,
             check_first: bool = True, skip: bool = False) -> Iterator[Outcome]:
    """Append an audit record for the command run inside, however it ends.

    With `check_first`, a damaged log stops the command before it changes anything
    (fail closed): a change that could not be recorded must not be made. `skip` (e.g.
    for --dry-run, which changes nothing) records nothing."""
    if skip:
        yield Outcome()
        return
    current = state.get(ctx)
    where = state_dir or current.state_path
    repo = registry or current.registry
    if check_first:
        with files.writing(where):
            trail.check_writable(where)
    outcome = Outcome()
    try:
        yield outcome
    except typer.Exit as done:
        if done.exit_code:
            outcome.result = f"exit {done.exit_code}"
        raise
    except BaseException as err:
        outcome.result = f"failed: {type(err).__name__}: {err}"[:1000]
        raise
    finally:
        commit = outcome.commit or git.head_commit(repo)
        with files.writing(where):
            trail.record(where, action=action, target=target, commit=commit,
                         args={"registry": str(current.registry), **ctx.params},
                         summary=outcome.summary, result=outcome.result,
                         git_author=git.author(repo, commit=outcome.commit))


@app.command("log")
def log(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    limit: Annotated[int, typer.Option(min=0, help="Show the last N records; 0 for all.")] = 50,
) -> None:
    """Show the audit records: who did what, when, to which commit, with what result."""
    entries = trail.read(state.get(ctx, fmt).state_path)
    shown = entries[-limit:] if limit else entries
    if fmt is output.Format.JSON:
        output.print_json(shown)
        return
    rows = [_row(e) for e in shown]
    output.table(f"Audit log ({len(entries)} entries; 'audit verify' checks them)",
                 ["#", "time (UTC)", "who", "action", "target", "commit", "result", "summary"],
                 rows, fmt)


def _row(entry: dict[str, Any]) -> tuple[Any, ...]:
    if entry.get("kind") == "checkpoint":
        return ("—", entry.get("time", ""), "", "checkpoint", "",
                "", "ok", f"{entry.get('pruned_count')} records up to "
                f"#{entry.get('pruned_through')} pruned (oldest {entry.get('oldest')})")
    who = entry.get("who") or {}
    person = who.get("actor") or who.get("user") or ""
    if who.get("actor") and who.get("user"):
        person += f" (as {who['user']})"
    summary = entry.get("summary")
    if isinstance(summary, dict):
        summary = ", ".join(f"{k} {v}" for k, v in summary.items())
    return (entry.get("seq", ""), entry.get("time", ""), person, entry.get("action", ""),
            entry.get("target", ""), (entry.get("commit") or "")[:12], entry.get("result", ""),
            summary or "")


@app.command("verify")
def verify(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    expect: Annotated[str | None, typer.Option(
        metavar="HASH", help="A record hash kept elsewhere (e.g. printed by an earlier verify "
        "into a CI log); the log must still hold it.")] = None,
) -> None:
    """Check the hash chain: finds edited, removed, reordered and cut-off records (exit 1)."""
    result = chain.verify(state.get(ctx, fmt).state_path, expect=expect)
    summary = chain.summary(result)
    title = (f"audit log {result.log}: {result.records} records"
             + (f", #{result.first}..#{result.last.seq}" if result.last else "")
             + (f", head {result.last.hash}" if result.last else ""))
    output.report_diagnostics(result.problems, fmt, title=title, summary=summary)
    if not result.ok:
        raise typer.Exit(exits.VIOLATIONS)


@app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: Annotated[int, typer.Option(
        "--older-than", metavar="DAYS", help="Prune records older than DAYS (180 at least: "
        "the Cybersecurity Law, art. 21, keeps network logs six months).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
    = False,
    fmt: options.Output = output.Format.TABLE,
) -> None:
    """Drop old records, leaving a signed checkpoint so the rest still verifies."""
    current = state.get(ctx, fmt)
    if older_than < trail.RETENTION_DAYS:
        raise trail.AuditError(
            f"--older-than {older_than}: records are kept at least {trail.RETENTION_DAYS} "
            "days (the Cybersecurity Law, art. 21, requires six months)")
    if not yes and not typer.confirm(
            f"Delete audit records older than {older_than} days from "
            f"{trail.log_path(current.state_path)}? Archive a copy first if your rules keep "
            "them longer", err=True):
        output.stderr.print("cancelled: nothing pruned", highlight=False)
        return
    result = chain.prune(current.state_path, older_than_days=older_than,
                               git_author=git.author(current.registry))
    if fmt is output.Format.JSON:
        output.print_json({"pruned": result.count, "through": result.through,
                           "record": result.record})
        return
    output.stdout.print(f"pruned {result.count} record(s); the log now starts after record "
                        f"{result.through} (recorded as #{result.record['seq']})",
                        highlight=False)


def record(ctx: typer.Context, *, action: str, target: str, summary: Any = None,
           state_dir: pathlib.Path | None = None, registry: pathlib.Path | None = None) -> None:
    """Append a record for a change already made (for `init`, whose state directory exists
    only once it has succeeded; a failed init must leave nothing behind)."""
    current = state.get(ctx)
    repo = registry or current.registry
    trail.record(state_dir or current.state_path, action=action, target=target,
                 commit=git.head_commit(repo), summary=summary,
                 args={"registry": str(current.registry), **ctx.params},
                 git_author=git.author(repo))


GRANTS_LISTED = 100  # a record is a summary: beyond this many, the count alone


class Grants:
    """The shared-service grants ("<consumer> -> <provider>/<service>") a change opens and
    closes: the deployed snapshot's share NetworkPolicies when it is made (before the
    change) against those when `changes` is asked (after it), in the unit `folders` named,
    or all. Every grant has an end in each party's folder, so a change to one tenant names
    its own folder."""

    def __init__(self, deployed: pathlib.Path, *, folders: Iterable[str] | None = None) -> None:
        self.deployed = deployed
        self.folders = None if folders is None else list(folders)
        self.before = sharing_map.deployed_grants(deployed, folders=self.folders)

    def changes(self) -> dict[str, Any]:
        """grantsAdded and grantsRemoved for the audit record; nothing when none changed."""
        after = sharing_map.deployed_grants(self.deployed, folders=self.folders)
        found: dict[str, Any] = {}
        for key, grants in (("grantsAdded", after - self.before),
                            ("grantsRemoved", self.before - after)):
            if grants:
                found[key] = sorted(grants)[:GRANTS_LISTED]
            if len(grants) > GRANTS_LISTED:
                found[f"{key}Total"] = len(grants)
        return found


def stack_summary(result: Any) -> dict[str, Any]:
    """The plan summary of an apply, onboard or resize (a stacks.operations.Result)."""
    steps: dict[str, int] = {}
    for outcome in result.outcomes:
        for step in outcome.steps:
            steps[step.op] = steps.get(step.op, 0) + 1
    return {"stacks": len(result.outcomes), "changed": len(result.changed),
            "failed": len(result.failed), "confirmed": result.confirmed, "steps": steps}
