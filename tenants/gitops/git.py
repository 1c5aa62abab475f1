"""What a pull request changes, and which commit is deployed: the registry's git side.

Departments ask for resources by pull request, and the merge is what gets
applied, so the CLI reads git itself (the real `git`, via subprocess):

- `changed_files(registry, since=REF)`: the registry files a pull request adds,
  modifies, renames or deletes. The comparison is from the merge base of REF
  and HEAD (what the branch started from, like `git diff REF...HEAD`) to the
  working tree, untracked files included: in CI the working tree is the
  checked-out commit, and locally a department sees its uncommitted edits
  before it pushes them. Renames are detected (`-M`).
- `export(registry, commit, dest)`: a commit's registry, written into a
  directory with `git archive` (no worktree, nothing in .git changes), so the
  base of a pull request and the commit to apply load like any registry.
- the deployed commit (STATE/deployed-commit.json) and `check_order`: apply
  refuses a commit that does not descend from the one already applied
  (`git merge-base --is-ancestor`), so a slow CI job can never roll back a
  newer merge.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator

from citycloud.tenants import errors, files
from citycloud.tenants.audit import trail
from citycloud.tenants.platform import DEPARTMENTS_FILE, PLATFORM_FILE, TENANTS_DIR, WAIVERS_FILE

DEPLOYED_FILE = "deployed-commit.json"
GIT_TIMEOUT = 120  # seconds; a registry repo is small, a hung git is not


class GitError(errors.InputError):
    """git cannot answer: not a repository, an unknown ref, history missing."""


class OutOfOrderError(GitError):
    """The commit to apply is older than (not a descendant of) the deployed one."""


class Status(enum.StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    RENAMED = "renamed"
    DELETED = "deleted"


class Kind(enum.StrEnum):
    """What a registry file is, which decides who owns it and what a change to it affects."""

    TENANT = "tenant"
    PLATFORM = "platform"
    DEPARTMENTS = "departments"
    WAIVERS = "waivers"
    POLICIES = "policies"
    OTHER = "other"  # README, CI workflow, CODEOWNERS, schema: the platform team's


def kind_of(path: str) -> Kind:
    parts = path.split("/")
    if path == PLATFORM_FILE:
        return Kind.PLATFORM
    if path == DEPARTMENTS_FILE:
        return Kind.DEPARTMENTS
    if path == WAIVERS_FILE:
        return Kind.WAIVERS
    if parts[0] == "policies":
        return Kind.POLICIES
    if parts[0] == TENANTS_DIR and len(parts) >= 2:
        return Kind.TENANT
    return Kind.OTHER


def department_of(path: str) -> str | None:
    """The department folder a path lies in (tenants/<department>/...), if any."""
    parts = path.split("/")
    if parts[0] == TENANTS_DIR and len(parts) >= 3:
        return parts[1]
    return None


@dataclasses.dataclass(frozen=True)
class FileChange:
    status: Status
    path: str  # relative to the registry root; for a deletion, the deleted path
    old_path: str = ""  # the path before a rename

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.old_path, self.path) if self.old_path else (self.path,)

    @property
    def kinds(self) -> set[Kind]:
        return {kind_of(p) for p in self.paths}


@dataclasses.dataclass(frozen=True)
class Changeset:
    since: str  # the ref as given
    base: str  # merge base of `since` and HEAD: what the branch started from
    head: str  # HEAD
    dirty: bool  # the working tree differs from HEAD inside the registry
    prefix: str  # the registry's folder inside the repository, "" or "a/b/"
    files: list[FileChange]


# ---- git ----------------------------------------------------------------------


def git(cwd: pathlib.Path, *args: str, codes: tuple[int, ...] = (0,)) -> tuple[int, bytes]:
    """Run git; return (exit code, stdout); raise GitError unless the code is expected."""
    binary = shutil.which("git")
    if binary is None:
        raise GitError("git is not installed; the pull-request flow needs it on PATH")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run([binary, "-c", "core.quotepath=off", *args], cwd=cwd, env=env,
                              capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise GitError(f"git {args[0]} failed: {err}") from None
    if done.returncode not in codes:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {message[-1] if message else ''}")
    return done.returncode, done.stdout


def _text(cwd: pathlib.Path, *args: str) -> str:
    return git(cwd, *args)[1].decode("utf-8", "replace").strip()


def prefix_of(registry: pathlib.Path) -> str:
    """The registry's folder inside its repository ("" at the top); GitError if not in one."""
    if not registry.is_dir():
        raise GitError(f"{registry} is not a directory")
    code, out = git(registry, "rev-parse", "--show-prefix", codes=(0, 128))
    if code:
        raise GitError(f"{registry} is not inside a git repository; the pull-request flow "
                       "reads the registry's history (run 'git init' and commit it)")
    return out.decode("utf-8").strip()


def resolve(registry: pathlib.Path, ref: str) -> str:
    """The full commit id REF names; GitError saying how to get it when it is unknown."""
    code, out = git(registry, "rev-parse", "--verify", "--quiet", "--end-of-options",
                    f"{ref}^{{commit}}", codes=(0, 1, 128))
    if code:
        raise GitError(f"{ref!r} is not a commit in this repository; in CI, fetch it first "
                       "(actions/checkout with fetch-depth: 0, or 'git fetch origin main')")
    return out.decode("ascii").strip()


def head_commit(registry: pathlib.Path) -> str | None:
    """HEAD's commit, or None outside git or before the first commit (for audit records)."""
    try:
        prefix_of(registry)
        return resolve(registry, "HEAD")
    except GitError:
        return None


def author(registry: pathlib.Path, *, commit: str | None = None) -> str | None:
    """`Name <email>` of a commit's author, or of whoever would commit now; None if unknown."""
    try:
        if commit is not None:
            return _text(registry, "log", "-1", "--format=%an <%ae>", commit, "--") or None
        name = git(registry, "config", "user.name", codes=(0, 1))[1].decode().strip()
        email = git(registry, "config", "user.email", codes=(0, 1))[1].decode().strip()
    except (GitError, UnicodeDecodeError):
        return None
    return f"{name} <{email}>" if name or email else None


def changed_files(registry: pathlib.Path, *, since: str) -> Changeset:
    """Registry files changed between the merge base of SINCE and HEAD, and the working tree."""
    prefix = prefix_of(registry)
    head = resolve(registry, "HEAD")
    base = _text(registry, "merge-base", resolve(registry, since), head)
    # --relative: paths relative to the registry, and nothing outside it.
    diff = git(registry, "diff", "--name-status", "-z", "-M", "--relative", base, "--", ".")[1]
    untracked = git(registry, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")[1]
    dirty = bool(git(registry, "status", "--porcelain", "-z", "--", ".")[1])
    files = parse_name_status(diff) + [
        FileChange(Status.ADDED, p) for p in untracked.decode("utf-8", "replace").split("\0") if p]
    return Changeset(since, base, head, dirty, prefix, sorted(files, key=lambda f: f.path))


def parse_name_status(raw: bytes) -> list[FileChange]:
    """`git diff --name-status -z` output as FileChanges (T counts as modified, C as added)."""
    fields = raw.decode("utf-8", "replace").split("\0")
    changes: list[FileChange] = []
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index][0]
        if status in "RC":
            old, new = fields[index + 1], fields[index + 2]
            index += 3
            changes.append(FileChange(Status.RENAMED, new, old) if status == "R"
                           else FileChange(Status.ADDED, new))
            continue
        path = fields[index + 1]
        index += 2
        changes.append(FileChange({"A": Status.ADDED, "D": Status.DELETED}.get(
            status, Status.MODIFIED), path))
    return changes


def export(registry: pathlib.Path, commit: str, dest: pathlib.Path) -> pathlib.Path | None:
    """Write the registry as it is at COMMIT into DEST; None if it did not exist then."""
    prefix = prefix_of(registry).rstrip("/")
    tree = f"{commit}:{prefix}"
    if git(registry, "cat-file", "-e", tree, codes=(0, 1, 128))[0]:
        return None
    # From the top: in a subfolder, git archive would also limit the tree to that folder.
    top = registry / _text(registry, "rev-parse", "--show-cdup")
    archive = git(top, "archive", "--format=tar", tree)[1]
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter=_safe_member)
    return dest


def _safe_member(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    # A registry file that links outside the registry is the loader's to report (and it
    # does, naming the file); here such a member is simply not written.
    try:
        return tarfile.data_filter(member, path)
    except tarfile.FilterError:
        return None


@dataclasses.dataclass(frozen=True)
class Checkout:
    commit: str
    root: pathlib.Path  # the registry as it is at `commit`, in a temporary directory


@contextlib.contextmanager
def checkout(registry: pathlib.Path, *, ref: str) -> Iterator[Checkout]:
    """The registry at REF, in a temporary directory removed afterwards."""
    commit = resolve(registry, ref)
    with tempfile.TemporaryDirectory(prefix="citycloud-") as temp:
        root = export(registry, commit, pathlib.Path(temp) / "registry")
        if root is None:
            raise GitError(f"commit {commit[:12]} has no registry at "
                           f"{prefix_of(registry) or 'the repository root'}")
        yield Checkout(commit, root)


# ---- the deployed commit --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Deployed:
    commit: str
    ref: str  # as the apply was asked for, e.g. "main" or a sha
    time: str  # UTC


def read_deployed(state_dir: pathlib.Path) -> Deployed | None:
    path = state_dir / DEPLOYED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Deployed(str(data["commit"]), str(data.get("ref", "")), str(data.get("time", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise GitError(f"{path} cannot be read ({err}); it records the deployed commit") from None


def write_deployed(state_dir: pathlib.Path, *, commit: str, ref: str) -> Deployed:
    """Record the commit an apply has fully applied (atomically: old or new, never half)."""
    deployed = Deployed(commit, ref, trail.timestamp(trail.now_utc()))
    state_dir.mkdir(parents=True, exist_ok=True)
    files.write_atomic(state_dir / DEPLOYED_FILE, json.dumps(
        dataclasses.asdict(deployed), indent=2).encode("utf-8") + b"\n")
    return deployed


def check_order(registry: pathlib.Path, *, commit: str, deployed: Deployed | None) -> None:
    """Refuse a commit that does not contain the deployed one; the same commit again is fine
    (apply is idempotent, and re-running it is how an interrupted apply converges)."""
    if deployed is None or deployed.commit == commit:
        return
    code, _ = git(registry, "merge-base", "--is-ancestor", deployed.commit, commit,
                  codes=(0, 1, 128))
    if code == 128:
        raise GitError(f"the deployed commit {deployed.commit[:12]} is not in this clone; "
                       "fetch the full history (actions/checkout with fetch-depth: 0)")
    if code == 1:
        raise OutOfOrderError(
            f"refusing to apply {commit[:12]}: it does not contain the deployed commit "
            f"{deployed.commit[:12]} (applied {deployed.time}), so applying it would undo "
            "what was merged since; apply a commit that descends from it, such as the tip "
            "of main")
