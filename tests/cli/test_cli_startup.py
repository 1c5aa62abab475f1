"""The CLI starts fast: `validate` in CI must not import the cluster libraries.

Command modules that need pulumi, ansible-runner or prometheus_client are loaded
when one of their commands runs (cli/app.py LAZY_COMMANDS), checked here against
the modules it names, so it cannot silently go stale. Exit codes are on the error
classes (tenants.errors), checked here too.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import pytest
import typer

from citycloud.cli import app, exits

HEAVY = ("pulumi", "pulumi_kubernetes", "kubernetes", "ansible_runner", "ansible", "grpc",
         "prometheus_client", "jsonschema", "kubernetes_validate", "urllib3", "requests")

PROBE = """
import json, sys
from citycloud.cli import app
sys.argv = ["citycloud", *sys.argv[1:]]
try:
    app.main()
except SystemExit as done:
    code = done.code
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


@pytest.mark.parametrize("command", [
    pytest.param(["validate"], id="validate"),
    pytest.param(["plan", "-o", "json"], id="plan"),
    pytest.param(["capacity"], id="capacity"),
    pytest.param(["pools"], id="pools"),
])
def test_registry_commands_import_no_cluster_library(wuhan, command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), "-r", str(wuhan), *command],
        capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}


# Raised and caught inside one package, never shown to a user as such.
INTERNAL_ERRORS = {"citycloud.tenants.sources.SourceError",
                   "citycloud.tenants.quantities.QuantityError",
                   "citycloud.monitoring.server.ServeError"}  # the command says which port


def test_every_error_a_user_can_meet_is_of_the_one_family() -> None:
    import citycloud
    from citycloud.tenants import errors as domain

    found = set()
    for module in pkgutil.walk_packages(citycloud.__path__, "citycloud."):
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (isinstance(value, type) and issubclass(value, Exception)
                    and value.__module__ == module.name):
                found.add(value)
    outside = {f"{e.__module__}.{e.__qualname__}" for e in found
               if not issubclass(e, domain.CitycloudError)}
    assert outside == INTERNAL_ERRORS


def test_each_error_ends_with_its_exit_code() -> None:
    from citycloud.cli import extras
    from citycloud.stacks import errors as stack_errors
    from citycloud.stacks.nodes import errors as node_errors
    from citycloud.tenants import files, kubeapi

    cases = [(files.WriteError("/x: the disk is full"), 2),
             (extras.MissingExtra("apply", "deploy", ["pulumi"]), 2),
             (stack_errors.UsageError("unknown tenant"), 2),
             (stack_errors.PulumiMissing("no pulumi"), 2),
             (stack_errors.StackLocked("tenant/x", holder="pid 1"), 3),
             (kubeapi.ClusterError("unreachable"), 3),
             (kubeapi.ClusterConfigError("no kubeconfig found"), 2),
             (node_errors.InvalidRequest("unknown node"), 2),
             (node_errors.RunnerFailed("no ansible-playbook"), 3),
             (PermissionError(13, "Permission denied", "/etc/x"), 2)]
    assert [exits.exit_code(err) for err, _ in cases] == [code for _, code in cases]


def test_exit_codes_map_the_registry_error() -> None:
    from citycloud import tenants

    assert exits.exit_code(tenants.RegistryError([])) == exits.INVALID
    assert exits.exit_code(ValueError("not ours")) is None


@pytest.mark.parametrize("module", sorted({m for m, _, _ in app.LAZY_COMMANDS.values()}))
def test_lazy_command_table_matches_what_modules_register(module: str) -> None:
    loaded = importlib.import_module(module)
    holder = typer.Typer()
    if hasattr(loaded, "register"):
        loaded.register(holder)
        names = {(c.name or c.callback.__name__) for c in holder.registered_commands
                 if c.callback is not None}
    else:
        names = set()
    lazy = {name for name, (m, _, _) in app.LAZY_COMMANDS.items() if m == module}
    groups = {name for name in lazy if app.LAZY_COMMANDS[name][1] is not None}
    assert names == lazy - groups
    for name in groups:
        assert isinstance(loaded.app, typer.Typer), name


def test_help_lists_lazy_commands(citycloud) -> None:
    result = citycloud("--help")
    assert result.exit_code == 0
    for name in app.LAZY_COMMANDS:
        assert name in result.stdout
