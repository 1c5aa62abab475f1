"""Stacks on several clusters, through the real Pulumi engine and Kubernetes provider.

A city of one pool on two clusters at two sites: a tenant on each, and one placed on both
for disaster recovery. The provider runs in its render-to-directory mode, one directory per
cluster (what `--render-yaml-to DIR` gives each declared cluster: DIR/<cluster>), so where
each object lands is read from the files it wrote. A cluster that does not answer is a
probe that says so (a fake: no cluster runs in these tests; the end-to-end suite stops a
real control plane).

Skipped unless `pulumi` and `pulumi-resource-kubernetes` are available.
"""

from __future__ import annotations

import pathlib
from typing import Any

import apiserver
import clirun
import jsonout
import pytest
import registries
import yaml
from reporters import Quiet

from citycloud import tenants
from citycloud.stacks import binaries, engine, layout, operations, programs

pytestmark = pytest.mark.slow
EAST, WEST = "gov-east", "gov-west"
ALONE_EAST, ALONE_WEST, BOTH = "wh-a-east", "wh-b-west", "wh-c-both"


@pytest.fixture
def city(pulumi_bin: binaries.Binaries, tmp_path: pathlib.Path,
         monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.setenv(binaries.ENV_BIN_DIR, str(pulumi_bin.pulumi.parent))
    pool = registries.pool("gov")
    del pool["capacity"]  # on its clusters
    departments = [registries.department(code, cost_centre=f"CC-{code[3].upper()}",
                                         contacts=[{"name": "信息中心", "email": "it@city.cn"}])
                   for code in ("wh-a", "wh-b", "wh-c")]
    return registries.write(
        tmp_path / "registry",
        registries.tenant(ALONE_EAST, clusters=[EAST]),
        registries.tenant(ALONE_WEST, clusters=[WEST]),
        registries.tenant(BOTH, clusters=[EAST, WEST]), departments=departments,
        platform=registries.platform(pool, clusters=[
            registries.cluster(EAST, site="east-dc"), registries.cluster(WEST, site="west-dc")]))


def cli(city: pathlib.Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Exit code and JSON envelope's data, or on an error the envelope's error."""
    result = clirun.invoke("-r", city, "--state-dir", city.parent / "state", *args,
                           "--render-yaml-to", city.parent / "out", "-o", "json")
    try:
        envelope = jsonout.envelope(result.stdout)
    except ValueError:
        raise AssertionError(result.output) from None
    return result.exit_code, envelope["data"] or envelope["error"]


def written(city: pathlib.Path, cluster: str) -> set[str]:
    """Namespaces the provider wrote for one cluster."""
    found = set()
    for path in (city.parent / "out" / cluster).rglob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document and document["kind"] == "Namespace":
                found.add(document["metadata"]["name"])
    return found


def test_every_unit_lands_on_the_cluster_the_registry_names_and_on_no_other(
        city: pathlib.Path) -> None:
    code, result = cli(city, "apply", "--yes")

    assert code == 0, result
    assert {s["stack"]: s["status"] for s in result["stacks"]} == {
        f"pool/gov.{EAST}": "applied", f"pool/gov.{WEST}": "applied",
        f"tenant/{ALONE_EAST}.{EAST}": "applied", f"tenant/{ALONE_WEST}.{WEST}": "applied",
        f"tenant/{BOTH}.{EAST}": "applied", f"tenant/{BOTH}.{WEST}": "applied"}
    assert written(city, EAST) == {"citycloud-pool-gov", f"{ALONE_EAST}-app", f"{BOTH}-app"}
    assert written(city, WEST) == {"citycloud-pool-gov", f"{ALONE_WEST}-app", f"{BOTH}-app"}
    plan = clirun.invoke("-r", city, "--state-dir", city.parent / "state", "plan", "-o", "json")
    assert jsonout.data(plan.stdout)["changes"] == []


def test_onboarding_touches_only_the_tenants_clusters(city: pathlib.Path) -> None:
    code, result = cli(city, "onboard", ALONE_WEST, "--yes")

    assert code == 0, result
    assert [s["stack"] for s in result["stacks"]] == [f"pool/gov.{WEST}",
                                                       f"tenant/{ALONE_WEST}.{WEST}"]
    assert not (city.parent / "out" / EAST).exists()


def test_a_tenant_on_two_clusters_is_offboarded_one_cluster_at_a_time(
        city: pathlib.Path) -> None:
    assert cli(city, "onboard", BOTH, "--yes")[0] == 0

    code, refused = cli(city, "offboard", BOTH, "--yes")
    assert code == 2
    assert f"runs on 2 clusters ({EAST}, {WEST})" in refused["message"]

    code, result = cli(city, "offboard", BOTH, "--cluster", WEST, "--yes")
    assert code == 0, result
    assert written(city, WEST) == {"citycloud-pool-gov"}
    assert f"{BOTH}-app" in written(city, EAST)
    state = layout.StateDir(city.parent / "state")
    assert operations.tenant_stacks(state, BOTH) == [f"{BOTH}.{EAST}"]


def test_a_cluster_that_does_not_answer_fails_its_stacks_and_the_others_converge(
        city: pathlib.Path) -> None:
    platform = tenants.load(city)
    runner = engine.Engine(layout.StateDir(city.parent / "state"), cluster=programs.Cluster(
        identifier=platform.name, render_to=str(city.parent / "out")))
    asked: list[str] = []

    def probe(cluster: programs.Cluster) -> str | None:
        asked.append(cluster.identifier)
        return "connection refused" if cluster.identifier.endswith(WEST) else None

    chosen = operations.targets(platform, cluster=runner.cluster)
    result = operations.converge(chosen, runner=runner, reporter=Quiet(), probe=probe)

    statuses = {str(o.ref): o.status.value for o in result.outcomes}
    assert statuses == {
        f"pool/gov.{EAST}": "applied", f"pool/gov.{WEST}": "failed",
        f"tenant/{ALONE_EAST}.{EAST}": "applied", f"tenant/{ALONE_WEST}.{WEST}": "failed",
        f"tenant/{BOTH}.{EAST}": "applied", f"tenant/{BOTH}.{WEST}": "failed"}
    assert result.clusters_down == [WEST]
    # Each cluster asked once before any engine run, the one down once more after.
    assert sorted(asked) == [f"{platform.name}.{EAST}", f"{platform.name}.{WEST}",
                             f"{platform.name}.{WEST}"]
    assert not (city.parent / "out" / WEST).exists()

    # The cluster is back: the next run converges it, and only it.
    again = operations.converge(operations.targets(platform, cluster=runner.cluster),
                                runner=runner, reporter=Quiet(), probe=lambda c: None)
    assert {str(o.ref): o.status.value for o in again.outcomes if o.status.value != "unchanged"
            } == {f"pool/gov.{WEST}": "applied", f"tenant/{ALONE_WEST}.{WEST}": "applied",
                  f"tenant/{BOTH}.{WEST}": "applied"}
    assert f"{BOTH}-app" in written(city, WEST)


def test_moving_a_tenant_is_planned_refused_and_done_only_when_asked(
        city: pathlib.Path) -> None:
    assert cli(city, "onboard", ALONE_WEST, "--yes")[0] == 0
    path = city / "tenants" / "wh-b" / f"{ALONE_WEST}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(f"[{WEST}]", f"[{EAST}]"),
                    encoding="utf-8")

    plan = clirun.invoke("-r", city, "--state-dir", city.parent / "state", "plan", "-o", "json")
    changes = jsonout.data(plan.stdout)["changes"]
    assert {(c["action"], c["unit"]) for c in changes if c["kind"] == "Namespace"
            and c["unit"].startswith(ALONE_WEST)} == {
        ("create", f"{ALONE_WEST}.{EAST}"), ("delete", f"{ALONE_WEST}.{WEST}")}
    code, refused = cli(city, "apply", "--yes")
    assert code == 2
    assert (f"{ALONE_WEST} leaves {WEST} for {EAST}" in refused["message"]
            and f"citycloud offboard {ALONE_WEST} --cluster {WEST}" in refused["message"])
    assert not (city.parent / "out" / EAST).exists()  # nothing ran

    code, moved = cli(city, "apply", "--yes", "--move", ALONE_WEST)
    assert code == 0, moved
    assert f"{ALONE_WEST}-app" in written(city, EAST) and f"{ALONE_WEST}-app" in written(
        city, WEST)  # created there; here until offboarded
    assert moved["orphans"] == [f"{ALONE_WEST}.{WEST}"]
    assert cli(city, "apply", "--yes")[0] == 0  # made: the stack left behind is an orphan

    code, result = cli(city, "offboard", ALONE_WEST, "--cluster", WEST, "--yes")
    assert code == 0, result
    assert f"{ALONE_WEST}-app" not in written(city, WEST)


def test_clusters_that_are_down_are_named_and_nothing_runs(city: pathlib.Path) -> None:
    """A kubeconfig whose contexts reach a closed port: the real client's answer, no engine."""
    config = apiserver.write_contexts(city.parent / "kubeconfig", {
        EAST: "https://127.0.0.1:1", WEST: "https://127.0.0.1:1"})

    result = clirun.invoke("-r", city, "--state-dir", city.parent / "state", "apply", "--yes",
                           "--kubeconfig", config, "-o", "json")

    assert result.exit_code == 3, result.output
    error = jsonout.envelope(result.stdout)["error"]["message"]
    assert error.endswith(f"; cluster(s) not answering: {EAST}, {WEST} (run apply again once "
                          "they are back)")
    stacks = jsonout.envelope(result.stdout)["data"]["stacks"]
    assert {s["status"] for s in stacks} == {"failed"}
    assert f"cluster {EAST} did not answer: cannot read the cluster's version: cannot reach " \
           "the API server" in stacks[0]["error"]
    assert not layout.StateDir(city.parent / "state").stack_names(layout.Kind.TENANT)
