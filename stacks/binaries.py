"""Finding the `pulumi` CLI and the Kubernetes provider plugin, without ever downloading.

The Automation API drives the `pulumi` binary, and the engine loads the
`pulumi-resource-kubernetes` plugin from PATH. Neither may come from the
network at run time, so both are looked up, in this order:

1. $CITYCLOUD_PULUMI_BIN_DIR (a directory holding both);
2. PATH;
3. the control-plane cache that `make controlplane` fills by building both from
   their Go modules (scripts/controlplane/build.sh --print-dir names it).

When either is missing, commands that need them stop with PulumiMissing,
saying where we looked and how to get them; `citycloud render` and `plan`
never come here.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess
import sys

from citycloud.stacks import errors

ENV_BIN_DIR = "CITYCLOUD_PULUMI_BIN_DIR"
PULUMI = "pulumi"
PROVIDER = "pulumi-resource-kubernetes"
BUILD_SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "scripts/controlplane/build.sh"


@dataclasses.dataclass(frozen=True)
class Binaries:
    pulumi: pathlib.Path
    provider: pathlib.Path

    @property
    def path_entries(self) -> list[str]:
        """Directories the engine's PATH must start with so it finds both binaries, and the
        launcher of our dynamic provider (stacks/objects.py), a console script installed
        beside the Python that runs citycloud."""
        return list(dict.fromkeys([str(self.pulumi.parent), str(self.provider.parent),
                                   str(pathlib.Path(sys.executable).parent)]))


def controlplane_bin_dir() -> pathlib.Path | None:
    """The bin directory of the control-plane cache, if this is a source checkout."""
    if not BUILD_SCRIPT.is_file():
        return None
    try:
        done = subprocess.run([str(BUILD_SCRIPT), "--print-dir"], capture_output=True,
                              text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    return pathlib.Path(lines[-1]) if lines else None


def _in(directory: pathlib.Path | None, name: str) -> pathlib.Path | None:
    if directory is None:
        return None
    candidate = directory / name
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def _on_path(name: str) -> pathlib.Path | None:
    found = shutil.which(name)
    return pathlib.Path(found) if found else None


def find() -> Binaries:
    """Both binaries, or PulumiMissing explaining how to get them."""
    configured = os.environ.get(ENV_BIN_DIR)
    explicit = pathlib.Path(configured) if configured else None
    cache: pathlib.Path | None = None
    looked = [f"${ENV_BIN_DIR} ({explicit or 'unset'})", "PATH"]

    def lookup(name: str) -> pathlib.Path | None:
        nonlocal cache
        found = _in(explicit, name) or _on_path(name)
        if found is None:
            if cache is None:
                cache = controlplane_bin_dir()
                looked.append(f"the control-plane cache ({cache or 'no build script here'})")
            found = _in(cache, name)
        return found

    pulumi, provider = lookup(PULUMI), lookup(PROVIDER)
    if pulumi is not None and provider is not None:
        return Binaries(pulumi=pulumi, provider=provider)
    missing = " and ".join(n for n, p in ((PULUMI, pulumi), (PROVIDER, provider)) if p is None)
    raise errors.PulumiMissing(
        f"{missing} not found (looked in {', '.join(looked)}). This command drives the Pulumi "
        "engine, which must not download anything at run time: install the pulumi CLI and the "
        "pulumi-resource-kubernetes plugin binary (the version the pulumi-kubernetes Python "
        f"package names) on PATH, or point {ENV_BIN_DIR} at a directory that holds both. In a "
        "citycloud checkout, 'make controlplane' builds both from their Go modules. "
        "'citycloud doctor' shows what was found; 'citycloud plan' and 'citycloud render' work "
        "without them.")
