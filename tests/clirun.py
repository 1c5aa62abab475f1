"""The one way tests run the real CLI in-process: `clirun.invoke("-r", path, "validate")`.

Exceptions are not caught: a traceback a user would see fails the test, instead of reading
as exit 1 ("policy violations"). The `citycloud` fixture (tests/conftest.py) is this.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from typer.testing import CliRunner, Result

from citycloud.cli import app


def invoke(*args: str | os.PathLike[str], input: str | None = None,
           env: Mapping[str, str] | None = None) -> Result:
    return CliRunner().invoke(app.app, [os.fspath(a) for a in args], input=input, env=env,
                              catch_exceptions=False)
