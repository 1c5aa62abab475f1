"""Where the collectors' figures come from, fresh but never re-read needlessly.

`RegistrySource` re-reads the registry when a file in it changed — checked by
the files' size and mtime at most once a second — so a merged pull request
shows up at the next scrape without restarting the exporter, while a scrape of
an unchanged registry costs one directory walk, not a load. If the changed
registry does not load, the last valid Platform keeps being served and
`citycloud_up` says 0 until it is fixed.

`ClusterSources` reads every cluster of the registry (`ClusterSource` each, in
threads of their own, at the same time), each at most every `min_interval`
seconds (all collectors of one scrape, and several Prometheus replicas, share a
read) and waits for none longer than its timeout; every failure becomes state
the collectors report, never an exception.
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
NOT_READ = ClusterState(True, False, None, "not read yet", None, 0.0, 0)


class ClusterSource:
    """One cluster, read in a thread of its own, at most every `min_interval` seconds.

    A scrape waits for a read at most `timeout` seconds after it began; a read still
    running then is served as down (`no answer within`) and left to finish on its own,
    its result kept for the next scrape. At most one read of a cluster runs at a time, so
    a hung cluster never gathers threads.
    """

    def __init__(self, reader: cluster.Reader | None, *, name: str = "",
                 min_interval: float = 5.0, timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._reader = reader
        self._what = f"cluster {name}" if name else "cluster"  # for the log
        self._min_interval = min_interval
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._attempted: float | None = None
        self._state = NOT_CONFIGURED if reader is None else NOT_READ
        self._running: threading.Event | None = None  # set when the read in flight ends
        self._began = 0.0  # time.monotonic() when the read in flight began

    def get(self) -> ClusterState:
        """Begin a read if one is due, and wait for it (at most until its timeout)."""
        self.begin()
        return self.wait()

    def begin(self) -> None:
        """Start a read in a thread of its own if one is due and none is running."""
        if self._reader is None:
            return
        with self._lock:
            now = self._clock()
            due = self._attempted is None or now - self._attempted >= self._min_interval
            if self._running is not None or not due:
                return
            self._attempted = now
            self._running = threading.Event()
            self._began = time.monotonic()
            threading.Thread(target=self._read, args=(self._reader, self._running),
                             name="citycloud-cluster-read", daemon=True).start()

    def wait(self) -> ClusterState:
        """The state once the read in flight ends, or as down when it outlives its timeout."""
        with self._lock:
            running, began = self._running, self._began
        if running is not None:
            running.wait(max(0.0, began + self._timeout - time.monotonic()))
        with self._lock:
            elapsed = time.monotonic() - self._began
            if self._running is None or elapsed < self._timeout:
                return self._state
            # The read goes on; the next scrape gets its result, or waits for it again.
            return dataclasses.replace(
                self._state, configured=True, up=False, snapshot=None, duration=elapsed,
                error=f"no answer within {self._timeout:g}s")

    def _read(self, reader: cluster.Reader, done: threading.Event) -> None:
        try:
            state = self._attempt(reader)
            with self._lock:
                self._state = state
        finally:
            with self._lock:
                self._running = None
            done.set()

    def _attempt(self, reader: cluster.Reader) -> ClusterState:
        previous = self._state  # reads of one cluster never overlap: nobody else writes it
        timer = time.perf_counter()
        try:
            snapshot = reader()
        except Exception as err:  # an exporter that crashes on a bad cluster read is no exporter
            message = str(err) if isinstance(err, kubeapi.ClusterError) else repr(err)
            if previous.up or previous.errors == 0:
                log.warning("%s read failed: %s", self._what, message)
            return ClusterState(True, False, None, message, previous.last_success,
                                time.perf_counter() - timer, previous.errors + 1)
        if not previous.up and previous.errors:
            log.info("%s read works again", self._what)
        return ClusterState(True, True, snapshot, "", snapshot.read_at,
                            time.perf_counter() - timer, previous.errors)


class ClusterSources:
    """A ClusterSource per cluster of the registry being served, all read at once.

    Every due read begins before any is waited for, so a scrape costs about what the
    slowest cluster costs, never the sum, and never more than the timeout. Sources are
    made as a reloaded registry names new clusters (or new contexts) and dropped with
    the clusters it no longer names.
    """

    def __init__(self, connect: cluster.Connect | None, *, min_interval: float = 5.0,
                 timeout: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self._connect = connect
        self._min_interval = min_interval
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: dict[tuple[str, str | None], ClusterSource] = {}

    def get(self, platform: tenants.Platform) -> dict[str, ClusterState]:
        """Each cluster's state, by name ("" for the implicit one), in the registry's order."""
        wanted = targets(platform)
        with self._lock:
            self._sources = {target: self._sources.get(target) or self._source(*target)
                             for target in wanted.items()}
            sources = {name: self._sources[(name, context)] for name, context in wanted.items()}
        for source in sources.values():
            source.begin()
        return {name: source.wait() for name, source in sources.items()}

    def _source(self, name: str, context: str | None) -> ClusterSource:
        reader = None if self._connect is None else self._connect(context)
        return ClusterSource(reader, name=name, min_interval=self._min_interval,
                             timeout=self._timeout, clock=self._clock)


def targets(platform: tenants.Platform) -> dict[str, str | None]:
    """The clusters to read, each with its kubeconfig context: a declared cluster's own, and
    None (the command line's) for the implicit cluster of pools that declare none."""
    found: dict[str, str | None] = {}
    for names in platform.pool_clusters.values():
        for name in names:
            declared = platform.clusters.get(name)
            found[name] = None if declared is None else declared.kube_context
    return found
