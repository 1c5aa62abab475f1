"""The real node playbook, run through ansible-runner against this machine.

Each run writes only into a temporary node root (node_root), so what the
tests assert is what a node would get: the kubelet's labels and taints, the
SSH, audit, time and kernel settings of the pool's MLPS level. The runs are
the slow part of the suite (Ansible starts a Python process per task), so
one module-scoped scenario does check -> prepare -> prepare again, and the
tests read its results.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

import pytest
import yaml
from nodecity import (
    machine_arch,
    machine_os,
    make_node_registry,
    other_arch,
    seed_root,
    snapshot,
)
from registries import edit_platform, pools_of

from citycloud import tenants
from citycloud.stacks import nodes

pytestmark = pytest.mark.slow


@dataclasses.dataclass
class Scenario:
    root: pathlib.Path  # the node root the runs wrote into
    before: dict[str, str]
    after_check: dict[str, str]
    check: nodes.RunResult
    prepare: nodes.RunResult
    again: nodes.RunResult
    state: pathlib.Path


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, wuhan: pathlib.Path) -> Scenario:
    base = tmp_path_factory.mktemp("nodes")
    platform = tenants.load(make_node_registry(base / "registry", wuhan))
    root = seed_root(base / "node-root")
    state = base / "state"
    before = snapshot(root)

    def run(mode: nodes.Mode) -> nodes.RunResult:
        return nodes.run_pool(platform, "gov", mode=mode, state_dir=state, node_root=root)

    check = run(nodes.Mode.CHECK)
    after_check = snapshot(root)
    return Scenario(root=root, before=before, after_check=after_check, check=check,
                    prepare=run(nodes.Mode.PREPARE), again=run(nodes.Mode.PREPARE), state=state)


def host(result: nodes.RunResult, name: str = "gov-here") -> nodes.events.HostProgress:
    return next(h for h in result.hosts if h.host == name)


def read(root: pathlib.Path, path: str) -> str:
    return (root / path.lstrip("/")).read_text()


def test_check_reports_changes_and_writes_nothing(scenario: Scenario) -> None:
    assert scenario.check.ok, scenario.check.as_dict()
    assert host(scenario.check).changed > 0
    assert scenario.after_check == scenario.before
    diffs = "".join(c.diff for c in host(scenario.check).changes)
    assert "+KUBELET_EXTRA_ARGS=\"--node-labels=citycloud.io/pool=gov" in diffs
    assert "+PermitRootLogin no" in diffs
    assert str(scenario.root / "etc/ssh/sshd_config.d/00-citycloud.conf") in diffs  # not a tmp copy


def test_prepare_makes_the_changes_check_announced(scenario: Scenario) -> None:
    assert scenario.prepare.ok, scenario.prepare.as_dict()
    announced = {c.task for c in host(scenario.check).changes}
    assert {c.task for c in host(scenario.prepare).changes} == announced


def test_second_prepare_changes_nothing(scenario: Scenario) -> None:
    assert scenario.again.ok, scenario.again.as_dict()
    assert host(scenario.again).changed == 0, [c.task for c in host(scenario.again).changes]
    assert host(scenario.again).status == "ok"


def test_services_are_left_alone_outside_the_real_root(scenario: Scenario) -> None:
    """Changed files notify handlers; with a node root they are skipped, never run."""
    handlers = {"Restart kubelet", "Reload sshd", "Load audit rules", "Restart chrony",
                "Load kernel modules", "Apply kernel parameters"}
    seen: dict[str, set[str]] = {}
    for path in (scenario.prepare.artifacts / "artifacts").glob("*/job_events/*.json"):
        event = json.loads(path.read_text())
        task = (event.get("event_data") or {}).get("task")
        if task in handlers and event["event"].startswith("runner_on_"):
            seen.setdefault(task, set()).add(event["event"])
    assert set(seen) == handlers  # every one was notified...
    assert all(kinds <= {"runner_on_start", "runner_on_skipped"} for kinds in seen.values()), seen


def test_kubelet_gets_the_pools_labels(scenario: Scenario) -> None:
    env = read(scenario.root, "/etc/default/kubelet") if machine_os() in {
        "Debian", "Ubuntu", "UOS"} else read(scenario.root, "/etc/sysconfig/kubelet")
    assert ('KUBELET_EXTRA_ARGS="--node-labels=citycloud.io/pool=gov '
            '--config-dir=/etc/kubernetes/kubelet.conf.d"') in env


def test_kubelet_registers_with_the_pools_taint(scenario: Scenario) -> None:
    config = yaml.safe_load(read(scenario.root, "/etc/kubernetes/kubelet.conf.d/50-citycloud.conf"))
    assert config["kind"] == "KubeletConfiguration"
    assert config["registerWithTaints"] == [
        {"key": "citycloud.io/pool", "value": "gov", "effect": "NoSchedule"}]
    assert config["readOnlyPort"] == 0
    assert config["protectKernelDefaults"] is True  # gov holds MLPS level 3


@pytest.mark.parametrize("setting", [
    pytest.param("PermitRootLogin no", id="no-root"),
    pytest.param("PasswordAuthentication no", id="keys-only"),
    pytest.param("MaxAuthTries 3", id="max-auth-tries"),
    pytest.param("AllowTcpForwarding no", id="level-3-no-tunnels"),
    pytest.param("LogLevel VERBOSE", id="level-3-audited-logins"),
])
def test_sshd_is_hardened_for_level_3(scenario: Scenario, setting: str) -> None:
    assert setting in read(scenario.root, "/etc/ssh/sshd_config.d/00-citycloud.conf").splitlines()


def test_sshd_reads_the_hardening_first(scenario: Scenario) -> None:
    lines = read(scenario.root, "/etc/ssh/sshd_config").splitlines()
    assert lines[0] == "Include /etc/ssh/sshd_config.d/*.conf"
    assert "PermitRootLogin yes" in lines  # the stock file is kept; sshd's first value wins


@pytest.mark.parametrize(("path", "expected"), [
    pytest.param("/etc/audit/rules.d/50-citycloud.rules", "-w /etc/shadow -p wa -k identity",
                 id="audit-identity"),
    pytest.param("/etc/audit/rules.d/50-citycloud.rules", "-a always,exit -F arch=b64 -S execve "
                 "-F euid=0 -F auid>=1000 -F auid!=4294967295 -k privileged",
                 id="audit-privileged-level-3"),
    pytest.param("/etc/sysctl.d/50-citycloud.conf", "net.ipv4.ip_forward = 1", id="sysctl-k8s"),
    pytest.param("/etc/sysctl.d/50-citycloud.conf", "kernel.panic = 10",
                 id="sysctl-protect-kernel-defaults"),
    pytest.param("/etc/modules-load.d/citycloud.conf", "br_netfilter", id="modules"),
])
def test_baseline_files(scenario: Scenario, path: str, expected: str) -> None:
    assert expected in read(scenario.root, path).splitlines()


def test_time_comes_from_the_pools_servers_only(scenario: Scenario) -> None:
    conf = "/etc/chrony/chrony.conf" if machine_os() in {"Debian", "Ubuntu", "UOS"} \
        else "/etc/chrony.conf"
    lines = read(scenario.root, conf).splitlines()
    assert [line for line in lines if line.startswith(("server", "pool"))] == [
        "server ntp1.whcloud.cn iburst", "server ntp2.whcloud.cn iburst"]
    assert "keyfile /etc/chrony/chrony.keys" in lines or "keyfile /etc/chrony.keys" in lines


def test_artifacts_are_kept_under_the_state_dir(scenario: Scenario) -> None:
    for result in (scenario.check, scenario.prepare, scenario.again):
        assert result.artifacts.parent == scenario.state / "ansible"
        assert (result.artifacts / "summary.json").is_file()
        assert (result.artifacts / "inventory" / "hosts.json").is_file()
        assert list((result.artifacts / "artifacts").glob("*/job_events/*.json"))
    assert len({r.run_id for r in (scenario.check, scenario.prepare, scenario.again)}) == 3


# ---- refusals: runs that stop at the facts check -------------------------------------------


def test_a_machine_of_an_architecture_the_pool_does_not_run_is_refused(
        node_platform: tenants.Platform, tmp_path: pathlib.Path) -> None:
    root = seed_root(tmp_path / "node-root")
    before = snapshot(root)
    result = nodes.run_pool(node_platform, "industry", mode=nodes.Mode.PREPARE,
                            state_dir=tmp_path / "state", node_root=root)
    assert not result.ok
    [failure] = host(result, "ind-kunpeng").failures
    assert failure.task == "Refuse a CPU architecture the pool does not run"
    assert failure.message.startswith("node ind-kunpeng: ansible_architecture is ")
    assert f"(kubernetes.io/arch {machine_arch()})" in failure.message
    assert failure.message.endswith(f"which pool industry does not allow; allowed: {other_arch()}")
    assert snapshot(root) == before  # refused before anything was written


def test_a_machine_without_a_domestic_os_is_refused_in_xinchuang(
        node_platform: tenants.Platform, tmp_path: pathlib.Path) -> None:
    result = nodes.run_pool(node_platform, "xinchuang", mode=nodes.Mode.CHECK,
                            state_dir=tmp_path / "state", node_root=seed_root(tmp_path / "r"))
    [failure] = host(result, "xc-kylin").failures
    assert failure.task == "Refuse an OS the pool does not allow"
    assert failure.message == (
        f"node xc-kylin: ansible_distribution is {machine_os()}, which pool xinchuang does not "
        "allow; allowed: openEuler, Kylin, UOS")


def test_an_unreachable_node_is_named_with_the_reason(wuhan_copy: pathlib.Path,
                                                      tmp_path: pathlib.Path) -> None:
    """A real SSH connection to a closed port: Ansible's own 'unreachable'."""
    edit_platform(wuhan_copy, lambda data: pools_of(data)["gov"].update(nodes={"hosts": [
        {"name": "gov-gone", "address": "127.0.0.1", "sshPort": 1, "arch": "amd64",
         "os": "Kylin", "cluster": "wh-gov-hankou"}]}))
    result = nodes.run_pool(tenants.load(wuhan_copy), "gov", mode=nodes.Mode.CHECK,
                            state_dir=tmp_path / "state", node_root=tmp_path / "root")
    gone = host(result, "gov-gone")
    assert not result.ok and gone.status == "unreachable"
    [failure] = gone.failures
    assert failure.unreachable and failure.task == "Gathering Facts"
    assert "port 1: Connection refused" in failure.message


# Facts as domestic machines report them; citycloud_fact_* stand in for what setup
# gathers, since this machine can only be itself.
KYLIN = "Kylin Linux Advanced Server"  # what Kylin V10 reports as ansible_distribution
FACTS = [
    pytest.param("aarch64", "openEuler", "arm64", "openEuler", "", id="kunpeng-openeuler"),
    pytest.param("aarch64", KYLIN, "arm64", "Kylin", "", id="phytium-kylin"),
    pytest.param("x86_64", KYLIN, "amd64", "Kylin", "", id="hygon-kylin"),
    pytest.param("loongarch64", "Uos", "loong64", "UOS", "", id="loongson-uos"),
    pytest.param("ppc64le", "openEuler", "arm64", "openEuler",
                 "ansible_architecture is ppc64le (kubernetes.io/arch unknown)",
                 id="power-refused"),
    pytest.param("x86_64", "CentOS", "amd64", "Kylin",
                 "ansible_distribution is CentOS, which pool xinchuang does not allow",
                 id="centos-refused"),
    pytest.param("aarch64", "openEuler", "arm64", "Kylin",
                 "the registry says arm64/Kylin, the machine is arm64/openEuler",
                 id="not-what-the-registry-says"),
]


@pytest.fixture(scope="module")
def facts_run(tmp_path_factory: pytest.TempPathFactory,
              wuhan: pathlib.Path) -> nodes.RunResult:
    """One facts-only run of the xinchuang pool, a host per case of FACTS."""
    base = tmp_path_factory.mktemp("facts")
    platform = tenants.load(make_node_registry(base / "registry", wuhan))
    inventory = nodes.inventory.build(platform, "xinchuang")
    [group] = inventory["all"]["children"].values()
    template = next(iter(group["hosts"].values()))
    group["hosts"] = {}
    for case in FACTS:
        machine_arch_, machine_os_, declared_arch, declared_os, _ = case.values
        group["hosts"][case.id] = {**template, "citycloud_fact_architecture": machine_arch_,
                                   "citycloud_fact_distribution": machine_os_,
                                   "citycloud_node_arch": declared_arch,
                                   "citycloud_node_os": declared_os}
    return nodes.run(inventory, pool="xinchuang", mode=nodes.Mode.CHECK, state_dir=base / "state",
                     node_root=base / "root", only=[nodes.Part.FACTS])


@pytest.mark.parametrize(("arch", "os", "declared_arch", "declared_os", "refusal"), FACTS)
def test_facts_of_domestic_machines(facts_run: nodes.RunResult, request: pytest.FixtureRequest,
                                    arch: str, os: str, declared_arch: str, declared_os: str,
                                    refusal: str) -> None:
    result: Any = host(facts_run, request.node.callspec.id)
    if refusal:
        assert result.status == "failed"
        assert refusal in result.failures[0].message
    else:
        assert result.status == "ok", result.failures
        assert result.changed == 0  # facts only: nothing written, even in check mode
