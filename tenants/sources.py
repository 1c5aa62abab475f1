"""Reading registry YAML files that may be wrong, hostile or huge.

The registry is fed by pull requests from every department, so a file may be
an alias bomb, a binary blob, a symlink to /etc/shadow, or a 50 MB paste.
PyYAML's composer is recursive and expands aliases; instead we walk the
parser's event stream iteratively, refuse aliases outright, bound depth and
size, refuse duplicate keys, and record the line of every value so each error
can name file:line.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import stat
from typing import Any

import yaml
from yaml import events, nodes

from citycloud.tenants import diagnostics

MAX_FILE_BYTES = 1024 * 1024  # the largest registry file (platform.yaml of a big city) is ~100 KiB
MAX_DEPTH = 32  # the schema nests 5 deep; anything deeper is not ours
# PyYAML 6.0.4's libyaml refuses flow collections nested 1,000 deep while scanning.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"
MAX_ITEMS = 100_000  # values per file; bounds memory regardless of file size

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True)
class Source:
    """One parsed YAML document and the line where each of its values starts."""

    file: str  # relative to the registry root
    data: Any
    lines: dict[Path, int]

    def line_of(self, path: Path) -> int:
        """The line of the deepest part of `path` that exists in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


class SourceError(Exception):
    def __init__(self, diagnostic: diagnostics.Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(str(diagnostic))


def read(path: pathlib.Path, *, root: pathlib.Path) -> Source:
    """Read one registry file; raise SourceError naming the file and line on any problem."""
    rel = relative_name(path, root=root)
    return parse(_read_text(path, root=root, rel=rel), rel)


def parse(text: str, rel: str) -> Source:
    """Parse registry YAML held in memory, e.g. a file `tenant new` is about to write."""
    try:
        data, lines = _build(text, rel)
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 0
        if err.problem == _LIBYAML_TOO_DEEP:  # libyaml's own limit, met before ours (below)
            raise _error(rel, line, f"nests deeper than {MAX_DEPTH} levels", "too_deep") from None
        raise _error(rel, line, f"is not valid YAML: {err.problem}", "yaml_syntax",
                     "check indentation and quoting near that line") from None
    except yaml.YAMLError as err:
        raise _error(rel, 0, f"is not valid YAML: {err}", "yaml_syntax") from None
    return Source(rel, data, lines)


def relative_name(path: pathlib.Path, *, root: pathlib.Path) -> str:
    # String arithmetic, not PurePath.relative_to: this runs several times per tenant file.
    text, prefix = os.fspath(path), os.fspath(root).rstrip(os.sep) + os.sep
    if text.startswith(prefix):
        text = text[len(prefix):]
    return text.replace(os.sep, "/")


def _inside(real: str, root: pathlib.Path) -> bool:
    """Is the real path `real` in the registry? Resolve the root only when it has to be."""
    def within(base: str) -> bool:
        return real == base or real.startswith(base.rstrip(os.sep) + os.sep)

    return within(os.fspath(root)) or within(os.path.realpath(root))


def _read_text(path: pathlib.Path, *, root: pathlib.Path, rel: str) -> str:
    try:
        real = os.path.realpath(path, strict=True)
        mode = os.stat(real).st_mode
    except (OSError, RuntimeError):
        raise _error(rel, 0, "cannot be read (missing file or broken link)", "unreadable") from None
    if not _inside(real, root):
        raise _error(rel, 0, "is a link pointing outside the registry", "outside_registry",
                     "commit the file itself instead of a symlink") from None
    if not stat.S_ISREG(mode):  # a FIFO would block the open below forever
        raise _error(rel, 0, "is not a regular file", "unreadable")
    try:
        with open(real, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise _error(rel, 0, f"cannot be read: {err.strerror}", "unreadable") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _error(rel, 0, f"is larger than {MAX_FILE_BYTES // 1024} KiB", "file_too_large",
                     "split it, or remove what is not registry data")
    if b"\0" in raw:
        raise _error(rel, 0, "is a binary file, not YAML text", "binary_file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise _error(rel, line, "is not UTF-8 text", "not_utf8",
                     "save the file as UTF-8 (Chinese names are welcome, GBK is not)") from None


def _error(file: str, line: int, message: str, code: str, hint: str = "") -> SourceError:
    return SourceError(diagnostics.Diagnostic(file, line, "", message, code, hint=hint))


_NO_KEY = object()
_STR = "tag:yaml.org,2002:str"
_WILDCARD = tuple(_Loader.yaml_implicit_resolvers.get(None, ()))
_RESOLVERS = {first: (*resolvers, *_WILDCARD)
              for first, resolvers in _Loader.yaml_implicit_resolvers.items() if first is not None}
_RESOLVE_ALL = bool(_WILDCARD)  # else only plain scalars starting like a number, bool or null
_COLLECTION_TAGS = {"!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_SCALAR, _MAPPING_START, _SEQUENCE_START = (
    events.ScalarEvent, events.MappingStartEvent, events.SequenceStartEvent)
_MAPPING_END, _SEQUENCE_END = events.MappingEndEvent, events.SequenceEndEvent


def _build(text: str, rel: str) -> tuple[Any, dict[Path, int]]:
    """Plain data and the line of every value, from the parser's events, without recursion.

    This loop runs once per value of every registry file (it is most of what
    `citycloud validate` does), so it is written flat, with the open collection
    in locals, and plain text skips YAML's type resolution: see bench/validate.py.
    """
    loader = _Loader(text)
    get_event = loader.get_event
    lines: dict[Path, int] = {}
    stack: list[tuple[Any, Path, Any]] = []  # the enclosing collections, innermost last
    container: dict[Any, Any] | list[Any] | None = None  # the open collection; None at the root
    path: Path = ()  # where `container` is in the document
    key: Any = _NO_KEY  # the open mapping's key waiting for its value
    result: Any = None
    documents = values = 0
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is _SCALAR:
                values += 1
                if values > MAX_ITEMS or event.anchor is not None:
                    raise _refused(event, rel, values)
                value = event.value
                if event.tag is not None or (
                        event.implicit[0] and (_RESOLVE_ALL or value[:1] in _RESOLVERS)):
                    value = _scalar(loader, event, rel)
                if type(container) is dict:
                    if key is not _NO_KEY:
                        container[key] = value
                        key = _NO_KEY
                        continue
                    if value is None or not isinstance(value, str | int | bool):
                        value = str(value)
                    child = (*path, value)
                    if value in container:
                        where = ".".join(str(part) for part in child)
                        raise _error(rel, event.start_mark.line + 1, f"repeats the key {where!r} "
                                     f"(first on line {lines[child]})", "duplicate_key",
                                     "keep one of them")
                    lines[child] = event.start_mark.line + 1
                    key = value
                elif container is None:
                    lines.setdefault((), event.start_mark.line + 1)
                    result = value
                elif type(container) is list:
                    lines[(*path, len(container))] = event.start_mark.line + 1
                    container.append(value)
            elif kind is _MAPPING_START or kind is _SEQUENCE_START:
                values += 1
                line = event.start_mark.line + 1
                if values > MAX_ITEMS or event.anchor is not None:
                    raise _refused(event, rel, values)
                if len(stack) >= MAX_DEPTH:
                    raise _error(rel, line, f"nests deeper than {MAX_DEPTH} levels", "too_deep")
                if event.tag is not None and event.tag not in _COLLECTION_TAGS:
                    raise _error(rel, line, f"uses the YAML tag {event.tag[:80]!r}, which the "
                                 "registry does not allow", "yaml_value", "remove the tag")
                if container is None:
                    child = ()
                elif type(container) is list:
                    child = (*path, len(container))
                elif key is _NO_KEY:
                    raise _error(rel, line, "uses a mapping or list as a key", "complex_key")
                else:
                    child = (*path, key)
                lines.setdefault(child, line)
                stack.append((container, path, key))
                container = {} if kind is _MAPPING_START else []
                path, key = child, _NO_KEY
            elif kind is _MAPPING_END or kind is _SEQUENCE_END:
                done = container
                container, path, key = stack.pop()
                if container is None:
                    result = done
                elif type(container) is list:
                    container.append(done)
                else:
                    container[key] = done
                    key = _NO_KEY
            elif kind is events.AliasEvent:
                raise _refused(event, rel, values)
            elif kind is events.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _error(rel, event.start_mark.line + 1,
                                 "holds more than one YAML document", "multiple_documents",
                                 "keep one document per file; remove the extra '---'")
            elif event is None or kind is events.StreamEndEvent:
                break
    finally:
        loader.dispose()
    return result, lines


def _refused(event: events.Event, rel: str, values: int) -> SourceError:
    if values > MAX_ITEMS:
        return _error(rel, _line(event), f"holds more than {MAX_ITEMS} values", "too_many_values")
    return _error(rel, _line(event), "uses YAML anchors or aliases (&, *), which the registry "
                  "does not allow", "yaml_alias", "write the values out in full")


def _scalar(loader: Any, event: events.ScalarEvent, rel: str) -> Any:
    """A scalar as SafeLoader would construct it; plain text without a parse on the fast path."""
    value: str = event.value
    tag = event.tag
    if tag is None or tag == "!":
        tag = _STR
        if event.implicit[0]:
            for candidate, pattern in _RESOLVERS.get(value[:1], _WILDCARD):
                if pattern.match(value):
                    tag = candidate
                    break
    if tag == _STR:
        return value
    construct = loader.yaml_constructors.get(tag) or loader.yaml_constructors[None]
    try:
        return construct(loader, nodes.ScalarNode(tag, value, style=event.style))
    except yaml.constructor.ConstructorError as err:
        raise _error(rel, _line(event), f"has a value YAML cannot read: {err.problem}",
                     "yaml_value") from None
    except (ValueError, OverflowError):  # int() of 5,000 digits, a 13th month, ...
        kind = tag.rsplit(":", 1)[-1]
        raise _error(rel, _line(event), f"has a value that is not a valid {kind}",
                     "yaml_value", "quote it if it is meant as text") from None


def _line(event: events.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark else 0
