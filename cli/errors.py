"""The one place where domain errors become exit codes.

Exit codes (the CLI contract): 0 ok; 1 policy violations found; 2 invalid
input or usage; 3 apply failed. Commands raise their domain's exceptions; the
app's group catches them here, prints them in the chosen format and exits.
"""

from __future__ import annotations

import traceback

import policies
import stacks
import tenants
from cli import output
from cli import policies as cli_policies
from policies import network_plans
from stacks import nodes
from tenants import audit as trail
from tenants import changes

OK = 0
VIOLATIONS = 1
INVALID = 2
APPLY_FAILED = 3

# Exceptions of each boundary and the exit code they mean; stacks add theirs here.
EXIT_CODES: dict[type[Exception], int] = {
    tenants.RegistryError: INVALID,
    policies.PolicyViolations: VIOLATIONS,
    tenants.scaffold.ScaffoldError: INVALID,
    tenants.manifests.ManifestDirError: INVALID,
    network_plans.AllocationError: INVALID,
    trail.AuditError: INVALID,  # a damaged log or a refused prune
    changes.GitError: INVALID,  # unknown ref, no history, an out-of-order apply
    # Before StackError: the first match wins. PulumiMissing is a UsageError.
    stacks.errors.UsageError: INVALID,  # unknown tenant, not onboarded, no pulumi CLI
    stacks.errors.StackError: APPLY_FAILED,  # engine failed, protected namespace, locked
    nodes.InvalidRequest: INVALID,  # unknown pool or node, not confirmed
    nodes.NodesError: APPLY_FAILED,  # a node failed or was unreachable; ansible did not run
}


def handle(err: Exception, *, fmt: output.Format, debug: bool) -> int | None:
    """Print a domain error for its reader and return its exit code; None if not ours."""
    code = next((c for kind, c in EXIT_CODES.items() if isinstance(err, kind)), None)
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
