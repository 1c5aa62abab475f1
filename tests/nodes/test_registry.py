"""Nodes in the registry: validated like every other registry input, with file:line.

A pool's nodes are listed in platform.yaml or in a NodeInventory file it
names; either way `citycloud validate` refuses a node its pool cannot take,
before anyone runs Ansible.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import clirun
import pytest
from registries import edit_platform, pools_of

from citycloud import tenants

Node = dict[str, Any]


def kunpeng(name: str = "xc-kunpeng-09", **extra: Any) -> Node:
    return {"name": name, "address": "172.16.9.99", "arch": "arm64", "os": "openEuler", **extra}


def with_nodes(pool: str, nodes: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        pools_of(data)[pool]["nodes"] = nodes
    return change


def problems(root: pathlib.Path) -> list[str]:
    with pytest.raises(tenants.RegistryError) as caught:
        tenants.load(root)
    return [str(d) for d in caught.value.diagnostics]


def test_the_example_registry_lists_domestic_nodes(wuhan: pathlib.Path) -> None:
    platform = tenants.load(wuhan)
    xinchuang = {(n.arch.value, n.os.value) for n in platform.pool_nodes("xinchuang")}
    assert {("arm64", "openEuler"), ("amd64", "Kylin"), ("loong64", "UOS")} <= xinchuang
    assert [n.name for n in platform.pool_nodes("industry")] == [
        "ind-node-01", "ind-node-02", "ind-node-03"]  # from nodes/industry.yaml


CASES = [
    pytest.param(
        with_nodes("xinchuang", {"hosts": [kunpeng(arch="ppc64le")]}),
        "spec.pools[2].nodes.hosts[0].arch: Input should be 'amd64', 'arm64' or 'loong64' "
        "[enum]", id="unknown-arch"),
    pytest.param(
        with_nodes("gov", {"hosts": [kunpeng("gov-arm-01")]}),
        "spec.pools[0].nodes.hosts[0].arch: pool 'gov' runs amd64, not arm64 (move the node to "
        "a pool that runs its CPU, or add the architecture to the pool's "
        "placement.architectures) [node_arch]", id="arch-not-in-pool"),
    pytest.param(
        with_nodes("xinchuang", {"hosts": [kunpeng(os="Ubuntu")]}),
        "spec.pools[2].nodes.hosts[0].os: xinchuang pool nodes run a domestic OS (openEuler, "
        "Kylin, UOS), not Ubuntu (install openEuler, Kylin or UOS, or move the node to another "
        "pool) [node_os]", id="foreign-os-in-xinchuang"),
    pytest.param(
        with_nodes("xinchuang", {"hosts": [kunpeng(), kunpeng(address="172.16.9.98")]}),
        "spec.pools[2].nodes.hosts[1].name: node 'xc-kunpeng-09' is listed twice (also in pool "
        "'xinchuang') (node names are unique across the city) [duplicate_node]",
        id="duplicate-node"),
    pytest.param(
        with_nodes("xinchuang", {"hosts": [kunpeng(), kunpeng("xc-kunpeng-10")]}),
        "spec.pools[2].nodes.hosts[1].address: address 172.16.9.99 is also the address of node "
        "'xc-kunpeng-09' [duplicate_address]", id="duplicate-address"),
    pytest.param(
        with_nodes("xinchuang", {"hosts": [kunpeng(address="{{ lookup('pipe', 'id') }}")]}),
        "spec.pools[2].nodes.hosts[0].address: \"{{ lookup('pipe', 'id') }}\" is not a host "
        "name or IP address such as \"10.8.0.11\" or \"node-01.gov.example.cn\" "
        "[invalid_address]", id="template-as-address"),
    pytest.param(
        with_nodes("xinchuang", {"hosts": [kunpeng(sshUser="Admin")]}),
        "spec.pools[2].nodes.hosts[0].sshUser: 'Admin' is not a login name", id="bad-user"),
    pytest.param(
        with_nodes("xinchuang", {"hosts": [kunpeng()], "inventory": "nodes/xc.yaml"}),
        "spec.pools[2].nodes: Value error, list nodes under 'hosts' or name an 'inventory' file, "
        "not both [value_error]", id="hosts-and-inventory"),
    pytest.param(
        with_nodes("xinchuang", {"inventory": "../outside.yaml"}),
        "spec.pools[2].nodes.inventory: must be a .yaml file inside the registry",
        id="inventory-outside"),
    pytest.param(
        with_nodes("xinchuang", {"inventory": "nodes/missing.yaml"}),
        "spec.pools[2].nodes.inventory: names nodes/missing.yaml, which does not exist (create "
        "it (kind: NodeInventory) or list the nodes under nodes.hosts) [missing_inventory]",
        id="inventory-missing"),
    pytest.param(
        with_nodes("xinchuang", {"inventory": "departments.yaml"}),
        "spec.pools[2].nodes.inventory: departments.yaml is not a node inventory",
        id="inventory-is-another-registry-file"),
]


@pytest.mark.parametrize(("change", "expected"), CASES)
def test_invalid_nodes_are_refused_with_file_and_line(
        wuhan_copy: pathlib.Path, change: Callable[[dict[str, Any]], None], expected: str) -> None:
    edit_platform(wuhan_copy, change)
    found = problems(wuhan_copy)
    assert any(line.startswith("platform.yaml:") and expected in line for line in found), found


INVENTORY = ("apiVersion: citycloud.io/v1\nkind: NodeInventory\nhosts:\n"
             "  - {name: ind-node-01, address: 172.16.10.11, arch: amd64, os: Ubuntu}\n")


@pytest.mark.parametrize(("node", "expected"), [
    pytest.param("{name: ind-node-02, address: 172.16.10.12, arch: arm64, os: Ubuntu}",
                 "nodes/industry.yaml:5 hosts[1].arch: pool 'industry' runs amd64, not arm64",
                 id="arch-not-in-pool"),
    pytest.param("{name: ind-node-02, address: 172.16.10.12, arch: amd64, os: Windows}",
                 "nodes/industry.yaml:5 hosts[1].os: Input should be 'openEuler', 'Kylin'",
                 id="unknown-os"),
    pytest.param("{name: ind-node-02, address: 172.16.10.12, arch: amd64, os: Ubuntu, ssh: x}",
                 "nodes/industry.yaml:5 hosts[1].ssh: is not a known field",
                 id="unknown-field"),
])
def test_errors_in_an_inventory_file_name_that_file_and_line(
        wuhan_copy: pathlib.Path, node: str, expected: str) -> None:
    (wuhan_copy / "nodes" / "industry.yaml").write_text(INVENTORY + f"  - {node}\n")
    found = problems(wuhan_copy)
    assert any(line.startswith(expected) for line in found), found


def test_validate_reports_node_errors_like_any_other(wuhan_copy: pathlib.Path) -> None:
    edit_platform(wuhan_copy, with_nodes("gov", {"hosts": [kunpeng("gov-arm-01")]}))
    result = clirun.invoke("--registry", wuhan_copy, "validate")
    assert result.exit_code == 2
    assert "platform.yaml:" in result.output and "[node_arch]" in result.output
