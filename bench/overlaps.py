"""All overlapping pairs among 100,000 random IPv4 prefixes: citycloud's sort-and-sweep
against pytricia (a C Patricia trie), netaddr and a naive pairwise check, in one run.

    python bench/overlaps.py [--count 100000] [--sample 2000] [--repeat 5] [--seed 1]
                             [--lengths 16-30]

Every method starts from the same list of "a.b.c.d/len" strings and ends with
the list of overlapping index pairs, so parsing counts for all of them (pytricia
parses in C). Each is timed --repeat times, interleaved, and the best time is
kept; the pair counts must agree or the benchmark fails. The naive check runs on
a --sample of the prefixes (it is quadratic); the sweep runs on the same sample
to cross-check its pairs and to give the ratio at equal size.

Methods:
  sweep            _prefixes.parse_many (socket.inet_pton) + _prefixes.overlapping_pairs
  sweep (ints)     the sweep alone, on prefixes already parsed to integers
  ipaddress+sweep  the path `citycloud networks check` takes: ipaddress objects
                   (as the registry loader makes them) -> _prefixes.of -> sweep
  netaddr+sweep    netaddr.IPNetwork for parsing, then the same sweep
  pytricia         insert all, then walk each prefix's parent chain (pytricia.parent)
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import itertools
import pathlib
import random
import socket
import sys
import time
from collections.abc import Callable, Sequence

import netaddr
import pytricia

# The checkout first: bench/ (this script's folder, sys.path[0]) holds a policies.py.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from citycloud.policies import _prefixes

Pairs = list[tuple[int, int]]


def random_prefixes(count: int, *, lengths: tuple[int, int], seed: int,
                    within: int = 0) -> list[str]:
    """Random IPv4 prefixes, host bits cleared, lengths uniform in the range given;
    `within` > 0 keeps them inside 10.0.0.0/`within` (dense, many overlaps)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        length = rng.randint(*lengths)
        address = rng.getrandbits(32 - within) | (10 << 24 if within else 0)
        address &= ~((1 << (32 - length)) - 1)
        out.append(f"{socket.inet_ntoa(address.to_bytes(4, 'big'))}/{length}")
    return out


def sweep(texts: Sequence[str]) -> Pairs:
    return _prefixes.overlapping_pairs(*_prefixes.parse_many(texts))


def via_ipaddress(texts: Sequence[str]) -> Pairs:
    spans = [_prefixes.of(ipaddress.ip_network(t)) for t in texts]
    return _prefixes.overlapping_pairs([s for s, _ in spans], [w for _, w in spans])


def via_netaddr(texts: Sequence[str]) -> Pairs:
    starts, widths = [], []
    for text in texts:
        network = netaddr.IPNetwork(text)
        starts.append(network.first)
        widths.append(32 - network.prefixlen)
    return _prefixes.overlapping_pairs(starts, widths)


def via_pytricia(texts: Sequence[str]) -> Pairs:
    """Every prefix's ancestors through the trie; identical prefixes share one key."""
    trie = pytricia.PyTricia(32)
    copies: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        if trie.has_key(text):
            copies[text].append(index)
        else:
            trie[text] = index
            copies[text] = [index]
    pairs: Pairs = []
    for key in trie:
        mine = copies[key]
        parent = trie.parent(key)
        while parent is not None:
            pairs.extend(itertools.product(copies[parent], mine))
            parent = trie.parent(parent)
        if len(mine) > 1:
            pairs.extend(itertools.combinations(mine, 2))
    return pairs


def naive(texts: Sequence[str]) -> Pairs:
    networks = [ipaddress.ip_network(t) for t in texts]
    return [(i, j) for i, j in itertools.combinations(range(len(networks)), 2)
            if networks[i].overlaps(networks[j])]


def best_of(repeat: int, methods: dict[str, Callable[[], Pairs]]) -> dict[str, tuple[float, Pairs]]:
    """Best wall time of each method, the runs interleaved so that load on a shared
    machine hits every method alike."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    results: dict[str, Pairs] = {}
    for _ in range(repeat):
        for name, method in methods.items():
            gc.collect()
            started = time.perf_counter()
            results[name] = method()
            times[name].append(time.perf_counter() - started)
    return {name: (min(times[name]), results[name]) for name in methods}


def same_pairs(a: Pairs, b: Pairs) -> bool:
    return {frozenset(p) for p in a} == {frozenset(p) for p in b} and len(a) == len(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lengths", default="16-30", help="prefix lengths, e.g. 16-30")
    args = parser.parse_args()
    low, high = (int(x) for x in args.lengths.split("-"))
    texts = random_prefixes(args.count, lengths=(low, high), seed=args.seed)
    parsed = _prefixes.parse_many(texts)
    print(f"{args.count:,} random IPv4 prefixes, /{low}../{high}, seed {args.seed}; "
          f"best of {args.repeat}, Python {sys.version.split()[0]}, pytricia, "
          f"netaddr {netaddr.__version__}")

    full = best_of(args.repeat, {
        "sweep": lambda: sweep(texts),
        "sweep (ints)": lambda: _prefixes.overlapping_pairs(*parsed),
        "ipaddress+sweep": lambda: via_ipaddress(texts),
        "netaddr+sweep": lambda: via_netaddr(texts),
        "pytricia": lambda: via_pytricia(texts),
    })
    sample = texts[:args.sample]
    small = best_of(max(1, args.repeat // 2), {
        "sweep": lambda: sweep(sample),
        "naive pairwise": lambda: naive(sample),
    })

    # The random sample has few overlaps; a dense one (inside 10.0.0.0/8, /8../30) has
    # thousands, nesting included, so the cross-check with the naive check means something.
    dense = random_prefixes(len(sample), lengths=(8, 30), seed=args.seed, within=8)
    dense_sweep, dense_naive = sweep(dense), naive(dense)
    agree_dense = same_pairs(dense_sweep, dense_naive)

    reference = full["sweep"][1]
    agree = all(same_pairs(reference, pairs) for _, pairs in full.values())
    agree_small = same_pairs(small["sweep"][1], small["naive pairwise"][1])
    ours = full["sweep"][0]
    print(f"\n{'method':<18}{'prefixes':>10}{'pairs':>10}{'seconds':>10}  vs sweep")
    for name, (seconds, pairs) in full.items():
        print(f"{name:<18}{args.count:>10,}{len(pairs):>10,}{seconds:>10.3f}  "
              f"{seconds / ours:.2f}x")
    for name, (seconds, pairs) in small.items():
        print(f"{name:<18}{len(sample):>10,}{len(pairs):>10,}{seconds:>10.3f}  "
              f"{seconds / small['sweep'][0]:.0f}x (at {len(sample):,})")
    projected = small["naive pairwise"][0] * (args.count / len(sample)) ** 2
    print(f"\nnaive pairwise projected to {args.count:,} prefixes: ~{projected:,.0f} s "
          f"({projected / ours:,.0f}x the sweep)")
    print(f"pytricia / sweep: {full['pytricia'][0] / ours:.2f} "
          f"(sweep {'faster' if ours < full['pytricia'][0] else 'SLOWER'}); "
          f"target < 0.5 s: {'met' if ours < 0.5 else 'MISSED'} ({ours:.3f} s)")
    print(f"pair counts agree across methods: {agree}; sweep = naive on the sample: "
          f"{agree_small}; on a dense sample of {len(dense):,} ({len(dense_naive):,} pairs): "
          f"{agree_dense}")
    return 0 if agree and agree_small and agree_dense else 1


if __name__ == "__main__":
    sys.exit(main())
