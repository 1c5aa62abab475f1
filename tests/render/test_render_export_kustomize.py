"""The GitOps export, built by kustomize: what Flux's kustomize-controller and Argo CD run.

kustomize (scripts/checkers/, built from its Go module; nobody here wrote it) builds each
cluster's kustomization of the rendered Wuhan example (`clusters/<cluster>/`): it must make
exactly the objects the registry puts on that cluster, field for field, and nothing of any
other cluster. The top kustomization lists only folders of pools that declare no cluster,
so a Flux Kustomization pointed at the top by mistake applies nothing of a declared
cluster; on a registry without clusters the top builds the whole platform, as it always did.
Without kustomize these tests skip locally and fail under CI=true (realparts).
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
from typing import Any

import pytest
import realparts
import registries
import yaml
from render_helpers import WUHAN, wuhan_platform

from citycloud import tenants
from citycloud.tenants import manifests, render, units


@pytest.fixture(scope="module")
def kustomize() -> pathlib.Path:
    return realparts.checker("kustomize")


def export(platform: tenants.Platform, out: pathlib.Path) -> pathlib.Path:
    manifests.write(out, units.render_all(platform))
    return out


def build(kustomize: pathlib.Path, folder: pathlib.Path) -> list[dict[str, Any]]:
    done = subprocess.run([str(kustomize), "build", str(folder)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return sorted((d for d in yaml.safe_load_all(done.stdout) if d), key=render.key)


def on(platform: tenants.Platform, cluster: str) -> list[dict[str, Any]]:
    return sorted((m for unit in units.render_units(platform) if unit.cluster == cluster
                   for m in unit.manifests), key=render.key)


def held(objects: list[dict[str, Any]], tenant: str) -> set[tuple[str, str, str, str]]:
    return {render.key(m) for m in objects if m["kind"] in ("Namespace", "ResourceQuota")
            and m["metadata"]["labels"].get(render.LABEL_TENANT) == tenant}


def test_each_cluster_builds_exactly_its_own_objects(kustomize: pathlib.Path,
                                                     tmp_path: pathlib.Path) -> None:
    platform = wuhan_platform()
    out = export(platform, tmp_path / "export")

    built = {cluster: build(kustomize, out / "clusters" / cluster)
             for cluster in platform.clusters}

    assert sorted(p.name for p in (out / "clusters").iterdir()) == sorted(platform.clusters)
    for cluster, objects in built.items():
        assert objects == on(platform, cluster), cluster
        assert {m["metadata"]["labels"][units.LABEL_CLUSTER] for m in objects} == {cluster}
    # The disaster-recovery tenant's namespaces and quotas are on both of its sites.
    [hankou, guanggu] = platform.placements(platform.tenants["wh-zwfw-identity"])
    assert held(built[hankou], "wh-zwfw-identity") == held(built[guanggu], "wh-zwfw-identity")
    assert held(built[hankou], "wh-zwfw-identity") != set()
    assert build(kustomize, out) == []  # every pool declares its clusters: the top has none


def test_a_registry_without_clusters_builds_whole_from_the_top(kustomize: pathlib.Path,
                                                              tmp_path: pathlib.Path) -> None:
    registry = pathlib.Path(shutil.copytree(WUHAN, tmp_path / "wuhan"))
    registries.on_one_cluster(registry)
    platform = tenants.load(registry)
    out = export(platform, tmp_path / "export")

    assert build(kustomize, out) == sorted(units.render_all(platform), key=render.key)
    assert not (out / "clusters").exists()
