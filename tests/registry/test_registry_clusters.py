"""Clusters in the registry: what the loader refuses, and the capacity each cluster holds.

platform.yaml lists clusters (name, pool, site, capacity, context, podCidrs); a tenant names
its cluster(s) in spec.clusters. A registry without clusters behaves as before (tested
throughout the suite). The policies judging clusters are in tests/policies, the commands
in tests/cli, the HTML report in tests/monitoring.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import registries

from citycloud import tenants
from citycloud.tenants import allocation
from citycloud.tenants.diagnostics import RegistryError

EAST, WEST = "gov-east", "gov-west"


def write(tmp_path: pathlib.Path, *tenant_docs: registries.Document,
          clusters: list[registries.Document] | None = None,
          pool_capacity: bool = False) -> pathlib.Path:
    """One gov pool on two clusters (east-dc, west-dc; 50 cores each) unless told."""
    gov = registries.pool("gov")
    if not pool_capacity:
        del gov["capacity"]
    if clusters is None:
        clusters = [registries.cluster(EAST, site="east-dc"),
                    registries.cluster(WEST, site="west-dc")]
    codes = sorted({"wh-a", *(doc["metadata"]["department"] for doc in tenant_docs)})
    return registries.write(tmp_path / "registry", *tenant_docs, block=True,
                            departments=[registries.department(c) for c in codes],
                            platform=registries.platform(gov, clusters=clusters))


def problems(root: pathlib.Path) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        tenants.load(root)
    return [f"{d.file}:{d.line} {d.field} {d.code}" for d in caught.value.diagnostics]


def only_problem(root: pathlib.Path) -> tenants.Diagnostic:
    with pytest.raises(RegistryError) as caught:
        tenants.load(root)
    [found] = caught.value.diagnostics
    return found


@pytest.mark.parametrize(("tenant_fields", "clusters", "pool_capacity", "expected"), [
    pytest.param({"clusters": ["gov-esat"]}, None, False,
                 ["tenants/wh-a/wh-a-app.yaml:19 spec.clusters[0] unknown_cluster"],
                 id="unknown cluster"),
    pytest.param({}, None, False, ["tenants/wh-a/wh-a-app.yaml:8 spec.pool cluster_required"],
                 id="several clusters and none named"),
    pytest.param({"clusters": [EAST, EAST]}, None, False,
                 ["tenants/wh-a/wh-a-app.yaml:20 spec.clusters[1] duplicate_cluster"],
                 id="named twice"),
    pytest.param({"clusters": [EAST]}, [registries.cluster(EAST), registries.cluster(EAST)],
                 False, ["platform.yaml:27 spec.clusters[1].name duplicate_cluster"],
                 id="declared twice"),
    pytest.param({"clusters": [EAST]}, [registries.cluster(EAST),
                                        registries.cluster("ind-1", pool="industry")],
                 False, ["platform.yaml:28 spec.clusters[1].pool unknown_pool"],
                 id="cluster of an unknown pool"),
    pytest.param({"clusters": [EAST]}, [registries.cluster(EAST)], True,
                 ["platform.yaml:27 spec.clusters[0].capacity capacity_twice"],
                 id="capacity on the pool and its cluster"),
    pytest.param({"clusters": [EAST]}, [registries.cluster(EAST),
                                        registries.cluster(WEST, cpu=None)], False,
                 ["platform.yaml:27 spec.clusters[1].name missing_capacity"],
                 id="a cluster of several without capacity"),
    pytest.param({}, [], False, ["platform.yaml:7 spec.pools[0].name missing_capacity"],
                 id="a pool without capacity or clusters"),
    pytest.param({"clusters": [EAST]}, [registries.cluster(EAST, cpu=None)], False,
                 ["platform.yaml:7 spec.pools[0].name missing_capacity"],
                 id="a pool whose one cluster has no capacity either"),
])
def test_the_loader_names_the_line_of_each_mistake(
        tmp_path: pathlib.Path, tenant_fields: dict[str, Any],
        clusters: list[registries.Document] | None, pool_capacity: bool,
        expected: list[str]) -> None:
    root = write(tmp_path, registries.tenant("wh-a-app", **tenant_fields), clusters=clusters,
                 pool_capacity=pool_capacity)
    assert problems(root) == expected


def test_an_unknown_cluster_suggests_the_pools_own(tmp_path: pathlib.Path) -> None:
    found = only_problem(write(tmp_path, registries.tenant("wh-a-app", clusters=["gov-eastt"])))
    assert str(found) == (
        "tenants/wh-a/wh-a-app.yaml:19 spec.clusters[0]: cluster 'gov-eastt' is not in "
        f"platform.yaml (did you mean '{EAST}'?) [unknown_cluster]")


def test_a_tenant_that_names_no_cluster_is_told_how_to_choose(tmp_path: pathlib.Path) -> None:
    found = only_problem(write(tmp_path, registries.tenant("wh-a-app")))
    assert found.message == (f"pool 'gov' runs on several clusters ({EAST}, {WEST}) and the "
                             "tenant names none")
    assert "citycloud tenant new" in found.hint


def test_a_cluster_of_another_pool_is_refused(tmp_path: pathlib.Path) -> None:
    gov, industry = registries.pool("gov"), registries.pool("industry")
    root = registries.write(
        tmp_path / "registry", registries.tenant("wh-a-app", clusters=["ind-1"]), block=True,
        platform=registries.platform(gov, industry, clusters=[
            registries.cluster("ind-1", pool="industry", cpu=None)]))
    found = only_problem(root)
    assert (found.location, found.field, found.code) == (
        "tenants/wh-a/wh-a-app.yaml:19", "spec.clusters[0]", "cluster_of_other_pool")
    assert (found.message, found.hint) == (
        "cluster 'ind-1' belongs to pool 'industry', not to the tenant's pool 'gov'",
        "pool 'gov' declares no clusters: drop spec.clusters")


def test_a_pool_with_one_cluster_keeps_its_capacity_on_the_pool(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path, registries.tenant("wh-a-app"), pool_capacity=True,
                 clusters=[registries.cluster(EAST, cpu=None)])
    platform = tenants.load(root)
    assert platform.placements(platform.tenants["wh-a-app"]) == (EAST,)
    [only] = allocation.cluster_report(platform)
    assert only.usage["cpu"].physical == 100  # the pool's


def test_a_pools_capacity_is_its_clusters_and_each_placement_counts(
        tmp_path: pathlib.Path) -> None:
    root = write(tmp_path, registries.tenant("wh-a-app", clusters=[EAST], cpu=10),
                 registries.tenant("wh-b-dr", clusters=[EAST, WEST], cpu=4))
    platform = tenants.load(root)

    [pool] = allocation.report(platform)
    east, west = allocation.cluster_report(platform)

    assert pool.usage["cpu"].physical == 100  # 50 + 50
    assert pool.usage["cpu"].allocated == 18  # 10, and 4 on each site
    assert (east.usage["cpu"].allocated, west.usage["cpu"].allocated) == (14, 4)
    assert [t.name for t in east.tenants] == ["wh-a-app", "wh-b-dr"]
    assert (pool.tenants, len(west.tenants)) == (2, 1)


def test_a_cluster_gets_its_pools_overcommit(tmp_path: pathlib.Path) -> None:
    gov = registries.pool("gov", overcommit={"cpu": 1.5})
    del gov["capacity"]
    platform = registries.make(
        tmp_path / "registry", registries.tenant("wh-a-app", clusters=[EAST]), block=True,
        platform=registries.platform(gov, clusters=[registries.cluster(EAST, cpu=40),
                                                    registries.cluster(WEST, cpu=20)]))
    east, west = allocation.cluster_report(platform)
    assert (east.usage["cpu"].allocatable, west.usage["cpu"].allocatable) == (60, 30)


def test_without_clusters_there_is_no_cluster_report(tmp_path: pathlib.Path) -> None:
    platform = registries.make(tmp_path / "registry", registries.tenant("wh-a-app", cpu=10))
    assert allocation.cluster_report(platform) == []
    [pool] = allocation.report(platform)
    assert (pool.usage["cpu"].physical, pool.usage["cpu"].allocated) == (100, 10)
