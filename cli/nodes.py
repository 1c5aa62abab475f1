"""Node commands: check and prepare the machines of a pool with Ansible.

`nodes check POOL` runs the node playbook in check mode with diffs: what would
change on each machine, changing nothing. `nodes prepare POOL` applies it.
Both show per-host progress while Ansible runs (a live table on a terminal,
one line per change or failure in CI logs, always on stderr) and end with a
per-host summary on stdout. The run's inventory, events and summary stay in
STATE/ansible/<run-id>, and `prepare` appends a record to the audit trail.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Annotated

import typer
from rich import box
from rich.live import Live
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from citycloud.cli import audit, options, output, state
from citycloud.stacks import nodes

app = typer.Typer(no_args_is_help=True)

Pool = Annotated[str, typer.Argument(help="A pool of platform.yaml, e.g. gov or xinchuang.",
                                     show_default=False)]
Limit = Annotated[list[str] | None, typer.Option(
    "--limit", "-l", help="Only this node (repeatable).", show_default="every node of the pool")]
Cluster = Annotated[str | None, typer.Option(
    "--cluster", help="Only the nodes of this cluster of the pool (their 'cluster' in the "
    "registry).", show_default="every cluster of the pool")]
Only = Annotated[list[nodes.Part] | None, typer.Option(
    "--only", help="Only this part of the playbook (repeatable): facts (the CPU and OS check), "
    "kubelet (labels and taints), baseline (SSH, audit, time, kernel).")]
NodeRoot = Annotated[pathlib.Path, typer.Option(
    "--node-root", help="Write under this directory on each node instead of / (an image being "
    "built); packages and services are then left alone.")]
ShowDiff = Annotated[bool | None, typer.Option(
    "--diff/--no-diff", help="Show each file's diff.",
    show_default="check shows them, prepare not")]

_STATUS_STYLE = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "red",
                 "running": "cyan", "waiting": "dim"}


@app.command()
def check(ctx: typer.Context, pool: Pool, fmt: options.Output = output.Format.TABLE,
          limit: Limit = None, cluster: Cluster = None, only: Only = None,
          node_root: NodeRoot = pathlib.Path("/"), show_diff: ShowDiff = None) -> None:
    """Show what 'nodes prepare' would change on each node of POOL; change nothing.

    Runs the node playbook in Ansible check mode with diffs: the facts check
    (each machine's CPU architecture and OS against the pool), the kubelet's
    labels and taints, and the security baseline. Exit 3 when a node fails a
    check or cannot be reached; the summary names the node, task and reason.
    """
    _run(ctx, pool, mode=nodes.Mode.CHECK, fmt=fmt, limit=limit, cluster=cluster, only=only,
         node_root=node_root, show_diff=True if show_diff is None else show_diff)


@app.command()
def prepare(ctx: typer.Context, pool: Pool, fmt: options.Output = output.Format.TABLE,
            limit: Limit = None, cluster: Cluster = None, only: Only = None,
            node_root: NodeRoot = pathlib.Path("/"), show_diff: ShowDiff = None,
            yes: Annotated[bool, typer.Option(
                "--yes", "-y", help="Prepare without asking for confirmation.")] = False) -> None:
    """Prepare the nodes of POOL for Kubernetes and the platform's security policy.

    Refuses a machine whose CPU architecture or OS the pool does not take (a
    non-domestic OS in the xinchuang pool), then writes the pool's node
    labels and taints as kubelet configuration and the security baseline of
    the pool's highest MLPS level: SSH hardening, audit rules, time servers,
    kernel parameters. Services whose configuration changed are reloaded.
    Idempotent: a second run changes nothing. See the diff first with
    'citycloud nodes check POOL'. Exit 3 when a node fails.
    """
    if not yes:
        _confirm(state.get(ctx, fmt), pool, limit=limit or [], cluster=cluster, fmt=fmt)
    with audit.recorded(ctx, action="nodes prepare", target=pool) as record:
        _run(ctx, pool, mode=nodes.Mode.PREPARE, fmt=fmt, limit=limit, cluster=cluster,
             only=only, node_root=node_root, show_diff=bool(show_diff), record=record)


def _confirm(current: state.State, pool: str, *, limit: list[str], cluster: str | None,
             fmt: output.Format) -> None:
    names = nodes.inventory.hosts_of(nodes.inventory.build(current.platform, pool, limit=limit,
                                                           cluster=cluster))
    if fmt is output.Format.JSON:
        raise nodes.InvalidRequest("--output json has no one to confirm: pass --yes")
    question = (f"Prepare {len(names)} node(s) of pool {pool} ({', '.join(names)})? Services "
                "whose configuration changes are reloaded")
    try:
        if typer.confirm(question, default=False, err=True):
            return
    except typer.Abort:
        pass
    raise nodes.InvalidRequest(f"not confirmed; see the changes with 'citycloud nodes check "
                               f"{pool}', then pass --yes")


def _run(ctx: typer.Context, pool: str, *, mode: nodes.Mode, fmt: output.Format,
         limit: list[str] | None, cluster: str | None, only: list[nodes.Part] | None,
         node_root: pathlib.Path, show_diff: bool, record: audit.Outcome | None = None) -> None:
    current = state.get(ctx, fmt)
    display = _Display(fmt, mode=mode)
    with display:
        result = nodes.run_pool(current.platform, pool, mode=mode,
                                state_dir=current.state_path, limit=limit or (),
                                node_root=node_root, only=only or (), on_progress=display.update,
                                cluster=cluster)
    if record is not None:  # the audit trail: which run, on which nodes, with what outcome
        record.summary = {"runId": result.run_id, "artifacts": str(result.artifacts),
                          "nodes": {h.host: h.status for h in result.hosts},
                          "changed": result.changed}
    if fmt is not output.Format.JSON:
        if show_diff:
            _show_diffs(result, fmt)
        _show_summary(result, fmt)
    if not result.ok:
        raise nodes.PreparationFailed(result)  # cli.exits prints what failed, exit 3
    if fmt is output.Format.JSON:
        output.print_json(result.as_dict())


class _Display:
    """Per-host progress on stderr: a live table on a terminal, else a line per change."""

    def __init__(self, fmt: output.Format, *, mode: nodes.Mode) -> None:
        self.fmt = fmt
        self.verb = "would change" if mode is nodes.Mode.CHECK else "changed"
        self.live = (Live(console=output.stderr, transient=True, auto_refresh=True)
                     if output.stderr.is_terminal and fmt is output.Format.TABLE else None)
        self._printed: dict[str, tuple[int, int]] = {}  # host -> changes, failures printed

    def __enter__(self) -> _Display:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def update(self, progress: nodes.events.Progress) -> None:
        if self.live is not None:
            self.live.update(_progress_table(progress))
            return
        if self.fmt is output.Format.JSON:
            return
        for host in progress.results():  # CI logs: what changed or failed, as it happens
            changes, failures = self._printed.get(host.host, (0, 0))
            for change in host.changes[changes:]:
                output.stderr.print(f"{host.host}: {self.verb}: {change.task}", markup=False,
                                    highlight=False)
            for failure in host.failures[failures:]:
                output.stderr.print(f"{host.host}: FAILED: {failure.task}: {failure.message}",
                                    markup=False, highlight=False, style="red")
            self._printed[host.host] = (len(host.changes), len(host.failures))


def _progress_table(progress: nodes.events.Progress) -> Table:
    table = Table(box=box.SIMPLE, title="Preparing nodes", title_justify="left")
    for column in ("node", "status", "ok", "changed", "failed", "task"):
        table.add_column(column, justify="right" if column in ("ok", "changed", "failed")
                         else "left")
    for host in progress.results():
        style = _STATUS_STYLE.get(host.status, "")
        table.add_row(escape(host.host), f"[{style}]{host.status}[/{style}]", str(host.ok),
                      str(host.changed), str(host.failed + host.unreachable), escape(host.task))
    return table


def _show_diffs(result: nodes.RunResult, fmt: output.Format) -> None:
    verb = "would change" if result.mode is nodes.Mode.CHECK else "changed"
    for host in result.hosts:
        for change in (c for c in host.changes if c.diff):
            if fmt is output.Format.TABLE:
                output.stdout.print(f"[bold]{escape(host.host)}[/bold] {verb}: "
                                    f"{escape(change.task)}", highlight=False)
                output.stdout.print(Syntax(change.diff.rstrip("\n"), "diff",
                                           background_color="default"))
            else:
                sys.stdout.write(f"**{host.host}** {verb}: {change.task}\n\n"
                                         f"```diff\n{change.diff}```\n\n")


def _show_summary(result: nodes.RunResult, fmt: output.Format) -> None:
    rows = [(h.host, h.status, h.ok, h.changed, h.failed, h.unreachable,
             "; ".join(f"{f.task}: {f.message}" for f in h.failures)) for h in result.hosts]
    what = "check (nothing changed)" if result.mode is nodes.Mode.CHECK else "prepare"
    output.table(f"Nodes of pool {result.pool}: {what}",
                 ["node", "status", "ok", "changed", "failed", "unreachable", "problem"],
                 rows, fmt)
    if fmt is output.Format.TABLE:
        output.stdout.print(f"run {result.run_id}: artifacts in {result.artifacts}",
                            markup=False, highlight=False, style="dim")
