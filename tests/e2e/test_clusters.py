"""The example's pools on their own clusters: one control plane per cluster, all at once.

The Wuhan example declares four clusters (the government pool at two sites, the industry
and domestic-IT pools one each); each gets a real control plane of its own (etcd,
kube-apiserver, kube-controller-manager) and a context named after it in one kubeconfig,
as a city's platform team would have it. The city keeps a few tenants: one on each
government site, one on both (disaster recovery), one calling a service on the other site,
one per other pool.

The first `apply` loses a cluster in the middle: its control plane is stopped once the
pools are applied and the tenants are under way. The other clusters converge, the run ends
with exit 3 naming the stopped cluster, and once it is back a second `apply` converges it,
with every object on the cluster the registry names and on no other, nothing orphaned,
nothing twice. Then each cluster's guardrails refuse a privileged pod.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator, Mapping
from typing import Any

import e2ecity
import jsonout
import kubeops
import pytest
from conftest import TIMINGS
from controlplane import ControlPlane, kubeconfig_of, running
from test_guardrails import pod

from citycloud.stacks import layout
from citycloud.tenants import render, units

HANKOU, GUANGGU = "wh-gov-hankou", "wh-gov-guanggu"
CLUSTERS = (HANKOU, GUANGGU, "wh-industry", "wh-xinchuang")
KEEP = (
    "wh-caidian-zhengwu",  # gov, at hankou
    "wh-gongan-video",  # gov, at guanggu: publishes video-sharing
    "wh-jiaotong-tocc",  # gov, at hankou: calls video-sharing across the sites
    "wh-zwfw-identity",  # gov, at both sites (disaster recovery)
    "wh-keji-xiangmu",  # industry
    "wh-dongxihu-oa",  # xinchuang
)
STOPPED = GUANGGU


@pytest.fixture(scope="module")
def planes(bin_dir: pathlib.Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mapping[str, ControlPlane]]:
    started = time.monotonic()
    with running({name: ControlPlane(bin_dir, tmp_path_factory.mktemp(name))
                  for name in CLUSTERS}) as found:
        TIMINGS[f"{len(found)} control planes started"] = time.monotonic() - started
        yield found


@pytest.fixture(scope="module")
def city(planes: Mapping[str, ControlPlane],
         tmp_path_factory: pytest.TempPathFactory) -> e2ecity.City:
    root = tmp_path_factory.mktemp("clusters-city")
    return e2ecity.City(root, bin_dir=next(iter(planes.values())).bin_dir,
                        kubeconfig=kubeconfig_of(planes, root / "kubeconfig", current=HANKOU),
                        keep=KEEP,
                        clusters=True)


@pytest.fixture(scope="module")
def kubes(planes: Mapping[str, ControlPlane]) -> Iterator[dict[str, kubeops.Kube]]:
    apis = {name: plane.api_client() for name, plane in planes.items()}
    try:
        yield {name: kubeops.Kube(api) for name, api in apis.items()}
    finally:
        for api in apis.values():
            api.close()


def wanted(city: e2ecity.City) -> dict[str, set[str]]:
    """The objects (namespaces and what guards them, pools' too) the registry puts on each
    cluster."""
    kinds = set(kubeops.TENANT_KINDS)
    found: dict[str, set[str]] = {name: set() for name in CLUSTERS}
    for unit in units.render_units(city.platform()):
        found[unit.cluster] |= {kubeops.key(m) for m in unit.manifests
                                if (m["apiVersion"], m["kind"]) in kinds}
    return found


def live(kube: kubeops.Kube) -> set[str]:
    return kube.labelled(f"{render.LABEL_MANAGED_BY}={render.MANAGED_BY}")


def wait_for_tenants(city: e2ecity.City, process: Any, *, timeout: float = 300) -> None:
    """Until the run has applied its pools and started on its tenants."""
    journals = city.state / "stacks" / layout.Kind.TENANT.value
    deadline = time.monotonic() + timeout
    while not any(journals.glob("*.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the apply never reached its tenants"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def converged(city: e2ecity.City, planes: Mapping[str, ControlPlane],
              kubes: dict[str, kubeops.Kube]) -> dict[str, Any]:
    """The first apply, losing a cluster mid-way (its JSON report). `kubes` first: a
    client reads each API server's discovery when it is made."""
    started = time.monotonic()
    process = city.popen("apply", "--yes", "--parallel", "1", "--output", "json")
    wait_for_tenants(city, process)
    planes[STOPPED].stop(grace=0.5)  # an outage, not a maintenance: no time to drain
    stdout, stderr = process.communicate(timeout=900)
    first = e2ecity.Run(("apply",), process.returncode, stdout, stderr,
                        time.monotonic() - started)
    city.runs.append(first)
    TIMINGS["apply across 4 clusters, one stopped mid-way"] = first.seconds
    assert first.code == 3, str(first)
    document = jsonout.envelope(first.stdout)
    assert f"cluster(s) not answering: {STOPPED}" in document["error"]["message"], str(first)
    return dict(document["data"])


def test_the_other_clusters_converge_when_one_stops_mid_apply(
        city: e2ecity.City, converged: dict[str, Any], kubes: dict[str, kubeops.Kube]) -> None:
    statuses = e2ecity.stack_statuses(converged)
    assert {name for name, status in statuses.items() if status != "applied"} == {
        f"tenant/wh-gongan-video.{STOPPED}", f"tenant/wh-zwfw-identity.{STOPPED}"}, statuses
    want = wanted(city)
    for name in CLUSTERS:
        if name != STOPPED:
            assert live(kubes[name]) == want[name], name


def test_doctor_asks_each_cluster_and_names_the_one_down(
        city: e2ecity.City, converged: dict[str, Any],
        planes: Mapping[str, ControlPlane]) -> None:
    """Before the stopped control plane is back (the next test restarts it)."""
    run = city.citycloud("doctor", "--output", "json")
    assert run.code == 0, str(run)
    checks = {c["name"]: c for c in jsonout.data(run.stdout)["checks"]}
    for name in CLUSTERS:
        check = checks[f"cluster {name}"]
        assert check["where"] == planes[name].url, check
        assert check["found"] is (name != STOPPED), check
    assert "site guanggu-dc" in checks[f"cluster {STOPPED}"]["note"]
    assert "cluster" not in checks  # the kubeconfig's current context is not asked apart


def test_the_next_apply_converges_the_cluster_once_it_is_back(
        city: e2ecity.City, converged: dict[str, Any], planes: Mapping[str, ControlPlane],
        kubes: dict[str, kubeops.Kube]) -> None:
    planes[STOPPED].restart()

    result = city.ok("apply", "--yes")

    stacks = {s["stack"]: s["status"] for s in result.json["stacks"]}
    assert {name for name, status in stacks.items() if status != "unchanged"} <= {
        name for name in stacks if name.endswith(f".{STOPPED}")}
    want = wanted(city)
    for name in CLUSTERS:  # every namespace on the cluster the registry names, on no other
        assert live(kubes[name]) == want[name], name
    expected = {unit.key for unit in units.render_units(city.platform())
                if unit.kind is units.Kind.TENANT}
    state = layout.StateDir(city.state)
    assert state.stack_names(layout.Kind.TENANT) == expected  # nothing orphaned or doubled
    assert city.ok("plan").json["changes"] == []


def test_a_door_across_the_sites_opens_on_the_other_sites_pod_network(
        converged: dict[str, Any], kubes: dict[str, kubeops.Kube]) -> None:
    policy = kubes[HANKOU].resource("networking.k8s.io/v1", "NetworkPolicy").get(
        name="citycloud-share-out-wh-gongan-video-video-sharing",
        namespace="wh-jiaotong-tocc-ops")
    assert [peer.ipBlock.cidr for peer in policy.spec.egress[0].to] == ["100.68.0.0/14"]


@pytest.mark.parametrize("cluster,namespace", [
    (HANKOU, "wh-caidian-zhengwu-web"), (GUANGGU, "wh-gongan-video-video"),
    ("wh-industry", "wh-keji-xiangmu-portal"), ("wh-xinchuang", "wh-dongxihu-oa-oa")])
def test_each_clusters_guardrails_refuse_a_privileged_pod(
        converged: dict[str, Any], kubes: dict[str, kubeops.Kube], cluster: str,
        namespace: str) -> None:
    message = kubeops.refused(lambda: kubes[cluster].core.create_namespaced_pod(
        namespace, pod(namespace, privileged=True), dry_run="All"))
    assert "privileged" in message, message
