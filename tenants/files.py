"""Where a write fails, say which path and why in one line: the file system boundary.

A full disk, a read-only mount, a file where a folder should be: each is a problem with
the path the user gave (exit 2), not a crash. `writing(path)` wraps the work that writes
under `path` and turns the operating system's error into WriteError naming that path, so
the message says what the user chose, not the temporary file the write happened to reach.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import tempfile
from collections.abc import Iterator

from citycloud.tenants import errors

_REASONS = {
    errno.ENOSPC: "the disk is full; free space or choose another path",
    errno.EDQUOT: "the disk quota is used up; free space or choose another path",
    errno.EROFS: "the file system is read-only; choose another path",
    errno.EACCES: "permission denied; choose a path you may write",
    errno.EPERM: "permission denied; choose a path you may write",
    errno.ENAMETOOLONG: "the name is too long",
}


class WriteError(errors.InputError):
    """A path given to a command cannot be written (exit 2)."""


def _file_in_the_way(path: pathlib.Path) -> pathlib.Path | None:
    """The first existing ancestor of `path` that is a file, where a folder must be."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def describe(path: pathlib.Path, err: OSError) -> str:
    """One line: which path, what is wrong with it, what to do."""
    if err.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = _file_in_the_way(path / "_") if path.exists() else _file_in_the_way(path)
        if blocker is not None:
            return f"{blocker} is a file, not a folder"
    reason = _REASONS.get(err.errno or 0, err.strerror or str(err))
    return f"cannot write {path}: {reason}"


@contextlib.contextmanager
def writing(path: pathlib.Path) -> Iterator[None]:
    """Run the body; an OSError of the file system becomes WriteError naming `path`."""
    try:
        yield
    except OSError as err:
        if err.errno not in (*_REASONS, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise
        raise WriteError(describe(path, err)) from err


def write_atomic(path: pathlib.Path, data: str | bytes) -> None:
    """Replace a file whole: readers see the old content or the new, never half of either.

    Written beside the target (same file system, so the rename is atomic), synced to disk
    before the rename and the rename synced after it (a crash keeps one of the two), with
    the permissions a plain write would give (mkstemp's 0600 would hide the file from
    reviewers); on any failure the temporary file is removed. The one way citycloud
    replaces a file.
    """
    handle, staged = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staged, 0o666 & ~umask)
        os.replace(staged, path)
    except BaseException:
        pathlib.Path(staged).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
