"""The city under test: a trimmed copy of the Wuhan registry, a state directory, the real CLI.

Every command runs `citycloud` as a user would, in a subprocess (its own
Python, its own Pulumi engine and provider), with an environment that finds
the `pulumi` CLI and the Kubernetes provider in the control-plane bin
directory only, never downloads a plugin (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION),
keeps PULUMI_HOME in the test's temporary directory and points KUBECONFIG at
the test cluster.

The registry keeps every department and only a handful of tenants (BASE, two
per pool), so a full `citycloud apply` runs a dozen stacks, not 88. The
lifecycle tests add their own tenant's file when they start (`add_tenant`),
as a department's pull request would.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

import jsonout
import registries
import yaml

from citycloud import tenants
from citycloud.tenants import render

ROOT = pathlib.Path(__file__).resolve().parents[2]
WUHAN = ROOT / "examples" / "wuhan"

# Two tenants per pool, from different departments; each line says why it is here.
BASE = {
    "gov": (
        "wh-gongan-video",  # MLPS 3, two namespaces, a private network and shared egress
        "wh-caidian-zhengwu",  # MLPS 2, one namespace, another department (isolation, quota)
    ),
    "industry": (
        "wh-huangpi-wenlv",  # MLPS 1: baseline Pod Security, no privileged rule bound
        "wh-keji-xiangmu",  # MLPS 2
    ),
    "xinchuang": (
        "wh-gongan-oa",  # MLPS 3; the same department as wh-gongan-video, in another pool
        "wh-dongxihu-oa",  # MLPS 2, a district's department
    ),
}
BASE_TENANTS = tuple(name for names in BASE.values() for name in names)


@dataclasses.dataclass(frozen=True)
class Run:
    """One finished `citycloud` command."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self) -> Any:
        try:
            return jsonout.data(self.stdout)
        except ValueError:
            raise AssertionError(f"not JSON on stdout:\n{self}") from None

    def __str__(self) -> str:
        return (f"$ citycloud {' '.join(self.args)}\nexit {self.code} after "
                f"{self.seconds:.1f}s\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}")


def tenant_file(name: str, registry: pathlib.Path = WUHAN) -> pathlib.Path:
    department = next(d for d in (registry / "tenants").iterdir()
                      if (d / f"{name}.yaml").exists())
    return department / f"{name}.yaml"


class City:
    """A registry copy, its state directory, and the cluster they are applied to."""

    def __init__(self, root: pathlib.Path, *, bin_dir: pathlib.Path, kubeconfig: pathlib.Path,
                 keep: Iterable[str] = BASE_TENANTS, clusters: bool = False) -> None:
        """`clusters`: keep the example's clusters (the kubeconfig has a context for each);
        otherwise the city runs on the kubeconfig's one cluster."""
        self.registry = root / "registry"
        self.state = root / "state"
        self.kubeconfig = kubeconfig
        self.clusters = clusters
        shutil.copytree(WUHAN, self.registry)
        if not clusters:
            registries.on_one_cluster(self.registry)
        keep = set(keep)
        for path in (self.registry / "tenants").rglob("*.yaml"):
            if path.stem not in keep:
                path.unlink()
        # The city's catalogue names its providers, which this smaller city does not run.
        registries.edit_platform(self.registry, lambda data: data["spec"].update(
            sharedServices=[entry for entry in data["spec"].get("sharedServices", ())
                            if entry["tenant"] in keep]))
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("CITYCLOUD_", "PULUMI_", "KUBE"))}
        self.env.update({
            "PATH": os.pathsep.join([str(bin_dir), self.env.get("PATH", "")]),
            "CITYCLOUD_PULUMI_BIN_DIR": str(bin_dir),
            "PULUMI_HOME": str(root / "pulumi-home"),
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "KUBECONFIG": str(kubeconfig),
            "NO_COLOR": "1",
            "COLUMNS": "200",
        })
        self.runs: list[Run] = []

    # ---- the CLI ------------------------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        script = pathlib.Path(sys.executable).parent / "citycloud"
        entry = [str(script)] if script.exists() else [
            sys.executable, "-c", "from citycloud.cli.app import main; main()"]
        return [*entry, "--registry", str(self.registry), "--state-dir", str(self.state),
                *args]

    def citycloud(self, *args: str, input: str | None = None, timeout: float = 900) -> Run:
        started = time.monotonic()
        done = subprocess.run(self.command(*args), env=self.env, cwd=self.registry,
                              input=input, capture_output=True, text=True, timeout=timeout,
                              check=False)
        run = Run(args, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        self.runs.append(run)
        return run

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start a command in its own process group (so a test can kill all of it)."""
        return subprocess.Popen(self.command(*args), env=self.env, cwd=self.registry,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def ok(self, *args: str, timeout: float = 900) -> Run:
        """Run a command that must succeed; its JSON output is returned parsed."""
        run = self.citycloud(*args, "--output", "json", timeout=timeout)
        assert run.code == 0, str(run)
        return run

    def parallel(self, commands: list[tuple[str, ...]]) -> list[Run]:
        """Run commands at once (different stacks), each as its own process."""
        started = time.monotonic()
        processes = [(args, self.popen(*args)) for args in commands]
        runs = []
        for args, process in processes:
            stdout, stderr = process.communicate(timeout=900)
            runs.append(Run(args, process.returncode, stdout, stderr,
                            time.monotonic() - started))
        self.runs.extend(runs)
        return runs

    # ---- the registry -------------------------------------------------------------------------

    def add_tenant(self, name: str) -> pathlib.Path:
        """Put an example tenant's file into the registry, as its department's PR would."""
        source = tenant_file(name)
        target = self.registry / source.relative_to(WUHAN)
        shutil.copy2(source, target)
        document = yaml.safe_load(target.read_text(encoding="utf-8"))
        present = {path.stem for path in (self.registry / "tenants").rglob("*.yaml")}
        asked = document["spec"].get("consumes", [])
        placed = None if self.clusters else document["spec"].pop("clusters", None)
        if placed is not None or any(entry["tenant"] not in present for entry in asked):
            # This smaller city lacks the provider: the request would be an unknown service.
            document["spec"]["consumes"] = [e for e in asked if e["tenant"] in present]
            target.write_text(registries.text(document), encoding="utf-8")
        return target

    def remove_tenant(self, name: str) -> None:
        tenant_file(name, self.registry).unlink()

    def platform(self) -> tenants.Platform:
        return tenants.load(self.registry)

    def rendered(self, name: str) -> list[render.Manifest]:
        platform = self.platform()
        return render.render_tenant(platform.tenants[name], platform=platform)


def stack_statuses(result: Any) -> dict[str, str]:
    """`{"pool/gov": "applied", ...}` from a stack command's JSON."""
    return {stack["stack"]: stack["status"] for stack in result["stacks"]}
