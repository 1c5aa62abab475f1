"""Options several commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from citycloud.cli import output

Output = Annotated[output.Format, typer.Option(
    "--output", "-o", help="table for people, json for scripts, markdown for PR comments, "
    "github for GitHub Actions annotations.")]
