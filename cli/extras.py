"""Which optional install (an "extra") each group of commands needs, and the one line that says so.

The core install is what a department's pull-request job needs (validate, plan, render,
capacity, networks, policies, schema, codeowners, audit). Commands that drive the Pulumi
engine, Ansible or a live cluster need the packages of an extra (pyproject.toml's
[project.optional-dependencies]); without them they stop with exit 2 and name the extra,
instead of a traceback from deep inside an import.
"""

from __future__ import annotations

import importlib.util

from citycloud.tenants import errors

# Extra -> the import names of the packages it brings, as pyproject.toml declares them.
# tests/packaging checks this table against pyproject.toml and every module's imports.
PACKAGES: dict[str, tuple[str, ...]] = {
    "deploy": ("pulumi", "pulumi_kubernetes", "kubernetes"),
    "nodes": ("ansible_runner",),
    "exporter": ("kubernetes", "urllib3"),
}


class MissingExtra(errors.InputError):
    """A command needs packages this install does not have (exit 2)."""

    def __init__(self, command: str, extra: str, missing: list[str]) -> None:
        self.extra = extra
        super().__init__(
            f"'citycloud {command}' needs the {extra} extra ({', '.join(missing)} not "
            f"installed): pip install 'citycloud[{extra}]'")


def missing(extra: str) -> list[str]:
    """The packages of `extra` that cannot be imported here, in declaration order."""
    return [name for name in PACKAGES[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, *, command: str) -> None:
    """Stop with MissingExtra when any package of `extra` is missing."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(command, extra, absent)
