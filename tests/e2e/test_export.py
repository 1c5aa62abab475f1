"""`citycloud render` is a complete GitOps export: the cluster it makes is `citycloud apply`'s.

Two real control planes of this module's own. One gets `citycloud apply` of the e2e registry
(the Pulumi engine); the other gets `citycloud render` of the same registry, applied object by
object with server-side apply (field manager "gitops", as Flux's kustomize-controller does) in
the order the export's kustomizations list (pools first). Then both clusters hold every
object the platform renders, field for field on what citycloud sets, the same set of objects
citycloud manages, and both refuse the same bad pod with the same guardrail.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from typing import Any

import controlplane
import e2ecity
import kubeops
import pytest
import yaml

from citycloud.tenants import manifests, render, units

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIELD_MANAGER = "gitops"
GOV2 = "wh-caidian-zhengwu-web"  # gov, MLPS 2: Pod Security baseline, guardrails bound


@pytest.fixture(scope="module")
def clusters(control_plane: controlplane.ControlPlane,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two fresh control planes (the session's one is shared with other tests)."""
    started = []
    try:
        for name in ("by-apply", "by-export"):
            cluster = controlplane.ControlPlane(control_plane.bin_dir,
                                                tmp_path_factory.mktemp(name))
            started.append(cluster)
            cluster.start()
        yield dict(zip(("by-apply", "by-export"), started, strict=True))
    finally:
        left = [name for cluster in started for name in cluster.stop()]
        assert left == [], f"still running after stop: {left}"


def _kube(cluster: controlplane.ControlPlane) -> kubeops.Kube:
    return kubeops.Kube(cluster.api_client())


def _apply_export(kube: kubeops.Kube, export: pathlib.Path) -> int:
    """Server-side apply every object of the export, in its kustomizations' order."""
    applied = 0
    top = yaml.safe_load((export / "kustomization.yaml").read_text(encoding="utf-8"))
    for folder in top["resources"]:
        listing = yaml.safe_load((export / folder / "kustomization.yaml").read_text(
            encoding="utf-8"))
        for name in listing["resources"]:
            manifest = yaml.safe_load((export / folder / name).read_text(encoding="utf-8"))
            api_version, kind, namespace, object_name = render.key(manifest)
            kube.dynamic.server_side_apply(
                kube.resource(api_version, kind), body=manifest, name=object_name,
                namespace=namespace or None, field_manager=FIELD_MANAGER, force_conflicts=True)
            applied += 1
    return applied


def _bad_pod_refusal(kube: kubeops.Kube) -> str:
    """A pod Pod Security admits, from a registry the gov pool does not approve (dry run)."""
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "e2e-export"},
            "spec": {"automountServiceAccountToken": False, "containers": [{
                "name": "app", "image": "docker.io/library/nginx:1.27",
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                              "limits": {"cpu": "100m", "memory": "64Mi"}}}]}}

    def create() -> Any:
        return kube.core.create_namespaced_pod(GOV2, body, dry_run="All")

    return kubeops.refused(create)


@pytest.fixture(scope="module")
def both(clusters: dict[str, controlplane.ControlPlane],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    by_apply, by_export = clusters["by-apply"], clusters["by-export"]
    city = e2ecity.City(tmp_path_factory.mktemp("export-city"), bin_dir=by_apply.bin_dir,
                        kubeconfig=by_apply.kubeconfig)
    started = time.monotonic()
    city.ok("apply", "--yes")
    applied_in = time.monotonic() - started
    export = tmp_path_factory.mktemp("export") / "gitops"
    rendered = city.citycloud("render", str(export))
    assert rendered.code == 0, str(rendered)
    kube_export = _kube(by_export)
    started = time.monotonic()
    count = _apply_export(kube_export, export)
    print(f"\ncitycloud apply: {applied_in:.1f} s; server-side apply of the export "
          f"({count} objects): {time.monotonic() - started:.1f} s")
    return {"platform": city.platform(), "apply": _kube(by_apply), "export": kube_export,
            "count": count}


def test_the_export_makes_the_cluster_apply_makes(both: dict[str, Any]) -> None:
    expected = units.render_all(both["platform"])
    assert both["count"] == len(expected)
    problems = []
    for name in ("apply", "export"):
        kube: kubeops.Kube = both[name]
        for manifest in expected:
            live = kube.live(manifest)
            if live is None:
                problems.append(f"{name}: {kubeops.key(manifest)} missing")
                continue
            problems += [f"{name}: {kubeops.key(manifest)}{d}"
                         for d in kubeops.differences(live, manifest)]
    assert problems == []
    managed = f"{render.LABEL_MANAGED_BY}={render.MANAGED_BY}"
    assert both["apply"].labelled(managed) == both["export"].labelled(managed)
    assert {kubeops.key(m) for m in expected if render.LABEL_TENANT in m["metadata"].get(
        "labels", {})} <= both["export"].labelled(managed)


def test_both_clusters_refuse_the_same_bad_pod(both: dict[str, Any]) -> None:
    refusals = {name: _bad_pod_refusal(both[name]) for name in ("apply", "export")}
    assert "citycloud-gov-approved-images" in refusals["apply"], refusals
    assert refusals["apply"] == refusals["export"]


def test_the_export_applies_again_without_conflict(both: dict[str, Any],
                                                   tmp_path: pathlib.Path) -> None:
    """What Flux does every interval: the same export again changes nothing and fails not."""
    kube: kubeops.Kube = both["export"]
    before = kube.core.read_namespace(GOV2).metadata.resource_version
    export = tmp_path / "again"
    manifests.write(export, units.render_all(both["platform"]))  # as `citycloud render` does
    assert _apply_export(kube, export) == both["count"]
    assert kube.core.read_namespace(GOV2).metadata.resource_version == before
