"""The `citycloud` command: global options, command groups, exit codes.

Commands only parse arguments, call one importable function and print its
result. Domain errors become exit codes in `exits.handle`, called from the
root group so every command and sub-command shares it.
"""

from __future__ import annotations

import gc
import importlib
import pathlib
import sys
from typing import Annotated, Any

import typer
import typer.core

from citycloud.cli import (
    audit,
    capacity,
    doctor,
    exits,
    extras,
    gitops,
    networks,
    output,
    policies,
    registry,
    services,
    state,
    tenant,
)

# Command modules that import heavy libraries (pulumi, ansible-runner, prometheus_client) are
# imported only when one of their commands runs or help lists it: `citycloud validate` in CI
# must not pay a second of start-up for them. Name -> (module, help of a sub-group or None for
# the commands the module's register() adds at the top, the extra the module needs or None).
# Where the extra is not installed, a stand-in takes the command's place: its help and its run
# name the extra to install. tests/cli checks this table.
LAZY_COMMANDS: dict[str, tuple[str, str | None, str | None]] = {
    "apply": ("citycloud.cli.stacks", None, "deploy"),
    "onboard": ("citycloud.cli.stacks", None, "deploy"),
    "resize": ("citycloud.cli.stacks", None, "deploy"),
    "offboard": ("citycloud.cli.stacks", None, "deploy"),
    "exporter": ("citycloud.cli.monitoring", None, None),
    "nodes": ("citycloud.cli.nodes", "Prepare the machines of a pool: facts check, kubelet "
              "labels and taints, security baseline (Ansible).", "nodes"),
}


def _stand_in(name: str, extra: str) -> Any:
    """A command in place of `name` whose extra is missing: it says which extra to install."""
    holder = typer.Typer(add_completion=False)

    @holder.command(name=name, help=f"Needs the {extra} extra: pip install "
                    f"'citycloud[{extra}]'.",
                    context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def stand_in() -> None:
        extras.require(extra, command=name)

    return typer.main.get_command(holder)


class _Group(typer.core.TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        listed = super().list_commands(ctx)
        return [*listed, *(name for name in LAZY_COMMANDS if name not in listed)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module_name, group_help, extra = LAZY_COMMANDS[cmd_name]
            if extra is not None and extras.missing(extra):
                self.add_command(_stand_in(cmd_name, extra), cmd_name)
                return super().get_command(ctx, cmd_name)
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

    def main(self, args: Any = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run, and keep the exit-code contract on the paths typer leaves to itself.

        typer would print "Aborted!" with exit 1 for a prompt that gets no answer and exit
        130 without a word on Ctrl-C; usage errors under -o json would be text. Here each
        ends as exits.py says (a closed pipe: invoke below).
        """
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            output.stderr.print()  # the prompt's line was left open
            code = exits.report(exits.NO_ANSWER, argv=argv, code=exits.INVALID)
        except typer.TyperException as err:  # usage: bad option, missing argument
            code = exits.usage(err, argv=argv)
        if code == exits.INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
            exits.report("interrupted", argv=argv, code=code)
        code = code if isinstance(code, int) else exits.OK
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # before typer, which would make it exit 1
            raise typer.Exit(exits.closed_pipe()) from None
        except Exception as err:
            current = ctx.find_object(state.State)
            code = exits.handle(
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
        typer.echo(f"citycloud {doctor.version()}")
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
        "--debug", help="Show tracebacks for exits.")] = False,
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
app.add_typer(services.app, name="services",
              help="Shared services: who publishes what, who calls whom, duplicate systems.")
gitops.register(app)
doctor.register(app)
app.add_typer(audit.app, name="audit", help="The audit trail: log, verify, prune.")


def main() -> None:
    # A short-lived process that builds many small objects (a registry, its rendered
    # objects) and frees few: the cyclic GC would rescan that growing heap again and
    # again. Leave import-time objects out of it and collect rarely (bench/validate.py).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    app(prog_name="citycloud")
