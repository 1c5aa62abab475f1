"""Quantity arithmetic is exact: parse, add and compare across m, k..E and Ki..Ei (hypothesis).

Capacity policies decide "over" or "not over" on sums of thousands of quotas
times overcommit ratios. Floats would turn an exactly full pool into one that
is 0.0000000001 over; these properties hold the exact Fraction arithmetic of
tenants.quantities and tenants.allocation to account.
"""

from __future__ import annotations

import pathlib
import random
from decimal import Decimal
from fractions import Fraction

import registries
from hypothesis import given, settings
from hypothesis import strategies as st

from citycloud import tenants
from citycloud.tenants import allocation, models, quantities

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"m": Fraction(1, 1000), "": Fraction(1), "k": 10**3, "M": 10**6, "G": 10**9,
           "T": 10**12, "P": 10**15, "E": 10**18}
SUFFIXES = {**BINARY, **DECIMAL}
# No deadline: the machine is shared, and a slow example is not a wrong one.
relaxed = settings(deadline=None)

numbers = st.builds(
    lambda whole, frac: f"{whole}.{frac}" if frac else str(whole),
    st.integers(0, 10**7), st.one_of(st.just(""), st.from_regex(r"[0-9]{1,4}", fullmatch=True)))
suffixes = st.sampled_from(sorted(SUFFIXES))
texts = st.builds(lambda n, s: n + s, numbers, suffixes)


@relaxed
@given(numbers, suffixes)
def test_parse_is_exact(number: str, suffix: str) -> None:
    assert quantities.parse(number + suffix).value == Fraction(Decimal(number)) * SUFFIXES[suffix]


@relaxed
@given(st.integers(0, 10**6), st.sampled_from(sorted(BINARY)))
def test_binary_suffixes_are_powers_of_two(n: int, suffix: str) -> None:
    assert quantities.parse(f"{n}{suffix}") == quantities.parse(str(n * BINARY[suffix]))


@relaxed
@given(st.integers(0, 10**6), st.sampled_from(["k", "M", "G", "T", "P", "E"]),
       st.integers(-2, 18))
def test_decimal_suffixes_and_exponents_agree(n: int, suffix: str, exponent: int) -> None:
    assert quantities.parse(f"{n}{suffix}") == quantities.parse(str(n * int(DECIMAL[suffix])))
    assert quantities.parse(f"{n}e{exponent}").value == n * Fraction(10) ** exponent


@relaxed
@given(st.integers(1, 10**9))
def test_millis_are_thousandths(n: int) -> None:
    assert quantities.parse(f"{n}m").value * 1000 == n
    assert quantities.parse(f"{n}m") < quantities.parse(f"{n + 1}m")


@relaxed
@given(st.integers(1, 10**6))
def test_binary_and_decimal_units_compare_exactly(n: int) -> None:
    assert quantities.parse(f"{n}G") < quantities.parse(f"{n}Gi")
    assert quantities.parse(f"{n}k") < quantities.parse(f"{n}Ki")
    assert quantities.parse(f"{n * 1024}Ki") == quantities.parse(f"{n}Mi")


@relaxed
@given(st.lists(texts, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_sums_do_not_depend_on_order(items: list[str], rng: random.Random) -> None:
    parsed = [quantities.parse(t) for t in items]
    shuffled = parsed[:]
    rng.shuffle(shuffled)
    forward = sum(parsed[1:], parsed[0])
    backward = sum(shuffled[1:], shuffled[0])
    assert forward == backward
    assert forward.value == sum((p.value for p in parsed), Fraction(0))


@relaxed
@given(texts, texts)
def test_comparison_matches_the_exact_values(a: str, b: str) -> None:
    x, y = quantities.parse(a), quantities.parse(b)
    assert (x < y) == (x.value < y.value)
    assert (x <= y) == (x.value <= y.value)
    assert (x == y) == (x.value == y.value)


@relaxed
@given(st.one_of(st.integers(0, 2**70).map(Fraction),
                 st.integers(0, 10**12).map(lambda n: Fraction(n, 1000))))
def test_the_text_of_a_sum_reads_back_to_the_same_value(value: Fraction) -> None:
    assert quantities.parse(quantities.format_plain(value)).value == value


quotas = st.lists(st.tuples(st.integers(1, 64_000).map(lambda m: f"{m}m"),
                            st.sampled_from(["1Gi", "1G", "512Mi", "1500M", "3Ki", "7"])),
                  min_size=1, max_size=40)


@settings(deadline=None, max_examples=40)
@given(quotas, st.sampled_from([1.0, 1.1, 1.5, 2.0, 3.3]))
def test_a_pool_sized_to_its_quotas_is_exactly_full(asked: list[tuple[str, str]],
                                                     ratio: float) -> None:
    """A pool whose physical cpu is the sum of the quotas has exactly zero headroom."""
    tenants_ = [models.Tenant.model_validate(registries.tenant(
        f"ct-a-s{i}", description=None, cpu=cpu, memory=memory, storage="1Gi"))
        for i, (cpu, memory) in enumerate(asked)]
    total_cpu = sum((quantities.parse(cpu).value for cpu, _ in asked), Fraction(0))
    total_memory = sum((quantities.parse(m).value for _, m in asked), Fraction(0))
    pool = {
        "name": "gov", "kind": "gov",
        "capacity": {"cpu": quantities.format_plain(total_cpu),
                     "memory": str(total_memory), "storage": "1Ti"},
        "overcommit": {"cpu": 1.0, "memory": ratio},
        "placement": {"architectures": ["amd64"]}}
    spec = models.PlatformFile.model_validate({
        "apiVersion": models.API_VERSION, "kind": "Platform", "metadata": {"name": "ct"},
        "spec": {"pools": [pool]}})
    platform = tenants.Platform(pathlib.Path("."), spec, {}, {t.name: t for t in tenants_},
                                {}, {})
    usage = allocation.pool_capacity(platform, "gov", tenants_).usage
    assert usage["cpu"].allocated == total_cpu
    assert usage["cpu"].headroom == 0
    # The ratio is taken from its text: 1.1 is 11/10, not 1.100000000000000088817841970012523.
    assert usage["memory"].allocatable == total_memory * Fraction(str(ratio))
    assert usage["memory"].headroom == total_memory * (Fraction(str(ratio)) - 1)
