"""What the engine says it will do (or did), as plain data: steps, and the dangerous ones.

The Automation API streams engine events while a preview or update runs. A
Journal turns them into Steps (create / update / delete / replace of one
resource), counts finished resources for progress display, and keeps error
diagnostics for the failure message. A step that deletes or replaces a
Namespace is `dangerous`: it would take every workload and volume with it, so
the CLI prints it in red whatever else it prints, and the engine refuses it
anyway because namespaces are protected (stacks.components).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the events arrive from the engine; reading them needs no import
    from pulumi.automation import events

# Ops that change nothing in the cluster.
_QUIET = frozenset({"same", "read", "refresh", "discard", "discard-replaced",
                    "remove-pending-replace"})
# Ops that remove the object that exists now.
DESTRUCTIVE = frozenset({"delete", "replace", "create-replacement", "delete-replaced"})
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"


def type_token(api_version: str, kind: str) -> str:
    """The Pulumi type token of a kind, as the engine reports it in URNs and events."""
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


@dataclasses.dataclass(frozen=True)
class Step:
    op: str  # create | update | delete | replace | create-replacement | delete-replaced | import
    type: str  # Pulumi type token, e.g. kubernetes:core/v1:ResourceQuota
    name: str  # logical name: namespace/name or name
    diffs: tuple[str, ...] = ()  # top-level properties that change

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def dangerous(self) -> bool:
        return self.type == NAMESPACE_TYPE and self.op in DESTRUCTIVE

    @property
    def title(self) -> str:
        return f"{self.kind} {self.name}"


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


@dataclasses.dataclass
class Journal:
    """Collects one engine run's events; safe to feed from the Automation API's reader thread."""

    on_change: Callable[[Journal], None] | None = None
    steps: list[Step] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    done: int = 0  # resources finished (created, updated, unchanged, ...)
    current: str = ""  # what the engine works on now, for a progress line
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def __call__(self, event: events.EngineEvent) -> None:
        with self._lock:
            self._record(event)
        if self.on_change is not None:
            self.on_change(self)

    def _record(self, event: events.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            op = str(getattr(meta.op, "value", meta.op))
            self.current = f"{op} {_name(meta.urn)}"
            if op not in _QUIET and not meta.type.startswith("pulumi:"):
                self.steps.append(Step(op, meta.type, _name(meta.urn), tuple(meta.diffs or ())))
        elif event.res_outputs_event is not None:
            self.done += 1
        elif event.diagnostic_event is not None:
            diagnostic = event.diagnostic_event
            if diagnostic.severity == "error":
                self.errors.append(diagnostic.message.strip())

    @property
    def changes(self) -> list[Step]:
        """Steps that change the cluster, one per resource (a replace shows once)."""
        seen: dict[tuple[str, str], Step] = {}
        for step in self.steps:
            key = (step.type, step.name)
            if key not in seen or step.op in ("replace", "delete"):
                seen[key] = step
        return list(seen.values())

    @property
    def dangerous(self) -> list[Step]:
        return [step for step in self.changes if step.dangerous]


def summary(steps: list[Step]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.op] = counts.get(step.op, 0) + 1
    return counts
