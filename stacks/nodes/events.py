"""ansible-runner's event stream, folded into what a person watching a run wants per host.

ansible-runner reports every task start, result and the final recap as an
event dictionary. Here they become one HostProgress per node: counts as in
Ansible's recap, the task running now, every failure with its task and
message, and every change with its diff. The live display and the summary
both read this one structure, so what scrolls by and what is reported at the
end cannot disagree.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_MESSAGE = 2000  # characters of a failure message kept; a module may return megabytes


@dataclasses.dataclass(frozen=True)
class Failure:
    task: str
    message: str
    unreachable: bool = False


@dataclasses.dataclass(frozen=True)
class Change:
    task: str
    diff: str  # unified diff of what changed (or would), "" when the module gave none


@dataclasses.dataclass
class HostProgress:
    """One node's run so far; counts follow Ansible's recap (ok includes changed)."""

    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    task: str = ""  # the task running now
    done: bool = False
    failures: list[Failure] = dataclasses.field(default_factory=list)
    changes: list[Change] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        if not self.done:
            return "running" if self.task else "waiting"
        return "changed" if self.changed else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host, "status": self.status, "ok": self.ok, "changed": self.changed,
            "failed": self.failed, "unreachable": self.unreachable, "skipped": self.skipped,
            "failures": [dataclasses.asdict(f) for f in self.failures],
            "changes": [dataclasses.asdict(c) for c in self.changes],
        }


class Progress:
    """Feeds on ansible-runner events, in the order they arrive, for the hosts of one run."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self.hosts: dict[str, HostProgress] = {h: HostProgress(h) for h in sorted(hosts)}
        self.finished = False  # the recap arrived: the counts are Ansible's own

    def feed(self, event: Mapping[str, Any]) -> bool:
        """Take one event; True when it changed what a display shows."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self._recap(data)
            return True
        name = data.get("host")
        if not isinstance(name, str) or not kind.startswith("runner_on_"):
            return False
        host = self.hosts.setdefault(name, HostProgress(name))
        task = str(data.get("task") or data.get("task_action") or "")
        result = data.get("res") or {}
        if kind == "runner_on_start":
            host.task = task
        elif kind == "runner_on_ok":
            host.ok += 1
            if result.get("changed"):
                host.changed += 1
                host.changes.append(Change(task, diff_text(result)))
        elif kind == "runner_on_skipped":
            host.skipped += 1
        elif kind == "runner_on_failed":
            if data.get("ignore_errors"):
                return False
            host.failed += 1
            host.failures.append(Failure(task, failure_message(result)))
        elif kind == "runner_on_unreachable":
            host.unreachable += 1
            host.failures.append(Failure(task, failure_message(result), unreachable=True))
        else:
            return False
        return True

    def _recap(self, stats: Mapping[str, Any]) -> None:
        for host in self.hosts.values():
            host.ok = _count(stats, "ok", host.host)
            host.changed = _count(stats, "changed", host.host)
            host.failed = _count(stats, "failures", host.host)
            host.unreachable = _count(stats, "dark", host.host)
            host.skipped = _count(stats, "skipped", host.host)
            host.task = ""
            host.done = True
        self.finished = True

    def results(self) -> list[HostProgress]:
        return list(self.hosts.values())


def _count(stats: Mapping[str, Any], key: str, host: str) -> int:
    value = (stats.get(key) or {}).get(host, 0)
    return value if isinstance(value, int) else 0


def failure_message(result: Mapping[str, Any]) -> str:
    """What went wrong, in the module's words: its msg, and the tail of its stderr."""
    parts = [str(result.get("msg") or "").strip()]
    stderr = str(result.get("stderr") or result.get("module_stderr") or "").strip()
    if stderr:
        parts.append(stderr.splitlines()[-1])
    for item in result.get("results") or ():  # a loop: the items that failed
        if isinstance(item, Mapping) and item.get("failed"):
            parts.append(f"{item.get('item')}: {item.get('msg', '')}")
    message = ": ".join(p for p in parts if p) or "failed without a message"
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " …"


def diff_text(result: Mapping[str, Any]) -> str:
    """A unified diff of a changed task's results, loops included, like `ansible --diff`."""
    text = ""
    for one in (result, *(r for r in result.get("results") or () if isinstance(r, Mapping))):
        found = one.get("diff")
        # The file a template writes, rather than the temporary copy Ansible names.
        args = (one.get("invocation") or {}).get("module_args") or {}
        path = str(one.get("dest") or one.get("path") or args.get("dest") or args.get("path")
                   or "")
        for diff in found if isinstance(found, list) else [found] if found else []:
            if isinstance(diff, Mapping):
                text += _unified(diff, path=path)
    return text


def _unified(diff: Mapping[str, Any], *, path: str) -> str:
    if "prepared" in diff:
        return str(diff["prepared"]).rstrip("\n") + "\n"
    before, after = _lines(diff.get("before")), _lines(diff.get("after"))
    if before == after:
        return ""
    return "".join(difflib.unified_diff(
        before, after, fromfile=path or str(diff.get("before_header") or "before"),
        tofile=path or str(diff.get("after_header") or "after")))


def _lines(value: Any) -> Sequence[str]:
    if value is None:
        return []
    if isinstance(value, Mapping):  # the file module's {path, state, mode}: path is the header
        return [f"{key}: {item}\n" for key, item in sorted(value.items()) if key != "path"]
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines
