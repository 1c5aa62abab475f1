"""Checking the audit chain, and shortening it after six months without breaking it.

`verify` reads the whole log and says, record by record, what was done to it:
edited (content no longer matches its hash, or re-hashed without the key),
removed (a sequence number is gone), reordered (a record stands after a later
one), truncated (records cut off the end, or a line cut mid-record; the signed
head file still names the last record written). Findings are Diagnostics, so
they print as `STATE/audit.jsonl:LINE record N: ... [code]` like every other
finding, and `citycloud audit verify` exits 1 on any of them.

`prune` drops records older than the retention period (never less than 180
days) and puts a checkpoint in their place: the first line then carries the
hash of the last pruned record, so the next record's `prev` still links, and
an HMAC, so nobody without the key can write a checkpoint that hides records.
"""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
from typing import Any

from citycloud.tenants import diagnostics, files
from citycloud.tenants.audit import trail

Diagnostic = diagnostics.Diagnostic
Entry = trail.Entry


@dataclasses.dataclass(frozen=True)
class Verification:
    log: str
    records: int  # records in the log, the checkpoint not counted
    first: int  # seq of the first record kept (after any checkpoint)
    last: trail.Head | None  # the last record: give its hash to `verify --expect` later
    checkpoint: Entry | None
    problems: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(p.severity is diagnostics.Severity.ERROR for p in self.problems)


@dataclasses.dataclass(frozen=True)
class Pruned:
    count: int  # records pruned now
    through: int  # seq of the last record pruned so far (0: none ever)
    record: Entry  # the record of this prune, appended to the log


def verify(state_dir: pathlib.Path, *, expect: str | None = None) -> Verification:
    """Check every record of the log; name each problem by record number and line."""
    with trail.locked(state_dir, shared=True):
        return _verify(state_dir, expect=expect)


def prune(state_dir: pathlib.Path, *, older_than_days: int,
          now: datetime.datetime | None = None, git_author: str | None = None) -> Pruned:
    """Replace records older than `older_than_days` by a signed checkpoint; record the prune."""
    if older_than_days < trail.RETENTION_DAYS:
        raise trail.AuditError(
            f"refusing to prune records younger than {trail.RETENTION_DAYS} days "
            f"(asked: {older_than_days}): the Cybersecurity Law, art. 21, requires network "
            "logs be kept no less than six months")
    now = now or trail.now_utc()
    cutoff = now - datetime.timedelta(days=older_than_days)
    with trail.locked(state_dir):
        checked = _verify(state_dir, expect=None)
        if not checked.ok:
            raise trail.AuditError(
                f"the audit log does not verify ({len(checked.problems)} problem(s)); prune "
                "refuses to sign over it: run 'citycloud audit verify'")
        kept: list[bytes] = []
        old: list[Entry] = []
        for _, raw, _ in trail.lines(state_dir):
            entry = trail.parse(raw)
            assert entry is not None  # the log verified
            if entry.get("kind") == "checkpoint":
                continue
            if not kept and trail.parse_time(entry["time"]) < cutoff:
                old.append(entry)
            else:
                kept.append(raw)
        if old:
            key = trail.read_key(state_dir)
            assert key is not None  # the log verified, with records, so the key is there
            checkpoint = _checkpoint(checked.checkpoint, old, now=now,
                                     retention_days=older_than_days, key=key)
            files.write_atomic(trail.log_path(state_dir),
                               b"".join(line + b"\n" for line in [trail.canonical(checkpoint),
                                                                  *kept]))
            through = checkpoint["pruned_through"]
        else:
            through = int(checked.checkpoint["pruned_through"]) if checked.checkpoint else 0
        entry = trail.record_entry(
            action="audit prune", target=trail.LOG_FILE,
            args={"older_than_days": older_than_days}, commit=None,
            summary={"pruned": len(old), "through": through, "before": trail.timestamp(cutoff)},
            result="ok", git_author=git_author, now=now)
        return Pruned(len(old), through, trail.append_locked(state_dir, entry))


def _checkpoint(previous: Entry | None, old: list[Entry], *, now: datetime.datetime,
                retention_days: int, key: bytes) -> Entry:
    checkpoint: Entry = {
        "kind": "checkpoint",
        "time": trail.timestamp(now),  # when pruned
        "pruned_through": old[-1]["seq"],
        "pruned_count": (previous or {}).get("pruned_count", 0) + len(old),
        "oldest": (previous or {}).get("oldest", old[0]["time"]),
        "newest": old[-1]["time"],
        "retention_days": retention_days,
        "last_hash": old[-1]["hash"],
    }
    checkpoint["hash"] = trail.digest(checkpoint)
    checkpoint["mac"] = trail.sign(key, checkpoint["hash"])
    return checkpoint


# ---- verification -------------------------------------------------------------


class _Report:
    def __init__(self, log: str) -> None:
        self.log = log
        self.problems: list[Diagnostic] = []
        self.flagged: set[int] = set()  # records already reported as edited

    def add(self, line: int, seq: int | None, message: str, code: str, hint: str = "",
            severity: diagnostics.Severity = diagnostics.Severity.ERROR) -> None:
        field = f"record {seq}" if seq is not None else ""
        self.problems.append(Diagnostic(self.log, line, field, message, code, severity, hint))


def _verify(state_dir: pathlib.Path, *, expect: str | None) -> Verification:
    path = trail.log_path(state_dir)
    report = _Report(str(path))
    key = trail.read_key(state_dir)
    head, head_ok = trail.read_head(state_dir, key=key)
    entries: list[tuple[int, Entry]] = []
    unreadable: list[int] = []  # lines that are not JSON records
    torn = 0  # the last line, when it has no newline: cut off mid-record
    for number, raw, complete in trail.lines(state_dir):
        entry = trail.parse(raw)
        if not complete:
            torn = number
        elif entry is None:
            unreadable.append(number)
            report.add(number, None, "is not a JSON record: the log was edited or corrupted",
                       "audit_edited")
        else:
            entries.append((number, entry))
    if key is None and (entries or head is not None):
        report.add(0, None, f"{trail.key_path(state_dir)} is missing, so signatures cannot "
                   "be checked", "audit_key_missing", hint="restore the key from backup")
    checkpoint, start, genesis = _check_checkpoint(entries, report, key=key)
    records = [(line, e) for line, e in entries if e.get("kind") != "checkpoint"]
    by_seq = _check_records(records, report, key=key)
    _check_order(records, by_seq, report, start=start, unreadable=unreadable)
    _check_links(by_seq, report, start=start, genesis=genesis)
    last = _check_head(by_seq, report, head=head, head_ok=head_ok, key=key,
                       checkpoint=checkpoint, torn=torn)
    if expect is not None:
        known = {e.get("hash") for _, e in records}
        if checkpoint:
            known.add(checkpoint.get("last_hash"))
        if expect not in known:
            report.add(0, None, f"no record has the expected hash {expect}: the log was "
                       "rewritten since it was taken (or that record was pruned)",
                       "audit_anchor")
    return Verification(report.log, len(records), start, last, checkpoint,
                        sorted(report.problems, key=lambda d: (d.line, d.code)))


def _check_checkpoint(entries: list[tuple[int, Entry]], report: _Report, *,
                      key: bytes | None) -> tuple[Entry | None, int, str]:
    """The checkpoint, if any, and where the chain then starts: first seq, expected prev."""
    for line, entry in entries[1:]:
        if entry.get("kind") == "checkpoint":
            report.add(line, None, "is a checkpoint but not the first line: the log was edited",
                       "audit_reordered")
    if not entries or entries[0][1].get("kind") != "checkpoint":
        return None, 1, trail.GENESIS
    line, checkpoint = entries[0]
    if checkpoint.get("hash") != trail.digest(checkpoint) or (
            key is not None and not trail.signed(key, str(checkpoint.get("hash")),
                                                 checkpoint.get("mac"))):
        report.add(line, None, "is a checkpoint citycloud did not write (its hash or signature "
                   "does not hold): records were removed and hidden behind it",
                   "audit_forged_checkpoint")
    through, last_hash = checkpoint.get("pruned_through"), checkpoint.get("last_hash")
    if not isinstance(through, int) or not isinstance(last_hash, str):
        report.add(line, None, "is a checkpoint without pruned_through and last_hash",
                   "audit_forged_checkpoint")
        return checkpoint, 1, trail.GENESIS
    try:
        age = trail.parse_time(checkpoint["time"]) - trail.parse_time(checkpoint["newest"])
        retention = int(checkpoint["retention_days"])
    except (KeyError, ValueError, TypeError):
        age, retention = datetime.timedelta(0), 0
    if retention < trail.RETENTION_DAYS or age < datetime.timedelta(days=trail.RETENTION_DAYS):
        report.add(line, None, f"pruned records younger than {trail.RETENTION_DAYS} days "
                   "(the Cybersecurity Law, art. 21, requires six months)", "audit_retention")
    return checkpoint, through + 1, last_hash


def _check_records(records: list[tuple[int, Entry]], report: _Report, *,
                   key: bytes | None) -> dict[int, tuple[int, Entry]]:
    by_seq: dict[int, tuple[int, Entry]] = {}
    for line, entry in records:
        seq = entry.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            report.add(line, None, "has no record number: the log was edited", "audit_edited")
            continue
        if seq in by_seq:
            report.add(line, seq, f"appears twice (lines {by_seq[seq][0]} and {line}): a "
                       "record was copied", "audit_duplicate")
            continue
        by_seq[seq] = (line, entry)
        if entry.get("hash") != trail.digest(entry):
            report.add(line, seq, "was edited: its content no longer matches its hash",
                       "audit_edited")
            report.flagged.add(seq)
        elif key is not None and not trail.signed(key, str(entry["hash"]), entry.get("mac")):
            report.add(line, seq, "was edited and re-hashed: its signature does not hold",
                       "audit_edited")
            report.flagged.add(seq)
    return by_seq


def _check_order(records: list[tuple[int, Entry]], by_seq: dict[int, tuple[int, Entry]],
                 report: _Report, *, start: int, unreadable: list[int]) -> None:
    highest = start - 1
    for line, entry in records:
        seq = entry.get("seq")
        if not isinstance(seq, int) or by_seq.get(seq, (0,))[0] != line:
            continue
        if seq <= highest:
            report.add(line, seq, f"stands after record {highest}: records were reordered",
                       "audit_reordered")
        highest = max(highest, seq)
    for seq in range(start, highest):
        if seq in by_seq:
            continue
        before = by_seq.get(seq - 1, (0,))[0]
        after = by_seq.get(seq + 1, (0,))[0]
        if any(min(before, after) < u < max(before, after) for u in unreadable):
            continue  # the unreadable line there is that record, already reported
        where = f"after line {before}" if before else f"before line {after}"
        report.add(after or before, seq, f"is missing ({where}): it was removed",
                   "audit_removed")
    for seq in sorted(s for s in by_seq if s < start):
        report.add(by_seq[seq][0], seq, f"is older than the checkpoint (through record "
                   f"{start - 1}): the log was edited", "audit_reordered")


def _check_links(by_seq: dict[int, tuple[int, Entry]], report: _Report, *,
                 start: int, genesis: str) -> None:
    for seq, (line, entry) in sorted(by_seq.items()):
        if seq < start or seq in report.flagged:
            continue
        if seq == start:
            if entry.get("prev") != genesis:
                report.add(line, seq, "does not link to the start of the chain: records "
                           "before it were removed", "audit_removed")
            continue
        before = by_seq.get(seq - 1)
        if before is None or seq - 1 in report.flagged:
            continue  # already reported as removed or edited
        if entry.get("prev") != before[1].get("hash"):
            report.add(before[0], seq - 1, f"was replaced: record {seq} (line {line}) names "
                       "a different hash for it", "audit_edited")
            report.flagged.add(seq - 1)


def _check_head(by_seq: dict[int, tuple[int, Entry]], report: _Report, *,
                head: trail.Head | None, head_ok: bool, key: bytes | None,
                checkpoint: Entry | None, torn: int) -> trail.Head | None:
    """Compare the end of the log with the signed head file: this is what finds truncation."""
    last: trail.Head | None = None
    last_line = 0
    if by_seq:
        seq, (last_line, entry) = max(by_seq.items())
        last = trail.Head(seq, str(entry.get("hash")))
    elif checkpoint is not None:
        last = trail.Head(int(checkpoint.get("pruned_through", 0)),
                          str(checkpoint.get("last_hash")))
    if torn and (head is None or last is None or head.seq <= last.seq or not head_ok):
        # The head names no record beyond the torn line: a write was interrupted (the next
        # append drops the torn bytes), or someone cut the line and the head is checked below.
        report.add(torn, None, "is cut off mid-record: a write was interrupted or the log "
                   "was truncated", "audit_truncated")
    if not head_ok:
        report.add(0, None, f"{trail.HEAD_FILE} was edited: its signature does not hold",
                   "audit_head_forged")
        return last
    if head is None:
        if last is not None:
            report.add(0, None, f"{trail.HEAD_FILE} is missing: whether records were cut off "
                       "the end cannot be told", "audit_head_missing")
        elif key is not None:
            report.add(0, None, f"there is an audit key but no log and no {trail.HEAD_FILE}: "
                       "the log was deleted", "audit_truncated")
        return last
    if last is None:
        report.add(0, None, f"the log holds no records but {trail.HEAD_FILE} says {head.seq} "
                   "were written: the log was truncated", "audit_truncated")
        return None
    if head.seq > last.seq:
        gone = (f"record {head.seq} was" if head.seq == last.seq + 1
                else f"records {last.seq + 1}..{head.seq} were")
        report.add(torn or last_line + 1, head.seq,
                   ("is cut off mid-record: " if torn else "is missing: ")
                   + f"{gone} cut off the end (the log was truncated after record {last.seq})",
                   "audit_truncated")
    elif head.seq == last.seq and head.hash != last.hash and last.seq not in report.flagged:
        report.add(last_line, last.seq, "was replaced after it was written: the head names "
                   "another hash", "audit_edited")
    elif head.seq == last.seq - 1:
        report.add(last_line, last.seq, f"is not yet named by {trail.HEAD_FILE} (a write was "
                   "interrupted); the next record repairs it", "audit_head_behind",
                   severity=diagnostics.Severity.WARNING)
    elif head.seq < last.seq:
        report.add(last_line, last.seq, f"records after {head.seq} were added without "
                   "citycloud (the head was not moved)", "audit_forged")
    return last


def summary(result: Verification) -> dict[str, Any]:
    """What verify found, as plain data for JSON and for the CLI's one-line verdict."""
    return {
        "ok": result.ok, "log": result.log, "records": result.records, "first": result.first,
        "last": result.last.seq if result.last else 0,
        "head": result.last.hash if result.last else None,
        "pruned_through": result.checkpoint.get("pruned_through") if result.checkpoint else 0,
    }
