"""The integer interval index: every overlapping pair, and free blocks, checked
against ipaddress by brute force on random prefixes."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycloud.policies import _prefixes


def pairs_of(*cidrs: str) -> set[tuple[str, str]]:
    spans = [_prefixes.of(ipaddress.ip_network(c)) for c in cidrs]
    found = _prefixes.overlapping_pairs([s for s, _ in spans], [w for _, w in spans])
    return {(cidrs[i], cidrs[j]) for i, j in found}


@pytest.mark.parametrize(("cidrs", "expected"), [
    pytest.param(("10.64.0.0/16", "10.64.5.0/24"), {("10.64.0.0/16", "10.64.5.0/24")},
                 id="containment"),
    pytest.param(("10.64.5.0/24", "10.64.0.0/16"), {("10.64.0.0/16", "10.64.5.0/24")},
                 id="containment-wider-listed-last"),
    pytest.param(("10.64.0.0/24", "10.64.0.0/24"), {("10.64.0.0/24", "10.64.0.0/24")},
                 id="identical"),
    pytest.param(("10.64.0.0/24", "10.64.1.0/24"), set(), id="adjacent"),
    pytest.param(("10.64.0.0/25", "10.64.0.128/25", "10.64.1.0/32"), set(),
                 id="adjacent-halves"),
    pytest.param(("10.0.0.0/8", "10.64.0.0/16", "10.64.7.0/24"),
                 {("10.0.0.0/8", "10.64.0.0/16"), ("10.0.0.0/8", "10.64.7.0/24"),
                  ("10.64.0.0/16", "10.64.7.0/24")}, id="nested-three"),
    pytest.param(("10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"),
                 {("10.0.0.0/8", "10.1.0.0/16"), ("10.0.0.0/8", "10.2.0.0/16")},
                 id="siblings-inside-one"),
    pytest.param(("fd00:64::/48", "fd00:64:0:1::/64"), {("fd00:64::/48", "fd00:64:0:1::/64")},
                 id="ipv6-containment"),
    pytest.param(("fd00:64::/48", "fd00:65::/48"), set(), id="ipv6-adjacent"),
    # The same integers in both families: 10.64.0.0 is 0x0a400000, so is ::a40:0.
    pytest.param(("10.64.0.0/16", "::a40:0/112", "::ffff:10.64.0.0/112"), set(),
                 id="ipv4-never-overlaps-ipv6"),
    pytest.param(("0.0.0.0/0", "10.64.0.0/16", "fd00::/8"), {("0.0.0.0/0", "10.64.0.0/16")},
                 id="ipv4-slash-0-overlaps-all-ipv4-only"),
    pytest.param(("::/0", "10.64.0.0/16", "fd00::/8"), {("::/0", "fd00::/8")},
                 id="ipv6-slash-0"),
    pytest.param(("255.255.255.255/32", "255.255.255.0/24"),
                 {("255.255.255.0/24", "255.255.255.255/32")}, id="top-of-ipv4"),
    pytest.param(("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/128"), set(),
                 id="ipv6-extremes"),
])
def test_overlapping_pairs(cidrs: tuple[str, ...], expected: set[tuple[str, str]]) -> None:
    assert pairs_of(*cidrs) == expected


def test_duplicates_pair_every_copy() -> None:
    spans = [_prefixes.of(ipaddress.ip_network("10.1.0.0/16"))] * 4
    found = _prefixes.overlapping_pairs([s for s, _ in spans], [w for _, w in spans])
    assert sorted(found) == list(itertools.combinations(range(4), 2))


def test_empty_input() -> None:
    assert _prefixes.overlapping_pairs([], []) == []


networks = st.one_of(
    # Short prefixes in a small corner of each family, so that many overlap.
    st.tuples(st.integers(0, 2**12 - 1), st.integers(20, 32)).map(
        lambda t: ipaddress.IPv4Network((t[0] << 20, t[1]), strict=False)),
    st.tuples(st.integers(0, 2**12 - 1), st.integers(0, 12)).map(
        lambda t: ipaddress.IPv4Network((t[0] << 20, t[1]), strict=False)),
    st.tuples(st.integers(0, 2**12 - 1), st.integers(110, 128)).map(
        lambda t: ipaddress.IPv6Network((t[0] << 16, t[1]), strict=False)),
    st.tuples(st.integers(0, 2**12 - 1), st.integers(0, 8)).map(
        lambda t: ipaddress.IPv6Network((t[0] << 116, t[1]), strict=False)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(networks, max_size=60))
def test_sweep_finds_what_pairwise_finds(found: list[ipaddress.IPv4Network]) -> None:
    spans = [_prefixes.of(n) for n in found]
    sweep = {frozenset((i, j)) for i, j in _prefixes.overlapping_pairs(
        [s for s, _ in spans], [w for _, w in spans])}
    naive = {frozenset((i, j)) for i, j in itertools.combinations(range(len(found)), 2)
             if found[i].version == found[j].version and found[i].overlaps(found[j])}
    assert sweep == naive


@pytest.mark.parametrize("text", [
    "10.64.0.0/16", "0.0.0.0/0", "255.255.255.255/32", "fd00::/8", "::/0",
    "fd00:67::/48", "::ffff:10.0.0.0/104",
])
def test_parse_agrees_with_ipaddress(text: str) -> None:
    network = ipaddress.ip_network(text)
    assert _prefixes.parse(text) == _prefixes.of(network)
    assert _prefixes.to_network(_prefixes.parse(text)) == network


@pytest.mark.parametrize("text", [
    pytest.param("10.64.0.1/16", id="host-bits"),
    pytest.param("fd00::1/64", id="ipv6-host-bits"),
    pytest.param("10.64.0.0/33", id="ipv4-length-33"),
    pytest.param("fd00::/129", id="ipv6-length-129"),
    pytest.param("10.64.0.0", id="no-length"),
    pytest.param("10.64.0.0/", id="empty-length"),
    pytest.param("10.64.0.0/-1", id="negative-length"),
    pytest.param("10.64.0.0/١٦", id="arabic-digits"),
    pytest.param("10.1/16", id="short-form-inet-aton-would-take"),
    pytest.param("10.64.0.300/24", id="octet-300"),
    pytest.param("banana/8", id="word"),
    pytest.param("fe80::%eth0/64", id="scoped"),
    pytest.param("", id="empty"),
    pytest.param("10.64.0.0/+16", id="plus-sign"),
    pytest.param("10.64.0.0/ 16", id="space"),
    pytest.param("10.64.0.0/1_6", id="underscore"),
    pytest.param(" 10.64.0.0/16", id="leading-space"),
    pytest.param("010.1.0.0/16", id="octal-looking-octet"),
])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"CIDR|address|length|host bits"):
        _prefixes.parse(text)
    with pytest.raises(ValueError, match=r"CIDR|address|length|host bits"):
        _prefixes.parse_many(["10.0.0.0/8", text])  # the bulk path is as strict


def test_parse_many_is_parse_over_a_list() -> None:
    texts = ["10.64.0.0/16", "0.0.0.0/0", "fd00::/8", "255.255.255.255/32", "10.64.0.0/016"]
    starts, widths = _prefixes.parse_many(texts)
    assert list(zip(starts, widths, strict=True)) == [_prefixes.parse(t) for t in texts]


def block(cidr: str) -> _prefixes.Prefix:
    return _prefixes.of(ipaddress.ip_network(cidr))


def first_free(pool: str, taken: list[str], length: int) -> str | None:
    runs = _prefixes.merged(block(c) for c in taken)
    pool_prefix = block(pool)
    width = pool_prefix[1] - (length - ipaddress.ip_network(pool).prefixlen)
    for first, last in _prefixes.gaps(pool_prefix, runs):
        found = _prefixes.first_block(first, last, width=width)
        if found:
            return str(_prefixes.to_network(found))
    return None


@pytest.mark.parametrize(("pool", "taken", "length", "expected"), [
    pytest.param("10.64.0.0/16", [], 24, "10.64.0.0/24", id="empty-pool"),
    pytest.param("10.64.0.0/16", ["10.64.0.0/24"], 24, "10.64.1.0/24", id="after-taken"),
    pytest.param("10.64.0.0/16", ["10.64.0.0/25"], 24, "10.64.1.0/24", id="aligned-not-after"),
    pytest.param("10.64.0.0/16", ["10.64.0.0/25"], 25, "10.64.0.128/25", id="fills-the-half"),
    pytest.param("10.64.0.0/16", ["10.0.0.0/8"], 24, None, id="pool-inside-taken"),
    pytest.param("10.64.0.0/16", ["10.64.0.0/17", "10.64.128.0/17"], 24, None, id="full"),
    pytest.param("10.64.0.0/16", ["10.64.0.0/17", "10.64.192.0/18"], 18, "10.64.128.0/18",
                 id="exact-gap"),
    pytest.param("10.64.0.0/16", [], 15, None, id="larger-than-pool"),
    pytest.param("fd00::/24", ["fd00::/48", "fd00:0:2::/47"], 48, "fd00:0:1::/48", id="ipv6"),
    pytest.param("10.64.0.0/16", ["fd00::/8", "128.0.0.0/1"], 24, "10.64.0.0/24",
                 id="other-family-and-elsewhere-ignored"),
])
def test_first_free_block(pool: str, taken: list[str], length: int,
                          expected: str | None) -> None:
    assert first_free(pool, taken, length) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), max_size=30),
       st.integers(24, 32))
def test_free_block_is_free_and_first(taken_raw: list[tuple[int, int]], length: int) -> None:
    pool = ipaddress.IPv4Network("10.64.0.0/24")
    taken = [ipaddress.IPv4Network((int(pool.network_address) + a, n), strict=False)
             for a, n in taken_raw]
    found = first_free(str(pool), [str(t) for t in taken], length)
    brute = next((str(c) for c in pool.subnets(new_prefix=length)
                  if not any(c.overlaps(t) for t in taken)), None)
    assert found == brute


def test_widest_block() -> None:
    first, last = block("10.64.0.0/24")[0] + 1, block("10.64.0.0/24")[0] + 200
    start, width = _prefixes.widest_block(first, last)
    assert (width, start - first + 1) == (6, 64)  # 10.64.0.64/26 is the widest inside .1-.200
