"""One citycloud process at a time per stack: an fcntl lock file per stack.

Pulumi's file backend has its own lock (PULUMI_SELF_MANAGED_STATE_LOCKING=1,
which stacks.engine sets), but a killed `pulumi` leaves that lock file behind
and nothing can tell a stale one from a live one. The kernel can: an fcntl lock
dies with its process. So citycloud takes this lock first; holding it, any
Pulumi lock left on the stack is known to be stale and is cleared with
`pulumi cancel` (stacks.engine.recover). Two applies of the same stack never
run at once; different stacks proceed in parallel.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import time
from collections.abc import Iterator

from citycloud.stacks import errors


@contextlib.contextmanager
def hold(path: pathlib.Path, *, stack: str, wait: float = 0) -> Iterator[None]:
    """Hold the lock at `path` for the block; if another has it, wait up to `wait` seconds,
    then raise StackLocked naming the holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = (os.pread(fd, 200, 0).decode(errors="replace").strip()
                              or "unknown process")
                    raise errors.StackLocked(stack, holder=holder) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
