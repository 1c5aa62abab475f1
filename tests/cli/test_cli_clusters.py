"""Commands on a registry whose pools run on clusters: `tenant new` and `capacity`.

`tenant new` writes the cluster a new tenant runs on where its pool has several (the one
with the most CPU headroom, unless --cluster says); `capacity` adds a table, and JSON
entries, per cluster. Without clusters both behave exactly as before.
"""

from __future__ import annotations

import http.server
import pathlib

import apiserver
import clirun
import jsonout
import pytest
import registries

EAST, WEST, NORTH = "gov-east", "gov-west", "gov-north"
NEW = ("tenant", "new", "wh-a", "wh-a-next", "--cpu", "2", "--memory", "1Gi",
       "--storage", "1Gi", "--description", "下一个")


def write(tmp_path: pathlib.Path, *tenant_docs: registries.Document,
          clusters: list[registries.Document] | None = None) -> pathlib.Path:
    """One gov pool on the clusters given (east-dc and west-dc, 50 cores each, unless told)."""
    gov = registries.pool("gov")
    del gov["capacity"]  # on the clusters
    if clusters is None:
        clusters = [registries.cluster(EAST, site="east-dc"),
                    registries.cluster(WEST, site="west-dc")]
    return registries.write(tmp_path / "registry", *tenant_docs,
                            departments=[registries.department("wh-a")],
                            platform=registries.platform(gov, clusters=clusters))


def written(root: pathlib.Path) -> str:
    return (root / "tenants" / "wh-a" / "wh-a-next.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("clusters", "placed", "expected"), [
    pytest.param(None, [registries.tenant("wh-a-app", clusters=[EAST], cpu=10)], WEST,
                 id="the one with more cores left"),
    pytest.param([registries.cluster(WEST), registries.cluster(EAST)], [], EAST,
                 id="a tie goes to the first name, not the first in the file"),
    pytest.param([registries.cluster(EAST, cpu=60, memory="10Gi"), registries.cluster(WEST)],
                 [], EAST, id="cpu decides, not memory"),
    pytest.param(None, [registries.tenant("wh-a-dr", clusters=[EAST, WEST], cpu=10),
                        registries.tenant("wh-a-app", clusters=[WEST], cpu=1)], EAST,
                 id="a disaster-recovery tenant counts on both"),
])
def test_tenant_new_proposes_the_cluster_with_the_most_headroom(
        tmp_path: pathlib.Path, clusters: list[registries.Document] | None,
        placed: list[registries.Document], expected: str) -> None:
    root = write(tmp_path, *placed, clusters=clusters)

    result = clirun.invoke("-r", root, *NEW)

    assert result.exit_code == 0, result.output
    assert f"\n  clusters: [{expected}]\n" in written(root)


def test_tenant_new_takes_the_clusters_it_is_given(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path, registries.tenant("wh-a-app", clusters=[WEST], cpu=40))

    result = clirun.invoke("-r", root, *NEW, "--cluster", WEST)
    assert result.exit_code == 0, result.output
    assert "\nspec:\n  pool: gov\n  clusters: [gov-west]\n  classification: 2\n" in written(root)


def test_tenant_new_writes_two_clusters_for_disaster_recovery(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path)

    result = clirun.invoke("-r", root, *NEW, "--cluster", EAST, "--cluster", WEST)

    assert result.exit_code == 0, result.output
    assert f"\n  clusters: [{EAST}, {WEST}]\n" in written(root)


def test_tenant_new_refuses_a_third_cluster(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path, clusters=[registries.cluster(EAST, site="east-dc"),
                                     registries.cluster(WEST, site="west-dc"),
                                     registries.cluster(NORTH, site="north-dc")])

    result = clirun.invoke("-r", root, *NEW, "--cluster", EAST, "--cluster", WEST,
                           "--cluster", NORTH)

    assert result.exit_code == 2
    assert "--cluster" in result.output and "two at two sites" in result.output
    assert not (root / "tenants" / "wh-a" / "wh-a-next.yaml").exists()


def test_tenant_new_with_an_unknown_cluster_is_the_loaders_error(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path)

    result = clirun.invoke("-r", root, *NEW, "--cluster", "gov-nowhere")

    assert result.exit_code == 2, result.output
    assert ("tenants/wh-a/wh-a-next.yaml:7 spec.clusters[0]: cluster 'gov-nowhere' is not in "
            "platform.yaml") in result.output
    assert "[unknown_cluster]" in result.output
    assert not (root / "tenants" / "wh-a" / "wh-a-next.yaml").exists()


def test_tenant_new_on_a_two_site_pool_at_one_site_is_refused(tmp_path: pathlib.Path) -> None:
    """The shared policies hold the request: two clusters at one site are no recovery."""
    root = write(tmp_path, clusters=[registries.cluster(EAST, site="east-dc"),
                                     registries.cluster(WEST, site="east-dc")])

    result = clirun.invoke("-r", root, *NEW, "--cluster", EAST, "--cluster", WEST)

    assert result.exit_code == 1
    assert "[placement.dr-sites]" in result.output
    assert not (root / "tenants" / "wh-a" / "wh-a-next.yaml").exists()


@pytest.mark.parametrize("clusters", [
    pytest.param([registries.cluster(EAST, cpu=None)], id="one declared cluster"),
    pytest.param([registries.cluster("ind-1", pool="industry", cpu=None)],
                 id="clusters of another pool only"),
])
def test_tenant_new_on_a_pool_with_one_cluster_writes_the_file_of_old(
        tmp_path: pathlib.Path, clusters: list[registries.Document]) -> None:
    pools = [registries.pool("gov"), registries.pool("industry")]
    before = registries.write(tmp_path / "before", departments=[registries.department("wh-a")],
                              platform=registries.platform(*pools))
    after = registries.write(tmp_path / "after", departments=[registries.department("wh-a")],
                             platform=registries.platform(*pools, clusters=clusters))

    for root in (before, after):
        result = clirun.invoke("-r", root, *NEW)
        assert result.exit_code == 0, result.output

    assert written(after) == written(before)
    assert "clusters" not in written(after)


def test_capacity_reports_each_cluster(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path, registries.tenant("wh-a-app", clusters=[EAST], cpu=10),
                 registries.tenant("wh-a-dr", clusters=[EAST, WEST], cpu="500m"))

    result = clirun.invoke("-r", root, "capacity", "-o", "json")

    assert result.exit_code == 0, result.output
    [pool] = jsonout.data(result.stdout)
    assert pool["resources"]["cpu"]["physical"] == 100  # the clusters' together
    assert pool["resources"]["cpu"]["allocated"] == 11  # 10, and 0.5 at each site
    east, west = pool["clusters"]
    assert {k: v for k, v in east.items() if k != "resources"} == {
        "cluster": EAST, "site": "east-dc", "tenants": 2}
    assert east["resources"]["cpu"] == {"physical": 50, "allocatable": 50, "allocated": 10.5,
                                        "headroom": 39.5, "ratio": 0.21}
    assert (west["cluster"], west["tenants"], west["resources"]["cpu"]["allocated"]) == (
        WEST, 1, 0.5)
    assert west["resources"]["memory"]["physical"] == 200 * 2**30  # bytes, as for pools


def test_capacity_table_by_cluster(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path, registries.tenant("wh-a-app", clusters=[EAST], cpu=10))

    result = clirun.invoke("-r", root, "capacity", "-o", "markdown")

    assert result.exit_code == 0, result.output
    assert "Capacity by cluster" in result.stdout
    assert ("| gov-east | east-dc | gov | cpu (cores) | 50.0 | 50.0 | 10.0 | 40.0 | 20.0% | 1 |"
            in result.stdout)
    assert "| gov-west | west-dc | gov | cpu (cores) | 50.0 | 50.0 | 0.0 | 50.0 | 0.0% | 0 |" \
        in result.stdout


def test_capacity_without_clusters_is_as_before(tmp_path: pathlib.Path) -> None:
    root = registries.write(tmp_path / "registry", registries.tenant("wh-a-app"))
    result = clirun.invoke("-r", root, "capacity", "-o", "json")
    assert [sorted(pool) for pool in jsonout.data(result.stdout)] == [
        ["departments", "kind", "pool", "resources", "tenants"]]
    assert "Capacity by cluster" not in clirun.invoke("-r", root, "capacity").stdout


class Version(apiserver.JsonHandler):
    """A /version answer in the shape the client reads (k8s.io/apimachinery version.Info)."""

    def do_GET(self) -> None:
        self.send_json(200, {
            "major": "1", "minor": "37", "gitVersion": "v1.37.2", "gitCommit": "0" * 40,
            "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z",
            "goVersion": "go1.25", "compiler": "gc", "platform": "linux/amd64"})


def test_doctor_asks_every_cluster_the_registry_declares(tmp_path: pathlib.Path) -> None:
    """One cluster answers (a stand-in API server), one has no context in the kubeconfig."""
    root = write(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Version)
    with apiserver.serving(server) as url:
        config = apiserver.write_contexts(tmp_path / "kubeconfig", {EAST: url})
        result = clirun.invoke("-r", root, "doctor", "--kubeconfig", config, "-o", "json")
        only = clirun.invoke("-r", root, "doctor", "--kubeconfig", config, "--context", EAST,
                             "-o", "json")

    assert result.exit_code == 0, result.output  # doctor reports; it does not judge
    checks = {c["name"]: c for c in jsonout.data(result.stdout)["checks"]}
    assert checks[f"cluster {EAST}"] == {
        "name": f"cluster {EAST}", "found": True, "version": "v1.37.2", "where": url,
        "note": f"pool gov, site east-dc, context {EAST}"}
    west = checks[f"cluster {WEST}"]
    assert not west["found"] and west["note"].startswith(
        f"pool gov, site west-dc, context {WEST}: ") and WEST in west["note"][40:], west
    assert "cluster" not in checks
    alone = {c["name"]: c for c in jsonout.data(only.stdout)["checks"]}
    assert alone["cluster"]["found"] and not any(n.startswith("cluster ") for n in alone)


def test_doctor_says_a_registry_that_does_not_load_and_goes_on(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path)
    (root / "platform.yaml").write_text("spec: [", encoding="utf-8")

    result = clirun.invoke("-r", root, "doctor", "--kubeconfig", tmp_path / "none",
                           "-o", "json")

    assert result.exit_code == 0, result.output
    checks = {c["name"]: c for c in jsonout.data(result.stdout)["checks"]}
    assert not checks["registry"]["found"] and "platform.yaml" in checks["registry"]["note"]
    assert not checks["cluster"]["found"] and "none" in checks["cluster"]["note"]
