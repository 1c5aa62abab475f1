"""`citycloud capacity --html`: one self-contained file with charts, for people without Grafana."""

from __future__ import annotations

import pathlib
import re
import xml.etree.ElementTree as ElementTree

import clirun
import pytest
import sharing_city

from citycloud import tenants
from citycloud.tenants import allocation


def write_report(registry: pathlib.Path, out: pathlib.Path) -> str:
    result = clirun.invoke("--registry", registry, "capacity", "--html", out)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report(wuhan: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_report(wuhan, tmp_path_factory.mktemp("report") / "report.html")


def test_nothing_to_download_and_no_scripts(report: str) -> None:
    assert report.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in report
    for forbidden in ("<script", "<link", "<img", "<iframe", "src=", "@import", "url("):
        assert forbidden not in report.lower(), forbidden
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", report))
    assert addresses == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched


def test_charts_are_valid_inline_svg(report: str) -> None:
    charts = re.findall(r"<svg.*?</svg>", report, re.S)
    assert len(charts) == 4  # one per pool, one of departments
    for chart in charts:
        root = ElementTree.fromstring(chart)
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.findall(".//{http://www.w3.org/2000/svg}rect")


def test_figures_are_tenants_capacitys(report: str, wuhan: pathlib.Path) -> None:
    for pool in allocation.report(tenants.load(wuhan)):
        cpu = pool.usage["cpu"]
        assert (f"{cpu.ratio:.1%} · {float(cpu.allocated):,.1f} cores of "
                f"{float(cpu.allocatable):,.1f} cores") in report
    assert "政务域资源池" in report and "武汉市公安局" in report


def test_registry_text_is_escaped(registry_copy: pathlib.Path, tmp_path: pathlib.Path) -> None:
    departments = registry_copy / "departments.yaml"
    departments.write_text(departments.read_text().replace(
        "武汉市公安局", '公安局 <script>alert("x")</script>'))
    report = write_report(registry_copy, tmp_path / "report.html")
    assert "<script>" not in report
    assert "公安局 &lt;script&gt;" in report


def test_an_unwritable_path_exits_2(wuhan: pathlib.Path, tmp_path: pathlib.Path) -> None:
    result = clirun.invoke("--registry", wuhan, "capacity", "--html",
                           tmp_path / "missing" / "report.html")
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_shared_services_section(tmp_path: pathlib.Path) -> None:
    report = write_report(sharing_city.write(tmp_path / "city"), tmp_path / "report.html")
    section = report[report.index("<h2>Shared services</h2>"):report.index("</body>")]
    tables = ElementTree.fromstring(f"<div>{section}</div>").findall("table")
    catalogue, grants, own = ([[("".join(td.itertext())) for td in tr] for tr in t.iter("tr")]
                              for t in tables)
    assert catalogue[1:] == [
        ["identity", "统一身份认证", "wh-dsj-auth/sso", "1", "2"],
        ["data-exchange", "数据共享交换", "wh-dsj-exchange/exchange", "1", "0"],
        ["office-automation", "", "wh-zwfw-oa/oa", "0", "0"]]
    assert ["wh-gongan-idp", "wh-gongan", "login", "identity", "department wh-gongan", "1",
            "wh-gongan-video"] in grants
    assert ["wh-dsj-auth", "wh-dsj", "sso", "identity (city)", "city", "1",
            "wh-shuiwu-portal"] in grants
    assert [row[:4] for row in own[1:]] == [["identity", "wh-gongan", "wh-gongan-idp", "login"],
                                           ["identity", "wh-jiaotong", "wh-jiaotong-sso", "sso"]]
    assert own[1][4] == "16.0 cores"


def test_shared_services_section_of_a_registry_without_them(report: str) -> None:
    assert "<h2>Shared services</h2>" in report
