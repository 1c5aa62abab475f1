"""`citycloud capacity --html` on pools that run on clusters: a section by site and cluster."""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ElementTree

import clirun
import registries

EAST, WEST, WEST2 = "gov-east", "gov-west", "gov-west-2"


def report_of(root: pathlib.Path, out: pathlib.Path) -> str:
    result = clirun.invoke("--registry", root, "capacity", "--html", out)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def tables(report: str) -> list[list[list[str]]]:
    """The rows (header first) of each table of the clusters section."""
    start = report.index("<h2>Clusters and sites</h2>")
    section = report[start:report.index("<h2>", start + 1)]
    return [[["".join(cell.itertext()) for cell in row] for row in table.iter("tr")]
            for table in ElementTree.fromstring(f"<div>{section}</div>").iter("table")]


def test_sites_and_clusters(tmp_path: pathlib.Path) -> None:
    gov = registries.pool("gov")
    del gov["capacity"]
    root = registries.write(
        tmp_path / "registry", registries.tenant("wh-a-app", clusters=[EAST], cpu=10),
        registries.tenant("wh-a-dr", clusters=[EAST, WEST2], cpu=5),
        platform=registries.platform(gov, clusters=[
            registries.cluster(EAST, site="east-dc"), registries.cluster(WEST, site="west-dc"),
            registries.cluster(WEST2, site="west-dc")]))

    sites, clusters = tables(report_of(root, tmp_path / "report.html"))

    assert sites == [
        ["site", "clusters", "tenants", "cpu", "memory", "storage"],
        ["east-dc", EAST, "2", "15.0 cores of 50.0 cores (30.0%)",
         "2.0 GiB of 200.0 GiB (1.0%)", "0.0 TiB of 5.0 TiB (0.4%)"],
        ["west-dc", f"{WEST}, {WEST2}", "1", "5.0 cores of 100.0 cores (5.0%)",
         "1.0 GiB of 400.0 GiB (0.2%)", "0.0 TiB of 10.0 TiB (0.1%)"]]
    assert clusters[0] == ["cluster", "site", "pool", "tenants", "resource", "physical",
                           "allocatable", "allocated", "headroom", "allocated %"]
    assert clusters[1] == [EAST, "east-dc", "gov", "2", "cpu", "50.0 cores", "50.0 cores",
                           "15.0 cores", "35.0 cores", "30.0%"]
    assert [row[0] for row in clusters[1:]] == [EAST] * 3 + [WEST] * 3 + [WEST2] * 3


def test_no_section_without_clusters(tmp_path: pathlib.Path) -> None:
    root = registries.write(tmp_path / "registry", registries.tenant("wh-a-app"))
    assert "Clusters and sites" not in report_of(root, tmp_path / "report.html")
