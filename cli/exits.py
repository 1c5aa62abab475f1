"""The one place where domain errors become exit codes.

Exit codes (the CLI contract): 0 ok; 1 policy violations found; 2 invalid
input or usage; 3 apply failed. Commands raise their domain's exceptions, one
family (tenants.errors) with the exit code on each class; the app's group
catches them here, prints them in the chosen format and exits.
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
from citycloud.tenants import errors

OK = errors.OK
VIOLATIONS = errors.VIOLATIONS
INVALID = errors.INVALID
APPLY_FAILED = errors.APPLY_FAILED
INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
CLOSED_PIPE = 141  # 128 + SIGPIPE: the reader went away (`citycloud plan --diff | head`)

NO_ANSWER = ("no answer to the confirmation (no terminal, or the input ended): pass --yes "
             "to go ahead without asking")

# A path given to a command that cannot be read or written (a file where a folder should be,
# a folder where a file should be, no permission) is bad input, said in one line. Not every
# OSError: a refused connection is no mistake in the input.
PATH_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError)


def exit_code(err: BaseException) -> int | None:
    """The exit code of one of our errors (tenants.errors) or of a bad path; None otherwise."""
    if isinstance(err, errors.CitycloudError):
        return err.exit_code
    if isinstance(err, PATH_ERRORS):
        return INVALID
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
