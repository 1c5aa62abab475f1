"""Helpers of the audit tests: the fixed clock, and reading and rewriting the log as an
intruder with a text editor would (whole lines, bytes as they are)."""

from __future__ import annotations

import datetime
import json
import pathlib
from typing import Any

from citycloud.tenants.audit import trail

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
AGES = (300, 250, 200, 10, 1)  # days before NOW of records 1..5


def fill(state: pathlib.Path) -> pathlib.Path:
    for seq, age in enumerate(AGES, start=1):
        trail.record(state, action="tenant resize", target=f"wh-gongan-t{seq}",
                     args={"cpu": str(seq * 8)}, commit=f"{seq:040x}",
                     summary={"update": 1}, now=NOW - datetime.timedelta(days=age))
    return state


def lines(state: pathlib.Path) -> list[str]:
    return (state / trail.LOG_FILE).read_text(encoding="utf-8").splitlines(keepends=True)


def write(state: pathlib.Path, text: list[str] | str) -> None:
    (state / trail.LOG_FILE).write_text("".join(text), encoding="utf-8")


def entry(line: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(line)
    return data


def line_of(data: dict[str, Any]) -> str:
    return trail.canonical(data).decode("utf-8") + "\n"
