"""Which stacks exist and where their state lives: the stack layout, in one place.

Layout (why: stacks/README.md): one pool stack per pool (project
citycloud-pool) and one tenant stack
per tenant (project citycloud-tenant), so onboarding a tenant builds one
tenant's graph no matter how many tenants exist.

Everything citycloud writes lives under the state directory (--state-dir,
default REGISTRY/.citycloud):

    pulumi/.pulumi/        the Pulumi file backend (file://STATE/pulumi): checkpoints, locks
    pulumi/projects/KIND/  the Automation API workspaces (Pulumi.yaml, Pulumi.<stack>.yaml)
    pulumi/passphrase      generated secrets passphrase (0600), never printed
    stacks/KIND/NAME.json  our journal per stack: running | ok | failed, and a fingerprint
                           (the backend's history and checkpoint backups of each stack are
                           kept to the newest CITYCLOUD_STATE_HISTORY updates, default 3)
    locks/KIND-NAME.lock   fcntl lock held while a citycloud process changes the stack
    deployed/              manifests of the tenants as last applied (what `plan` diffs against)
    offboarded/            one JSON record per offboarding
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pathlib
import re
from typing import Any

from citycloud.stacks import errors
from citycloud.tenants import files, units

PROJECTS_DIR = pathlib.Path(__file__).resolve().parent
HISTORY_ENV = "CITYCLOUD_STATE_HISTORY"
DEFAULT_HISTORY = 3


Kind = units.Kind  # a stack holds one unit: a pool's or a tenant's objects


@dataclasses.dataclass(frozen=True, order=True)
class StackRef:
    kind: Kind
    name: str

    @property
    def project(self) -> str:
        return f"citycloud-{self.kind.value}"

    @property
    def source_dir(self) -> pathlib.Path:
        """The Pulumi project in this package: Pulumi.yaml and __main__.py."""
        return PROJECTS_DIR / self.kind.value

    def __str__(self) -> str:
        return f"{self.kind.value}/{self.name}"


def pool(name: str) -> StackRef:
    return StackRef(Kind.POOL, name)


def tenant(name: str) -> StackRef:
    return StackRef(Kind.TENANT, name)


@dataclasses.dataclass(frozen=True)
class Record:
    """Our journal entry of a stack: how its last change ended, and what it applied."""

    status: str  # running | ok | failed
    fingerprint: str = ""  # of what was applied; equal fingerprints need no engine run
    operation: str = ""
    updated: str = ""
    objects: int = 0
    # The program version and cluster settings of the last run (operations.engine_key);
    # while they and the deployed snapshot stand, a preview is our own diff ("": unknown).
    engine: str = ""

    @property
    def interrupted(self) -> bool:
        """The last change did not end cleanly: the engine may have left locks or pending ops."""
        return self.status != "ok"


@dataclasses.dataclass(frozen=True)
class StateDir:
    root: pathlib.Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.root.absolute())

    @property
    def backend_dir(self) -> pathlib.Path:
        return self.root / "pulumi"

    @property
    def backend_url(self) -> str:
        return self.backend_dir.as_uri()

    @property
    def passphrase_file(self) -> pathlib.Path:
        return self.backend_dir / "passphrase"

    @property
    def deployed_dir(self) -> pathlib.Path:
        return self.root / "deployed"

    @property
    def offboarded_dir(self) -> pathlib.Path:
        return self.root / "offboarded"

    def work_dir(self, kind: Kind) -> pathlib.Path:
        return self.backend_dir / "projects" / kind.value

    def lock_path(self, ref: StackRef) -> pathlib.Path:
        return self.root / "locks" / f"{ref.kind.value}-{ref.name}.lock"

    def record_path(self, ref: StackRef) -> pathlib.Path:
        return self.root / "stacks" / ref.kind.value / f"{ref.name}.json"

    def read_record(self, ref: StackRef) -> Record | None:
        path = self.record_path(ref)
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return Record(**{f.name: data[f.name] for f in dataclasses.fields(Record)
                         if f.name in data})

    def write_record(self, ref: StackRef, record: Record) -> None:
        stamped = dataclasses.replace(record, updated=_now())
        write_json(self.record_path(ref), dataclasses.asdict(stamped))

    def forget(self, ref: StackRef) -> None:
        self.record_path(ref).unlink(missing_ok=True)

    def pulumi_locks(self, ref: StackRef) -> list[pathlib.Path]:
        """Lock files the file backend keeps for a stack while an update runs."""
        base = self.backend_dir / ".pulumi" / "locks"
        return sorted(base.glob(f"*/{ref.project}/{ref.name}/*.json"))

    def torn_sidecars(self, ref: StackRef) -> list[pathlib.Path]:
        """The file backend's `.attrs` files of a stack that a killed pulumi left unreadable.

        The backend writes each state file atomically, but its `.attrs` sidecar (content
        type, checksum) in place: killed in between, it is left empty and the stack no
        longer loads ("failed to load checkpoint: EOF"). A missing sidecar means defaults,
        so removing a torn one loses nothing.
        """
        base = self.backend_dir / ".pulumi"
        found = []
        for pattern in (f"stacks/{ref.project}/{ref.name}.json*.attrs",
                        f"history/{ref.project}/{ref.name}/*.attrs",
                        f"locks/*/{ref.project}/{ref.name}/*.attrs"):
            for path in base.glob(pattern):
                try:
                    json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    found.append(path)
        return sorted(found)

    def prune_history(self, ref: StackRef, *, keep: int) -> int:
        """Delete all but the newest `keep` updates of a stack's history and checkpoint
        backups in the file backend; return the bytes freed.

        Each update of a stack adds a history entry, a copy of its checkpoint and a backup
        of the one before (about 200 KB for a tenant), and the backend deletes none of them:
        without this, the state grows with every converge, for ever. The current checkpoint
        (stacks/) is never touched, so nothing the next update needs is lost.
        """
        base = self.backend_dir / ".pulumi"
        # <stack>-<unix nanoseconds>.history.json / .checkpoint.json (history), and
        # <stack>.<unix nanoseconds>.json (backups); each may be compressed, with .attrs.
        stamp = re.compile(rf"^{re.escape(ref.name)}[-.](\d{{10,}})\.")
        freed = 0
        for folder in (base / "history" / ref.project / ref.name,
                       base / "backups" / ref.project / ref.name):
            updates: dict[int, list[pathlib.Path]] = {}
            for path in folder.glob("*") if folder.is_dir() else ():
                match = stamp.match(path.name)
                if match:
                    updates.setdefault(int(match.group(1)), []).append(path)
            for old in sorted(updates)[:max(len(updates) - keep, 0)]:
                for path in updates[old]:
                    try:
                        size = path.stat().st_size
                        path.unlink()
                    except OSError:
                        continue  # gone already, or not ours to delete: the next run retries
                    freed += size
        return freed

    def has_stack(self, ref: StackRef) -> bool:
        """Whether the backend or our journal knows the stack (stack_names, for one stack:
        without listing every stack of its kind)."""
        backend = self.backend_dir / ".pulumi" / "stacks" / ref.project
        return self.record_path(ref).is_file() or any(
            (backend / f"{ref.name}{suffix}").exists() for suffix in (".json", ".json.gz"))

    def stack_names(self, kind: Kind) -> set[str]:
        """Stacks of a kind that exist in the backend or in our journal."""
        project = StackRef(kind, "_").project
        backend = self.backend_dir / ".pulumi" / "stacks" / project
        # Not split on the first dot: a stack on a declared cluster is <name>.<cluster>.
        names = {p.name.removesuffix(".gz").removesuffix(".json")
                 for p in backend.glob("*.json*") if p.name.endswith((".json", ".json.gz"))}
        names |= {p.stem for p in (self.root / "stacks" / kind.value).glob("*.json")}
        return names


def write_json(path: pathlib.Path, data: Any) -> None:
    """Atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def history_depth() -> int:
    """How many updates of each stack's history the state keeps ($CITYCLOUD_STATE_HISTORY)."""
    text = os.environ.get(HISTORY_ENV, "").strip()
    if not text:
        return DEFAULT_HISTORY
    if not text.isdigit():
        raise errors.UsageError(
            f"{HISTORY_ENV}={text!r} is not a number of updates to keep; set it to a "
            f"whole number such as {DEFAULT_HISTORY} (0 keeps no history), or unset it")
    return int(text)
