"""Pruning: never below 180 days, and what is left still verifies through a signed checkpoint."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import auditlogs
import jsonout
import pytest

from citycloud.tenants.audit import chain, trail


@pytest.mark.parametrize("days", [pytest.param(0, id="0"), pytest.param(179, id="179")])
def test_prune_refuses_less_than_six_months(citycloud: Any, state_dir: pathlib.Path,
                                            days: int) -> None:
    before = auditlogs.lines(state_dir)
    result = citycloud("--state-dir", state_dir, "audit", "prune", "--older-than", str(days),
                       "--yes")
    assert result.exit_code == 2
    assert "kept at least 180 days" in result.output
    assert "Cybersecurity Law" in result.output
    assert auditlogs.lines(state_dir) == before
    with pytest.raises(trail.AuditError, match="younger than 180 days"):
        chain.prune(state_dir, older_than_days=days)


def test_prune_keeps_the_chain_verifiable(state_dir: pathlib.Path) -> None:
    third = auditlogs.entry(auditlogs.lines(state_dir)[2])

    pruned = chain.prune(state_dir, older_than_days=180, now=auditlogs.NOW)

    assert (pruned.count, pruned.through) == (3, 3)  # 300, 250 and 200 days old
    lines = [auditlogs.entry(line) for line in auditlogs.lines(state_dir)]
    checkpoint, fourth = lines[0], lines[1]
    assert checkpoint["kind"] == "checkpoint"
    assert checkpoint["pruned_through"] == 3 and checkpoint["last_hash"] == third["hash"]
    assert fourth["seq"] == 4 and fourth["prev"] == third["hash"]  # the chain still links
    assert lines[-1]["action"] == "audit prune" and lines[-1]["seq"] == 6
    result = chain.verify(state_dir)
    assert result.ok and result.problems == []
    assert (result.records, result.first, result.last and result.last.seq) == (3, 4, 6)


def test_a_second_prune_extends_the_checkpoint(state_dir: pathlib.Path) -> None:
    chain.prune(state_dir, older_than_days=270, now=auditlogs.NOW)  # record 1 only
    later = auditlogs.NOW + datetime.timedelta(days=30)
    pruned = chain.prune(state_dir, older_than_days=200, now=later)  # then 2 and 3

    checkpoint = auditlogs.entry(auditlogs.lines(state_dir)[0])
    assert (pruned.count, checkpoint["pruned_through"], checkpoint["pruned_count"]) == (2, 3, 3)
    assert checkpoint["oldest"] == "2025-08-05T12:00:00Z"  # record 1's time, kept
    assert chain.verify(state_dir).ok


def test_prune_refuses_a_log_that_does_not_verify(citycloud: Any,
                                                  state_dir: pathlib.Path) -> None:
    lines = auditlogs.lines(state_dir)
    auditlogs.write(state_dir, [lines[0], lines[2], *lines[3:]])  # record 2 removed
    result = citycloud("--state-dir", state_dir, "audit", "prune", "--older-than", "180",
                       "--yes")
    assert result.exit_code == 2
    assert "refuses to sign over it" in result.output


def test_prune_from_the_cli_asks_first(citycloud: Any, state_dir: pathlib.Path) -> None:
    no = citycloud("--state-dir", state_dir, "audit", "prune", "--older-than", "180",
                   input="n\n")
    assert no.exit_code == 0 and len(auditlogs.lines(state_dir)) == 5
    assert "cancelled: nothing pruned" in no.output
    yes = citycloud("--state-dir", state_dir, "audit", "prune", "--older-than", "180",
                    "-o", "json", input="y\n")
    assert yes.exit_code == 0, yes.output
    # The real clock is later than the fixture's NOW, so records 1..3 are older still.
    assert jsonout.data(yes.stdout[yes.stdout.index("{"):])["pruned"] >= 3
    assert citycloud("--state-dir", state_dir, "audit", "verify").exit_code == 0
    log = citycloud("--state-dir", state_dir, "audit", "log", "-o", "markdown").stdout
    assert "| — |" in log and "checkpoint" in log and "| audit prune |" in log
