"""Field types shared by the registry models: names, quantities, networks.

Each type validates like pydantic's own, with a stable error code and a
message that says what is expected, and describes itself in the JSON Schema
that editors use.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

import pydantic
import pydantic_core

from citycloud.tenants import quantities

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # its length is checked apart
DNS_LABEL_RULE = (
    "lower-case letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters"
)


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise pydantic_core.PydanticCustomError(
            "invalid_name", f"{value[:80]!r} is not a DNS-1123 label: use {DNS_LABEL_RULE}"
        )
    return value


DNSLabel = Annotated[
    str,
    pydantic.AfterValidator(_dns_label),
    pydantic.WithJsonSchema(
        {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
    ),
]


# DNS labels joined by dots, the last one starting with a letter: Kubernetes refuses an IP
# address as an Ingress host, and no top-level domain is numeric.
_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"({_LABEL}\.)+[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?")


def _dns_name(value: str) -> str:
    if len(value) > 253 or not _DNS_NAME.fullmatch(value):
        raise pydantic_core.PydanticCustomError(
            "invalid_hostname", f"{value[:80]!r} is not a host name such as "
            "'video.gongan.wuhan.gov.cn': DNS labels joined by dots, lower case, no wildcard, "
            "at most 253 characters")
    return value


# A fully qualified host name (at least two labels), as an Ingress rule's host.
DNSName = Annotated[
    str,
    pydantic.AfterValidator(_dns_name),
    pydantic.WithJsonSchema({"type": "string", "pattern": f"^{_DNS_NAME.pattern}$",
                             "maxLength": 253}),
]


def _quantity(value: Any) -> quantities.Quantity:
    try:
        return quantities.parse(value)
    except quantities.QuantityError as err:
        raise pydantic_core.PydanticCustomError("invalid_quantity", str(err)) from None


Quantity = Annotated[
    quantities.Quantity,
    pydantic.PlainValidator(_quantity),
    pydantic.PlainSerializer(str, return_type=str),
    pydantic.WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)"
                 r"(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$"},
                {"type": "number", "minimum": 0},
            ],
            "description": f"A Kubernetes quantity such as {quantities.EXAMPLES}",
        }
    ),
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _cidr(value: Any) -> Network:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if not isinstance(value, str):
        raise pydantic_core.PydanticCustomError(
            "invalid_cidr", "must be a network in CIDR notation such as \"10.64.0.0/16\""
        )
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise pydantic_core.PydanticCustomError(
            "invalid_cidr",
            "{value} is not a network in CIDR notation; write it like \"10.64.0.0/16\" "
            "or \"fd00:64::/48\"",
            {"value": repr(value[:80])},
        ) from None
    raise pydantic_core.PydanticCustomError(
        "cidr_host_bits",
        "{value} has host bits set; the network is {network}",
        {"value": repr(value), "network": str(network)},
    )


CIDR = Annotated[
    Network,
    pydantic.PlainValidator(_cidr),
    pydantic.PlainSerializer(str, return_type=str),
    pydantic.WithJsonSchema({"type": "string", "description": "CIDR, e.g. 10.64.0.0/16"}),
]
