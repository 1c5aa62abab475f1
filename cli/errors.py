"""The one place where domain errors become exit codes.

Exit codes (the CLI contract): 0 ok; 1 policy violations found; 2 invalid
input or usage; 3 apply failed. Commands raise their domain's exceptions; the
app's group catches them here, prints them in the chosen format and exits.
"""

from __future__ import annotations

import sys
import traceback

from citycloud import policies, tenants
from citycloud.cli import output
from citycloud.cli import policies as cli_policies

OK = 0
VIOLATIONS = 1
INVALID = 2
APPLY_FAILED = 3

# Exceptions of each boundary and the exit code they mean; the first match wins. Named as
# "module:Class" so that this table imports nothing: mapping the errors of `citycloud validate`
# must not load pulumi or kubernetes, and a class whose module was never imported cannot have
# been raised. tests/cli checks that every name resolves.
EXIT_CODES: dict[str, int] = {
    "citycloud.tenants.diagnostics:RegistryError": INVALID,
    "citycloud.policies.engine:PolicyViolations": VIOLATIONS,
    "citycloud.tenants.scaffold:ScaffoldError": INVALID,
    "citycloud.tenants.manifests:ManifestDirError": INVALID,
    "citycloud.policies.network_plans:AllocationError": INVALID,
    "citycloud.tenants.audit:AuditError": INVALID,  # a damaged log or a refused prune
    "citycloud.tenants.changes:GitError": INVALID,  # unknown ref, no history, an out-of-order apply
    # Before StackError: the first match wins. PulumiMissing is a UsageError.
    # unknown tenant, not onboarded, no pulumi CLI
    "citycloud.stacks.errors:UsageError": INVALID,
    # engine failed, protected namespace, locked
    "citycloud.stacks.errors:StackError": APPLY_FAILED,
    "citycloud.stacks.nodes:InvalidRequest": INVALID,  # unknown pool or node, not confirmed
    "citycloud.stacks.nodes:NodesError": APPLY_FAILED,  # a node failed or was unreachable
    # Last: a path given to a command that cannot be read or written (a file where a folder
    # should be, a folder where a file should be, no permission) is bad input, said in one
    # line. Not every OSError: a refused connection is no mistake in the input.
    "builtins:FileNotFoundError": INVALID,
    "builtins:FileExistsError": INVALID,
    "builtins:NotADirectoryError": INVALID,
    "builtins:IsADirectoryError": INVALID,
    "builtins:PermissionError": INVALID,
}


def exit_code(err: BaseException) -> int | None:
    """The exit code EXIT_CODES gives `err`, None when it is not a domain error."""
    for name, code in EXIT_CODES.items():
        module_name, _, class_name = name.partition(":")
        module = sys.modules.get(module_name)
        if module is not None and isinstance(err, getattr(module, class_name)):
            return code
    return None


def handle(err: Exception, *, fmt: output.Format, debug: bool) -> int | None:
    """Print a domain error for its reader and return its exit code; None if not ours."""
    code = exit_code(err)
    if code is None:
        return None
    if debug:
        output.stderr.print(traceback.format_exc(), markup=False, highlight=False)
    if isinstance(err, tenants.RegistryError):
        output.report_diagnostics(err.diagnostics, fmt, title="registry is invalid")
    elif isinstance(err, policies.PolicyViolations):
        cli_policies.print_report(err.report, fmt, title="policy violations")
    elif fmt is output.Format.JSON:
        # An error may carry what it is about (a failed run: every node's result).
        output.print_json({"ok": False, "error": str(err), **getattr(err, "details", {})})
    else:
        output.stderr.print(f"error: {err}", markup=False, highlight=False, style="red")
    return code
