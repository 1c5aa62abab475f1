"""What went wrong, and where: the one shape every error and finding takes.

Load errors (invalid input, exit 2) and policy findings (exit 1) are both
Diagnostics, so every report format, the CI annotations and the exporter read
one structure and print one line format:

    tenants/wh-gongan/wh-gongan-video.yaml:9 spec.quota.cpu: must be ... [invalid_quantity]

A mistyped name gets one kind of hint wherever it is caught (registry files, CLI
arguments): `did_you_mean`.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
from collections.abc import Iterable

from citycloud.tenants import errors


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclasses.dataclass(frozen=True, order=True)
class Diagnostic:
    file: str  # relative to the registry root, with forward slashes
    line: int  # 1-based; 0 when the problem concerns the file as a whole
    field: str  # dotted path inside the document, "" for the whole file
    message: str  # what is expected, not only what is wrong
    code: str  # stable identifier, e.g. "invalid_quantity" or a policy id
    severity: Severity = Severity.ERROR
    hint: str = ""  # how to fix it, when the message alone does not say
    tenant: str = ""  # the tenant it concerns, for grouping reports

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        where = f"{self.location} {self.field}:" if self.field else f"{self.location}:"
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where} {self.message}{hint} [{self.code}]"


class RegistryError(errors.InputError):
    """The registry cannot be read or is not valid; nothing may be written."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known name a mistyped one most likely meant, or None when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return close[0] if close else None


def did_you_mean(name: str, known: Iterable[str], *, otherwise: str = "") -> str:
    """The one phrasing of a suggestion for a mistyped name, "did you mean 'video'?", for
    hints and usage errors alike; `otherwise` (e.g. the names there are) when none is close."""
    close = closest_name(name, known)
    return f"did you mean {close!r}?" if close else otherwise
