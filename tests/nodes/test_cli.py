"""`citycloud nodes check|prepare`: exit codes, what is printed, what is kept.

The commands run the real playbook (through ansible-runner, on this machine
with a temporary --node-root); `--only facts` keeps most of them short.
"""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys

import clirun
import jsonout
import pytest
from nodecity import machine_os, seed_root, snapshot

from citycloud.tenants.audit import trail

pytestmark = pytest.mark.slow


def citycloud(registry: pathlib.Path, state: pathlib.Path, *args: str,
              stdin: str | None = None) -> tuple[int, str, str]:
    result = clirun.invoke("--registry", registry, "--state-dir", state, *args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_check_shows_diffs_and_a_summary_and_changes_nothing(
        node_registry: pathlib.Path, tmp_path: pathlib.Path) -> None:
    root = seed_root(tmp_path / "node-root")
    before = snapshot(root)
    code, out, err = citycloud(node_registry, tmp_path / "state", "nodes", "check", "gov",
                               "--only", "kubelet", "--node-root", str(root))
    assert code == 0, out + err
    assert "gov-here would change: Register the node with the pool's taints" in out
    assert '+  - key: "citycloud.io/pool"' in out
    assert "Nodes of pool gov: check (nothing changed)" in out
    assert "gov-here: would change: Set the pool's node labels" in err  # progress, on stderr
    assert "sshd" not in out  # --only kubelet: the baseline is not even looked at
    assert snapshot(root) == before


def test_prepare_prints_a_json_summary_and_keeps_the_artifacts(
        node_registry: pathlib.Path, tmp_path: pathlib.Path) -> None:
    code, out, _ = citycloud(node_registry, tmp_path / "state", "nodes", "prepare", "gov",
                             "--only", "facts", "--node-root", str(tmp_path / "root"), "--yes",
                             "--output", "json")
    assert code == 0
    summary = jsonout.data(out)
    assert summary["ok"] is True and summary["mode"] == "prepare" and summary["pool"] == "gov"
    [here] = summary["hosts"]
    assert (here["host"], here["status"], here["changed"], here["failed"]) == (
        "gov-here", "ok", 0, 0)
    kept = pathlib.Path(summary["artifacts"])
    assert kept.parent == tmp_path / "state" / "ansible"
    assert json.loads((kept / "summary.json").read_text())["runId"] == summary["runId"]
    [record] = trail.read(tmp_path / "state")  # prepare changes machines: it is audited
    assert (record["action"], record["target"], record["result"]) == ("nodes prepare", "gov", "ok")
    assert record["summary"]["runId"] == summary["runId"]


def test_a_refused_node_fails_the_run_naming_host_task_and_reason(
        node_registry: pathlib.Path, tmp_path: pathlib.Path) -> None:
    code, out, err = citycloud(node_registry, tmp_path / "state", "nodes", "prepare",
                               "xinchuang", "--yes", "--node-root", str(tmp_path / "root"))
    assert code == 3
    assert "xc-kylin" in out and "failed" in out  # the summary table
    assert (f"xc-kylin: Refuse an OS the pool does not allow: node xc-kylin: "
            f"ansible_distribution is {machine_os()}, which pool xinchuang does not allow; "
            "allowed: openEuler, Kylin, UOS") in err
    assert not (tmp_path / "root").exists()
    [record] = trail.read(tmp_path / "state")
    assert record["result"].startswith("failed: PreparationFailed: 1 of 1 node(s) of pool "
                                       "xinchuang failed")
    assert record["summary"]["nodes"] == {"xc-kylin": "failed"}


def test_a_failed_run_in_json_is_one_document(node_registry: pathlib.Path,
                                              tmp_path: pathlib.Path) -> None:
    code, out, _ = citycloud(node_registry, tmp_path / "state", "nodes", "check", "industry",
                             "--only", "facts", "--output", "json",
                             "--node-root", str(tmp_path / "root"))
    assert code == 3
    document = jsonout.data(out)
    assert document["ok"] is False
    [node] = document["hosts"]
    assert node["host"] == "ind-kunpeng" and node["status"] == "failed"
    assert node["failures"][0]["task"] == "Refuse a CPU architecture the pool does not run"


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["check", "nope"], "pool 'nope' is not in platform.yaml", id="unknown-pool"),
    pytest.param(["check", "gov", "--limit", "ghost"], "--limit ghost: not a node of pool gov",
                 id="unknown-node"),
    pytest.param(["check", "gov", "--node-root", "relative/root"],
                 "--node-root relative/root: must be an absolute path", id="relative-root"),
    pytest.param(["prepare", "gov"], "not confirmed; see the changes with 'citycloud nodes "
                 "check gov', then pass --yes", id="not-confirmed"),
    pytest.param(["prepare", "gov", "--output", "json"], "pass --yes", id="json-unconfirmed"),
])
def test_invalid_requests_exit_2_before_ansible_runs(
        node_registry: pathlib.Path, tmp_path: pathlib.Path, args: list[str],
        message: str) -> None:
    code, out, err = citycloud(node_registry, tmp_path / "state", "nodes", *args, stdin="n\n")
    assert code == 2
    assert message in out + err
    assert not (tmp_path / "state" / "ansible").exists()


def test_help_teaches() -> None:
    result = clirun.invoke("nodes", "prepare", "--help")
    assert result.exit_code == 0
    for words in ("--limit", "--only", "--node-root", "--yes", "MLPS", "xinchuang"):
        assert words in result.stdout


def test_ctrl_c_during_a_run_is_interrupted_not_a_failed_run(
        node_registry: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """Ctrl-C once Ansible has started on the node: the run stops, exit 130, and it is not
    reported as a failed run (exit 3, "stopped before the nodes ran")."""
    root = seed_root(tmp_path / "node-root")
    argv = [pathlib.Path(sys.executable).parent / "citycloud", "--registry", node_registry,
            "--state-dir", tmp_path / "state", "nodes", "check", "gov", "--node-root", root]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stderr is not None
        first = process.stderr.readline()  # the first change Ansible reports: it is running
        assert "gov-here" in first, first
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        code = process.wait(timeout=300)
    assert (code, rest.splitlines()[-1:]) == (130, ["error: interrupted"]), first + rest
    assert "stopped before the nodes ran" not in rest and "Traceback" not in rest
