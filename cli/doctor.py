"""`citycloud doctor`: what this install is and what it can reach, for a bug report or a CI log.

It answers the questions asked first when a command fails on someone's machine: which
citycloud (version, commit, where it is installed), which extras are installed, where the
Pulumi engine, its Kubernetes provider, Ansible and promtool were found (with versions), and
whether the clusters answer: each cluster the registry declares (through its kubeconfig
context, all asked at once), or the kubeconfig's cluster where the registry declares none. It
changes nothing and never downloads.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.metadata
import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Annotated

import typer
from rich.markup import escape

import citycloud
from citycloud.cli import extras, options, output, state
from citycloud.tenants import errors, kubeapi
from citycloud.tenants.platform import PLATFORM_FILE

DISTRIBUTION = "citycloud"


@dataclasses.dataclass(frozen=True)
class Check:
    """One thing doctor looked for: found or not, where, which version, and what to do."""

    name: str
    found: bool
    version: str = ""
    where: str = ""
    note: str = ""


def version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


def commit() -> str:
    """The git commit this citycloud was built from, or "" where nothing records it.

    A checkout (an editable install) answers with git; an install from a git URL
    has it in the direct_url.json pip wrote (PEP 610). A wheel built from a plain
    folder carries no commit.
    """
    package = pathlib.Path(citycloud.__file__).resolve().parent
    git = shutil.which("git")
    if git is not None:
        try:
            done = subprocess.run([git, "-C", str(package), "rev-parse", "HEAD"],
                                  capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0:
            return done.stdout.strip()
    direct_url = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    if direct_url:
        found = json.loads(direct_url).get("vcs_info", {}).get("commit_id", "")
        return str(found)
    return ""


def _run_version(argv: list[str]) -> str:
    """The first line a binary prints of its version, or "" when it will not say."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else ""


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def extra_checks() -> list[Check]:
    checks = []
    for extra, packages in extras.PACKAGES.items():
        absent = extras.missing(extra)
        note = f"pip install 'citycloud[{extra}]'" if absent else ""
        checks.append(Check(name=f"extra {extra}", found=not absent,
                            version=", ".join(packages), note=note))
    return checks


def pulumi_checks() -> list[Check]:
    if extras.missing("deploy"):
        return [Check(name="pulumi", found=False, note="not looked for: needs the deploy extra")]
    from citycloud.stacks import binaries, errors  # the deploy extra is installed (above)

    try:
        found = binaries.find()
    except errors.PulumiMissing as err:
        return [Check(name="pulumi", found=False, note=str(err))]
    return [
        Check(name="pulumi", found=True, where=str(found.pulumi),
              version=_run_version([str(found.pulumi), "version"])),
        Check(name="pulumi-resource-kubernetes", found=True, where=str(found.provider),
              version=_package_version("pulumi-kubernetes") + " (the Python SDK asks for it)"),
    ]


def tool_checks() -> list[Check]:
    # Where `citycloud nodes` looks first: beside the Python it runs on (stacks/nodes/runs.py).
    playbook = shutil.which("ansible-playbook", path=os.pathsep.join(
        [str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")]))
    promtool = shutil.which("promtool")
    return [
        Check(name="ansible", found=bool(playbook) and not extras.missing("nodes"),
              where=playbook or "", version=_package_version("ansible-core"),
              note="" if playbook else "pip install 'citycloud[nodes]'"),
        Check(name="promtool", found=bool(promtool), where=promtool or "",
              version=_run_version([promtool, "--version"]) if promtool else "",
              note="" if promtool else "tests the Prometheus rules; Debian package prometheus"),
    ]


def cluster_check(*, kubeconfig: pathlib.Path | None, context: str | None,
                  name: str = "cluster", about: str = "") -> Check:
    """Whether a kubeconfig context's cluster answers its /version, within a few seconds."""
    if extras.missing("exporter"):
        return Check(name=name, found=False,
                     note="not asked: needs the kubernetes client (deploy or exporter extra)")
    try:
        api = kubeapi.api_client(kubeconfig=kubeconfig, context=context)
    except kubeapi.ClusterConfigError as err:
        return Check(name=name, found=False, note=_joined(about, str(err)))
    if api is None:
        return Check(name=name, found=False, note="no kubeconfig found")
    where = api.configuration.host
    try:
        version = kubeapi.server_version(api, timeout=5)
    except kubeapi.ClusterError as err:
        return Check(name=name, found=False, where=where, note=_joined(about, str(err)))
    finally:
        api.close()
    return Check(name=name, found=True, where=where, version=version, note=about)


def _joined(*parts: str) -> str:
    return ": ".join(part for part in parts if part)


def cluster_checks(current: state.State, *, kubeconfig: pathlib.Path | None,
                   context: str | None) -> list[Check]:
    """A check per cluster the registry declares, asked at once so one that hangs costs its
    timeout once; the kubeconfig's own cluster where there is no registry here, it declares
    none, or --context names one. A registry that does not load is said, not raised: doctor
    is what one runs when things are broken."""
    if context is not None or not (current.registry / PLATFORM_FILE).is_file():
        return [cluster_check(kubeconfig=kubeconfig, context=context)]
    try:
        declared = list(current.platform.clusters.values())
    except errors.CitycloudError as err:
        return [Check(name="registry", found=False, where=str(current.registry),
                      note=str(err).splitlines()[0]),
                cluster_check(kubeconfig=kubeconfig, context=None)]
    if not declared:
        return [cluster_check(kubeconfig=kubeconfig, context=None)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(declared)) as pool:
        return list(pool.map(lambda c: cluster_check(
            kubeconfig=kubeconfig, context=c.kube_context, name=f"cluster {c.name}",
            about=f"pool {c.pool}, site {c.site}, context {c.kube_context}"), declared))


def doctor(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    kubeconfig: Annotated[pathlib.Path | None, typer.Option(
        dir_okay=False, help="kubeconfig whose clusters to ask.",
        show_default="KUBECONFIG, else ~/.kube/config")] = None,
    context: Annotated[str | None, typer.Option(
        help="Ask only this kubeconfig context.",
        show_default="each cluster the registry declares, else the current context")] = None,
) -> None:
    """Show this install: version, commit, extras, engine and tools found, clusters reachable.

    With a registry that declares clusters (platform.yaml `clusters:`), asks each through its
    kubeconfig context. Changes nothing. Paste its output into a bug report.
    """
    current = state.get(ctx, fmt)
    package = pathlib.Path(citycloud.__file__).parent
    built_from = commit()
    checks = [
        Check(name="citycloud", found=True, version=version(), where=str(package),
              note=f"commit {built_from or 'unknown (not built from a git checkout)'}"),
        Check(name="rules and dashboards", found=(package / "monitoring" / "rules").is_dir(),
              where=str(package / "monitoring")),
        *extra_checks(), *pulumi_checks(), *tool_checks(),
        *cluster_checks(current, kubeconfig=kubeconfig, context=context),
    ]
    if fmt is output.Format.JSON:
        output.print_json({"version": version(), "commit": built_from or None,
                           "checks": [dataclasses.asdict(c) for c in checks]})
        return
    for check in checks:
        mark = "[green]ok[/green]" if check.found else "[yellow]--[/yellow]"
        found = " ".join(part for part in (check.version, check.where) if part)
        output.stdout.print(f"{mark}  {escape(check.name)}: {escape(found) or '-'}",
                            highlight=False)
        if check.note:
            output.stdout.print(f"      {escape(check.note)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
