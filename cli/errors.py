"""The one place where domain errors become exit codes.

Exit codes (the CLI contract): 0 ok; 1 policy violations found; 2 invalid
input or usage; 3 apply failed. Commands raise their domain's exceptions; the
app's group catches them here, prints them in the chosen format and exits.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer
from typer import rich_utils

from citycloud import policies, tenants
from citycloud.cli import output
from citycloud.cli import policies as cli_policies

OK = 0
VIOLATIONS = 1
INVALID = 2
APPLY_FAILED = 3
INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
CLOSED_PIPE = 141  # 128 + SIGPIPE: the reader went away (`citycloud plan --diff | head`)

NO_ANSWER = ("no answer to the confirmation (no terminal, or the input ended): pass --yes "
             "to go ahead without asking")

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
    # unknown ref, no history, an out-of-order apply
    "citycloud.tenants.changes:GitError": INVALID,
    "citycloud.cli.extras:MissingExtra": INVALID,  # pip install 'citycloud[<extra>]'
    "citycloud.tenants.files:WriteError": INVALID,  # full disk, read-only, a file in the way
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
        output.report_diagnostics(err.diagnostics, fmt, title="registry is invalid",
                                  exit_code=code)
    elif isinstance(err, policies.PolicyViolations):
        cli_policies.print_report(err.report, fmt, title="policy violations")
    elif fmt is output.Format.JSON:
        # An error may carry what it is about (a failed run: every node's result).
        output.print_json(getattr(err, "details", None), error=message(err), exit_code=code)
    else:
        output.stderr.print(f"error: {message(err)}", markup=False, highlight=False,
                            style="red")
    return code


def message(err: BaseException) -> str:
    """What went wrong, in words; an OS error names its path without Python's errno prefix."""
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    return str(err)


def wants_json(argv: list[str]) -> bool:
    """Whether the command line asked for -o json, read from the words themselves: an
    error in parsing them comes before any option has a value."""
    pairs = zip(argv, [*argv[1:], ""], strict=True)
    return any((word in ("-o", "--output") and after == "json")
               or word in ("-ojson", "--output=json") for word, after in pairs)


def report(text: str, *, argv: list[str], code: int) -> int:
    """Say `text` once, as JSON when -o json was asked for, and return `code`."""
    if wants_json(argv):
        output.print_json(None, error=text, exit_code=code)
    else:
        output.stderr.print(f"error: {text}", markup=False, highlight=False, style="red")
    return code


def usage(err: typer.TyperException, *, argv: list[str]) -> int:
    """A usage error (unknown option, bad value, missing argument): exit 2, in the format asked."""
    code = getattr(err, "exit_code", INVALID) or INVALID
    if not wants_json(argv):
        # typer's own: usage line, hint, the problem. What reaches here is a ClickException
        # (typer vendors click privately, in typer._click), which its printer is typed for.
        rich_utils.rich_format_error(err)  # type: ignore[arg-type]
        return int(code)
    return report(err.format_message(), argv=argv, code=int(code))


def closed_pipe() -> int:
    """The reader of our output went away: stop quietly, and let nothing flush into it again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter flushes stdout once more at exit
    return CLOSED_PIPE
