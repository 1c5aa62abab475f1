"""The `citycloud` command: global options, command groups, exit codes.

Commands only parse arguments, call one importable function and print its
result. Domain errors become exit codes in `errors.handle`, called from the
root group so every command and sub-command shares it.
"""

from __future__ import annotations

import pathlib
from typing import Annotated, Any

import typer
import typer.core

from cli import (
    audit,
    capacity,
    errors,
    gitops,
    monitoring,
    networks,
    nodes,
    output,
    policies,
    registry,
    stacks,
    state,
    tenant,
)

VERSION = "0.1.0"


class _Group(typer.core.TyperGroup):
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except Exception as err:
            current = ctx.find_object(state.State)
            code = errors.handle(
                err,
                fmt=current.output if current else output.Format.TABLE,
                debug=bool(current and current.debug),
            )
            if code is None:
                raise
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=_Group,
    name="citycloud",
    help="Orchestrate a city's unified government cloud: pools, department tenants, "
    "shared policies and capacity.\n\nExit codes: 0 ok, 1 policy violations, "
    "2 invalid input or usage, 3 apply failed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"citycloud {VERSION}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    registry_path: Annotated[pathlib.Path, typer.Option(
        "--registry", "-r", envvar="CITYCLOUD_REGISTRY", file_okay=False,
        help="The registry repo (platform.yaml, departments.yaml, tenants/).")] = pathlib.Path(),
    state_dir: Annotated[pathlib.Path | None, typer.Option(
        "--state-dir", envvar="CITYCLOUD_STATE_DIR", file_okay=False,
        help="Where deployed state and records are kept [default: REGISTRY/.citycloud].")] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = state.State(registry=registry_path, state_dir=state_dir, debug=debug)


registry.register(app)
stacks.register(app)
capacity.register(app)
app.add_typer(tenant.app, name="tenant", help="Scaffold and manage tenant requests.")
app.add_typer(policies.app, name="policies",
              help="The shared policies: list them, and explain why each exists.")
app.add_typer(networks.app, name="networks", help="Duplicate private networks and free ranges.")
gitops.register(app)
monitoring.register(app)
app.add_typer(audit.app, name="audit", help="The audit trail: log, verify, prune.")
app.add_typer(nodes.app, name="nodes",
              help="Prepare the machines of a pool: facts check, kubelet labels and taints, "
              "security baseline (Ansible).")


def main() -> None:
    app(prog_name="citycloud")
