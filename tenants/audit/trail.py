"""The audit trail: an append-only, hash-chained log of every mutating command.

Guiyang's "data iron cage" asks that every use of power be recorded, traceable
and checkable; MLPS level 3 asks that privileged operations be audited; the
Cybersecurity Law (art. 21) asks that network logs be kept no less than six
months. So every command that changes something appends one record: who (OS
user, $CITYCLOUD_ACTOR, git author), what (command, arguments, target), when
(UTC), which commit, the plan summary and the result.

Files in the state directory:

    audit.jsonl  one record per line, canonical JSON, each with `prev` (the hash
                 of the record before) and `hash` (sha256 of the record itself)
    audit.head   seq and hash of the last record: without it, cutting records
                 off the end of a chain would leave a valid, shorter chain
    audit.key    HMAC key (mode 0600; $CITYCLOUD_AUDIT_KEY_FILE to keep it apart)
    audit.lock   held (flock) by every writer, shared by readers

Why sign with a key, not only hash: anyone who can write the log can edit a
record and recompute every hash after it, and a pruning checkpoint that only
carried a hash could be written by anyone to hide recent records. Records,
checkpoints and the head therefore carry an HMAC: rewriting the history needs
the key, which can live apart from the log. Against someone who holds the key
too, `verify --expect HASH` checks the chain against a hash kept elsewhere
(e.g. printed in a CI log by an earlier verify). Checking and pruning the
chain is in tenants.audit.chain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import hmac
import json
import os
import pathlib
import pwd
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from citycloud.tenants import errors, files

LOG_FILE = "audit.jsonl"
HEAD_FILE = "audit.head"
KEY_FILE = "audit.key"
LOCK_FILE = "audit.lock"
KEY_ENV = "CITYCLOUD_AUDIT_KEY_FILE"
ACTOR_ENV = "CITYCLOUD_ACTOR"

RETENTION_DAYS = 180  # Cybersecurity Law art. 21: network logs kept no less than six months
GENESIS = "0" * 64  # `prev` of the first record ever written
MAX_RECORD_BYTES = 64 * 1024  # a record is a summary, not a plan; bounds every read

Entry = dict[str, Any]


class AuditError(errors.InputError):
    """The audit log cannot be written or pruned; the command must not go on."""


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def timestamp(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)


def canonical(data: Mapping[str, Any]) -> bytes:
    """The one byte form of a record that hashes are taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def digest(entry: Mapping[str, Any]) -> str:
    """sha256 of an entry without its own hash and signature."""
    return hashlib.sha256(canonical(
        {k: v for k, v in entry.items() if k not in ("hash", "mac")})).hexdigest()


def sign(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("ascii"), hashlib.sha256).hexdigest()


def signed(key: bytes, value: str, mac: object) -> bool:
    return isinstance(mac, str) and hmac.compare_digest(sign(key, value), mac)


def who(*, git_author: str | None = None) -> dict[str, str | None]:
    """Who acts: the OS account (from the real uid, not $USER, which anyone can set), the
    actor CI names in $CITYCLOUD_ACTOR (the pull request's author), and the git author."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = f"uid {os.getuid()}"
    return {"user": user, "actor": os.environ.get(ACTOR_ENV) or None, "git": git_author}


def plain(value: Any) -> Any:
    """Arguments and summaries as JSON values (paths and enums become strings)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


@dataclasses.dataclass(frozen=True)
class Head:
    seq: int
    hash: str


# ---- files --------------------------------------------------------------------


def log_path(state_dir: pathlib.Path) -> pathlib.Path:
    return state_dir / LOG_FILE


def key_path(state_dir: pathlib.Path) -> pathlib.Path:
    override = os.environ.get(KEY_ENV)
    return pathlib.Path(override) if override else state_dir / KEY_FILE


def read_key(state_dir: pathlib.Path) -> bytes | None:
    try:
        text = key_path(state_dir).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise AuditError(f"cannot read the audit key {key_path(state_dir)}: {err}") from None
    return bytes.fromhex(text) if _is_hex(text) else text.encode("utf-8")


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def _new_key(state_dir: pathlib.Path) -> bytes:
    path = key_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # Written whole beside it, then linked into place: a full disk must not leave an empty
    # key that later records would be signed with; the link, unlike a rename, never
    # replaces a key another process made meanwhile (FileExistsError).
    handle, staged = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # 0600
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(key.hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(staged, path)
    finally:
        os.unlink(staged)
    return key


def read_head(state_dir: pathlib.Path, *, key: bytes | None) -> tuple[Head | None, bool]:
    """The head file and whether its signature holds (True when there is no key to check)."""
    try:
        data = json.loads((state_dir / HEAD_FILE).read_text(encoding="utf-8"))
        head = Head(int(data["seq"]), str(data["hash"]))
    except FileNotFoundError:
        return None, True
    except (OSError, ValueError, KeyError, TypeError):
        return Head(0, ""), False
    return head, key is None or signed(key, f"{head.seq}:{head.hash}", data.get("mac"))


def _write_head(state_dir: pathlib.Path, head: Head, *, key: bytes) -> None:
    data = {"seq": head.seq, "hash": head.hash, "mac": sign(key, f"{head.seq}:{head.hash}")}
    files.write_atomic(state_dir / HEAD_FILE, canonical(data) + b"\n")


@contextlib.contextmanager
def locked(state_dir: pathlib.Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the audit lock: exclusive for writers, shared for readers wanting a steady view.

    Readers create nothing: an auditor may read a log (and its lock) without write access,
    and a log that was never written has no lock to take."""
    if shared:
        try:
            fd = os.open(state_dir / LOCK_FILE, os.O_RDONLY)
        except OSError:
            yield
            return
    else:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lines(state_dir: pathlib.Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, complete) of every line; a last line without newline is torn."""
    try:
        handle = log_path(state_dir).open("rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            complete = raw.endswith(b"\n")
            yield number, raw.rstrip(b"\n"), complete


def parse(raw: bytes) -> Entry | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read(state_dir: pathlib.Path) -> list[Entry]:
    """Every entry that parses (checkpoint first, if any), to show; audit_chain.verify to trust."""
    with locked(state_dir, shared=True):
        return [e for _, raw, _ in lines(state_dir) if (e := parse(raw)) is not None]


# ---- appending ----------------------------------------------------------------


def record(state_dir: pathlib.Path, *, action: str, target: str = "",
           args: Mapping[str, Any] | None = None, commit: str | None = None,
           summary: Any = None, result: str = "ok", git_author: str | None = None,
           now: datetime.datetime | None = None) -> Entry:
    """Append one record for a command that changed something; return it as written."""
    entry = record_entry(action=action, target=target, args=args, commit=commit,
                         summary=summary, result=result, git_author=git_author, now=now)
    with locked(state_dir):
        return append_locked(state_dir, entry)


def record_entry(*, action: str, target: str = "", args: Mapping[str, Any] | None = None,
                 commit: str | None = None, summary: Any = None, result: str = "ok",
                 git_author: str | None = None, now: datetime.datetime | None = None) -> Entry:
    """A record's content before it is linked into the chain."""
    return {
        "kind": "record", "time": timestamp(now or now_utc()), "who": who(git_author=git_author),
        "action": action, "target": target, "args": plain(dict(args or {})), "commit": commit,
        "summary": plain(summary), "result": result,
    }


def check_writable(state_dir: pathlib.Path) -> None:
    """Raise now if a record could not be appended, before any change is made: AuditError
    for a damaged log, OSError for a state directory that cannot be written (the first
    record's key is made here, so a full or read-only disk shows before the change)."""
    with locked(state_dir):
        key = read_key(state_dir)
        _tail(state_dir, key=key, repair=False)
        if key is None:
            _new_key(state_dir)


def append_locked(state_dir: pathlib.Path, entry: Entry) -> Entry:
    """Link an entry to the last record, hash, sign, write it as one whole line.

    The caller holds `locked(state_dir)`."""
    key = read_key(state_dir)
    last = _tail(state_dir, key=key, repair=True)
    if key is None:
        key = _new_key(state_dir)
    entry = {"seq": last.seq + 1, **entry, "prev": last.hash}
    line = _sealed(entry, key=key)
    if len(line) > MAX_RECORD_BYTES:
        # The change is made by now: record it with less detail rather than not at all.
        entry.update(args={"omitted": "too large"}, summary={"omitted": f"{len(line)} bytes"})
        line = _sealed(entry, key=key)
    # One write() on an O_APPEND descriptor, under the lock, then fsync: a crash can at
    # worst leave a torn last line, which _tail recognises and removes before the next one.
    fd = os.open(log_path(state_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise AuditError(f"short write to {log_path(state_dir)} (disk full?)")
        os.fsync(fd)
    finally:
        os.close(fd)
    _write_head(state_dir, Head(entry["seq"], entry["hash"]), key=key)
    return entry


def _sealed(entry: Entry, *, key: bytes) -> bytes:
    entry.pop("hash", None)
    entry.pop("mac", None)
    entry["hash"] = digest(entry)
    entry["mac"] = sign(key, entry["hash"])
    return canonical(entry) + b"\n"


def _tail(state_dir: pathlib.Path, *, key: bytes | None, repair: bool) -> Head:
    """The last record, checked against the head file; refuse a log that was cut or replaced."""
    path = log_path(state_dir)
    head, head_ok = read_head(state_dir, key=key)
    size = path.stat().st_size if path.exists() else 0
    if size and key is None:
        raise _damaged(f"{key_path(state_dir)} is missing but {path} holds records; restore "
                       "the key (records cannot be signed or checked without it)")
    if not head_ok:
        raise _damaged(f"the signature of {HEAD_FILE} does not hold")
    raw, torn_at = _last_line(path, size) if size else (b"", None)
    entry = parse(raw) if raw else None
    last = _position(entry, key=key, where=path) if raw else Head(0, GENESIS)
    expected = head or Head(0, GENESIS)
    if torn_at is not None:
        # A crash while writing the next record leaves a torn line after a record the
        # head already names; anything else cut off mid-line was cut by someone.
        if last != expected or not repair:
            raise _damaged(f"the last line of {path} is cut off")
        os.truncate(path, torn_at)
        return last
    if last == expected:
        return last
    # The head is written after the line: a crash between the two leaves it one behind.
    if entry is not None and last.seq == expected.seq + 1 and entry.get("prev") == expected.hash:
        return last
    raise _damaged(f"{path} ends at record {last.seq} but {HEAD_FILE} says record "
                   f"{expected.seq}")


def _position(entry: Entry | None, *, key: bytes | None, where: pathlib.Path) -> Head:
    """Where the chain stands after an entry: a record's own seq and hash, or, for a
    checkpoint, those of the last record it stands in for."""
    if entry is None or key is None or entry.get("hash") != digest(entry) \
            or not signed(key, str(entry.get("hash")), entry.get("mac")):
        raise _damaged(f"the last record of {where} is not a record citycloud wrote")
    if entry.get("kind") == "checkpoint":
        seq, hash_ = entry.get("pruned_through"), entry.get("last_hash")
    else:
        seq, hash_ = entry.get("seq"), entry.get("hash")
    if not isinstance(seq, int) or not isinstance(hash_, str):
        raise _damaged(f"the last record of {where} has no sequence number")
    return Head(seq, hash_)


def _last_line(path: pathlib.Path, size: int) -> tuple[bytes, int | None]:
    """The last complete line, and where a torn line after it starts (None if not torn)."""
    with path.open("rb") as handle:
        start = max(0, size - 2 * MAX_RECORD_BYTES)
        handle.seek(start)
        chunk = handle.read()
    torn_at = None
    if not chunk.endswith(b"\n"):
        cut = chunk.rfind(b"\n")
        torn_at = start + cut + 1
        chunk = chunk[: cut + 1]
        if not chunk:
            return b"", torn_at
    body = chunk[:-1]
    return body[body.rfind(b"\n") + 1:], torn_at


def _damaged(detail: str) -> AuditError:
    return AuditError(f"the audit log is damaged, so nothing more is done until it is "
                      f"looked into: {detail}; run 'citycloud audit verify'")
