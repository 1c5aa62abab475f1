"""The `citycloud` command: global options, command groups, exit codes.

Commands only parse arguments, call one importable function and print its
result. Domain errors become exit codes in `errors.handle`, called from the
root group so every command and sub-command shares it.
"""

from __future__ import annotations

import gc
import importlib
import pathlib
from typing import Annotated, Any

import typer
import typer.core

from citycloud.cli import (
    audit,
    capacity,
    errors,
    gitops,
    networks,
    output,
    policies,
    registry,
    state,
    tenant,
)

VERSION = "0.1.0"

# Command modules that import heavy libraries (pulumi, ansible-runner, prometheus_client) are
# imported only when one of their commands runs or help lists it: `citycloud validate` in CI
# must not pay a second of start-up for them. Name -> (module, help of a sub-group, or None
# for the commands the module's register() adds at the top). tests/cli checks this table.
LAZY_COMMANDS: dict[str, tuple[str, str | None]] = {
    "apply": ("citycloud.cli.stacks", None),
    "onboard": ("citycloud.cli.stacks", None),
    "resize": ("citycloud.cli.stacks", None),
    "offboard": ("citycloud.cli.stacks", None),
    "exporter": ("citycloud.cli.monitoring", None),
    "nodes": ("citycloud.cli.nodes", "Prepare the machines of a pool: facts check, kubelet "
              "labels and taints, security baseline (Ansible)."),
}


class _Group(typer.core.TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        listed = super().list_commands(ctx)
        return [*listed, *(name for name in LAZY_COMMANDS if name not in listed)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module_name, group_help = LAZY_COMMANDS[cmd_name]
            holder = typer.Typer(rich_markup_mode="rich", add_completion=False)
            module = importlib.import_module(module_name)
            if group_help is None:
                module.register(holder)
            else:
                holder.add_typer(module.app, name=cmd_name, help=group_help)
            loaded = typer.main.get_command(holder)
            found = getattr(loaded, "commands", None) or {loaded.name: loaded}
            for name, command in found.items():
                self.add_command(command, name)
        return super().get_command(ctx, cmd_name)

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
        help="Where deployed state and records are kept.",
        show_default="REGISTRY/.citycloud")] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = state.State(registry=registry_path, state_dir=state_dir, debug=debug)


registry.register(app)
capacity.register(app)
app.add_typer(tenant.app, name="tenant", help="Scaffold and manage tenant requests.")
app.add_typer(policies.app, name="policies",
              help="The shared policies: list them, and explain why each exists.")
app.add_typer(networks.app, name="networks", help="Duplicate private networks and free ranges.")
gitops.register(app)
app.add_typer(audit.app, name="audit", help="The audit trail: log, verify, prune.")


def main() -> None:
    # A short-lived process that builds many small objects (a registry, its rendered
    # objects) and frees few: the cyclic GC would rescan that growing heap again and
    # again. Leave import-time objects out of it and collect rarely (bench/validate.py).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    app(prog_name="citycloud")
