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
        self.key: Any = _NO_KEY  # a mapping's pending key

    def child_path(self) -> Path:
        if isinstance(self.value, dict):
            return (*self.path, self.key)
        return (*self.path, len(self.value))

    def wants_key(self) -> bool:
        return isinstance(self.value, dict) and self.key is _NO_KEY

    def add(self, value: Any) -> None:
        if isinstance(self.value, dict):
            self.value[self.key] = value
            self.key = _NO_KEY
        else:
            self.value.append(value)


_NO_KEY = object()


def _line(event: events.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark else 0


class _Builder:
    """Turns parser events into plain data, one event at a time, without recursion."""

    def __init__(self, loader: Any, rel: str) -> None:
        self.loader = loader
        self.rel = rel
        self.lines: dict[Path, int] = {}
        self.stack: list[_Frame] = []
        self.result: Any = None
        self.documents = 0
        self.values = 0

    def feed(self, event: events.Event) -> None:
        if isinstance(event, events.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.error(event, "holds more than one YAML document",
                                 "multiple_documents",
                                 "keep one document per file; remove the extra '---'")
        elif isinstance(event, events.AliasEvent):
            raise self.alias_error(event)
        elif isinstance(event, events.ScalarEvent):
            self.count(event)
            self.scalar(event)
        elif isinstance(event, events.CollectionStartEvent):
            self.count(event)
            self.open(event)
        elif isinstance(event, events.CollectionEndEvent):
            done = self.stack.pop()
            self.place(done.value)

    def count(self, event: events.NodeEvent) -> None:
        self.values += 1
        if self.values > MAX_ITEMS:
            raise self.error(event, f"holds more than {MAX_ITEMS} values", "too_many_values")
        if event.anchor is not None:
            raise self.alias_error(event)

    def scalar(self, event: events.ScalarEvent) -> None:
        value = _scalar(self.loader, event, self.rel)
        if self.stack and self.stack[-1].wants_key():
            self.take_key(value, event)
            return
        self.lines.setdefault(self.stack[-1].child_path() if self.stack else (), _line(event))
        self.place(value)

    def open(self, event: events.CollectionStartEvent) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self.error(event, f"nests deeper than {MAX_DEPTH} levels", "too_deep")
        if self.stack and self.stack[-1].wants_key():
            raise self.error(event, "uses a mapping or list as a key", "complex_key")
        path = self.stack[-1].child_path() if self.stack else ()
        self.lines.setdefault(path, _line(event))
        empty: dict[Any, Any] | list[Any] = (
            {} if isinstance(event, events.MappingStartEvent) else [])
        self.stack.append(_Frame(empty, path))

    def place(self, value: Any) -> None:
        if self.stack:
            self.stack[-1].add(value)
        else:
            self.result = value

    def take_key(self, key: Any, event: events.ScalarEvent) -> None:
        frame = self.stack[-1]
        if key is None or not isinstance(key, str | int | bool):
            key = str(key)
        path = (*frame.path, key)
        if key in frame.value:
            where = ".".join(str(p) for p in path)
            raise self.error(event, f"repeats the key {where!r} (first on line "
                             f"{self.lines[path]})", "duplicate_key", "keep one of them")
        frame.key = key
        self.lines[path] = _line(event)

    def alias_error(self, event: events.Event) -> SourceError:
        return self.error(event, "uses YAML anchors or aliases (&, *), which the registry "
                          "does not allow", "yaml_alias", "write the values out in full")

    def error(self, event: events.Event, message: str, code: str, hint: str = "") -> SourceError:
        return _error(self.rel, _line(event), message, code, hint)


def _build(text: str, rel: str) -> tuple[Any, dict[Path, int]]:
    loader = _Loader(text)
    builder = _Builder(loader, rel)
    try:
        while loader.check_event():
            builder.feed(loader.get_event())
    finally:
        loader.dispose()
    return builder.result, builder.lines


def _scalar(loader: Any, event: events.ScalarEvent, rel: str) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(nodes.ScalarNode, event.value, event.implicit)
    node = nodes.ScalarNode(tag, event.value, style=event.style)
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as err:
        raise _error(rel, _line(event), f"has a value YAML cannot read: {err.problem}",
                     "yaml_value") from None
