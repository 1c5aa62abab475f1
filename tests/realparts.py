"""The one rule for a real component a test needs (control plane, Pulumi engine, promtool,
prometheus, a mount namespace): missing on a developer's machine, the test is skipped and
says how to get it; missing under CI=true, it fails, because a suite that skips in CI proves
nothing (.ci/run installs and builds every one of them)."""

from __future__ import annotations

import os
import pathlib
import subprocess
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def unavailable(what: str, *, how: str) -> NoReturn:
    """Skip (on a developer's machine) or fail (under CI=true): `what` is missing."""
    if in_ci():
        pytest.fail(f"{what}. CI=true: this test must run; {how}", pytrace=False)
    pytest.skip(f"{what}; {how}")


def built_dir(env: str, script: pathlib.Path) -> pathlib.Path:
    """Where binaries built from Go modules are: $`env` if set, else the cache folder that
    `script` (scripts/controlplane or scripts/checkers build.sh) builds into. Raises OSError
    when the script cannot say."""
    configured = os.environ.get(env)
    if configured:
        return pathlib.Path(configured)
    try:
        done = subprocess.run([str(script), "--print-dir"], capture_output=True, text=True,
                              timeout=60, check=True)
    except subprocess.SubprocessError as err:
        raise OSError(f"{script} --print-dir failed: {err}") from err
    return pathlib.Path(done.stdout.strip().splitlines()[-1])


CHECKERS_ENV = "CITYCLOUD_CHECKERS_BIN"  # a bin directory of the checkers, instead of the cache
CHECKERS_SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts/checkers/build.sh"


def checker(name: str) -> pathlib.Path:
    """An independent checker's binary (scripts/checkers/: cyclonus, kustomize): in
    $CITYCLOUD_CHECKERS_BIN, else where build.sh caches it; skips or fails (`unavailable`)
    when it is not built."""
    how = "run `make controlplane` to build it (scripts/checkers/)"
    try:
        binary = built_dir(CHECKERS_ENV, CHECKERS_SCRIPT) / name
    except OSError as err:
        unavailable(str(err), how=how)
    if not os.access(binary, os.X_OK):
        unavailable(f"{name} is not built: no {binary}", how=how)
    return binary
