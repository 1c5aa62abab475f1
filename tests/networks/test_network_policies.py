"""Each network policy: the finding a department would see, where it points, and when
it stays quiet."""

from __future__ import annotations

import pathlib

import netcity
import pytest
import registries

from citycloud.policies import engine
from citycloud.tenants import diagnostics

ERROR, WARNING = diagnostics.Severity.ERROR, diagnostics.Severity.WARNING


def where(found: list[diagnostics.Diagnostic]) -> list[tuple[str, int, str]]:
    return [(d.file, d.line, d.field) for d in found]


def test_every_finding_kind_is_a_network_policy_with_a_fixed_severity() -> None:
    network = {p.id: p.severity for p in engine.POLICIES.values() if p.set == "network"}
    assert network == {
        "network.overlap-shared": ERROR, "network.overlap-private": ERROR,
        "network.address-space": ERROR, "network.purpose-shared": ERROR,
        "network.functional-duplicate": ERROR, "network.consolidation": WARNING,
        "network.same-purpose": WARNING,
    }


# ---- overlaps -------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "a_says", "b_says"), [
    pytest.param("10.64.0.0/16", "10.64.5.0/24", "contains", "lies inside", id="containment"),
    pytest.param("10.64.0.0/24", "10.64.0.0/24", "is the same range as",
                 "is the same range as", id="identical"),
    pytest.param("fd00:64::/48", "fd00:64:0:7::/64", "contains", "lies inside",
                 id="ipv6-containment"),
])
def test_overlap_with_another_department(city: netcity.City, a: str, b: str, a_says: str,
                                         b_says: str) -> None:
    file_a = city.tenant("wh-gongan-video", netcity.Net(a, "video-surveillance"))
    file_b = city.tenant("wh-jiaotong-cams", netcity.Net(b, "traffic-cameras"))
    found = city.findings("network.overlap-private")
    assert where(found) == [(file_a, netcity.cidr_line(0), "spec.networks[0].cidr"),
                            (file_b, netcity.cidr_line(0), "spec.networks[0].cidr")]
    assert found[0].message == (f"{a} {a_says} network 'net0' {b} of wh-jiaotong-cams "
                                f"({file_b}:{netcity.cidr_line(0)})")
    assert found[1].message.startswith(f"{b} {b_says} network 'net0' {a} of wh-gongan-video")
    assert found[0].tenant == "wh-gongan-video"
    assert "citycloud networks allocate --prefix-length" in found[0].hint


@pytest.mark.parametrize(("a", "b"), [
    pytest.param("10.64.0.0/24", "10.64.1.0/24", id="adjacent"),
    pytest.param("10.64.0.0/25", "10.64.0.128/25", id="adjacent-halves"),
    pytest.param("fd00:64::/48", "fd00:65::/48", id="ipv6-adjacent"),
    pytest.param("10.64.0.0/16", "fd00:a40::/32", id="different-families"),
])
def test_no_overlap(city: netcity.City, a: str, b: str) -> None:
    city.tenant("wh-gongan-video", netcity.Net(a, "video-surveillance"))
    city.tenant("wh-jiaotong-cams", netcity.Net(b, "traffic-cameras"))
    assert city.findings() == []


def test_ipv4_mapped_ipv6_is_not_the_ipv4_network(city: netcity.City) -> None:
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-surveillance"))
    city.tenant("wh-jiaotong-cams", netcity.Net("::ffff:10.64.0.0/112", "traffic-cameras"))
    codes = {d.code for d in city.findings()}
    assert "network.overlap-private" not in codes
    assert codes == {"network.address-space"}  # not unique local address space, though


def test_overlap_within_one_department_is_reported_too(city: netcity.City) -> None:
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-surveillance"))
    file_b = city.tenant("wh-gongan-traffic", netcity.Net("10.64.128.0/17", "traffic-cameras"))
    found = city.findings("network.overlap-private")
    assert [d.tenant for d in found] == ["wh-gongan-traffic", "wh-gongan-video"]
    assert f"of wh-gongan-traffic ({file_b}:{netcity.cidr_line(0)})" in found[1].message


def test_a_network_overlapping_many_names_three_and_counts_the_rest(city: netcity.City) -> None:
    city.tenant("wh-big-all", netcity.Net("10.64.0.0/16", "everything"))
    for index in range(6):
        city.tenant(f"wh-d{index}-small", netcity.Net(f"10.64.{index}.0/24", f"thing{index}"))
    big = [d for d in city.findings("network.overlap-private") if d.tenant == "wh-big-all"]
    assert len(big) == 1
    assert big[0].message.count("contains") == 3 and big[0].message.endswith("and 3 more")


def test_overlap_with_a_shared_network(city: netcity.City) -> None:
    file = city.tenant("wh-gongan-video", netcity.Net("10.1.0.0/16", "video-surveillance"),
                       netcity.Net("fd0e:1::/48", "video-surveillance"))
    found = city.findings("network.overlap-shared")
    assert where(found) == [(file, netcity.cidr_line(0), "spec.networks[0].cidr"),
                            (file, netcity.cidr_line(1), "spec.networks[1].cidr")]
    assert found[0].message == ("10.1.0.0/16 lies inside shared network e-gov-extranet "
                                f"(10.0.0.0/12, platform.yaml:{netcity.EXTRANET_LINE + 1})")
    assert "fd0e::/16" in found[1].message
    assert found[0].hint.startswith("to use e-gov-extranet, list it in spec.egress")
    assert city.findings("network.overlap-private") == []


def test_a_network_containing_a_shared_one(city: netcity.City) -> None:
    city.tenant("wh-gongan-video", netcity.Net("10.32.0.0/11", "video-surveillance"))
    [found] = city.findings("network.overlap-shared")
    assert found.message.startswith("10.32.0.0/11 contains shared network video-sharing")


def test_shared_networks_overlapping_each_other(city: netcity.City) -> None:
    city.platform(registries.shared_network("internet-zone", cidrs=["10.8.0.0/16"],
                                            purposes=["internet-access"]))
    found = city.findings("network.overlap-shared")
    assert [(d.file, d.field, d.tenant) for d in found] == [
        ("platform.yaml", "spec.sharedNetworks[0].cidrs[0]", ""),
        ("platform.yaml", "spec.sharedNetworks[2].cidrs[0]", "")]
    assert "contains shared network internet-zone" in found[0].message


# ---- address space ----------------------------------------------------------------


@pytest.mark.parametrize(("cidr", "message"), [
    pytest.param("0.0.0.0/0", "0.0.0.0/0 is the whole IPv4 address space: it would overlap "
                 "every network, the Internet included", id="ipv4-slash-0"),
    pytest.param("::/0", "::/0 is the whole IPv6 address space", id="ipv6-slash-0"),
    pytest.param("8.8.8.0/24", "8.8.8.0/24 is outside the platform's address pools "
                 "(10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fd00::/8)", id="public"),
    pytest.param("fc00::/8", "fc00::/8 is outside", id="ula-half-without-local-assignment"),
])
def test_outside_the_address_space(city: netcity.City, cidr: str, message: str) -> None:
    file = city.tenant("wh-gongan-video", netcity.Net(cidr, "video-surveillance"))
    [found] = city.findings("network.address-space")
    assert (found.file, found.line) == (file, netcity.cidr_line(0))
    assert found.message.startswith(message)
    assert "networks allocate --prefix-length" in found.hint
    assert "--prefix-length 0" not in found.hint  # never suggest asking for a /0 again


def test_slash_0_is_refused_and_overlaps_everything(city: netcity.City) -> None:
    city.tenant("wh-bad-all", netcity.Net("0.0.0.0/0", "everything"))
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-surveillance"))
    codes = {(d.tenant, d.code) for d in city.findings() if d.severity is ERROR}
    assert codes == {("wh-bad-all", "network.address-space"),
                     ("wh-bad-all", "network.overlap-shared"),
                     ("wh-bad-all", "network.overlap-private"),
                     ("wh-gongan-video", "network.overlap-private")}


def test_declared_address_pools_replace_private_space(city: netcity.City) -> None:
    city.platform(addressPools=["10.64.0.0/10", "fd00:100::/24"])
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-surveillance"),
                netcity.Net("fd00:100::/48", "video-surveillance"))
    file = city.tenant("wh-weijian-his", netcity.Net("192.168.1.0/24", "health-records"))
    [found] = city.findings("network.address-space")
    assert (found.file, found.message) == (
        file, "192.168.1.0/24 is outside the platform's address pools (10.64.0.0/10, "
        "fd00:100::/24)")


# ---- purposes -----------------------------------------------------------------------


@pytest.mark.parametrize(("egress", "hint"), [
    pytest.param((), "drop this network and add 'video-sharing' to spec.egress", id="no-egress"),
    pytest.param(("video-sharing",), "drop this network: the tenant already reaches "
                 "video-sharing through egress", id="already-reaches-it"),
])
def test_purpose_served_by_a_shared_network(city: netcity.City, egress: tuple[str, ...],
                                            hint: str) -> None:
    file = city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-sharing"),
                       egress=egress)
    [found] = city.findings("network.purpose-shared")
    assert (found.file, found.line, found.field) == (
        file, netcity.cidr_line(0) + 1, "spec.networks[0].purpose")
    assert found.message == (
        "purpose 'video-sharing' is already served by shared network video-sharing "
        f"(10.32.0.0/14, platform.yaml:{netcity.VIDEO_SHARING_LINE})")
    assert found.hint == hint


def test_consolidation_candidate_names_departments_and_cidrs(city: netcity.City) -> None:
    file_a = city.tenant("wh-shengtai-monitor",
                         netcity.Net("10.68.0.0/20", "iot-sensors", ("lake",)))
    file_b = city.tenant("wh-chengguan-iot",
                         netcity.Net("10.68.16.0/20", "iot-sensors", ("bridge",)))
    found = city.findings()
    assert [(d.code, d.severity, d.file, d.line) for d in found] == [
        ("network.consolidation", WARNING, file_b, netcity.cidr_line(0) + 1),
        ("network.consolidation", WARNING, file_a, netcity.cidr_line(0) + 1)]
    assert found[0].message == ("consolidation candidate: purpose 'iot-sensors' is also run by "
                                "wh-shengtai (2 departments; CIDRs 10.68.0.0/20, 10.68.16.0/20)")
    assert "carry it on e-gov-extranet" in found[0].hint


def test_one_department_alone_is_no_consolidation_candidate(city: netcity.City) -> None:
    city.tenant("wh-shengtai-monitor", netcity.Net("10.68.0.0/20", "iot-sensors"))
    city.tenant("wh-shengtai-lakes", netcity.Net("10.68.16.0/20", "iot-sensors"))
    assert city.findings("network.consolidation") == []


def test_one_department_with_two_networks_of_a_purpose(city: netcity.City) -> None:
    """The first by tenant name is kept; the later one is reported against it."""
    city.tenant("wh-shengtai-lakes", netcity.Net("10.68.16.0/20", "iot-sensors"))
    file = city.tenant("wh-shengtai-monitor", netcity.Net("10.68.0.0/20", "iot-sensors"))
    [found] = city.findings()
    assert (found.code, found.severity, found.file, found.line) == (
        "network.same-purpose", WARNING, file, netcity.cidr_line(0) + 1)
    assert found.message.startswith("department wh-shengtai already has an IPv4 network of "
                                    "purpose 'iot-sensors': network 'net0' 10.68.16.0/20 of "
                                    "wh-shengtai-lakes")


def test_dual_stack_is_not_a_second_network(city: netcity.City) -> None:
    city.tenant("wh-weijian-hie", netcity.Net("10.70.0.0/16", "health-exchange"),
                netcity.Net("fd00:70::/48", "health-exchange"))
    assert city.findings() == []


@pytest.mark.parametrize(("site_a", "site_b"), [
    pytest.param("tongji-hospital", "tongji-hospital", id="same"),
    pytest.param("Tongji Hospital", "tongji  hospital", id="spelt-differently"),
])
def test_functional_duplicate(city: netcity.City, site_a: str, site_b: str) -> None:
    file_a = city.tenant("wh-weijian-hie", netcity.Net("10.70.0.0/16", "hospital-link",
                                               (site_a, "union-hospital")))
    file_b = city.tenant("wh-yibao-claims", netcity.Net("10.71.0.0/16", "hospital-link", (site_b,)))
    found = city.findings("network.functional-duplicate")
    assert [(d.file, d.line, d.field, d.severity) for d in found] == [
        (file_a, netcity.cidr_line(0) + 2, "spec.networks[0].sites", ERROR),
        (file_b, netcity.cidr_line(0) + 2, "spec.networks[0].sites", ERROR)]
    assert found[0].message == (
        "functional duplicate: other departments' 'hospital-link' networks reach the same "
        f"sites: at {site_a}: network 'net0' 10.71.0.0/16 of wh-yibao-claims "
        f"({file_b}:{netcity.cidr_line(0)})")
    assert len(city.findings("network.consolidation")) == 2  # and still a candidate


@pytest.mark.parametrize(("first", "second"), [
    pytest.param(("wh-weijian-hie", "hospital-link", "tongji"),
                 ("wh-yibao-claims", "hospital-link", "union"), id="different-sites"),
    pytest.param(("wh-weijian-hie", "hospital-link", "tongji"),
                 ("wh-yibao-claims", "claims-link", "tongji"), id="different-purposes"),
    pytest.param(("wh-weijian-hie", "hospital-link", "tongji"),
                 ("wh-weijian-emr", "hospital-link", "tongji"), id="same-department"),
])
def test_no_functional_duplicate(city: netcity.City, first: tuple[str, str, str],
                                 second: tuple[str, str, str]) -> None:
    city.tenant(first[0], netcity.Net("10.70.0.0/16", first[1], (first[2],)))
    city.tenant(second[0], netcity.Net("10.71.0.0/16", second[1], (second[2],)))
    assert city.findings("network.functional-duplicate") == []


def test_a_purpose_a_shared_network_serves_is_only_refused_once(city: netcity.City) -> None:
    """Refused outright; grouping it as a candidate or duplicate would only repeat that."""
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-sharing", ("hq",)))
    city.tenant("wh-gongan-more", netcity.Net("10.65.0.0/16", "video-sharing", ("hq",)))
    city.tenant("wh-jiaotong-cams", netcity.Net("10.66.0.0/16", "video-sharing", ("hq",)))
    assert {d.code for d in city.findings()} == {"network.purpose-shared"}


def test_wuhan_has_one_consolidation_candidate_and_no_errors(wuhan: pathlib.Path) -> None:
    found = netcity.City(wuhan, owns_departments=False).findings()
    assert [(d.tenant, d.code) for d in found] == [
        ("wh-chengguan-iot", "network.consolidation"),
        ("wh-shengtai-monitor", "network.consolidation")]


def test_a_purpose_of_many_departments_gives_short_findings(city: netcity.City) -> None:
    """Each finding names three others and counts the rest, so n departments give n
    findings of bounded length, not n lists of n."""
    for index in range(15):
        city.tenant(f"wh-d{index:02d}-x", netcity.Net(f"10.64.{index}.0/24", "records", ("hq",)))
    consolidation = city.findings("network.consolidation")
    duplicates = city.findings("network.functional-duplicate")
    assert len(consolidation) == len(duplicates) == 15
    first = next(d for d in consolidation if d.tenant == "wh-d00-x")
    assert first.message == (
        "consolidation candidate: purpose 'records' is also run by wh-d01, wh-d02, wh-d03 and "
        "11 more (15 departments; CIDRs 10.64.0.0/24, 10.64.1.0/24, 10.64.2.0/24, "
        "10.64.3.0/24, 10.64.4.0/24, 10.64.5.0/24, 10.64.6.0/24, 10.64.7.0/24, 10.64.8.0/24, "
        "10.64.9.0/24 and 5 more)")
    assert all(d.message.endswith("and 11 more") for d in duplicates)
