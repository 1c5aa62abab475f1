"""`citycloud networks check|report|allocate` as a platform engineer runs them: exit codes,
the lines printed, the JSON scripts read, and the hostile corpus the loader refuses."""

from __future__ import annotations

import datetime
import ipaddress
import pathlib

import netcity
import pytest
import registries


def test_check_wuhan_passes_with_its_one_consolidation_candidate(wuhan: pathlib.Path) -> None:
    run = netcity.citycloud(wuhan, "networks", "check")
    assert run.exit_code == 0, run.output
    assert ("tenants/wh-chengguan/wh-chengguan-iot.yaml:17 spec.networks[0].purpose: "
            "consolidation candidate: purpose 'iot-sensors' is also run by wh-shengtai "
            "(2 departments; CIDRs 10.68.0.0/20, 10.68.16.0/20)") in run.output
    assert "0 error(s), 2 warning(s)" in run.output


def test_check_json(wuhan: pathlib.Path) -> None:
    data = netcity.citycloud(wuhan, "networks", "check", "--output", "json").json()
    assert isinstance(data, dict)
    assert (data["errors"], data["warnings"], data["networks"]) == (0, 2, 14)
    assert {d["code"] for d in data["diagnostics"]} == {"network.consolidation"}


def test_check_exits_1_on_an_error_and_names_the_line(city: netcity.City) -> None:
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-surveillance"))
    file = city.tenant("wh-jiaotong-cams", netcity.Net("10.64.8.0/24", "traffic-cameras"))
    run = netcity.citycloud(city.root, "networks", "check")
    assert run.exit_code == 1
    assert (f"{file}:{netcity.cidr_line(0)} spec.networks[0].cidr: 10.64.8.0/24 lies inside "
            "network 'net0' 10.64.0.0/16 of wh-gongan-video") in run.output
    assert "[network.overlap-private]" in run.output


def test_check_github_annotations(city: netcity.City) -> None:
    file = city.tenant("wh-gongan-video", netcity.Net("10.1.0.0/16", "video-surveillance"))
    run = netcity.citycloud(city.root, "networks", "check", "--output", "github")
    assert run.exit_code == 1
    assert (f"::error file={file},line={netcity.cidr_line(0)},title=network.overlap-shared::"
            "spec.networks[0].cidr: 10.1.0.0/16 lies inside shared network e-gov-extranet"
            ) in run.output


def test_network_findings_fail_validate_too(city: netcity.City) -> None:
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-surveillance"))
    file = city.tenant("wh-jiaotong-cams", netcity.Net("10.64.8.0/24", "traffic-cameras"))
    run = netcity.citycloud(city.root, "validate")
    assert run.exit_code == 1
    line = netcity.cidr_line(0)
    assert f"{file}:{line} spec.networks[0].cidr: 10.64.8.0/24 lies inside" in run.output


def test_waived_finding_no_longer_fails_check(city: netcity.City) -> None:
    city.tenant("wh-weijian-hie", netcity.Net("10.70.0.0/16", "hospital-link", ("tongji",)))
    city.tenant("wh-yibao-claims", netcity.Net("10.71.0.0/16", "hospital-link", ("tongji",)))
    assert netcity.citycloud(city.root, "networks", "check").exit_code == 1
    expires = datetime.date.today() + datetime.timedelta(days=30)
    registries.put(city.root, registries.waiver_list(*(
        registries.waiver("network.functional-duplicate", tenant=tenant, expires=expires,
                          reason="both lines are decommissioned when the shared hospital link "
                                 "is live", approver="city-network-office")
        for tenant in ("wh-weijian-hie", "wh-yibao-claims"))))
    run = netcity.citycloud(city.root, "networks", "check", "--output", "json")
    data = run.json()
    assert isinstance(data, dict)
    assert (run.exit_code, data["errors"], data["waived"]) == (0, 0, 2)
    assert {d["code"] for d in data["diagnostics"]} == {"network.consolidation"}


# ---- the hostile corpus: refused by the loader, exit 2 ------------------------------


@pytest.mark.parametrize(("cidr", "code", "says"), [
    pytest.param("10.64.0.300/24", "invalid_cidr", "is not a network in CIDR notation",
                 id="octet-300"),
    pytest.param("banana", "invalid_cidr", "is not a network in CIDR notation", id="word"),
    pytest.param("10.64.0.0/33", "invalid_cidr", "is not a network", id="length-33"),
    pytest.param("fd00::/129", "invalid_cidr", "is not a network", id="ipv6-length-129"),
    pytest.param("10.64.0.0/16/8", "invalid_cidr", "is not a network", id="two-lengths"),
    pytest.param("", "invalid_cidr", "is not a network", id="empty"),
    pytest.param(12345, "invalid_cidr", "must be a network in CIDR notation", id="a-number"),
    pytest.param("10.64.0.1/16", "cidr_host_bits",
                 "'10.64.0.1/16' has host bits set; the network is 10.64.0.0/16",
                 id="host-bits"),
    pytest.param("fd00:64::1/48", "cidr_host_bits",
                 "has host bits set; the network is fd00:64::/48", id="ipv6-host-bits"),
])
def test_invalid_cidrs_exit_2_with_file_line(city: netcity.City, cidr: object, code: str,
                                             says: str) -> None:
    file = city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "a"),
                       netcity.Net(cidr, "b"))  # type: ignore[arg-type]
    for command in (("networks", "check"), ("networks", "report"),
                    ("networks", "allocate", "--prefix-length", "24")):
        run = netcity.citycloud(city.root, *command)
        assert run.exit_code == 2, (command, run.output)
        assert f"{file}:{netcity.cidr_line(1)} spec.networks[1].cidr: " in run.output
        assert says in run.output and f"[{code}]" in run.output
        assert "Traceback" not in run.output


def test_mixed_families_in_one_tenant_pass(city: netcity.City) -> None:
    city.tenant("wh-weijian-hie", netcity.Net("10.70.0.0/16", "hospital-link"),
                netcity.Net("fd00:70::/48", "hospital-link"),
                netcity.Net("10.72.0.0/16", "records-v4"),
                netcity.Net("fd00:72::/48", "records-v6"))
    run = netcity.citycloud(city.root, "networks", "check")
    assert (run.exit_code, "0 error(s), 0 warning(s)" in run.output) == (0, True)


def test_slash_0_request_is_refused(city: netcity.City) -> None:
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-surveillance"))
    file = city.tenant("wh-bad-all", netcity.Net("0.0.0.0/0", "everything"))
    run = netcity.citycloud(city.root, "networks", "check")
    assert run.exit_code == 1
    assert (f"{file}:{netcity.cidr_line(0)} spec.networks[0].cidr: 0.0.0.0/0 is the whole IPv4 "
            "address space") in run.output
    assert "0.0.0.0/0 contains network 'net0' 10.64.0.0/16 of wh-gongan-video" in run.output


# ---- report -------------------------------------------------------------------------


def test_report_wuhan(wuhan: pathlib.Path) -> None:
    run = netcity.citycloud(wuhan, "networks", "report", "--output", "json")
    assert run.exit_code == 0
    rows = run.json()
    assert isinstance(rows, list)
    assert rows[0] == {
        "purpose": "iot-sensors", "departments": ["wh-chengguan", "wh-shengtai"],
        "tenants": ["wh-chengguan-iot", "wh-shengtai-monitor"],
        "cidrs": ["10.68.0.0/20", "10.68.16.0/20"], "ipv4Addresses": 8192,
        "ipv6Subnets": 0, "sharedSites": [], "absorber": "e-gov-extranet",
        "why": "the e-government extranet, by national policy", "verdict": "consolidate"}
    assert {r["verdict"] for r in rows[1:]} == {"single"}
    hie = next(r for r in rows if r["purpose"] == "health-information-exchange")
    assert (hie["ipv4Addresses"], hie["ipv6Subnets"]) == (65536, 65536)  # a /16 and a /48


def test_report_verdicts_and_absorbers(city: netcity.City) -> None:
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/16", "video-sharing"))
    city.tenant("wh-weijian-hie", netcity.Net("10.70.0.0/16", "hospital-link", ("Tongji",)))
    city.tenant("wh-yibao-claims", netcity.Net("10.71.0.0/24", "hospital-link", ("tongji",)))
    city.tenant("wh-shengtai-air", netcity.Net("10.72.0.0/24", "air-quality"))
    city.tenant("wh-chengguan-air", netcity.Net("10.73.0.0/24", "air-quality"))
    rows = netcity.citycloud(city.root, "networks", "report", "--output", "json").json()
    assert isinstance(rows, list)
    assert [(r["purpose"], r["verdict"], r["absorber"], r["sharedSites"]) for r in rows] == [
        ("video-sharing", "refuse", "video-sharing", []),
        ("hospital-link", "functional-duplicate", "e-gov-extranet", ["tongji"]),
        ("air-quality", "consolidate", "e-gov-extranet", [])]
    assert rows[1]["ipv4Addresses"] == 65536 + 256


def test_report_markdown_for_a_pull_request(wuhan: pathlib.Path) -> None:
    run = netcity.citycloud(wuhan, "networks", "report", "--output", "markdown")
    assert run.exit_code == 0
    assert run.output.startswith("### Private networks by purpose")
    assert ("| iot-sensors | consolidate | wh-chengguan, wh-shengtai | 10.68.0.0/20, "
            "10.68.16.0/20 | 8192 | 0 | - | e-gov-extranet |") in run.output


def test_report_table(wuhan: pathlib.Path) -> None:
    run = netcity.citycloud(wuhan, "networks", "report")
    assert run.exit_code == 0
    assert "iot-sensors" in run.output and "consolidate" in run.output


# ---- allocate -----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "cidr"), [
    pytest.param(("-p", "24"), "10.65.0.0/24", id="first-free-ipv4"),
    pytest.param(("-p", "14"), "10.76.0.0/14", id="a-large-one"),
    pytest.param(("-p", "48", "--family", "6"), "fd00::/48", id="ipv6"),
    pytest.param(("-p", "32"), "10.65.0.0/32", id="one-address"),
])
def test_allocate_wuhan(wuhan: pathlib.Path, args: tuple[str, ...], cidr: str) -> None:
    run = netcity.citycloud(wuhan, "networks", "allocate", *args, "--output", "json")
    assert run.exit_code == 0, run.output
    data = run.json()
    assert isinstance(data, dict) and data["cidr"] == cidr


def test_allocated_range_passes_check(wuhan_copy: pathlib.Path) -> None:
    city = netcity.City(wuhan_copy, owns_departments=False)
    for length in (16, 20, 24):
        data = netcity.citycloud(wuhan_copy, "networks", "allocate", "-p", str(length),
                         "--output", "json").json()
        assert isinstance(data, dict)
        city.tenant(f"wh-gongan-new{length}", netcity.Net(data["cidr"], f"new-purpose-{length}"),
                    clusters=["wh-gov-hankou"])  # the example's gov pool runs on two
    run = netcity.citycloud(wuhan_copy, "networks", "check", "--output", "json")
    data = run.json()
    assert isinstance(data, dict) and data["errors"] == 0, run.output


def test_allocate_notes_other_departments_with_the_purpose(wuhan: pathlib.Path) -> None:
    run = netcity.citycloud(wuhan, "networks", "allocate", "-p", "24", "--purpose", "iot-sensors")
    assert run.exit_code == 0
    assert "note: 2 network(s) of purpose 'iot-sensors' exist already" in run.output
    data = netcity.citycloud(wuhan, "networks", "allocate", "-p", "24", "--purpose", "iot-sensors",
                     "-o", "json").json()
    assert isinstance(data, dict) and len(data["samePurpose"]) == 2


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(("-p", "8"), "no free /8 in the IPv4 address pools (10.64.0.0/10): the "
                 "largest free block is a /12", id="too-large"),
    pytest.param(("-p", "0"), "--prefix-length must be 1..32 for IPv4 (a /0 is every "
                 "address", id="slash-0"),
    pytest.param(("-p", "33"), "--prefix-length must be 1..32 for IPv4", id="length-33"),
    pytest.param(("-p", "24", "--family", "5"), "family must be 4 or 6", id="family-5"),
    pytest.param(("-p", "24", "--purpose", "video-sharing"), "purpose 'video-sharing' is "
                 "served by shared network video-sharing (10.32.0.0/14): add it to the "
                 "tenant's spec.egress", id="served-by-shared"),
])
def test_allocate_refuses_with_exit_2(wuhan: pathlib.Path, args: tuple[str, ...],
                                      message: str) -> None:
    run = netcity.citycloud(wuhan, "networks", "allocate", *args)
    assert run.exit_code == 2
    assert f"error: {message}" in run.output


def test_allocate_when_the_pool_is_full(city: netcity.City) -> None:
    city.platform(addressPools=["10.64.0.0/23"])
    city.tenant("wh-gongan-video", netcity.Net("10.64.0.0/24", "a"),
                netcity.Net("10.64.1.0/25", "b"))
    run = netcity.citycloud(city.root, "networks", "allocate", "-p", "25", "-o", "json")
    data = run.json()
    assert isinstance(data, dict) and data["cidr"] == "10.64.1.128/25"
    city.tenant("wh-jiaotong-cams", netcity.Net("10.64.1.128/25", "c"))
    run = netcity.citycloud(city.root, "networks", "allocate", "-p", "25", "-o", "json")
    assert run.exit_code == 2
    assert run.json() is None
    assert run.envelope()["error"] == {"exitCode": 2, "message": (
        "no free /25 in the IPv4 address pools (10.64.0.0/23): they are full; ask for a "
        "smaller network or add a pool to spec.addressPools")}


def test_allocate_without_a_pool_of_that_family(city: netcity.City) -> None:
    city.platform(addressPools=["10.64.0.0/16"])
    run = netcity.citycloud(city.root, "networks", "allocate", "-p", "48", "--family", "6")
    assert run.exit_code == 2
    assert "the platform has no IPv6 address pool: add one to spec.addressPools" in run.output


def test_allocate_default_space_avoids_shared_networks(city: netcity.City) -> None:
    """No addressPools: RFC 1918 space, skipping the extranet's 10.0.0.0/12 and video's /14."""
    city.tenant("wh-gongan-video", netcity.Net("10.16.0.0/12", "a"))
    data = netcity.citycloud(city.root, "networks", "allocate", "-p", "12", "-o", "json").json()
    assert isinstance(data, dict)
    allocated = ipaddress.ip_network(data["cidr"])
    assert allocated == ipaddress.ip_network("10.48.0.0/12")


def test_allocate_avoids_management_networks(city: netcity.City) -> None:
    city.platform(addressPools=["10.64.0.0/16"],
                  policies={"security": {"managementNetworks": ["10.64.0.0/24"]}})
    data = netcity.citycloud(city.root, "networks", "allocate", "-p", "24", "-o", "json").json()
    assert isinstance(data, dict) and data["cidr"] == "10.64.1.0/24"
