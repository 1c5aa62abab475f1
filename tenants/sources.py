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
import pathlib
from typing import Any

import yaml
from yaml import events, nodes

from tenants import diagnostics

MAX_FILE_BYTES = 1024 * 1024  # the largest registry file (platform.yaml of a big city) is ~100 KiB
MAX_DEPTH = 32  # the schema nests 5 deep; anything deeper is not ours
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
    text = _read_text(path, root=root, rel=rel)
    try:
        data, lines = _build(text, rel)
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 0
        raise _error(rel, line, f"is not valid YAML: {err.problem}", "yaml_syntax",
                     "check indentation and quoting near that line") from None
    except yaml.YAMLError as err:
        raise _error(rel, 0, f"is not valid YAML: {err}", "yaml_syntax") from None
    return Source(rel, data, lines)


def relative_name(path: pathlib.Path, *, root: pathlib.Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _read_text(path: pathlib.Path, *, root: pathlib.Path, rel: str) -> str:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise _error(rel, 0, "cannot be read (missing file or broken link)", "unreadable") from None
    if not resolved.is_relative_to(root.resolve()):
        raise _error(rel, 0, "is a link pointing outside the registry", "outside_registry",
                     "commit the file itself instead of a symlink") from None
    if not resolved.is_file():
        raise _error(rel, 0, "is not a regular file", "unreadable")
    try:
        with resolved.open("rb") as handle:
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


class _Frame:
    """A mapping or sequence under construction."""

    __slots__ = ("key", "path", "value")

    def __init__(self, value: dict[Any, Any] | list[Any], path: Path) -> None:
        self.value = value
        self.path = path
        self.key: Any = None  # a mapping's pending key; _NO_KEY while waiting for one


_NO_KEY = object()


def _build(text: str, rel: str) -> tuple[Any, dict[Path, int]]:
    loader = _Loader(text)
    lines: dict[Path, int] = {}
    stack: list[_Frame] = []
    result: Any = None
    documents = 0
    count = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, events.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _error(rel, event.start_mark.line + 1,
                                 "holds more than one YAML document", "multiple_documents",
                                 "keep one document per file; remove the extra '---'")
                continue
            if isinstance(event, events.AliasEvent | events.CollectionStartEvent | events.ScalarEvent):
                count += 1
                if count > MAX_ITEMS:
                    raise _error(rel, event.start_mark.line + 1,
                                 f"holds more than {MAX_ITEMS} values", "too_many_values")
                if getattr(event, "anchor", None) is not None or isinstance(event, events.AliasEvent):
                    raise _error(rel, event.start_mark.line + 1,
                                 "uses YAML anchors or aliases (&, *), which the registry does "
                                 "not allow", "yaml_alias", "write the values out in full")
            if isinstance(event, events.CollectionEndEvent):
                done = stack.pop()
                if not stack:
                    result = done.value
                else:
                    _place(stack[-1], done.value, done.path, rel, event)
                continue
            if isinstance(event, events.ScalarEvent):
                value = _scalar(loader, event, rel)
                if not stack:
                    lines[()] = event.start_mark.line + 1
                    result = value
                    continue
                parent = stack[-1]
                if isinstance(parent.value, dict) and parent.key is _NO_KEY:
                    _take_key(parent, value, lines, rel, event)
                    continue
                path = _child_path(parent)
                lines.setdefault(path, event.start_mark.line + 1)
                _place(parent, value, path, rel, event)
                continue
            if isinstance(event, events.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise _error(rel, event.start_mark.line + 1,
                                 f"nests deeper than {MAX_DEPTH} levels", "too_deep")
                if stack and isinstance(stack[-1].value, dict) and stack[-1].key is _NO_KEY:
                    raise _error(rel, event.start_mark.line + 1,
                                 "uses a mapping or list as a key", "complex_key")
                path = _child_path(stack[-1]) if stack else ()
                lines.setdefault(path, event.start_mark.line + 1)
                frame = _Frame({} if isinstance(event, events.MappingStartEvent) else [], path)
                frame.key = _NO_KEY
                stack.append(frame)
    finally:
        loader.dispose()
    return result, lines


def _child_path(parent: _Frame) -> Path:
    if isinstance(parent.value, dict):
        return (*parent.path, parent.key)
    return (*parent.path, len(parent.value))


def _take_key(frame: _Frame, key: Any, lines: dict[Path, int], rel: str,
              event: events.ScalarEvent) -> None:
    assert isinstance(frame.value, dict)
    if not isinstance(key, str | int | bool) or key is None:
        key = str(key)
    if key in frame.value:
        where = ".".join(str(p) for p in (*frame.path, key))
        raise _error(rel, event.start_mark.line + 1,
                     f"repeats the key {where!r} (first on line {lines[(*frame.path, key)]})",
                     "duplicate_key", "keep one of them")
    frame.key = key
    lines[(*frame.path, key)] = event.start_mark.line + 1


def _place(frame: _Frame, value: Any, path: Path, rel: str, event: events.Event) -> None:
    if isinstance(frame.value, dict):
        frame.value[frame.key] = value
        frame.key = _NO_KEY
    else:
        frame.value.append(value)


def _scalar(loader: Any, event: events.ScalarEvent, rel: str) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(nodes.ScalarNode, event.value, event.implicit)
    node = nodes.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as err:
        raise _error(rel, event.start_mark.line + 1,
                     f"has a value YAML cannot read: {err.problem}", "yaml_value") from None
