"""Printing reports for people (rich tables) and for machines (JSON, Markdown, GitHub).

Every report goes through here, so each format is decided once: `table` for a
terminal, `json` for scripts, `markdown` for pull-request comments, `github`
for GitHub Actions annotations.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from citycloud.tenants import diagnostics


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich would exit 1 ("policy violations"); the app ends a closed pipe quietly, with
        # the code every other write to it gets (cli/app.py).
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the reader of the output went away")


stdout = _Console(soft_wrap=True)
stderr = _Console(stderr=True, soft_wrap=True)


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    GITHUB = "github"


# Every `-o json` output, errors included, is one such envelope (README: "JSON output"):
# scripts read `ok` and `error` the same way whatever the command, and the command's own
# report under `data`.
API_VERSION = "citycloud.io/v1"
ENVELOPE_KIND = "Output"


# The envelope's JSON Schema, as README.md shows it; tests/jsonout.py holds every -o json
# output of the test suite to it.
ENVELOPE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "citycloud -o json output",
    "type": "object",
    "required": ["apiVersion", "kind", "ok", "data", "error"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": ENVELOPE_KIND},
        "ok": {"type": "boolean", "description": "true exactly when error is null"},
        "data": {"description": "the command's report; null when it failed before one"},
        "error": {
            "oneOf": [{"type": "null"}, {
                "type": "object", "required": ["message", "exitCode"],
                "additionalProperties": False,
                "properties": {"message": {"type": "string"},
                               "exitCode": {"enum": [1, 2, 3, 130]}}}]},
    },
}


def envelope(data: Any, *, error: str | None = None, exit_code: int = 0) -> dict[str, Any]:
    """The one top-level shape of JSON output: ok, data, and the error when not ok."""
    return {"apiVersion": API_VERSION, "kind": ENVELOPE_KIND, "ok": error is None,
            "data": data, "error": None if error is None else
            {"message": error, "exitCode": exit_code}}


def print_json(data: Any, *, error: str | None = None, exit_code: int = 0) -> None:
    """A report (or an error, with the exit code it ends with) as the JSON envelope."""
    print_document(envelope(data, error=error, exit_code=exit_code))


def print_document(document: Any) -> None:
    """A JSON document as it is (a JSON Schema, not a report): no envelope."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


def working(what: str) -> contextlib.AbstractContextManager[Any]:
    """A spinner on stderr saying what a long step is doing, where stderr is a terminal.

    Nothing in a pipe or a CI log: there it would be noise between the lines that matter.
    """
    if not stderr.is_terminal:
        return contextlib.nullcontext()
    return stderr.status(escape(what))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: Format) -> None:
    """One table in any format; JSON gets a list of objects keyed by column."""
    if fmt is Format.JSON:
        print_json([dict(zip(columns, row, strict=True)) for row in rows])
    elif fmt in (Format.MARKDOWN, Format.GITHUB):
        sys.stdout.write(markdown_table(title, columns, rows))
    else:
        rich_table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
        for column in columns:
            # Fold, never truncate: in an 80-column CI log "industry" must not become "ind…".
            rich_table.add_column(column, justify="right" if _numeric(rows, column, columns)
                                  else "left", overflow="fold")
        for row in rows:  # Text: a registry value is never read as rich markup
            rich_table.add_row(*(Text(str(cell)) for cell in row))
        if stdout.is_terminal:
            stdout.print(rich_table)
            return
        # A CI log or a pipe has no width (rich assumes 80): print the table at its own width.
        width = Measurement.get(stdout, stdout.options.update(max_width=1000), rich_table).maximum
        _Console(file=stdout.file, width=max(width, 80), soft_wrap=True).print(rich_table)


def markdown_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _numeric(rows: Sequence[Sequence[Any]], column: str, columns: Sequence[str]) -> bool:
    index = list(columns).index(column)
    return bool(rows) and all(isinstance(row[index], int | float) for row in rows)


def diagnostic_dict(diagnostic: diagnostics.Diagnostic) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, enum.Enum) else v
            for k, v in dataclasses.asdict(diagnostic).items()}


def report_diagnostics(found: Sequence[diagnostics.Diagnostic], fmt: Format, *,
                       title: str, summary: dict[str, Any] | None = None,
                       exit_code: int = 1) -> None:
    """Errors and findings, grouped by tenant where they concern one.

    Errors among them end the command with `exit_code` (the JSON envelope says so).
    """
    errors = sum(d.severity is diagnostics.Severity.ERROR for d in found)
    warnings = len(found) - errors
    if fmt is Format.JSON:
        print_json({"errors": errors, "warnings": warnings, **(summary or {}),
                    "diagnostics": [diagnostic_dict(d) for d in found]},
                   error=f"{title}: {errors} error(s)" if errors else None,
                   exit_code=exit_code)
        return
    if fmt is Format.GITHUB:
        for d in found:
            line = f",line={d.line}" if d.line else ""
            message = _github_escape(f"{d.field + ': ' if d.field else ''}{d.message}"
                                     + (f" ({d.hint})" if d.hint else ""))
            sys.stdout.write(f"::{d.severity} file={d.file}{line},title={d.code}::{message}\n")
        return
    if fmt is Format.MARKDOWN:
        rows = [(d.severity, d.tenant or "—", f"`{d.location}`", d.field, d.message, d.hint,
                 f"`{d.code}`") for d in found]
        verdict = "passed" if errors == 0 else "failed"
        sys.stdout.write(f"## {title}: {verdict}\n\n{errors} error(s), {warnings} warning(s)\n\n")
        if rows:
            sys.stdout.write(markdown_table(
                "Findings", ["severity", "tenant", "where", "field", "problem", "fix", "code"],
                rows))
        return
    console = stderr if errors else stdout
    for tenant in sorted({d.tenant for d in found}):
        if tenant:
            console.print(f"[bold]{escape(tenant)}[/bold]")
        for d in (d for d in found if d.tenant == tenant):
            colour = "red" if d.severity is diagnostics.Severity.ERROR else "yellow"
            console.print(f"  [{colour}]{d.severity}[/{colour}] {escape(str(d))}",
                          highlight=False)
    style = "red" if errors else "green"
    console.print(f"[{style}]{title}: {errors} error(s), {warnings} warning(s)[/{style}]")


def _github_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
