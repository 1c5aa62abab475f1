"""CIDR prefixes as integer intervals: all overlapping pairs, and free blocks.

Duplicate-network checks must scale to every segment of a city, so overlaps
are found by sorting and one sweep, never by comparing every pair.

Two facts make the sweep a plain stack walk. CIDR prefixes form a laminar
family: two prefixes are either disjoint or one contains the other (they
never partly overlap). Sorted by start address, widest first, the prefixes
still open at any point are nested, so they sit on a stack whose top is the
innermost; a prefix overlaps exactly the prefixes on the stack when it
arrives. That costs O(n log n + pairs).

IPv4 and IPv6 share one integer line: IPv6 addresses are shifted up by 2**128,
so the two families occupy disjoint ranges and never overlap, one sort handles
both, and alignment (a power of two up to 2**128) is kept in both ranges.

A prefix is (start, width): the first address on that line and the number of
host bits, so it covers start .. start + 2**width - 1.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import socket
from collections.abc import Iterable, Iterator, Sequence

V6_OFFSET = 1 << 128

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Prefix = tuple[int, int]  # (start, width)


def of(network: Network) -> Prefix:
    """The interval of a network on the shared integer line."""
    offset = V6_OFFSET if network.version == 6 else 0
    return offset + int(network.network_address), network.max_prefixlen - network.prefixlen


def to_network(prefix: Prefix) -> Network:
    start, width = prefix
    if start >= V6_OFFSET:
        return ipaddress.IPv6Network((start - V6_OFFSET, 128 - width))
    return ipaddress.IPv4Network((start, 32 - width))


def end(prefix: Prefix) -> int:
    """The last address of a prefix (inclusive)."""
    return prefix[0] + (1 << prefix[1]) - 1


def family(prefix: Prefix) -> int:
    return 6 if prefix[0] >= V6_OFFSET else 4


def parse(text: str) -> Prefix:
    """A strict, fast parse of "address/length" (no host bits); ValueError otherwise.

    socket.inet_pton is strict (unlike inet_aton, which reads "10.1" as
    10.0.0.1) and some ten times faster than ipaddress for bulk input.
    """
    address, slash, length_text = text.partition("/")
    if not slash or not (length_text.isascii() and length_text.isdigit()) or len(length_text) > 3:
        raise ValueError(f"{text!r} is not in CIDR notation")
    length = int(length_text)
    try:
        if ":" in address:
            start, bits = int.from_bytes(socket.inet_pton(socket.AF_INET6, address)), 128
            offset = V6_OFFSET
        else:
            start, bits = int.from_bytes(socket.inet_pton(socket.AF_INET, address)), 32
            offset = 0
    except OSError:
        raise ValueError(f"{text!r} has an invalid address") from None
    if length > bits:
        raise ValueError(f"{text!r} has a prefix length above {bits}")
    width = bits - length
    if start & ((1 << width) - 1):
        raise ValueError(f"{text!r} has host bits set")
    return offset + start, width


# "0".."32" -> host bits: one dict lookup both parses an IPv4 prefix length and
# refuses what int() would wrongly take ("+16", " 16", "1_6", non-ASCII digits).
_IPV4_WIDTHS = {str(length): 32 - length for length in range(33)}


def parse_many(texts: Iterable[str]) -> tuple[list[int], list[int]]:
    """`parse` over many strings, as the parallel (starts, widths) `overlapping_pairs` takes.

    IPv4 in canonical form takes an inlined path (bulk imports are mostly
    IPv4); anything else goes through `parse`, which accepts IPv6 or raises.
    """
    starts: list[int] = []
    widths: list[int] = []
    pton, inet, from_bytes, known = socket.inet_pton, socket.AF_INET, int.from_bytes, _IPV4_WIDTHS
    for text in texts:
        address, _, length = text.partition("/")
        try:
            start, width = from_bytes(pton(inet, address)), known[length]
        except (OSError, KeyError):
            start, width = parse(text)
        else:
            if start & ((1 << width) - 1):
                start, width = parse(text)  # raises: host bits set
        starts.append(start)
        widths.append(width)
    return starts, widths


def overlapping_pairs(starts: Sequence[int], widths: Sequence[int]) -> list[tuple[int, int]]:
    """Every pair (i, j) of prefixes that overlap, i the wider (or equal, first) one.

    Prefixes are given as parallel sequences, so a caller with a million of
    them never builds a million tuples just to call this.
    """
    count = len(starts)
    if len(widths) != count:
        raise ValueError("starts and widths differ in length")
    shift = count.bit_length()
    mask = (1 << shift) - 1
    # One integer per prefix sorts much faster than tuples: start, then
    # 255 - width (wider first: containers before what they contain), then
    # the index, which also keeps duplicates in input order.
    keys = [(((start << 8) | (255 - width)) << shift) | index
            for index, (start, width) in enumerate(zip(starts, widths, strict=True))]
    keys.sort()
    pairs: list[tuple[int, int]] = []
    open_ids: list[int] = []  # the stack of open prefixes, outermost first
    open_ends: list[int] = []
    outer_end = -1  # end of the outermost open prefix: beyond it the stack is empty
    for key in keys:
        index = key & mask
        key >>= shift
        start = key >> 8
        last = start + (1 << (255 - (key & 255))) - 1
        if start > outer_end:  # the common case for sparse input: nothing open
            open_ids.clear()
            open_ends.clear()
            outer_end = last
        else:
            while open_ends[-1] < start:
                open_ends.pop()
                open_ids.pop()
            pairs.extend(zip(open_ids, itertools.repeat(index)))
        open_ids.append(index)
        open_ends.append(last)
    return pairs


def merged(prefixes: Iterable[Prefix]) -> list[tuple[int, int]]:
    """Prefixes as sorted, disjoint, non-adjacent (first, last) address runs."""
    runs: list[tuple[int, int]] = []
    for first, last in sorted((p[0], end(p)) for p in prefixes):
        if runs and first <= runs[-1][1] + 1:
            if last > runs[-1][1]:
                runs[-1] = (runs[-1][0], last)
        else:
            runs.append((first, last))
    return runs


def gaps(pool: Prefix, taken: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The free (first, last) address runs inside `pool`, lowest first; `taken` from `merged`."""
    cursor, pool_end = pool[0], end(pool)
    at = bisect.bisect_left(taken, (cursor, -1))
    if at and taken[at - 1][1] >= cursor:  # the run before reaches into the pool
        at -= 1
    while cursor <= pool_end:
        if at >= len(taken) or taken[at][0] > pool_end:
            yield cursor, pool_end
            return
        if taken[at][0] > cursor:
            yield cursor, taken[at][0] - 1
        cursor = max(cursor, taken[at][1] + 1)
        at += 1


def first_block(first: int, last: int, *, width: int) -> Prefix | None:
    """The lowest aligned block of `width` host bits inside first..last, if one fits."""
    size = 1 << width
    start = -(-first // size) * size  # round up to a multiple of the block size
    return (start, width) if start + size - 1 <= last else None


def widest_block(first: int, last: int) -> Prefix:
    """The widest aligned block inside a non-empty run first..last."""
    width = (last - first + 1).bit_length() - 1
    while True:
        block = first_block(first, last, width=width)
        if block is not None:
            return block
        width -= 1  # a run of 2**w addresses always holds an aligned block of 2**(w-1)
