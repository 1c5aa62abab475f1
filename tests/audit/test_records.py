"""What a record holds, which commands write one, and appends from many processes at once."""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import pwd
import subprocess
from typing import Any

import auditlogs
import jsonout
import pytest

from citycloud.tenants.audit import chain, trail


def test_a_record_says_who_what_when_commit_summary_result(
        state_dir: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(trail.ACTOR_ENV, "li-gongan")
    written = trail.record(state_dir, action="resize", target="wh-gongan-video",
                           args={"cpu": "16"}, commit="a" * 40, summary={"update": 2},
                           result="ok", git_author="Li <li@example.gov.cn>", now=auditlogs.NOW)
    last = auditlogs.entry(auditlogs.lines(state_dir)[-1])
    assert last == written
    assert last["who"] == {"user": pwd.getpwuid(os.getuid()).pw_name, "actor": "li-gongan",
                           "git": "Li <li@example.gov.cn>"}
    assert (last["seq"], last["time"], last["action"], last["target"], last["commit"],
            last["summary"], last["result"]) == (
        6, "2026-06-01T12:00:00Z", "resize", "wh-gongan-video", "a" * 40, {"update": 2}, "ok")
    assert last["prev"] == auditlogs.entry(auditlogs.lines(state_dir)[-2])["hash"]
    assert last["hash"] == trail.digest(last)


def test_audit_log_shows_records(citycloud: Any, state_dir: pathlib.Path) -> None:
    as_json = citycloud("--state-dir", state_dir, "audit", "log", "-o", "json", "--limit", "2")
    markdown = citycloud("--state-dir", state_dir, "audit", "log", "-o", "markdown")
    assert as_json.exit_code == markdown.exit_code == 0
    assert [e["target"] for e in jsonout.data(as_json.stdout)] == ["wh-gongan-t4", "wh-gongan-t5"]
    assert ("| 1 | 2025-08-05T12:00:00Z | root | tenant resize | wh-gongan-t1 | 000000000000 "
            "| ok | update 1 |").replace("root", pwd.getpwuid(os.getuid()).pw_name) \
        in markdown.stdout


def test_key_file_is_private(state_dir: pathlib.Path) -> None:
    assert (state_dir / trail.KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_key_kept_apart(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "vault" / "trail.key"
    monkeypatch.setenv(trail.KEY_ENV, str(key))
    trail.record(tmp_path / "state", action="init", target="x")
    assert key.exists() and not (tmp_path / "state" / trail.KEY_FILE).exists()
    assert chain.verify(tmp_path / "state").ok


def _append_many(state: str, worker: int, count: int) -> None:
    for index in range(count):
        trail.record(pathlib.Path(state), action="tenant resize",
                     target=f"worker-{worker}-{index}", summary={"padding": "x" * 2000})


def test_concurrent_appends_from_many_processes(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state"
    trail.record(state, action="init", target="registry")  # the key exists before the race
    with concurrent.futures.ProcessPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(_append_many, str(state), w, 25) for w in range(4)]:
            done.result()

    lines = auditlogs.lines(state)
    assert all(line.endswith("\n") for line in lines)  # no half lines
    assert [auditlogs.entry(line)["seq"] for line in lines] == list(range(1, 102))
    result = chain.verify(state)
    assert result.ok and result.problems == [] and result.records == 101


def test_init_and_tenant_new_append_records(citycloud: Any, tmp_path: pathlib.Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(trail.ACTOR_ENV, "platform-bot")
    registry = tmp_path / "city"
    assert citycloud("init", registry, "--department", "wh-gongan").exit_code == 0
    subprocess.run(["git", "init", "-q", str(registry)], check=True)
    made = citycloud("-r", registry, "tenant", "new", "wh-gongan", "wh-gongan-video")
    assert made.exit_code == 0, made.output

    log = jsonout.data(citycloud("-r", registry, "audit", "log", "-o", "json").stdout)

    assert [(e["action"], e["target"], e["result"]) for e in log] == [
        ("init", str(registry), "ok"), ("tenant new", "wh-gongan-video", "ok")]
    assert log[1]["args"]["department"] == "wh-gongan"
    assert log[1]["summary"] == {"file": "tenants/wh-gongan/wh-gongan-video.yaml"}
    assert {e["who"]["actor"] for e in log} == {"platform-bot"}
    assert citycloud("-r", registry, "audit", "verify").exit_code == 0


def test_a_failed_init_leaves_nothing(citycloud: Any, tmp_path: pathlib.Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("someone's")
    assert citycloud("init", taken).exit_code == 2
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]


def test_a_damaged_log_refuses_tenant_new(citycloud: Any, tmp_path: pathlib.Path) -> None:
    registry = tmp_path / "city"
    citycloud("init", registry, "--department", "wh-gongan")
    log = registry / ".citycloud" / trail.LOG_FILE
    log.write_text("")  # the init record, gone

    result = citycloud("-r", registry, "tenant", "new", "wh-gongan", "wh-gongan-video")

    assert result.exit_code == 2
    assert "the audit log is damaged" in " ".join(result.output.split())
    assert not (registry / "tenants" / "wh-gongan" / "wh-gongan-video.yaml").exists()


def test_reading_creates_nothing(citycloud: Any, tmp_path: pathlib.Path) -> None:
    state = tmp_path / "never-written"
    assert citycloud("--state-dir", state, "audit", "verify").exit_code == 0
    assert jsonout.data(citycloud("--state-dir", state, "audit", "log", "-o", "json").stdout) == []
    assert not state.exists()


def test_an_oversized_record_is_kept_with_less_detail(state_dir: pathlib.Path) -> None:
    written = trail.record(state_dir, action="apply", target="registry",
                           summary={"steps": ["x" * 100] * 1000})
    assert written["summary"] == {"omitted": written["summary"]["omitted"]}
    assert all(len(line) < trail.MAX_RECORD_BYTES for line in auditlogs.lines(state_dir))
    assert chain.verify(state_dir).ok
