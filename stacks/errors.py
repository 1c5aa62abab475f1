"""The stacks boundary's exceptions: one family, mapped to exit codes by cli/exits.py.

Everything that goes wrong between citycloud and the Pulumi engine surfaces as a
StackError subclass; foreign errors (the Automation API's CommandError) are wrapped
with `raise ... from err`, so the CLI never shows a traceback for them. Reading the
cluster directly (offboarding's volume check) fails with tenants.kubeapi.ClusterError,
the one Kubernetes boundary's error.
Exit codes (on the classes, tenants.errors): UsageError and PulumiMissing mean "invalid
input or usage" (2); every other StackError means "apply failed" (3): nothing, or not
everything, was changed.
"""

from __future__ import annotations

from citycloud.tenants import errors


class StackError(errors.EngineError):
    """Something between citycloud and the cluster failed; the message says what to do."""


class UsageError(StackError):
    """The command cannot run as asked (unknown tenant, tenant never onboarded, no terminal)."""

    exit_code = errors.INVALID


class PulumiMissing(UsageError):
    """The pulumi CLI or its Kubernetes provider plugin is not installed where we look."""


class StackLocked(StackError):
    """Another citycloud process is changing the same stack right now."""

    def __init__(self, stack: str, *, holder: str) -> None:
        self.stack = stack
        super().__init__(
            f"stack {stack} is being changed by another citycloud process ({holder}); "
            "wait for it to finish, then run the command again")


class ApplyError(StackError):
    """The Pulumi engine failed on a stack; `detail` is the tail of what it printed."""

    def __init__(self, stack: str, message: str, *, detail: str = "") -> None:
        self.stack = stack
        self.detail = detail
        text = f"stack {stack}: {message}"
        if detail:
            text += "\n" + detail
        super().__init__(text)


class NamespaceProtected(ApplyError):
    """The registry change would delete or replace a tenant namespace: refused, loudly."""

    def __init__(self, stack: str, namespaces: list[str], *, detail: str = "") -> None:
        self.namespaces = namespaces
        super().__init__(
            stack,
            f"this change would DELETE or REPLACE namespace(s) {', '.join(namespaces)} and every "
            "workload and volume in them; namespaces are protected, so nothing was changed. "
            "Restore the namespace in the registry, or remove the whole tenant with "
            "'citycloud offboard'",
            detail=detail)


class OffboardRefused(StackError):
    """Offboarding would destroy data (PersistentVolumeClaims) and --force was not given."""
