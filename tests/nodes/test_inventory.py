"""platform.yaml -> the inventory the playbook runs on: what each node is told about its pool."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from registries import edit_platform, pools_of

from citycloud import tenants
from citycloud.stacks import nodes


@pytest.fixture(scope="module")
def wuhan_platform(wuhan: pathlib.Path) -> tenants.Platform:
    return tenants.load(wuhan)


def group(inventory: dict[str, Any]) -> dict[str, Any]:
    [only] = inventory["all"]["children"].values()
    return dict(only)


def test_xinchuang_nodes_are_told_the_pools_rules(wuhan_platform: tenants.Platform) -> None:
    pool = group(nodes.inventory.build(wuhan_platform, "xinchuang"))
    assert pool["vars"] == {
        "citycloud_pool": "xinchuang",
        "citycloud_pool_kind": "xinchuang",
        "citycloud_pool_architectures": ["arm64", "amd64", "loong64"],
        "citycloud_pool_oses": ["openEuler", "Kylin", "UOS"],
        "citycloud_node_labels": {"citycloud.io/pool": "xinchuang"},
        "citycloud_node_taints": [
            {"key": "citycloud.io/pool", "value": "xinchuang", "effect": "NoSchedule"}],
        "citycloud_mlps_level": 3,
        "citycloud_time_servers": ["ntp1.whcloud.cn", "ntp2.whcloud.cn"],
    }
    assert pool["hosts"]["xc-loongson-01"] == {
        "citycloud_node_arch": "loong64", "citycloud_node_os": "UOS",
        "ansible_host": "172.16.9.41", "ansible_port": 22, "ansible_become": True,
        "ansible_user": "cloudops"}


def test_other_pools_take_any_os(wuhan_platform: tenants.Platform) -> None:
    pool = group(nodes.inventory.build(wuhan_platform, "industry"))
    assert pool["vars"]["citycloud_pool_oses"] == []
    assert pool["vars"]["citycloud_mlps_level"] == 2  # the industry pool's maxClassification
    assert pool["hosts"]["ind-node-03"]["ansible_port"] == 2222  # from nodes/industry.yaml


def test_limit_picks_nodes(wuhan_platform: tenants.Platform) -> None:
    built = nodes.inventory.build(wuhan_platform, "gov", limit=["gov-node-02"])
    assert nodes.inventory.hosts_of(built) == ["gov-node-02"]


@pytest.mark.parametrize(("pool", "limit", "message"), [
    pytest.param("nope", [], "pool 'nope' is not in platform.yaml; pools: gov, industry, "
                 "xinchuang", id="unknown-pool"),
    pytest.param("gov", ["xc-hygon-01"], "--limit xc-hygon-01: not a node of pool gov; its "
                 "nodes are gov-node-01, gov-node-02, gov-node-03", id="node-of-another-pool"),
])
def test_requests_the_registry_cannot_meet(wuhan_platform: tenants.Platform, pool: str,
                                           limit: list[str], message: str) -> None:
    with pytest.raises(nodes.InvalidRequest) as caught:
        nodes.inventory.build(wuhan_platform, pool, limit=limit)
    assert str(caught.value) == message


def _gov(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        change(pools_of(data)["gov"])
    return apply


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param(lambda gov: gov.pop("nodes"),
                 "spec.pools[0].nodes: pool 'gov' has no nodes to prepare",
                 id="no-nodes"),
    pytest.param(lambda gov: gov["placement"]["nodeSelector"].update(
        {"node-role.kubernetes.io/gov": ""}),
        "spec.pools[0].placement.nodeSelector.node-role.kubernetes.io/gov: "
        "the kubelet may not set 'node-role.kubernetes.io/gov' on its own node",
        id="kubelet-restricted-label"),
    pytest.param(lambda gov: gov["placement"]["nodeSelector"].update({"pool": "{{ x }}"}),
                 "spec.pools[0].placement.nodeSelector.pool: '{{ x }}' is not a Kubernetes "
                 "label value", id="template-as-label"),
    pytest.param(lambda gov: gov["placement"]["taint"].update({"key": "bad key"}),
                 "spec.pools[0].placement.taint: taint bad key=gov is not a valid Kubernetes "
                 "taint", id="bad-taint"),
    pytest.param(lambda gov: gov["nodes"].update({"sshUser": "root"}),
                 "spec.pools[0].nodes.hosts[0].sshUser: node gov-node-01 would be prepared over "
                 "SSH as root, which the MLPS level 3 baseline forbids (PermitRootLogin no)",
                 id="root-login-at-level-3"),
])
def test_what_the_kubelet_or_baseline_would_refuse_is_invalid_input(
        wuhan_copy: pathlib.Path, change: Callable[[dict[str, Any]], None],
        expected: str) -> None:
    edit_platform(wuhan_copy, _gov(change))
    with pytest.raises(tenants.RegistryError) as caught:
        nodes.inventory.build(tenants.load(wuhan_copy), "gov")
    found = [str(d) for d in caught.value.diagnostics]
    assert any(re.match(r"platform\.yaml:[1-9][0-9]* ", line) and expected in line
               for line in found), found


def test_well_known_kubelet_labels_are_allowed(wuhan_copy: pathlib.Path) -> None:
    edit_platform(wuhan_copy, _gov(lambda gov: gov["placement"]["nodeSelector"].update(
        {"node.kubernetes.io/instance-type": "kunpeng-920", "topology.kubernetes.io/zone": "hk"})))
    built = nodes.inventory.build(tenants.load(wuhan_copy), "gov")
    assert group(built)["vars"]["citycloud_node_labels"] == {
        "citycloud.io/pool": "gov", "node.kubernetes.io/instance-type": "kunpeng-920",
        "topology.kubernetes.io/zone": "hk"}


def test_a_cluster_of_the_pool_selects_its_nodes(wuhan_platform: tenants.Platform) -> None:
    """The example's gov pool runs on two clusters; each node names the one it joins."""
    hankou = group(nodes.inventory.build(wuhan_platform, "gov", cluster="wh-gov-hankou"))
    everyone = group(nodes.inventory.build(wuhan_platform, "gov"))

    assert sorted(hankou["hosts"]) == ["gov-node-01", "gov-node-02"]
    assert sorted(everyone["hosts"]) == ["gov-node-01", "gov-node-02", "gov-node-03"]
    assert everyone["hosts"]["gov-node-03"]["citycloud_cluster"] == "wh-gov-guanggu"


def test_a_cluster_of_another_pool_is_refused(wuhan_platform: tenants.Platform) -> None:
    with pytest.raises(nodes.InvalidRequest, match="--cluster wh-industry: not a cluster of "
                       "pool gov; its clusters are wh-gov-hankou, wh-gov-guanggu"):
        nodes.inventory.build(wuhan_platform, "gov", cluster="wh-industry")


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param(lambda node: node.update(cluster="wh-gov-hankuo"),
                 "spec.pools[0].nodes.hosts[0].cluster: node 'gov-node-01': cluster "
                 "'wh-gov-hankuo' is not a cluster of pool 'gov' "
                 "(did you mean 'wh-gov-hankou'?) [unknown_cluster]", id="unknown"),
    pytest.param(lambda node: node.pop("cluster"),
                 "spec.pools[0].nodes.hosts[0].name: node 'gov-node-01' names no cluster, "
                 "and pool 'gov' runs on several "
                 "(wh-gov-hankou, wh-gov-guanggu) (add cluster: NAME to the node) "
                 "[cluster_required]", id="missing"),
])
def test_a_nodes_cluster_is_checked_where_it_is_written(
        wuhan_copy: pathlib.Path, change: Callable[[dict[str, Any]], Any],
        expected: str) -> None:
    edit_platform(wuhan_copy, lambda data: change(pools_of(data)["gov"]["nodes"]["hosts"][0]))
    with pytest.raises(tenants.RegistryError) as caught:
        tenants.load(wuhan_copy)
    [found] = caught.value.diagnostics
    assert str(found).startswith("platform.yaml:")
    assert str(found).split(" ", 1)[1] == expected
