"""What applying the registry would change: a diff of desired vs. deployed objects.

Desired objects come from the renderer; deployed ones from wherever they are
recorded (the snapshot `apply` keeps, or a manifest export). A plan is plain
data so the CLI can print it as a diff, a table or JSON.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum

from citycloud.tenants import manifests, render, units


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclasses.dataclass(frozen=True)
class Change:
    action: Action
    api_version: str
    kind: str
    namespace: str
    name: str
    unit: str  # the tenant's name, or pool.<name> for a pool's objects (tenants.units)
    diff: str  # unified diff of the YAML, "" when nothing to show
    fields: tuple[str, ...] = ()  # an update's top-level fields that change (metadata, spec)

    @property
    def destructive(self) -> bool:
        """Deleting a namespace deletes every workload and volume claim inside it."""
        return self.action is Action.DELETE and self.kind == "Namespace"

    @property
    def title(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def diff(desired: list[render.Manifest], deployed: list[render.Manifest]) -> list[Change]:
    """Changes that turn `deployed` into `desired`, creations first, deletions last."""
    # Keyed by unit too: a disaster-recovery tenant has each object on two clusters.
    want = {(units.folder_of(m), *render.key(m)): m for m in desired}
    have = {(units.folder_of(m), *render.key(m)): m for m in deployed}
    changes = []
    for key, manifest in want.items():
        before = have.get(key)
        if before is None:
            changes.append(_change(Action.CREATE, manifest, None))
        elif before != manifest:
            changes.append(_change(Action.UPDATE, manifest, before))
    for key, manifest in have.items():
        if key not in want:
            changes.append(_change(Action.DELETE, manifest, manifest))
    order = {Action.CREATE: 0, Action.UPDATE: 1, Action.DELETE: 2}
    return sorted(changes, key=lambda c: (order[c.action], units.apply_order(c.unit),
                                          c.namespace, c.kind, c.name))


def _change(action: Action, manifest: render.Manifest, before: render.Manifest | None) -> Change:
    api_version, kind, namespace, name = render.key(manifest)
    old = manifests.to_yaml(before).splitlines(keepends=True) if before else []
    new = manifests.to_yaml(manifest).splitlines(keepends=True) if action != Action.DELETE else []
    label = f"{kind}/{namespace + '/' if namespace else ''}{name}"
    text = "".join(difflib.unified_diff(old, new, f"deployed/{label}", f"desired/{label}", n=2))
    fields = tuple(sorted(f for f in manifest.keys() | before.keys()
                          if manifest.get(f) != before.get(f))) if (
        before is not None and action is Action.UPDATE) else ()
    return Change(action, api_version, kind, namespace, name, units.folder_of(manifest), text,
                  fields)


def summary(changes: list[Change]) -> dict[str, int]:
    counts = {action.value: 0 for action in Action}
    for change in changes:
        counts[change.action.value] += 1
    return counts
