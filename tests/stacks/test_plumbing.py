"""What runs without the engine: locks, journals, finding binaries, events, CLI guards."""

from __future__ import annotations

import json
import multiprocessing
import os
import pathlib
import stat
import sys
import threading
import time

import clirun
import jsonout
import pytest
from pulumi.automation import events

from citycloud.stacks import binaries, changes, errors, layout, locks, operations, programs


def _hold_in_child(path: str, ready: multiprocessing.synchronize.Event,  # type: ignore[name-defined]
                   release: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    with locks.hold(pathlib.Path(path), stack="tenant/x"):
        ready.set()
        release.wait(30)


def test_a_second_process_is_refused_the_stack_lock_and_told_who_holds_it(
        tmp_path: pathlib.Path) -> None:
    path = tmp_path / "locks" / "tenant-x.lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(target=_hold_in_child, args=(str(path), ready, release))
    child.start()
    try:
        assert ready.wait(30)
        with pytest.raises(errors.StackLocked, match=f"pid {child.pid}"), \
                locks.hold(path, stack="tenant/x"):
            pass
    finally:
        release.set()
        child.join(30)
    with locks.hold(path, stack="tenant/x"):  # free again once the holder is gone
        pass


def test_a_waiting_taker_gets_the_lock_when_the_holder_lets_go(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "pool-gov.lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(target=_hold_in_child, args=(str(path), ready, release))
    child.start()
    try:
        assert ready.wait(30)
        threading.Timer(0.5, release.set).start()
        started = time.monotonic()
        with locks.hold(path, stack="pool/gov", wait=30):
            assert time.monotonic() - started >= 0.4
    finally:
        release.set()
        child.join(30)


def test_a_killed_holder_leaves_no_lock_behind(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "tenant-x.lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(target=_hold_in_child, args=(str(path), ready, release))
    child.start()
    assert ready.wait(30)
    child.kill()
    child.join(30)
    with locks.hold(path, stack="tenant/x"):
        pass


def test_the_same_process_cannot_take_a_stack_twice(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "tenant-x.lock"
    with (locks.hold(path, stack="tenant/x"), pytest.raises(errors.StackLocked),
          locks.hold(path, stack="tenant/x")):
        pass


def test_journal_records_and_stack_names(tmp_path: pathlib.Path) -> None:
    state = layout.StateDir(tmp_path / "state")
    ref = layout.tenant("wh-gongan-video")
    assert state.read_record(ref) is None
    state.write_record(ref, layout.Record("running", "abc", "up"))
    record = state.read_record(ref)
    assert record is not None and record.interrupted and record.updated
    state.write_record(ref, layout.Record("ok", "abc", "up", objects=12))
    assert not state.read_record(ref).interrupted  # type: ignore[union-attr]
    backend = state.backend_dir / ".pulumi" / "stacks" / "citycloud-tenant"
    backend.mkdir(parents=True)
    for name in ("wh-a.json", "wh-a.json.bak", "wh-b.json.gz", "wh-c.json.attrs"):
        (backend / name).write_text("{}")
    assert state.stack_names(layout.Kind.TENANT) == {"wh-a", "wh-b", "wh-gongan-video"}
    assert state.stack_names(layout.Kind.POOL) == set()
    lock_dir = state.backend_dir / ".pulumi" / "locks" / "organization" / "citycloud-tenant"
    (lock_dir / "wh-a").mkdir(parents=True)
    (lock_dir / "wh-a" / "1234.json").write_text("{}")
    assert [p.name for p in state.pulumi_locks(layout.tenant("wh-a"))] == ["1234.json"]
    assert state.pulumi_locks(layout.tenant("wh-b")) == []


def test_fingerprint_changes_with_objects_cluster_and_nothing_else() -> None:
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]
    here = programs.Cluster(kubeconfig="/k", identifier="city")
    base = operations.fingerprint(objects, cluster=here)
    assert operations.fingerprint([dict(objects[0])], cluster=programs.Cluster(
        kubeconfig="/k", identifier="city")) == base
    assert operations.fingerprint(objects, cluster=programs.Cluster(
        kubeconfig="/other", identifier="city")) != base
    changed = [{**objects[0], "metadata": {"name": "a", "labels": {"x": "y"}}}]
    assert operations.fingerprint(changed, cluster=here) != base


def _executable(path: pathlib.Path) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_pulumi(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """An environment without pulumi: empty PATH additions, an empty cache."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("CITYCLOUD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(binaries.ENV_BIN_DIR, raising=False)
    if any(binaries._on_path(n) for n in (binaries.PULUMI, binaries.PROVIDER)):
        pytest.skip("pulumi is installed system-wide")
    return tmp_path


def test_binaries_are_found_in_the_configured_directory(
        no_pulumi: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = no_pulumi / "tools"
    _executable(bin_dir / "pulumi")
    _executable(bin_dir / "pulumi-resource-kubernetes")
    monkeypatch.setenv(binaries.ENV_BIN_DIR, str(bin_dir))
    found = binaries.find()
    assert (found.pulumi, found.provider) == (bin_dir / "pulumi",
                                              bin_dir / "pulumi-resource-kubernetes")
    # and the folder of the launcher of our dynamic provider, beside this Python
    assert found.path_entries == [str(bin_dir), str(pathlib.Path(sys.executable).parent)]


def test_a_missing_provider_is_named_with_how_to_get_it(
        no_pulumi: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _executable(no_pulumi / "tools" / "pulumi")
    monkeypatch.setenv(binaries.ENV_BIN_DIR, str(no_pulumi / "tools"))
    with pytest.raises(errors.PulumiMissing) as caught:
        binaries.find()
    message = str(caught.value)
    assert message.startswith("pulumi-resource-kubernetes not found")
    assert "make controlplane" in message and binaries.ENV_BIN_DIR in message


@pytest.mark.parametrize("command", [
    pytest.param(["apply", "--dry-run"], id="apply"),
    pytest.param(["onboard", "wh-gongan-video"], id="onboard"),
    pytest.param(["offboard", "wh-gongan-video", "--yes"], id="offboard"),
])
def test_without_pulumi_commands_that_need_it_exit_2_and_say_how_to_get_it(
        no_pulumi: pathlib.Path, wuhan_copy: pathlib.Path, command: list[str]) -> None:
    result = clirun.invoke("-r", str(wuhan_copy), *command)
    assert result.exit_code == 2, result.output
    assert "pulumi and pulumi-resource-kubernetes not found" in result.output
    assert "make controlplane" in result.output
    assert not (wuhan_copy / ".citycloud" / "pulumi").exists()


def test_without_pulumi_render_and_plan_still_work(
        no_pulumi: pathlib.Path, wuhan_copy: pathlib.Path) -> None:
    result = clirun.invoke("-r", str(wuhan_copy), "plan", "-o", "json")
    assert result.exit_code == 0, result.output
    assert jsonout.data(result.output)["summary"]["create"] > 0
    result = clirun.invoke("-r", str(wuhan_copy), "render",
                                         str(no_pulumi / "out"))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("command", "message"), [
    pytest.param(["onboard", "wh-gongan-vide"], "did you mean 'wh-gongan-video'?", id="typo"),
    pytest.param(["resize", "wh-nobody"], "not in the registry", id="unknown"),
])
def test_unknown_tenants_are_usage_errors(wuhan_copy: pathlib.Path, command: list[str],
                                          message: str) -> None:
    result = clirun.invoke("-r", str(wuhan_copy), *command)
    assert result.exit_code == 2
    assert message in result.output


def _event(**fields: object) -> events.EngineEvent:
    return events.EngineEvent.from_json({"sequence": 1, "timestamp": 0, **fields})


def _pre(op: str, kind: str, name: str) -> events.EngineEvent:
    urn = f"urn:pulumi:t::citycloud-tenant::citycloud:tenants:Tenant${kind}::{name}"
    return _event(resourcePreEvent={"metadata": {"op": op, "urn": urn, "type": kind,
                                                 "provider": "", "diffs": ["spec"]}})


def test_journal_turns_engine_events_into_steps_and_flags_namespace_loss() -> None:
    seen = []
    journal = changes.Journal(on_change=lambda j: seen.append(j.current))
    namespace = changes.NAMESPACE_TYPE
    for event in (
        _pre("same", namespace, "wh-a-app"),
        _pre("update", "kubernetes:core/v1:ResourceQuota", "wh-a-app/citycloud-quota"),
        _pre("create-replacement", namespace, "wh-a-web"),
        _pre("replace", namespace, "wh-a-web"),
        _pre("delete", namespace, "wh-a-old"),
        _pre("create", "pulumi:providers:kubernetes", "kubernetes"),
        _event(resOutputsEvent={"metadata": {"op": "same", "urn": "u::x", "type": namespace,
                                             "provider": ""}}),
        _event(diagnosticEvent={"message": "boom\n", "color": "never", "severity": "error"}),
    ):
        journal(event)
    assert [(s.op, s.name) for s in journal.changes] == [
        ("update", "wh-a-app/citycloud-quota"), ("replace", "wh-a-web"), ("delete", "wh-a-old")]
    assert [s.name for s in journal.dangerous] == ["wh-a-web", "wh-a-old"]
    assert journal.done == 1 and journal.errors == ["boom"]
    assert seen[0] == "same wh-a-app" and len(seen) == 8


def test_state_files_are_written_atomically(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "a" / "record.json"
    layout.write_json(path, {"b": 1, "a": "武汉"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": "武汉", "b": 1}
    assert os.listdir(path.parent) == ["record.json"]
