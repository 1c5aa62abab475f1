"""The ansible boundary's exceptions: one family, mapped to exit codes by cli/exits.py.

Whatever goes wrong between citycloud and the nodes surfaces as a NodesError:
ansible-runner or ansible-playbook failing to run at all is wrapped with
`raise ... from err`, and a run in which nodes failed carries its result, so
the CLI can show which host failed at which task and why. Exit codes:
InvalidRequest means "invalid input or usage" (2); every other NodesError
means "apply failed" (3). Problems in the registry itself (a node listed
twice, a label the kubelet refuses) are tenants.RegistryError, like any other
invalid registry input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from citycloud.tenants import errors

if TYPE_CHECKING:
    from citycloud.stacks.nodes import runs


class NodesError(errors.AnsibleError):
    """Preparing nodes failed; the message says where and what to do."""


class InvalidRequest(NodesError):
    """The command cannot run as asked: an unknown node in --limit, a relative node root."""

    exit_code = errors.INVALID


class RunnerFailed(NodesError):
    """ansible-playbook stopped before any node ran (it is missing, or cannot read its input)."""


class PreparationFailed(NodesError):
    """Some nodes failed or were unreachable; `result` says which, at which task and why."""

    def __init__(self, result: runs.RunResult) -> None:
        self.result = result
        failed = [h for h in result.hosts if h.failures]
        lines = [f"{len(failed)} of {len(result.hosts)} node(s) of pool {result.pool} failed "
                 f"(artifacts: {result.artifacts})"]
        for host in failed:
            lines += [f"{host.host}: {f.task}: {f.message}" for f in host.failures]
        super().__init__("\n".join(lines))

    @property
    def details(self) -> dict[str, Any]:
        """What `--output json` prints instead of a bare message: the whole run."""
        return self.result.as_dict()
