"""Running the node playbook through ansible-runner, and keeping what it did.

Each run gets a directory of its own under STATE/ansible/<run-id>: the
inventory it used, the extra variables, ansible-runner's artifacts (stdout,
every event as JSON) and citycloud's summary.json. That is the audit record of
what was done to which machine, and `ansible-runner run <dir>` replays it.

ansible-playbook runs with the ansible.cfg shipped here and the ansible-core
installed beside citycloud: nothing is fetched from Galaxy, and a user's own
Ansible configuration does not change what node preparation does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import json
import os
import pathlib
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ansible_runner

from citycloud import tenants
from citycloud.stacks.nodes import errors, events, inventory

HERE = pathlib.Path(__file__).resolve().parent
PLAYBOOK = "playbooks/prepare.yml"  # relative to HERE, ansible-playbook's working directory
CONFIG = HERE / "ansible.cfg"


class Mode(enum.StrEnum):
    CHECK = "check"  # check mode with diff: what would change; nothing is written
    PREPARE = "prepare"  # apply


class Part(enum.StrEnum):
    """Parts of the playbook that --only can pick (the roles' tags)."""

    FACTS = "facts"
    KUBELET = "kubelet"
    BASELINE = "baseline"


@dataclasses.dataclass(frozen=True)
class RunResult:
    run_id: str
    pool: str
    mode: Mode
    status: str  # ansible-runner's: successful, failed, timeout, canceled
    rc: int
    hosts: list[events.HostProgress]
    artifacts: pathlib.Path  # the run's private data directory

    @property
    def ok(self) -> bool:
        return self.status == "successful" and not any(h.failures for h in self.hosts)

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "runId": self.run_id, "pool": self.pool, "mode": self.mode.value,
                "status": self.status, "rc": self.rc, "artifacts": str(self.artifacts),
                "hosts": [h.as_dict() for h in self.hosts]}


ProgressHandler = Callable[[events.Progress], None]


def run(nodes: Mapping[str, Any], *, pool: str, mode: Mode, state_dir: pathlib.Path,
        node_root: pathlib.Path = pathlib.Path("/"), only: Sequence[Part] = (),
        on_progress: ProgressHandler | None = None) -> RunResult:
    """Run the playbook on the inventory `nodes`; return per-host results, failed ones too.

    Raises RunnerFailed only when ansible-playbook could not run at all; a run
    in which nodes failed returns them (see RunResult.ok).
    """
    if not node_root.is_absolute():
        raise errors.InvalidRequest(f"--node-root {node_root}: must be an absolute path")
    run_id = new_run_id(pool, mode)
    private = state_dir.absolute() / "ansible" / run_id
    private.mkdir(parents=True)
    progress = events.Progress(inventory.hosts_of(dict(nodes)))

    def on_event(event: dict[str, Any]) -> bool:
        if progress.feed(event) and on_progress is not None:
            on_progress(progress)
        return True  # keep every event in the artifacts

    cmdline = ["--diff"] + (["--check"] if mode is Mode.CHECK else [])
    if only:
        cmdline.append("--tags=" + ",".join(part.value for part in only))
    with _interruptible() as interrupted:
        try:
            runner = ansible_runner.run(
                private_data_dir=str(private), ident=run_id, project_dir=str(HERE),
                playbook=PLAYBOOK, inventory=dict(nodes),
                extravars={"node_root": str(node_root)}, envvars=_environment(),
                cmdline=" ".join(cmdline), event_handler=on_event, quiet=True,
                cancel_callback=lambda: bool(interrupted),
            )
        except Exception as err:  # ansible-runner raises bare exceptions for its own setup
            raise errors.RunnerFailed(f"ansible-runner could not start: {err}") from err
    if interrupted:  # Ctrl-C: the runner stopped ansible-playbook; the CLI says "interrupted"
        raise KeyboardInterrupt
    result = RunResult(run_id=run_id, pool=pool, mode=mode, status=str(runner.status),
                       rc=int(runner.rc if runner.rc is not None else -1),
                       hosts=progress.results(), artifacts=private)
    (private / "summary.json").write_text(json.dumps(result.as_dict(), indent=2,
                                                     ensure_ascii=False) + "\n")
    if not progress.finished:
        raise errors.RunnerFailed(
            f"ansible-playbook stopped before the nodes ran (status {runner.status}, "
            f"rc {runner.rc}): {_tail(private / 'artifacts' / run_id / 'stdout')}\n"
            f"artifacts: {private}")
    return result


@contextlib.contextmanager
def _interruptible() -> Iterator[list[int]]:
    """Ctrl-C during a run: note it (the list is non-empty) instead of raising mid-run.

    A KeyboardInterrupt inside ansible-runner's read loop would leave ansible-playbook
    running or be reported as a failed run; noted here, the runner's cancel callback
    stops ansible-playbook and the run raises KeyboardInterrupt once it has returned.
    """
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted  # signal handlers belong to the main thread
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


def run_pool(platform: tenants.Platform, pool: str, *, mode: Mode, state_dir: pathlib.Path,
             limit: Sequence[str] = (), node_root: pathlib.Path = pathlib.Path("/"),
             only: Sequence[Part] = (), on_progress: ProgressHandler | None = None,
             cluster: str | None = None) -> RunResult:
    """Check or prepare the nodes of one pool of the registry (all, those of one of its
    clusters, or those in `limit`)."""
    nodes = inventory.build(platform, pool, limit=limit, cluster=cluster)
    return run(nodes, pool=pool, mode=mode, state_dir=state_dir, node_root=node_root, only=only,
               on_progress=on_progress)


def new_run_id(pool: str, mode: Mode) -> str:
    """Sortable by time, readable, and unique even for runs started in the same second."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{mode.value}-{pool}-{secrets.token_hex(3)}"


def _environment() -> dict[str, str]:
    return {
        "ANSIBLE_CONFIG": str(CONFIG),
        "ANSIBLE_ROLES_PATH": str(HERE / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        # ansible-playbook must find the Python it was installed into, not a shim's choice.
        "PATH": os.pathsep.join([str(pathlib.Path(sys.executable).parent),
                                 os.environ.get("PATH", "")]),
    }


def _tail(path: pathlib.Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"
