"""`citycloud audit verify` finds every way of tampering with the log, and names the record.

Each case does to audit.jsonl what an intruder would (edit, delete, reorder,
truncate, forge), then runs the real CLI. Verify exits 1 (a finding, like a
policy violation) with exactly one finding: the record number and the line.
"""

from __future__ import annotations

import datetime
import json
import pathlib
from collections.abc import Callable
from typing import Any

import auditlogs
import jsonout
import pytest

from citycloud.tenants.audit import trail

Tamper = Callable[[pathlib.Path], None]


def edit(state: pathlib.Path) -> None:
    lines = auditlogs.lines(state)
    lines[2] = lines[2].replace("wh-gongan-t3", "wh-gongan-t9")
    auditlogs.write(state, lines)


def edit_and_rehash(state: pathlib.Path) -> None:
    lines = auditlogs.lines(state)
    data = auditlogs.entry(lines[2])
    data["result"] = "failed"
    data["hash"] = trail.digest(data)
    lines[2] = auditlogs.line_of(data)
    auditlogs.write(state, lines)


def edit_with_the_key(state: pathlib.Path) -> None:
    """Someone who holds the key re-signs the record: the next record's `prev` still tells."""
    key = trail.read_key(state)
    assert key is not None
    lines = auditlogs.lines(state)
    data = auditlogs.entry(lines[2])
    data["who"]["user"] = "nobody"
    data["hash"] = trail.digest(data)
    data["mac"] = trail.sign(key, data["hash"])
    lines[2] = auditlogs.line_of(data)
    auditlogs.write(state, lines)


def delete_third(state: pathlib.Path) -> None:
    lines = auditlogs.lines(state)
    auditlogs.write(state, lines[:2] + lines[3:])


def delete_first(state: pathlib.Path) -> None:
    auditlogs.write(state, auditlogs.lines(state)[1:])


def swap_second_and_third(state: pathlib.Path) -> None:
    lines = auditlogs.lines(state)
    lines[1], lines[2] = lines[2], lines[1]
    auditlogs.write(state, lines)


def copy_second_to_end(state: pathlib.Path) -> None:
    lines = auditlogs.lines(state)
    auditlogs.write(state, [*lines, lines[1]])


def cut_last_two(state: pathlib.Path) -> None:
    auditlogs.write(state, auditlogs.lines(state)[:3])


def cut_mid_line(state: pathlib.Path) -> None:
    lines = auditlogs.lines(state)
    auditlogs.write(state, [*lines[:4], lines[4][:40]])


def empty_the_log(state: pathlib.Path) -> None:
    auditlogs.write(state, "")


def delete_the_log(state: pathlib.Path) -> None:
    (state / trail.LOG_FILE).unlink()


def move_the_head(state: pathlib.Path) -> None:
    """Cut a record off the end and move the head back to match, without the key."""
    cut_last_two(state)
    data = json.loads((state / trail.HEAD_FILE).read_text())
    lines = auditlogs.lines(state)
    data.update(seq=3, hash=auditlogs.entry(lines[2])["hash"])
    (state / trail.HEAD_FILE).write_text(json.dumps(data))


def hide_records_behind_a_checkpoint(state: pathlib.Path) -> None:
    """Drop records 1..3 and claim, in a checkpoint signed with a made-up key, they were pruned."""
    lines = auditlogs.lines(state)
    checkpoint = {"kind": "checkpoint", "time": "2026-06-01T12:00:00Z", "pruned_through": 3,
                  "pruned_count": 3, "oldest": "2025-08-05T12:00:00Z",
                  "newest": "2025-11-13T12:00:00Z", "retention_days": 180,
                  "last_hash": auditlogs.entry(lines[2])["hash"]}
    checkpoint["hash"] = trail.digest(checkpoint)
    checkpoint["mac"] = trail.sign(b"guessed", checkpoint["hash"])
    auditlogs.write(state, [auditlogs.line_of(checkpoint), *lines[3:]])


def prune_recent_records_with_the_key(state: pathlib.Path) -> None:
    """Even with the key, a checkpoint over records younger than 180 days is reported."""
    key = trail.read_key(state)
    assert key is not None
    lines = auditlogs.lines(state)
    fourth = auditlogs.entry(lines[3])
    checkpoint = {"kind": "checkpoint", "time": "2026-06-01T12:00:00Z", "pruned_through": 4,
                  "pruned_count": 4, "oldest": "2025-08-05T12:00:00Z",
                  "newest": fourth["time"], "retention_days": 180,
                  "last_hash": fourth["hash"]}
    checkpoint["hash"] = trail.digest(checkpoint)
    checkpoint["mac"] = trail.sign(key, checkpoint["hash"])
    auditlogs.write(state, [auditlogs.line_of(checkpoint), lines[4]])


CASES = [
    pytest.param(edit, "audit_edited", 3, "record 3", "no longer matches its hash", id="edit"),
    pytest.param(edit_and_rehash, "audit_edited", 3, "record 3", "re-hashed",
                 id="edit-and-rehash"),
    pytest.param(edit_with_the_key, "audit_edited", 3, "record 3",
                 "record 4 (line 4) names a different hash", id="edit-with-the-key"),
    pytest.param(delete_third, "audit_removed", 3, "record 3", "is missing (after line 2)",
                 id="delete"),
    pytest.param(delete_first, "audit_removed", 1, "record 1", "is missing", id="delete-first"),
    pytest.param(swap_second_and_third, "audit_reordered", 3, "record 2",
                 "stands after record 3", id="reorder"),
    pytest.param(copy_second_to_end, "audit_duplicate", 6, "record 2", "appears twice",
                 id="duplicate"),
    pytest.param(cut_last_two, "audit_truncated", 4, "record 5",
                 "records 4..5 were cut off the end", id="truncate"),
    pytest.param(cut_mid_line, "audit_truncated", 5, "record 5",
                 "is cut off mid-record: record 5 was cut off the end", id="truncate-mid-line"),
    pytest.param(empty_the_log, "audit_truncated", 0, "", "says 5 were written",
                 id="truncate-all"),
    pytest.param(delete_the_log, "audit_truncated", 0, "", "says 5 were written",
                 id="delete-the-log"),
    pytest.param(move_the_head, "audit_head_forged", 0, "", "signature does not hold",
                 id="move-the-head"),
    pytest.param(hide_records_behind_a_checkpoint, "audit_forged_checkpoint", 1, "",
                 "did not write", id="forged-checkpoint"),
    pytest.param(prune_recent_records_with_the_key, "audit_retention", 1, "",
                 "younger than 180 days", id="checkpoint-too-young"),
]


@pytest.mark.parametrize(("tamper", "code", "line", "field", "message"), CASES)
def test_verify_finds_it(citycloud: Any, state_dir: pathlib.Path, tamper: Tamper, code: str,
                         line: int, field: str, message: str) -> None:
    assert citycloud("--state-dir", state_dir, "audit", "verify").exit_code == 0
    tamper(state_dir)

    result = citycloud("--state-dir", state_dir, "audit", "verify", "-o", "json")

    assert result.exit_code == 1, result.output
    report = jsonout.data(result.stdout)
    found = [(d["code"], d["line"], d["field"]) for d in report["diagnostics"]]
    assert found == [(code, line, field)], report["diagnostics"]
    assert message in report["diagnostics"][0]["message"]


def test_table_output_names_file_line_and_record(citycloud: Any, state_dir: pathlib.Path) -> None:
    delete_third(state_dir)
    result = citycloud("--state-dir", state_dir, "audit", "verify")
    assert result.exit_code == 1
    assert (f"{state_dir / trail.LOG_FILE}:3 record 3: is missing (after line 2): it was "
            "removed [audit_removed]") in " ".join(result.output.split())


@pytest.mark.parametrize("tamper", [
    pytest.param(edit_and_rehash, id="edited-last-but-two"),
    pytest.param(cut_last_two, id="truncated"),
    pytest.param(cut_mid_line, id="cut-mid-line"),
    pytest.param(delete_the_log, id="deleted"),
])
def test_a_damaged_log_stops_mutating_commands(state_dir: pathlib.Path, tamper: Tamper) -> None:
    """Fail closed: nothing is changed that could not be recorded. (An edit deep inside the
    log is for `verify` to find; appending checks the tail, where damage breaks the chain.)"""
    if tamper is edit_and_rehash:  # make the edited record the last one
        auditlogs.write(state_dir, auditlogs.lines(state_dir)[:3])
        (state_dir / trail.HEAD_FILE).unlink()
    tamper(state_dir)
    with pytest.raises(trail.AuditError, match="the audit log is damaged"):
        trail.check_writable(state_dir)
    with pytest.raises(trail.AuditError):
        trail.record(state_dir, action="tenant resize", target="wh-gongan-t6")


def test_an_interrupted_write_is_repaired_not_reported_as_tampering(
        state_dir: pathlib.Path) -> None:
    """A crash mid-write leaves a torn line after the record the head names: verify says so,
    the next append drops the torn bytes, and the chain verifies again."""
    with (state_dir / trail.LOG_FILE).open("a", encoding="utf-8") as handle:
        handle.write('{"action":"tenant resize","args":{},"com')
    from citycloud.tenants.audit import chain

    assert [p.code for p in chain.verify(state_dir).problems] == ["audit_truncated"]
    written = trail.record(state_dir, action="tenant resize", target="wh-gongan-t6",
                           now=auditlogs.NOW)
    assert written["seq"] == 6
    result = chain.verify(state_dir)
    assert result.ok and result.problems == [] and result.records == 6


def test_a_head_one_behind_is_a_warning(citycloud: Any, state_dir: pathlib.Path) -> None:
    """The head is written after the line; a crash between leaves it one record behind."""
    head = (state_dir / trail.HEAD_FILE).read_text()
    trail.record(state_dir, action="tenant resize", target="wh-gongan-t6", now=auditlogs.NOW)
    (state_dir / trail.HEAD_FILE).write_text(head)

    result = citycloud("--state-dir", state_dir, "audit", "verify", "-o", "json")

    assert result.exit_code == 0, result.output
    [warning] = jsonout.data(result.stdout)["diagnostics"]
    assert (warning["code"], warning["severity"], warning["field"]) == (
        "audit_head_behind", "warning", "record 6")
    trail.record(state_dir, action="tenant resize", target="wh-gongan-t7", now=auditlogs.NOW)
    assert jsonout.data(citycloud("--state-dir", state_dir, "audit", "verify", "-o", "json")
                      .stdout)["diagnostics"] == []


def test_expect_an_anchor_kept_elsewhere(citycloud: Any, state_dir: pathlib.Path) -> None:
    """Someone with the key can rewrite the whole chain consistently; a hash kept elsewhere
    (e.g. printed into a CI log by an earlier verify) still catches it."""
    anchor = jsonout.data(citycloud("--state-dir", state_dir, "audit", "verify", "-o", "json")
                        .stdout)["head"]
    assert citycloud("--state-dir", state_dir, "audit", "verify", "--expect", anchor
                     ).exit_code == 0
    (state_dir / trail.LOG_FILE).unlink()
    (state_dir / trail.HEAD_FILE).unlink()
    for seq in range(1, 4):  # a fresh, valid chain signed with the same key
        trail.record(state_dir, action="tenant resize", target=f"wh-gongan-t{seq}",
                     now=auditlogs.NOW - datetime.timedelta(days=seq))

    result = citycloud("--state-dir", state_dir, "audit", "verify", "--expect", anchor,
                       "-o", "json")

    assert result.exit_code == 1
    assert [d["code"] for d in jsonout.data(result.stdout)["diagnostics"]] == ["audit_anchor"]


def test_a_missing_key_is_reported(citycloud: Any, state_dir: pathlib.Path) -> None:
    (state_dir / trail.KEY_FILE).unlink()
    result = citycloud("--state-dir", state_dir, "audit", "verify", "-o", "json")
    assert result.exit_code == 1
    assert [d["code"] for d in jsonout.data(result.stdout)["diagnostics"]] == ["audit_key_missing"]
    with pytest.raises(trail.AuditError, match="restore the key"):
        trail.record(state_dir, action="tenant resize", target="x")
