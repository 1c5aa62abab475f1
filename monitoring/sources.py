"""Where the collectors' figures come from, fresh but never re-read needlessly.

`RegistrySource` re-reads the registry when a file in it changed — checked by
the files' size and mtime at most once a second — so a merged pull request
shows up at the next scrape without restarting the exporter, while a scrape of
an unchanged registry costs one directory walk, not a load. If the changed
registry does not load, the last valid Platform keeps being served and
`citycloud_up` says 0 until it is fixed.

`ClusterSource` reads the live cluster at most every `min_interval` seconds
(all collectors of one scrape, and several Prometheus replicas, share a read)
and turns every failure into state the collectors report, never an exception.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import threading
import time
from collections.abc import Callable

from citycloud import tenants
from citycloud.monitoring import cluster
from citycloud.tenants import kubeapi

log = logging.getLogger(__name__)

Signature = frozenset[tuple[str, int, int]]  # (path, mtime_ns, size) of every registry file


@dataclasses.dataclass(frozen=True)
class RegistryState:
    platform: tenants.Platform  # the last registry that loaded cleanly
    up: bool  # False: the files on disk do not load now; `platform` is older
    problems: int  # diagnostics of the failed load, 0 when up
    loaded_at: float  # Unix time `platform` was loaded
    reloads: int  # successful loads since start, the first included


class RegistrySource:
    def __init__(self, root: pathlib.Path, *, recheck: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        """Load the registry now; raise tenants.RegistryError if it is invalid at start."""
        self.root = root
        self._recheck = recheck
        self._clock = clock
        self._lock = threading.Lock()
        self._signature = signature(root)
        self._checked = clock()
        self._state = RegistryState(tenants.load(root), True, 0, self._checked, 1)

    def get(self) -> RegistryState:
        """The registry being served, as of the last `refresh`."""
        return self._state

    def refresh(self) -> RegistryState:
        """Reload if a file changed, checking at most every `recheck` seconds.

        Called once at the start of each scrape (exporter.RefreshCollector), so all
        collectors of one scrape see the same registry version.
        """
        with self._lock:
            now = self._clock()
            if now - self._checked >= self._recheck:
                self._checked = now
                current = signature(self.root)
                if current != self._signature:
                    self._signature = current
                    self._state = self._reload(now)
            return self._state

    def _reload(self, now: float) -> RegistryState:
        previous = self._state
        try:
            platform = tenants.load(self.root)
        except tenants.RegistryError as err:
            log.warning("registry %s no longer loads (%d problems); serving the last valid one",
                        self.root, len(err.diagnostics))
            return dataclasses.replace(previous, up=False, problems=len(err.diagnostics))
        except Exception:  # a loader bug must not freeze the exporter on a stale "up"
            log.exception("registry %s could not be loaded; serving the last valid one",
                          self.root)
            return dataclasses.replace(previous, up=False, problems=1)
        log.info("registry %s changed; reloaded", self.root)
        return RegistryState(platform, True, 0, now, previous.reloads + 1)


def signature(root: pathlib.Path) -> Signature:
    """Size and mtime of every file under root, hidden folders (.git, .citycloud) left out.

    os.scandir, not os.walk: this runs on every scrape, over thousands of tenant files.
    """
    found = []
    folders = [str(root)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:  # removed while we look: the next check sees the new state
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                    continue
                stat = entry.stat()  # follows symlinks: a changed target is a change
            except OSError:
                continue
            found.append((entry.path, stat.st_mtime_ns, stat.st_size))
    return frozenset(found)


@dataclasses.dataclass(frozen=True)
class ClusterState:
    configured: bool  # False: the exporter was started without a cluster to read
    up: bool  # the last read attempt succeeded
    snapshot: cluster.Snapshot | None  # that read's data when up, else None (never stale data)
    error: str  # why the last attempt failed, "" when up
    last_success: float | None  # Unix time of the last successful read
    duration: float  # seconds the last attempt took
    errors: int  # failed reads since start


NOT_CONFIGURED = ClusterState(False, False, None, "no cluster configured", None, 0.0, 0)


class ClusterSource:
    def __init__(self, reader: cluster.Reader | None, *, min_interval: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._reader = reader
        self._min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._attempted: float | None = None
        self._state = NOT_CONFIGURED

    def get(self) -> ClusterState:
        if self._reader is None:
            return NOT_CONFIGURED
        with self._lock:
            now = self._clock()
            if self._attempted is None or now - self._attempted >= self._min_interval:
                self._attempted = now
                self._state = self._read(self._reader, now)
            return self._state

    def _read(self, reader: cluster.Reader, started: float) -> ClusterState:
        previous = self._state
        timer = time.perf_counter()
        try:
            snapshot = reader()
        except Exception as err:  # an exporter that crashes on a bad cluster read is no exporter
            message = str(err) if isinstance(err, kubeapi.ClusterError) else repr(err)
            if previous.up or previous.errors == 0:
                log.warning("cluster read failed: %s", message)
            return ClusterState(True, False, None, message, previous.last_success,
                                time.perf_counter() - timer, previous.errors + 1)
        if not previous.up and previous.errors:
            log.info("cluster read works again")
        return ClusterState(True, True, snapshot, "", snapshot.read_at,
                            time.perf_counter() - timer, previous.errors)
