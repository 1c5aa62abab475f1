"""Kubernetes resource quantities, exactly.

Quota arithmetic adds thousands of tenants' quotas and multiplies by
overcommit ratios; floats would make "exactly full" pools look over- or
under-booked. A Quantity keeps its value as a Fraction, so sums and
comparisons are exact, and keeps the text the department wrote for messages.

Every amount shown to people is formatted here, once per need: `format_amount`
(exact, in messages) and `format_rounded` (to a decimal, in tables and charts).
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
# Suffixes whose factor is a whole number, for the common case of whole amounts.
_WHOLE = {**_BINARY, **{k: int(v) for k, v in _DECIMAL.items() if v.denominator == 1}}
# The grammar of k8s.io/apimachinery/pkg/api/resource, without a sign: quotas are never negative.
_QUANTITY = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]{1,2}))?"
)
_MAX_TEXT = 40  # longer strings are not quantities anyone means; refuse before doing arithmetic

EXAMPLES = '"64", "500m", "256Gi" or "10Ti"'


class QuantityError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Quantity:
    value: Fraction
    text: str = dataclasses.field(compare=False)

    def __str__(self) -> str:
        return self.text

    def __add__(self, other: Quantity) -> Quantity:
        total = self.value + other.value
        return Quantity(total, format_plain(total))

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value


ZERO = Quantity(Fraction(0), "0")


def parse(raw: Any) -> Quantity:
    """Parse what YAML gave us ("64", 64, 0.5, "256Gi") into an exact Quantity."""
    if isinstance(raw, Quantity):
        return raw
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise QuantityError(f"must be a quantity such as {EXAMPLES}")
    text = str(raw).strip()
    match = _QUANTITY.fullmatch(text) if len(text) <= _MAX_TEXT else None
    if match is None:
        raise QuantityError(f"must be a quantity of zero or more, such as {EXAMPLES}")
    digits, suffix = match["number"], match["suffix"] or ""
    if digits.isdigit() and suffix in _WHOLE and match["exponent"] is None:  # "64", "256Gi"
        return Quantity(Fraction(int(digits) * _WHOLE[suffix]), text)
    number = Fraction(digits)
    if match["exponent"] is not None:
        number *= Fraction(10) ** int(match["exponent"])
    else:
        suffix = match["suffix"] or ""
        number *= _BINARY.get(suffix) or _DECIMAL[suffix]
    return Quantity(number, text)


def format_plain(value: Fraction | int) -> str:
    """The shortest exact text for a value: binary suffixes for whole bytes, milli for cores."""
    if value.denominator == 1:
        whole = value.numerator
        for suffix, factor in reversed(_BINARY.items()):
            if whole and whole % factor == 0:
                return f"{whole // factor}{suffix}"
        return str(whole)
    milli = value * 1000
    if milli.denominator == 1:
        return f"{milli.numerator}m"
    # Finer than milli has no canonical text Kubernetes keeps; round up like the API server.
    return f"{-(-milli.numerator // milli.denominator)}m"


def format_cpu(value: Fraction) -> str:
    """Cores as Kubernetes prints them: whole cores, else millicores."""
    if value.denominator == 1:
        return str(value.numerator)
    return format_plain(value)


def format_amount(value: Fraction, *, resource: str) -> str:
    """An exact amount for people, in messages: "1 core", "-16 cores", "500m cores", "256Gi".

    The figure is the Kubernetes text (format_cpu, format_plain) of its size, so it can
    be pasted into a quota; a negative amount (over a limit) keeps its sign in front.
    """
    if value < 0:
        return "-" + format_amount(-value, resource=resource)
    if resource == "cpu":
        return f"{format_cpu(value)} core{'' if value == 1 else 's'}"
    return format_plain(value)


# The unit each resource is read in where amounts are compared at a glance (tables, charts),
# and its size in base units (cores, bytes).
READING_UNITS = {"cpu": ("cores", 1), "memory": ("GiB", _BINARY["Gi"]),
                 "storage": ("TiB", _BINARY["Ti"])}


def reading_unit(resource: str) -> str:
    """The unit format_rounded gives `resource` in, for a column heading."""
    return READING_UNITS[resource][0]


def format_rounded(value: Fraction, *, resource: str, unit: bool = True) -> str:
    """An amount to one decimal in its reading unit, "1,234.5 GiB", for tables and charts;
    without `unit` when a column heading already says it (reading_unit)."""
    name, scale = READING_UNITS[resource]
    figure = f"{float(value / scale):,.1f}"
    return f"{figure} {name}" if unit else figure


def json_number(value: Fraction) -> int | float:
    """An exact amount for JSON: whole amounts as integers (a float loses bytes beyond 2**53,
    8 PiB); the rest as floats. Every -o json amount goes through here."""
    return value.numerator // value.denominator if value.denominator == 1 else float(value)
