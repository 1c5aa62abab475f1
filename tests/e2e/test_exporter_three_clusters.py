"""The exporter scrapes three real clusters with one of them down, and reads every reachable
tenant's quota.

Three control planes (etcd, kube-apiserver, kube-controller-manager: the quota controller
fills the ResourceQuota status the exporter reads), one kubeconfig with a context per
cluster and no current context, and a registry whose one pool runs on the three, at three
sites: a tenant on each cluster, and one on two (disaster recovery). Each cluster gets the
namespaces and quotas the registry renders for it — straight through the API, as the
quotas are all the exporter reads; `apply` is tests/e2e/test_clusters.py's. Then one
control plane stops, an outage, and `citycloud exporter` runs as a user starts it.
"""

from __future__ import annotations

import functools
import pathlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

import kubeops
import pytest
import registries
from conftest import TIMINGS
from controlplane import ControlPlane, free_port, kubeconfig_of, running
from prometheus_client import parser

from citycloud import tenants
from citycloud.tenants import quantities, units

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = pathlib.Path(__file__).resolve().parents[2]
EAST, WEST, NORTH = "gov-east", "gov-west", "gov-north"
CLUSTERS = (EAST, WEST, NORTH)
DOWN = NORTH
TENANTS = {"wh-a-east": [EAST], "wh-a-west": [WEST], "wh-a-north": [NORTH],
           "wh-a-dr": [EAST, WEST]}


@pytest.fixture(scope="module")
def planes(bin_dir: pathlib.Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mapping[str, ControlPlane]]:
    started = time.monotonic()
    with running({name: ControlPlane(bin_dir, tmp_path_factory.mktemp(name))
                  for name in CLUSTERS}) as found:
        TIMINGS[f"{len(found)} control planes started (exporter)"] = time.monotonic() - started
        yield found


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    gov = registries.pool("gov")
    del gov["capacity"]  # on its clusters
    clusters = [registries.cluster(EAST, site="east-dc"),
                registries.cluster(WEST, site="west-dc"),
                registries.cluster(NORTH, site="north-dc")]
    documents = [registries.tenant(name, cpu="4", namespaces=("app", "db"), clusters=placed)
                 for name, placed in TENANTS.items()]
    return registries.write(tmp_path_factory.mktemp("exporter-city") / "registry", *documents,
                            platform=registries.platform(gov, clusters=clusters))


def quota_cpu(platform: tenants.Platform) -> dict[tuple[str, str], Fraction]:
    """(tenant, cluster) -> the requests.cpu its quotas on that cluster enforce, summed."""
    found: dict[tuple[str, str], Fraction] = {}
    for unit in units.render_units(platform):
        for manifest in unit.manifests:
            if manifest["kind"] == "ResourceQuota":
                cpu = quantities.parse(manifest["spec"]["hard"]["requests.cpu"]).value
                key = (unit.name, unit.cluster)
                found[key] = found.get(key, Fraction(0)) + cpu
    return found


def onboard(kube: kubeops.Kube, platform: tenants.Platform, cluster: str) -> None:
    """The tenants' namespaces and quotas the registry renders for `cluster`, created, and
    their status filled by the cluster's controller-manager."""
    quotas = []
    for unit in units.render_units(platform):
        if unit.kind is not units.Kind.TENANT or unit.cluster != cluster:
            continue
        for manifest in unit.manifests:
            if manifest["kind"] == "Namespace":
                kube.core.create_namespace(manifest)
        for manifest in unit.manifests:
            if manifest["kind"] == "ResourceQuota":
                namespace = manifest["metadata"]["namespace"]
                kube.core.create_namespaced_resource_quota(namespace, manifest)
                quotas.append((namespace, manifest["metadata"]["name"]))
    for namespace, name in quotas:
        kubeops.eventually(functools.partial(quota_hard, kube, namespace, name),
                           what=f"status of quota {namespace}/{name} on {cluster}")


def quota_hard(kube: kubeops.Kube, namespace: str, name: str) -> Any:
    return kube.core.read_namespaced_resource_quota(name, namespace).status.hard


@pytest.fixture(scope="module")
def onboarded(planes: Mapping[str, ControlPlane], registry: pathlib.Path) -> tenants.Platform:
    platform = tenants.load(registry)
    for name, plane in planes.items():
        api = plane.api_client()
        try:
            onboard(kubeops.Kube(api), platform, name)
        finally:
            api.close()
    return platform


@pytest.fixture(scope="module")
def exporter_url(planes: Mapping[str, ControlPlane], onboarded: tenants.Platform,
                 registry: pathlib.Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`citycloud exporter` on the registry, once one cluster's control plane stopped."""
    planes[DOWN].stop(grace=0.5)  # an outage: no time to drain
    work = tmp_path_factory.mktemp("exporter")
    port = free_port()
    log = work / "exporter.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from citycloud.cli.app import main; main()",
             "--registry", str(registry), "exporter", "--port", str(port),
             "--kubeconfig", str(kubeconfig_of(planes, work / "kubeconfig")),
             "--cluster-timeout", "5"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        kubeops.eventually(lambda: _healthy(url, process, log), timeout=60,
                           what="the exporter to listen")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(url: str, process: subprocess.Popen[bytes], log: pathlib.Path) -> bool:
    assert process.poll() is None, log.read_text()
    try:
        with urllib.request.urlopen(url.replace("/metrics", "/-/healthy"), timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        text = answer.read().decode()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in parser.text_string_to_metric_families(text)
            for sample in family.samples}


def test_three_clusters_one_down_every_reachable_tenants_quota_is_read(
        exporter_url: str, onboarded: tenants.Platform) -> None:
    expected = {key: float(cpu) for key, cpu in quota_cpu(onboarded).items()
                if key[1] != DOWN}
    assert set(expected) == {("wh-a-east", EAST), ("wh-a-west", WEST), ("wh-a-dr", EAST),
                             ("wh-a-dr", WEST)}

    def enforced(samples: dict[tuple[str, frozenset[tuple[str, str]]], float],
                 ) -> dict[tuple[str, str], float]:
        return {(labels["tenant"], labels["cluster"]): value
                for (name, frozen), value in samples.items()
                if name == "citycloud_tenant_quota_enforced_cpu_cores"
                for labels in [dict(frozen)]}

    started = time.monotonic()
    samples = scrape(exporter_url)
    seconds = time.monotonic() - started
    assert enforced(samples) == expected  # every reachable tenant, on each of its clusters

    up = {dict(labels)["cluster"]: value for (name, labels), value in samples.items()
          if name == "citycloud_cluster_up"}
    assert up == {EAST: 1, WEST: 1, NORTH: 0}
    used = {key: value for key, value in samples.items()
            if key[0] == "citycloud_tenant_quota_used_cpu_cores"}
    assert {dict(labels)["cluster"] for _, labels in used} == {EAST, WEST}
    assert all(value == 0 for value in used.values())  # no pods: nothing in use
    assert samples[("citycloud_cluster_info", frozenset(
        {"cluster": NORTH, "pool": "gov", "site": "north-dc"}.items()))] == 1
    TIMINGS["exporter scrape of 3 clusters, one down"] = seconds
