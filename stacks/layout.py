"""Which stacks exist and where their state lives: the stack layout, in one place.

Layout (why: stacks/README.md): one pool stack per pool (project citycloud-pool), and the
tenants in shard stacks (project citycloud-shard, SHARDS per pool and cluster), one
resource each; onboarding a tenant updates that one resource (--target), whatever the
size of the city. Our records (journal, lock, deployed folder) stay per unit. Stacks of
the first layout, one per tenant (project citycloud-tenant), are moved into their shard
by the next apply.

Everything citycloud writes lives under the state directory (--state-dir,
default REGISTRY/.citycloud):

    pulumi/.pulumi/        the Pulumi file backend (file://STATE/pulumi): checkpoints, locks
    pulumi/projects/KIND/  the Automation API workspaces (Pulumi.yaml, Pulumi.<stack>.yaml)
    pulumi/passphrase      generated secrets passphrase (0600), never printed
    stacks/KIND/NAME.json  our journal per unit (pool, tenant) and per shard: running | ok |
                           failed, and a fingerprint (the backend's history and checkpoint
                           backups of each stack are kept to the newest
                           CITYCLOUD_STATE_HISTORY updates, default 3)
    locks/KIND-NAME.lock   fcntl lock held while a citycloud process changes the unit/stack
    staged/SHA256.json     a tenant's objects, for its shard's provider, during a run
    deployed/              manifests of the tenants as last applied (what `plan` diffs against)
    offboarded/            one JSON record per offboarding
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
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


Kind = units.Kind  # a unit: a pool's or a tenant's objects (on one cluster)


@dataclasses.dataclass(frozen=True, order=True)
class StackRef:
    """A unit's stack (a pool's; a tenant's in the first layout), or with `shard` a shard
    stack holding tenant units (stacks/README.md): `name` is then the shard's."""

    kind: Kind
    name: str
    shard: bool = False

    @property
    def folder(self) -> str:
        """Its project's folder here, and its name in our journal and lock paths."""
        return SHARD if self.shard else self.kind.value

    @property
    def project(self) -> str:
        return f"citycloud-{self.folder}"

    @property
    def source_dir(self) -> pathlib.Path:
        """The Pulumi project in this package: Pulumi.yaml and __main__.py."""
        return PROJECTS_DIR / self.folder

    def __str__(self) -> str:
        return f"{self.folder}/{self.name}"


SHARD = "shard"
SHARDS = 8  # shard stacks per cluster (stacks/README.md: why, and what changing it does)


def shard_of(tenant: str, *, cluster: str) -> StackRef:
    """The shard stack a tenant's unit on `cluster` lives in, `tenants-<NN>[.<cluster>]`:
    by the hash of the tenant's name, so a disaster-recovery tenant has the same shard
    number on each cluster."""
    number = int(hashlib.sha256(tenant.encode()).hexdigest(), 16) % SHARDS
    return StackRef(Kind.TENANT, units.key(f"tenants-{number:02d}", cluster), shard=True)


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
    shard: str = ""  # a tenant unit's: the shard stack that holds it ("": its own stack)

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

    @property
    def staged_dir(self) -> pathlib.Path:
        """Units' objects staged for the shard stacks' provider (stacks.objects.stage)."""
        return self.root / "staged"

    def stage(self, objects: list[Any]) -> str:
        """Write a tenant unit's objects where its shard's provider reads them
        (stacks.objects); return their fingerprint, the file's name. Content-addressed: the
        same objects are the same file."""
        text = json.dumps(objects, sort_keys=True, ensure_ascii=False)
        fingerprint = hashlib.sha256(text.encode()).hexdigest()
        path = self.staged_dir / f"{fingerprint}.json"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            files.write_atomic(path, text)
        return fingerprint

    def work_dir(self, ref: StackRef) -> pathlib.Path:
        return self.backend_dir / "projects" / ref.folder

    def lock_path(self, ref: StackRef) -> pathlib.Path:
        return self.root / "locks" / f"{ref.folder}-{ref.name}.lock"

    def record_path(self, ref: StackRef) -> pathlib.Path:
        return self.root / "stacks" / ref.folder / f"{ref.name}.json"

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
        return self.record_path(ref).is_file() or self.in_backend(ref)

    def in_backend(self, ref: StackRef) -> bool:
        """Whether the file backend holds the stack's state."""
        backend = self.backend_dir / ".pulumi" / "stacks" / ref.project
        return any((backend / f"{ref.name}{suffix}").exists() for suffix in (".json", ".json.gz"))

    def stack_names(self, kind: Kind) -> set[str]:
        """Units of a kind that exist in the backend (a stack of their own, the first
        layout) or in our journal (every unit, whatever stack holds it)."""
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
