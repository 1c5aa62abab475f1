"""A city-wide converge through citycloud, against server-side apply of the same objects.

    python bench/converge.py [--sizes 0,300,1000] [--parallel 2]

For each registry (0: the Wuhan example, merged onto one cluster; N > 0: N generated
tenants, bench/generate.py), starts two real control planes (`make controlplane` builds
them). On the first, the `citycloud` CLI converges the registry as a user does (the real
Pulumi engine, `apply --yes --parallel N`); on the second, the same rendered objects
(tenants.units.render_all: what `citycloud render` exports) are applied by server-side
apply, one PATCH each from Python's Kubernetes client, the way a GitOps controller applies
an export. Four rounds, each on both clusters:

- first apply: every object created;
- a change touching every tenant: two more cores for each, so a ResourceQuota changes in
  every tenant namespace (what a change to the city's shared baseline costs);
- nothing to do: the same registry again (server-side apply still sends every object);
- onboarding one more tenant (`citycloud onboard`; server-side apply of its objects).

Prints seconds and citycloud's ratio to server-side apply per registry, and the onboarding
at each size against the first. Wall-clock on a shared machine: read the ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != HERE]
# The control plane the e2e tests start (tests/e2e/controlplane.py, which finds its binaries
# with tests/realparts.py).
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]

import controlplane  # noqa: E402
import registries  # noqa: E402
from kubernetes import dynamic  # noqa: E402

from citycloud import tenants  # noqa: E402
from citycloud.tenants import render, units  # noqa: E402

CLI = pathlib.Path(sys.executable).with_name("citycloud")
WUHAN = ROOT / "examples" / "wuhan"


def _generate() -> Any:
    spec = importlib.util.spec_from_file_location("generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def citycloud(registry: pathlib.Path, state: pathlib.Path, kubeconfig: pathlib.Path,
              parallel: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(CLI), "-r", str(registry), "--state-dir", str(state), "apply", "--yes",
         "--parallel", str(parallel), "--kubeconfig", str(kubeconfig)],
        capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"citycloud apply exited {done.returncode}:\n{done.stderr[-3000:]}")
    return took


def server_side_apply(client: dynamic.DynamicClient,
                      manifests: list[render.Manifest]) -> float:
    started = time.perf_counter()
    kinds: dict[tuple[str, str], Any] = {}
    for manifest in manifests:
        key = (manifest["apiVersion"], manifest["kind"])
        if key not in kinds:
            kinds[key] = client.resources.get(api_version=key[0], kind=key[1])
        client.server_side_apply(kinds[key], body=manifest,
                                 namespace=manifest["metadata"].get("namespace"),
                                 field_manager="bench", force_conflicts=True)
    return time.perf_counter() - started


def touch_every_tenant(registry: pathlib.Path) -> None:
    """Two more cores of quota for every tenant: a ResourceQuota changes in each namespace."""
    for path in (registry / "tenants").glob("*/*.yaml"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"(quota: \{cpu: )(\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) + 2}",
                      text, count=1)
        path.write_text(text, encoding="utf-8")


def add_tenant(registry: pathlib.Path) -> str:
    """One more tenant: a copy of the registry's first tenant file under a new name."""
    source = sorted((registry / "tenants").glob("*/*.yaml"))[0]
    text = source.read_text(encoding="utf-8")
    name = re.search(r"^  name: (\S+)$", text, re.M)
    assert name is not None, source
    new = f"{name.group(1)}-next"
    (source.parent / f"{new}.yaml").write_text(
        text.replace(f"  name: {name.group(1)}\n", f"  name: {new}\n"), encoding="utf-8")
    return new


def onboard(registry: pathlib.Path, state: pathlib.Path, kubeconfig: pathlib.Path,
            name: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(CLI), "-r", str(registry), "--state-dir", str(state), "onboard", name, "--yes",
         "--kubeconfig", str(kubeconfig)], capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"citycloud onboard exited {done.returncode}:\n{done.stderr[-3000:]}")
    return took


def converge_one(size: int, work: pathlib.Path, bin_dir: pathlib.Path,
                 parallel: int) -> list[tuple[str, int, float, float]]:
    registry = work / "registry"
    if size:
        _generate().generate(registry, tenants=size)
    else:
        shutil.copytree(WUHAN, registry)
        registries.on_one_cluster(registry)  # both sides apply to one control plane
    ours = controlplane.ControlPlane(bin_dir, work / "citycloud-cluster")
    peer = controlplane.ControlPlane(bin_dir, work / "ssa-cluster")
    rows = []
    ours.start()
    try:
        peer.start()
        api = peer.api_client()
        client = dynamic.DynamicClient(api)
        for round_, name in enumerate(("first apply", "a change to every tenant",
                                       "nothing to do", "onboard one tenant")):
            if round_ == 1:
                touch_every_tenant(registry)
            if round_ == 3:
                tenant = add_tenant(registry)
                platform = tenants.load(registry)
                objects = [m for u in units.tenant_units(platform, tenant) for m in u.manifests]
                took = onboard(registry, work / "state", ours.kubeconfig, tenant)
            else:
                objects = units.render_all(tenants.load(registry))
                took = citycloud(registry, work / "state", ours.kubeconfig, parallel)
            peer_took = server_side_apply(client, objects)
            rows.append((name, len(objects), took, peer_took))
            print(f"{size or 'Wuhan'}: {name}: citycloud {took:.1f} s, server-side apply "
                  f"{peer_took:.1f} s ({len(objects)} objects)", flush=True)
        api.close()
    finally:
        peer.stop()
        ours.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,300,1000")
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args(argv)
    bin_dir, missing = controlplane.find_bin_dir()
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: run `make controlplane`")
    found = {}
    with tempfile.TemporaryDirectory(prefix="citycloud-bench-") as tmp:
        work = pathlib.Path(tmp)
        os.environ["PULUMI_HOME"] = str(work / "pulumi-home")
        os.environ["CITYCLOUD_PULUMI_BIN_DIR"] = str(bin_dir)
        for size in (int(s) for s in args.sizes.split(",")):
            found[size] = converge_one(size, work / f"city-{size}", bin_dir, args.parallel)
    print(f"\n`apply --parallel {args.parallel}`; server-side apply: one PATCH at a time\n")
    print("| registry | work | objects | citycloud (s) | server-side apply (s) | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for size, rows in found.items():
        for name, count, took, peer_took in rows:
            print(f"| {f'{size:,} generated' if size else 'Wuhan'} | {name} | {count:,} | "
                  f"{took:.1f} | {peer_took:.1f} | {took / peer_took:.1f}x |")
    first = next(iter(found.values()))[-1][2]
    print("\nonboarding one tenant: " + ", ".join(
        f"{size or 'Wuhan'} {rows[-1][2]:.2f} s ({rows[-1][2] / first:.2f}x)"
        for size, rows in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
