"""What the global options decide, kept on the typer context for every command."""

from __future__ import annotations

import dataclasses
import functools
import pathlib

import typer

from citycloud import tenants
from citycloud.cli import output


@dataclasses.dataclass
class State:
    registry: pathlib.Path
    state_dir: pathlib.Path | None
    debug: bool = False
    output: output.Format = output.Format.TABLE  # how errors print; set by report commands

    @functools.cached_property
    def platform(self) -> tenants.Platform:
        return tenants.load(self.registry)

    @property
    def state_path(self) -> pathlib.Path:
        """Where citycloud keeps what it deployed: --state-dir, else .citycloud in the registry."""
        return self.state_dir or self.registry / ".citycloud"


def get(ctx: typer.Context, fmt: output.Format | None = None) -> State:
    state = ctx.find_object(State)
    if state is None:  # a command invoked without the app's callback (never from the CLI)
        raise RuntimeError("citycloud commands run under the app callback")
    if fmt is not None:
        state.output = fmt
    return state
