"""citycloud as a user installs it: a wheel, into a fresh virtualenv outside the checkout.

Builds the wheel with pip (setuptools from the package index, as any build does), checks
what it holds, installs it without extras and runs the department's commands on a copy of
the example registry, then adds the deploy extra and sees `onboard --dry-run` reach the
engine check. The sizes and times of both installs are printed (pytest -s) for the README.
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile

import pytest

from citycloud.cli import extras

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("cli", "tenants", "policies", "stacks", "monitoring")
CORE_IMPORTS = {"pydantic", "pydantic_core", "typer", "rich", "yaml", "prometheus_client"}

pytestmark = pytest.mark.slow


def _run(argv: list[str | os.PathLike[str]], *, cwd: pathlib.Path,
         env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([os.fspath(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env=env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT],
                 cwd=out)
    assert built.returncode == 0, built.stderr
    [found] = out.glob("citycloud-*.whl")
    return found


def _site_size(venv: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory, wheel: pathlib.Path) -> pathlib.Path:
    """A virtualenv outside the checkout holding the wheel and its core dependencies only."""
    venv = tmp_path_factory.mktemp("core") / "venv"
    assert _run([sys.executable, "-m", "venv", venv], cwd=venv.parent).returncode == 0
    started = time.monotonic()
    done = _run([venv / "bin" / "pip", "install", "-q", wheel], cwd=venv.parent)
    assert done.returncode == 0, done.stderr
    print(f"\ncore install: {time.monotonic() - started:.1f} s, "
          f"{_site_size(venv) / 2**20:.0f} MiB in the virtualenv")
    return venv


def test_the_wheel_has_one_top_level_name(wheel: pathlib.Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "citycloud"}
    for expected in ("citycloud/monitoring/rules/capacity.yaml",
                     "citycloud/monitoring/dashboards/pool-capacity.json",
                     "citycloud/monitoring/dashboards/provisioning/datasources/citycloud.yaml",
                     "citycloud/stacks/pool/Pulumi.yaml", "citycloud/stacks/README.md",
                     "citycloud/stacks/nodes/playbooks/prepare.yml",
                     "citycloud/tenants/schema/tenant.schema.json"):
        assert expected in names


def test_every_file_the_tool_ships_is_in_the_wheel(wheel: pathlib.Path) -> None:
    """Every tracked file of the five package folders (data files included) is in it."""
    tracked = _run(["git", "ls-files", *PACKAGES], cwd=ROOT).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [f for f in tracked if f"citycloud/{f}" not in names]
    assert missing == []


def _third_party(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"citycloud", "__future__"}


def _extra_of(module: str) -> str | None:
    """The extra a module belongs to: the install that runs it must declare its imports."""
    if module.startswith("stacks/nodes/"):
        return "nodes"
    if module.startswith("stacks/"):
        return "deploy"
    if module == "tenants/kubeapi.py":  # the Kubernetes boundary, of deploy and exporter
        return "exporter"  # alike: both declare kubernetes and urllib3
    return None


def test_no_module_imports_what_its_install_does_not_declare() -> None:
    wrong = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            module = path.relative_to(ROOT).as_posix()
            extra = _extra_of(module)
            allowed = CORE_IMPORTS | set(extras.PACKAGES.get(extra or "", ()))
            if _third_party(path) - allowed:
                wrong[module] = sorted(_third_party(path) - allowed)
    assert wrong == {}


def test_the_extras_table_is_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = config["optional-dependencies"]
    for extra, modules in extras.PACKAGES.items():
        names = {d.split("=")[0].split(">")[0].replace("-", "_") for d in declared[extra]}
        assert set(modules) <= names, extra
    core_names = {d.split("=")[0].split(">")[0].replace("-", "") for d in config["dependencies"]}
    assert {"pulumi", "kubernetes", "ansiblerunner", "ansiblecore"} & core_names == set()


def _commands() -> list[list[str]]:
    import typer

    from citycloud.cli import app

    group = typer.main.get_command(app.app)
    ctx = group.make_context("citycloud", ["--help"], resilient_parsing=True)
    found: list[list[str]] = [[]]
    for name in group.list_commands(ctx):
        found.append([name])
        command = group.get_command(ctx, name)
        for sub in getattr(command, "list_commands", lambda _: [])(ctx):
            found.append([name, sub])
    return found


def test_the_core_install_runs_a_departments_commands(core: pathlib.Path,
                                                      tmp_path: pathlib.Path) -> None:
    citycloud = core / "bin" / "citycloud"
    registry = shutil.copytree(ROOT / "examples" / "wuhan", tmp_path / "city")
    env = {"PATH": f"{core / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    for path in _commands():
        done = _run([citycloud, *path, "--help"], cwd=tmp_path, env=env)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (path, done.stderr)
    for command in (["validate"], ["capacity"], ["plan"], ["render", tmp_path / "out"],
                    ["networks", "report"], ["capacity", "--html", tmp_path / "c.html"]):
        done = _run([citycloud, "-r", registry, *command], cwd=tmp_path, env=env)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert (tmp_path / "out" / "wh-gongan-video.wh-gov-guanggu").is_dir()
    refused = _run([citycloud, "-r", registry, "onboard", "wh-gongan-video", "--dry-run"],
                   cwd=tmp_path, env=env)
    assert (refused.returncode, refused.stderr.splitlines()) == (2, [
        "error: 'citycloud onboard' needs the deploy extra (pulumi, pulumi_kubernetes, "
        "kubernetes not installed): pip install 'citycloud[deploy]'"])
    imported = _run([core / "bin" / "python", "-c", "import pulumi"], cwd=tmp_path, env=env)
    assert imported.returncode != 0  # the core install really is without it


def test_the_deploy_extra_reaches_the_engine_check(core: pathlib.Path, wheel: pathlib.Path,
                                                   tmp_path: pathlib.Path) -> None:
    started = time.monotonic()
    done = _run([core / "bin" / "pip", "install", "-q", f"{wheel}[deploy]"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    print(f"\nwith [deploy]: {time.monotonic() - started:.1f} s more, "
          f"{_site_size(core) / 2**20:.0f} MiB in the virtualenv")
    registry = shutil.copytree(ROOT / "examples" / "wuhan", tmp_path / "city")
    env = {"PATH": f"{core / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    refused = _run([core / "bin" / "citycloud", "-r", registry, "onboard", "wh-gongan-video",
                    "--dry-run"], cwd=tmp_path, env=env)
    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith("error: pulumi and pulumi-resource-kubernetes not found")
    assert "citycloud doctor" in line and "Traceback" not in refused.stderr


def _readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}\n"):]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start:section.index("\n```", start)]
    assert block.strip(), f"no sh block under '## {heading}'"
    return block


def test_the_readme_quick_start_works_when_pasted(wheel: pathlib.Path,
                                                  tmp_path: pathlib.Path) -> None:
    shutil.copy(wheel, tmp_path)
    python_bin = pathlib.Path(sys.base_prefix) / "bin"  # a python3 outside any virtualenv
    done = _run(["bash", "-euo", "pipefail", "-c", _readme_block("Quick start")], cwd=tmp_path,
                env={"PATH": f"{python_bin}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "my-city" / "tenants" / "wh-gongan" / "wh-gongan-video.yaml").is_file()
    assert (tmp_path / "gitops" / "wh-gongan-video").is_dir()
    assert "1 tenants" in done.stdout and "Plan:" in done.stdout


BLOCK_DEPLOY = """
import sys, importlib.abc
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"pulumi", "pulumi_kubernetes"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
from citycloud.cli.app import main
sys.argv = ["citycloud", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("command", [["nodes", "check", "--help"], ["exporter", "--help"]],
                         ids=["nodes", "exporter"])
def test_the_nodes_and_exporter_extras_need_no_pulumi(command: list[str],
                                                       tmp_path: pathlib.Path) -> None:
    """`pip install citycloud[nodes]` has no Pulumi SDK: its commands must not load it (the
    stacks package used to import its engine first). Pulumi is made unimportable here."""
    done = _run([sys.executable, "-c", BLOCK_DEPLOY, *command], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Usage: citycloud" in done.stdout and "Traceback" not in done.stderr
