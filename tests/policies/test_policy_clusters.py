"""The policies about clusters: each cluster's hardware, and disaster recovery at two sites.

capacity.cluster-allocatable and capacity.cluster-headroom judge each cluster of a pool on
several clusters, as capacity.pool-allocatable and capacity.pool-headroom judge the pool;
placement.dr-sites a tenant on two clusters. The registries here: one gov pool whose
capacity is its clusters' (50 cores each unless told).
"""

from __future__ import annotations

import pathlib

import policy_builders
import pytest
import registries

from citycloud import policies, tenants

EAST, WEST, NORTH = "gov-east", "gov-west", "gov-north"


def make(tmp_path: pathlib.Path, *tenant_docs: registries.Document,
         clusters: list[registries.Document] | None = None) -> tenants.Platform:
    gov = registries.pool("gov")
    del gov["capacity"]  # on the clusters
    if clusters is None:
        clusters = [registries.cluster(EAST, site="east-dc"),
                    registries.cluster(WEST, site="west-dc")]
    return registries.make(tmp_path / "registry", *tenant_docs, block=True,
                           platform=registries.platform(gov, clusters=clusters))


def findings(platform: tenants.Platform, *prefixes: str) -> list[str]:
    report = policies.evaluate(platform, today=policy_builders.TODAY)
    return [str(d) for d in report.findings if d.code.startswith(prefixes)]


def test_a_full_cluster_is_an_error_though_its_pool_has_room(tmp_path: pathlib.Path) -> None:
    platform = make(tmp_path, registries.tenant("wh-a-app", clusters=[EAST], cpu=40),
                    registries.tenant("wh-b-app", clusters=[EAST], cpu=20),
                    registries.tenant("wh-c-app", clusters=[EAST], cpu=1),
                    registries.tenant("wh-d-app", clusters=[EAST], cpu="500m"),
                    clusters=[registries.cluster(EAST, site="east-dc", cpu=50),
                              registries.cluster(WEST, site="west-dc", cpu=500)])
    assert findings(platform, "capacity.") == [
        "platform.yaml:24 spec.clusters[0].capacity.cpu: cluster 'gov-east' holds "
        "61500m cores of cpu in quotas, 11500m cores more than its 50 cores (physical x "
        "overcommit; largest: wh-a-app, wh-b-app, wh-c-app) (move tenants to another cluster "
        "of the pool (spec.clusters), or add hardware) [capacity.cluster-allocatable]"]


def test_a_disaster_recovery_tenant_holds_its_quota_on_both_clusters(
        tmp_path: pathlib.Path) -> None:
    platform = make(tmp_path, registries.tenant("wh-a-dr", clusters=[EAST, WEST], cpu=30),
                    registries.tenant("wh-b-app", clusters=[WEST], cpu=30))
    assert findings(platform, "capacity.cluster-allocatable") == [
        "platform.yaml:31 spec.clusters[1].capacity.cpu: cluster 'gov-west' holds 60 cores "
        "of cpu in quotas, 10 cores more than its 50 cores (physical x overcommit; largest: "
        "wh-a-dr, wh-b-app) (move tenants to another cluster of the pool (spec.clusters), or "
        "add hardware) [capacity.cluster-allocatable]"]


def test_a_cluster_past_the_warning_line_warns(tmp_path: pathlib.Path) -> None:
    platform = make(tmp_path, registries.tenant("wh-a-app", clusters=[WEST], cpu=45))
    report = policies.evaluate(platform, today=policy_builders.TODAY)
    [warning] = [d for d in report.findings if d.code.startswith("capacity.")]
    assert (warning.severity, str(warning)) == (tenants.Severity.WARNING, (
        "platform.yaml:31 spec.clusters[1].capacity.cpu: cluster 'gov-west' has handed out "
        "90.0% of its cpu (5 cores left), above the 85% warning line (add hardware to this "
        "cluster, or place the pool's next tenants on another of its clusters) "
        "[capacity.cluster-headroom]"))


def test_the_cluster_warning_line_is_the_pool_warning_setting(tmp_path: pathlib.Path) -> None:
    gov = registries.pool("gov")
    del gov["capacity"]
    platform = registries.make(
        tmp_path / "registry", registries.tenant("wh-a-app", clusters=[WEST], cpu=45),
        block=True, platform=registries.platform(
            gov, policies={"capacity": {"poolWarning": 0.95}},
            clusters=[registries.cluster(EAST), registries.cluster(WEST)]))
    assert findings(platform, "capacity.cluster-headroom") == []


def test_a_pools_only_cluster_is_judged_as_the_pool(tmp_path: pathlib.Path) -> None:
    """Its figures are the pool's: one finding, at the pool's capacity, not two."""
    platform = registries.make(
        tmp_path / "registry", registries.tenant("wh-a-app", cpu=120), block=True,
        platform=registries.platform(registries.pool("gov", cpu=100),
                                     clusters=[registries.cluster(EAST, cpu=None)]))
    assert [f.split(": ")[0] for f in findings(platform, "capacity.pool", "capacity.cluster")] \
        == ["platform.yaml:10 spec.pools[0].capacity.cpu"]


def test_a_full_pool_on_clusters_points_at_the_pool(tmp_path: pathlib.Path) -> None:
    platform = make(tmp_path, registries.tenant("wh-a-app", clusters=[EAST], cpu=45),
                    registries.tenant("wh-b-app", clusters=[WEST], cpu=45))
    assert findings(platform, "capacity.pool") == [
        "platform.yaml:7 spec.pools[0]: pool 'gov' has handed out 90.0% of its cpu (10 cores "
        "left), above the 85% warning line (plan more capacity for this pool) "
        "[capacity.pool-headroom]"]


def test_disaster_recovery_needs_two_sites(tmp_path: pathlib.Path) -> None:
    clusters = [registries.cluster(EAST, site="east-dc"), registries.cluster(WEST, site="east-dc"),
                registries.cluster(NORTH, site="north-dc")]
    platform = make(tmp_path, registries.tenant("wh-a-app", clusters=[EAST, WEST]),
                    registries.tenant("wh-b-app", clusters=[EAST, NORTH]), clusters=clusters)
    assert findings(platform, "placement.dr-sites") == [
        "tenants/wh-a/wh-a-app.yaml:20 spec.clusters[1]: clusters gov-east and gov-west "
        "are both at site 'east-dc': one outage takes both copies (name a cluster at another "
        "site: gov-north) [placement.dr-sites]"]


def test_disaster_recovery_in_a_pool_at_one_site_says_so(tmp_path: pathlib.Path) -> None:
    clusters = [registries.cluster(EAST, site="east-dc"), registries.cluster(WEST, site="east-dc")]
    platform = make(tmp_path, registries.tenant("wh-a-app", clusters=[EAST, WEST]),
                    clusters=clusters)
    report = policies.evaluate(platform, today=policy_builders.TODAY)
    [finding] = [d for d in report.findings if d.code.startswith("placement.")]
    assert (finding.code, finding.hint) == (
        "placement.dr-sites", "pool 'gov' has no cluster at another site: drop the second "
        "cluster until it has")


@pytest.mark.parametrize("rule", ["capacity.cluster-allocatable", "capacity.cluster-headroom",
                                  "placement.dr-sites"])
def test_policies_explain_the_cluster_rules(tmp_path: pathlib.Path, citycloud,
                                            rule: str) -> None:
    root = registries.write(tmp_path / "registry", registries.tenant("wh-a-app"))
    listed = citycloud("-r", root, "policies", "list")
    explained = citycloud("-r", root, "policies", "explain", rule)
    assert listed.exit_code == explained.exit_code == 0, explained.output
    assert rule in listed.stdout
    rationale = policies.engine.POLICIES[rule].rationale
    assert " ".join(rationale.split()[:6]) in " ".join(explained.stdout.split())
