"""A tenant's quota split over its namespaces never hands out more than was granted.

Kubernetes quotas are per namespace, so the renderer divides the tenant's quota
evenly (render.namespace_share) and rounds down: to the millicore for CPU and to
the MiB for memory and storage. Property-tested over random quotas, units and
namespace counts: the sum of what the ResourceQuota objects allow is at most the
grant, and rounding loses less than one unit per namespace.
"""

from __future__ import annotations

from fractions import Fraction

import registries
from hypothesis import given, settings
from hypothesis import strategies as st
from render_helpers import wuhan_platform

from citycloud.tenants import models, quantities, render

MEBIBYTE = 2**20

cores = st.one_of(
    st.integers(min_value=0, max_value=100_000).map(str),  # whole cores
    st.integers(min_value=0, max_value=10_000_000).map(lambda m: f"{m}m"),  # millicores
    st.decimals(min_value=0, max_value=1000, places=3).map(str),  # "2.5"
)
byte_units = st.sampled_from(["", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti", "Pi"])
amounts = st.builds(lambda number, unit: f"{number}{unit}",
                    st.integers(min_value=0, max_value=5_000), byte_units)


def hard_total(objects: list[render.Manifest], key: str) -> Fraction:
    return sum((quantities.parse(o["spec"]["hard"][key]).value
                for o in objects if o["kind"] == "ResourceQuota"), Fraction(0))


@settings(max_examples=300, deadline=None)
@given(cpu=cores, memory=amounts, storage=amounts,
       count=st.integers(min_value=1, max_value=50), data=st.data())
def test_quota_split_never_exceeds_the_tenant_quota(cpu: str, memory: str, storage: str,
                                                    count: int, data: st.DataObject) -> None:
    pods = data.draw(st.one_of(st.none(), st.integers(min_value=count, max_value=100_000)))
    ephemeral = data.draw(st.one_of(st.none(), amounts))
    quota: dict[str, str | int] = {"cpu": cpu, "memory": memory, "storage": storage}
    if pods is not None:
        quota["pods"] = pods
    if ephemeral is not None:
        quota["ephemeralStorage"] = ephemeral
    tenant = models.Tenant.model_validate(registries.tenant(
        "wh-gongan-made-up", description=None, quota=quota,
        namespaces=[f"ns{i}" for i in range(count)]))
    objects = render.render_tenant(tenant, platform=wuhan_platform())
    granted = tenant.spec.quota

    assert sum(o["kind"] == "ResourceQuota" for o in objects) == count
    for key, grant, unit in [
        ("requests.cpu", granted.cpu.value, Fraction(1, 1000)),
        ("limits.cpu", granted.cpu.value, Fraction(1, 1000)),
        ("requests.memory", granted.memory.value, MEBIBYTE),
        ("limits.memory", granted.memory.value, MEBIBYTE),
        ("requests.storage", granted.storage.value, MEBIBYTE),
    ]:
        total = hard_total(objects, key)
        assert total <= grant, key
        assert grant - total < count * unit, f"{key}: rounding lost more than a unit a namespace"
    if pods is not None:
        assert pods - count < hard_total(objects, "pods") <= pods
    else:
        assert all("pods" not in o["spec"]["hard"] for o in objects if o["kind"] == "ResourceQuota")
    if granted.ephemeral_storage is not None:
        grant = granted.ephemeral_storage.value
        for key in ("requests.ephemeral-storage", "limits.ephemeral-storage"):
            assert grant - count * MEBIBYTE < hard_total(objects, key) <= grant, key
    else:
        assert all("limits.ephemeral-storage" not in o["spec"]["hard"]
                   for o in objects if o["kind"] == "ResourceQuota")


@given(classification=st.integers(min_value=1, max_value=4),
       count=st.integers(min_value=1, max_value=5))
def test_namespaces_of_one_tenant_share_one_profile(classification: int, count: int) -> None:
    tenant = models.Tenant.model_validate(registries.tenant(
        "wh-gongan-made-up", description=None, cpu=8, memory="32Gi", storage="1Ti",
        classification=classification, namespaces=[f"ns{i}" for i in range(count)]))
    platform = wuhan_platform()
    levels = {o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
              for o in render.render_tenant(tenant, platform=platform)
              if o["kind"] == "Namespace"}
    restricted_from = platform.spec.spec.policies.security.restricted_from_level
    assert levels == {"restricted" if classification >= restricted_from else "baseline"}
