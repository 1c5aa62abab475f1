"""The Pulumi engine through the Automation API: workspaces, environment, and each operation.

Everything that talks to `pulumi` is here, so the rules hold in one place:
- the backend is the local file backend under the state directory (no Pulumi
  Cloud account), with its own lock files on (PULUMI_SELF_MANAGED_STATE_LOCKING);
- nothing downloads: automatic plugin acquisition is off, and the provider
  binary is put on the engine's PATH (stacks.binaries found it);
- secrets are encrypted with a generated passphrase kept in the state
  directory (0600, never printed) unless PULUMI_CONFIG_PASSPHRASE[_FILE] is set;
- programs run inline (stacks.programs), so no pulumi-language-python plugin is
  needed; the workspace directory only carries Pulumi.yaml and stack settings.

Each operation maps the Automation API's CommandError into stacks.errors,
with the engine's own error diagnostics as the detail.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pathlib
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from citycloud.stacks import binaries as binaries_
from citycloud.stacks import changes, errors, layout, programs
from citycloud.tenants import files

if TYPE_CHECKING:
    from pulumi import automation as auto

_DETAIL_LINES = 15
_LOG_ROTATION = {"PULUMI_LOG_ROTATION_MAX_TOTAL_MB": "32", "PULUMI_LOG_ROTATION_MAX_AGE_DAYS": "3"}

# When the engine stops a run (a failed preview), the inline program's last calls to it
# fail and grpc's server logs each with a traceback. The engine's own diagnostics are the
# report (stacks.errors); those tracebacks would only bury it.
_GRPC_SERVER_LOG = logging.getLogger("grpc._server")
_GRPC_SERVER_LOG.addHandler(logging.NullHandler())
_GRPC_SERVER_LOG.propagate = False


class Engine:
    """Runs Pulumi operations on citycloud's stacks for one state directory and cluster."""

    def __init__(self, state: layout.StateDir, *, cluster: programs.Cluster,
                 binaries: binaries_.Binaries | None = None) -> None:
        self.state = state
        self.cluster = cluster
        self.binaries = binaries or binaries_.find()
        self._command: auto.PulumiCommand | None = None
        self._provider: str | None = None
        self._setup_lock = threading.Lock()

    # ---- environment ---------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {
            "PULUMI_BACKEND_URL": self.state.backend_url,
            "PULUMI_SELF_MANAGED_STATE_LOCKING": "1",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            # citycloud owns these objects: after an interrupted create, the retried create
            # takes over the fields the lost one wrote (server-side apply, forced).
            "PULUMI_K8S_ENABLE_PATCH_FORCE": "true",
            "PATH": os.pathsep.join([*self.binaries.path_entries, os.environ.get("PATH", "")]),
        }
        # The CLI keeps an (encrypted) log of every call in PULUMI_HOME/logs, up to 500 MB
        # and 7 days by default: a few converges of a city reach the cap. Ours is smaller;
        # the variables themselves, where set, win.
        for name, value in _LOG_ROTATION.items():
            if name not in os.environ:
                env[name] = value
        if not ({"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(os.environ)):
            env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self._passphrase())
        return env

    def _passphrase(self) -> pathlib.Path:
        path = self.state.passphrase_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written whole, then linked into place: another process starting at the same
            # moment sees no file or the whole file, never an empty one (pulumi accepts an
            # empty passphrase and ties the stack to it for good: "incorrect passphrase").
            fd, tmp = tempfile.mkstemp(prefix=".passphrase-", dir=path.parent)
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(32) + "\n")
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        return path

    def command(self) -> auto.PulumiCommand:
        with self._setup_lock:
            if self._command is None:
                # The first use of the engine in this process, and under a lock: the SDK
                # and the programs' modules are imported here, before threads need them.
                programs.load()
                self._command = _auto().PulumiCommand(root=str(self._cli_root()),
                                                      skip_version_check=True)
            return self._command

    def dynamic_provider(self) -> str:
        """The shard resources' provider, pickled once for this run (stacks.objects): the
        SDK's pickling is neither thread-safe nor cheap to repeat."""
        self.command()  # the SDK, loaded
        with self._setup_lock:
            if self._provider is None:
                from citycloud.stacks import objects

                self._provider = objects.serialized_provider()
            return self._provider

    def _cli_root(self) -> pathlib.Path:
        """PulumiCommand wants ROOT/bin/pulumi; link the binary into that shape if needed."""
        binary = self.binaries.pulumi
        if binary.parent.name == "bin":
            return binary.parent.parent
        root = self.state.backend_dir / "cli"
        link = root / "bin" / "pulumi"
        if not (link.is_symlink() and link.resolve() == binary.resolve()):
            link.parent.mkdir(parents=True, exist_ok=True)
            tmp = link.with_name(f".pulumi-{os.getpid()}")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(binary.resolve())
            os.replace(tmp, link)
        return root

    # ---- workspaces and stacks -----------------------------------------------------------

    def _work_dir(self, ref: layout.StackRef) -> pathlib.Path:
        work_dir = self.state.work_dir(ref)
        with self._setup_lock:
            work_dir.mkdir(parents=True, exist_ok=True)
            project = ref.source_dir / "Pulumi.yaml"
            target = work_dir / "Pulumi.yaml"
            if not target.exists() or target.read_bytes() != project.read_bytes():
                files.write_atomic(target, project.read_text(encoding="utf-8"))
        return work_dir

    def stack(self, ref: layout.StackRef, program: programs.Program | None = None) -> auto.Stack:
        """Select the stack, creating it (and its workspace) on first use.

        Callers hold the stack's lock (stacks.locks), so any torn state sidecar is
        a killed run's, and is removed first (layout.StateDir.torn_sidecars).
        """
        for path in self.state.torn_sidecars(ref):
            path.unlink(missing_ok=True)
        command = self.command()  # first: it loads the SDK
        env = self.env()
        if ref.shard:
            # One checkpoint at the end of a run, not one per resource step: a killed run
            # loses the record of what it applied, which the next run applies again, and
            # server-side apply makes that the same (stacks.objects).
            env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        options = _auto().LocalWorkspaceOptions(
            work_dir=str(self._work_dir(ref)), pulumi_command=command,
            env_vars=env, secrets_provider="passphrase")
        with _mapped(ref, "could not open the stack"):
            stack: auto.Stack = _auto().create_or_select_stack(
                stack_name=ref.name, project_name=ref.project,
                program=program or _no_program, opts=options)
        return stack

    def exists(self, ref: layout.StackRef) -> bool:
        return self.state.has_stack(ref)

    # ---- operations ----------------------------------------------------------------------

    def recover(self, stack: auto.Stack, ref: layout.StackRef,
                journal: changes.Journal) -> bool:
        """Clear what an interrupted run left: stale locks, then pending operations.

        Call only while holding the stack's citycloud lock (stacks.locks): that
        is what proves the Pulumi lock stale. Pending creates are dropped from
        the state after a refresh; the next update creates them again, and
        server-side apply adopts any object the lost create did make, so
        nothing is orphaned. Returns whether anything needed clearing.
        """
        cleared = False
        if self.state.pulumi_locks(ref):
            self._wait_for_orphans(ref)
            with _mapped(ref, "could not clear the stale lock of an interrupted run"):
                stack.cancel()
            cleared = True
        with _mapped(ref, "could not read the stack's state"):
            deployment = stack.export_stack().deployment or {}
        if deployment.get("pending_operations"):
            with _mapped(ref, "refresh after an interrupted run failed", journal):
                stack.refresh(clear_pending_creates=True, on_event=journal, color="never")
            cleared = True
        return cleared

    def _wait_for_orphans(self, ref: layout.StackRef, *, timeout: float = 120) -> None:
        """Wait for a `pulumi` that outlived its killed citycloud to finish.

        Its lock file names its pid and host. It stops on its own once it notices
        its program (which ran inside the killed process) is gone; clearing its
        lock before that would let two updates write one state.
        """
        deadline = time.monotonic() + timeout
        while True:
            alive = [pid for pid in _lock_holders(self.state.pulumi_locks(ref)) if _alive(pid)]
            if not alive:
                return
            if time.monotonic() > deadline:
                raise errors.StackLocked(str(ref), holder=f"pulumi pid {alive[0]}, still running")
            time.sleep(0.5)

    def preview(self, stack: auto.Stack, ref: layout.StackRef, journal: changes.Journal, *,
                refresh: bool = False) -> None:
        with _mapped(ref, "preview failed", journal):
            stack.preview(on_event=journal, color="never", diff=False, refresh=refresh or None)

    def up(self, stack: auto.Stack, ref: layout.StackRef, journal: changes.Journal, *,
           refresh: bool = False, target: list[str] | None = None) -> None:
        """`pulumi up`; with `target` (URNs), on those resources alone: the engine keeps
        every other resource of the stack as its state has it, registered or not."""
        # After `pulumi up`, Stack.up reads the stack's outputs (two `pulumi stack output`
        # runs) and its last history entry (`pulumi stack history`) into its result, each a
        # process that loads and decrypts the state. We read neither: the journal has what
        # happened. Skipping them is a third of the processes of an update.
        setattr(stack, "outputs", dict)  # noqa: B010 (an instance attribute hides the method)
        setattr(stack, "info", _no_summary)  # noqa: B010
        with _mapped(ref, "update failed", journal):
            stack.up(on_event=journal, color="never", refresh=refresh or None, target=target)

    def release(self, stack: auto.Stack, ref: layout.StackRef,
                urns: list[str] | None = None) -> list[str]:
        """Lift protect and retain-on-delete in the stack's state (of the `urns` only, if
        given); return the URNs changed.

        Only `citycloud offboard` calls this, after its own checks: it is the one
        path by which a tenant namespace may be deleted.
        """
        with _mapped(ref, "could not read the stack's state"):
            state = stack.export_stack()
        released = []
        for resource in (state.deployment or {}).get("resources", []):
            if urns is not None and resource.get("urn") not in urns:
                continue
            if resource.get("protect") or resource.get("retainOnDelete"):
                resource["protect"] = False
                resource.pop("retainOnDelete", None)
                released.append(str(resource.get("urn", "")))
        if released:
            with _mapped(ref, "could not update the stack's state"):
                stack.import_stack(state)
        return released

    def resources(self, stack: auto.Stack, ref: layout.StackRef) -> list[dict[str, Any]]:
        with _mapped(ref, "could not read the stack's state"):
            state = stack.export_stack()
        found: list[dict[str, Any]] = (state.deployment or {}).get("resources", [])
        return found

    def destroy(self, stack: auto.Stack, ref: layout.StackRef,
                journal: changes.Journal, *, target: list[str] | None = None) -> None:
        with _mapped(ref, "destroy failed", journal):
            stack.destroy(on_event=journal, color="never", target=target)

    def remove(self, stack: auto.Stack, ref: layout.StackRef, *, force: bool = False) -> None:
        """Remove the stack's state; `force`: even where it still holds resources, which
        then stay in the cluster (a unit moved to its shard: the shard owns them now)."""
        with _mapped(ref, "could not remove the stack"):
            stack.workspace.remove_stack(ref.name, force=force or None)
        (self.state.work_dir(ref) / f"Pulumi.{ref.name}.yaml").unlink(missing_ok=True)


def _lock_holders(paths: list[pathlib.Path]) -> list[int]:
    """Pids of the local processes named in Pulumi lock files (other hosts: unknowable)."""
    pids = []
    for path in paths:
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(content, dict) and content.get("hostname") == socket.gethostname():
            pids.append(int(content.get("pid") or 0))
    return [pid for pid in pids if pid > 0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) holds nothing
        return "State:\tZ" not in pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _auto() -> Any:
    """pulumi.automation, imported on first use (programs.load says why not before)."""
    from pulumi import automation

    return automation


def _no_summary(*_: Any, **__: Any) -> str:
    return "not read"  # Stack.up asserts a summary exists; citycloud never looks at it


def _no_program() -> None:
    """For operations that never run the program (refresh, destroy, state edits)."""


@contextlib.contextmanager
def _mapped(ref: layout.StackRef, message: str,
            journal: changes.Journal | None = None) -> Iterator[None]:
    """Automation API errors -> stacks.errors, with the engine's own error lines as detail."""
    try:
        yield
    except _auto().errors.ConcurrentUpdateError as err:
        raise errors.StackLocked(str(ref), holder="a pulumi process outside citycloud") from err
    except _auto().errors.CommandError as err:
        detail = _detail(err, journal)
        dangerous = journal.dangerous if journal is not None else []
        if dangerous:
            # The engine's advice (`pulumi state unprotect`) is the one thing not to do here.
            detail = "\n".join(line for line in detail.splitlines()
                                if "unprotect" not in line and "`pulumi state" not in line)
            raise errors.NamespaceProtected(
                str(ref), sorted({step.name for step in dangerous}), detail=detail) from err
        raise errors.ApplyError(str(ref), message, detail=detail) from err


def _detail(err: auto.errors.CommandError, journal: changes.Journal | None) -> str:
    lines = [line for message in (journal.errors if journal else []) for line in
             message.splitlines() if line.strip()]
    if not lines:
        lines = [line for line in str(err).splitlines() if line.strip()]
    return "\n".join(f"  {line}" for line in lines[-_DETAIL_LINES:])
