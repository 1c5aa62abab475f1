"""Reading `citycloud ... -o json` output: every document is the one envelope (README)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from citycloud.cli import output


def envelope(text: str) -> dict[str, Any]:
    """The whole envelope, held to its JSON Schema (and `ok` exactly when no error)."""
    document: dict[str, Any] = json.loads(text)
    jsonschema.validate(document, output.ENVELOPE_SCHEMA)
    assert document["ok"] is (document["error"] is None), document
    return document


def data(text: str) -> Any:
    """The command's report inside the envelope."""
    return envelope(text)["data"]
