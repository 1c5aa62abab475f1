"""The Ansible content itself: it parses, it passes ansible-lint, and it ships in the wheel."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from citycloud.stacks.nodes import runs

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOKS = sorted((runs.HERE / "playbooks").glob("*.yml"))


def _environment(tmp_path: pathlib.Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(runs.CONFIG), "ANSIBLE_HOME": str(tmp_path),
            "ANSIBLE_ROLES_PATH": str(runs.HERE / "roles"), "ANSIBLE_NOCOLOR": "1",
            "PATH": os.pathsep.join([str(pathlib.Path(sys.executable).parent),
                                     os.environ.get("PATH", "")])}


@pytest.mark.parametrize("playbook", [pytest.param(p, id=p.name) for p in PLAYBOOKS])
def test_syntax(playbook: pathlib.Path, tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        ["ansible-playbook", "--syntax-check", "-i", "localhost,", str(playbook)],
        cwd=runs.HERE, env=_environment(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_ansible_lint_passes_the_production_profile(tmp_path: pathlib.Path) -> None:
    """ansible-lint is a dev dependency (PyPI); --offline: it installs and fetches nothing."""
    if shutil.which("ansible-lint", path=_environment(tmp_path)["PATH"]) is None:
        pytest.skip("ansible-lint is not installed (pip install -e '.[dev]')")
    done = subprocess.run(
        ["ansible-lint", "--offline", "--profile", "production", "--nocolor",
         "playbooks", "roles"],
        cwd=runs.HERE, env={**_environment(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")},
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_builtin_modules_are_used() -> None:
    """Nothing from Galaxy: every task names an ansible.builtin module (ansible-lint's fqcn)."""
    import yaml

    used: set[str] = set()
    for path in (runs.HERE / "roles").glob("*/*/main.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            if isinstance(task, dict) and "name" in task:
                used |= {k for k in task if "." in k}
    assert used and all(module.startswith("ansible.builtin.") for module in used), used
