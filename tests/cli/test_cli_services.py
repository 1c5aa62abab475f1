"""`citycloud services list|graph|report`: the sharing map, on a small city (tests/sharing_city.py)
and on the Wuhan example."""

from __future__ import annotations

import pathlib
import re

import jsonout
import pytest
import sharing_city

from citycloud.tenants import sharing_map

FORMATS = ["table", "json", "markdown"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return sharing_city.write(tmp_path_factory.mktemp("sharing") / "city")


# ---- list -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_list_shows_services_and_requests(city: pathlib.Path, citycloud, fmt: str) -> None:
    result = citycloud("-r", city, "services", "list", "-o", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        report = jsonout.data(result.stdout)
        services = {(s["tenant"], s["service"]): s for s in report["services"]}
        assert len(services) == 5
        sso = services[("wh-dsj-auth", "sso")]
        assert (sso["kind"], sso["namespace"], sso["ports"], sso["catalogue"], sso["consumers"],
                sso["consumerTenants"]) == ("identity", "wh-dsj-auth-app", ["443/TCP"],
                                            "identity", 1, ["wh-shuiwu-portal"])
        assert sso["audience"] == {"departments": [], "pools": [], "city": True}
        login = services[("wh-gongan-idp", "login")]
        assert (login["catalogue"], login["consumers"], login["refused"]) == (
            None, 1, ["wh-shuiwu-portal"])
        assert services[("wh-dsj-exchange", "exchange")]["ports"] == ["443/TCP", "8443/TCP"]
        statuses = [(f["consumer"], f["provider"], f["service"], f["status"])
                    for f in report["flows"]]
        assert statuses == [
            ("wh-gongan-video", "wh-gongan-idp", "login", "granted"),
            ("wh-gongan-video", "wh-dsj-exchange", "exchange", "granted"),
            ("wh-shuiwu-portal", "wh-dsj-auth", "sso", "granted"),
            ("wh-shuiwu-portal", "wh-gongan-idp", "login", "not-in-audience"),
            ("wh-shuiwu-portal", "wh-dsj-auth", "admin", "unknown-service"),
            ("wh-shuiwu-portal", "wh-nope-app", "x", "unknown-tenant"),
        ]
        assert report["flows"][0]["namespaces"] == ["wh-gongan-video-video"]
        return
    for text in ("wh-gongan-idp", "department wh-gongan", "not-in-audience", "unknown-tenant",
                 "office-automation"):
        assert text in result.stdout
    if fmt == "markdown":
        assert "### Published services" in result.stdout and "### Requests" in result.stdout
        assert "| wh-dsj-exchange | wh-dsj | exchange | data-exchange |" in result.stdout
    else:
        assert "5 service(s) published, 6 request(s): 3 granted, 3 refused" in result.stdout


@pytest.mark.parametrize(("option", "value", "services", "flows"), [
    pytest.param("--tenant", "wh-gongan-idp", {"wh-gongan-idp/login"}, 2, id="tenant"),
    pytest.param("--tenant", "wh-nope-app", set(), 1, id="tenant-only-named-by-a-request"),
    pytest.param("--department", "wh-dsj", {"wh-dsj-auth/sso", "wh-dsj-exchange/exchange"}, 3,
                 id="department"),
    pytest.param("--kind", "identity",
                 {"wh-dsj-auth/sso", "wh-gongan-idp/login", "wh-jiaotong-sso/sso"}, 3,
                 id="kind"),
])
def test_list_filters(city: pathlib.Path, citycloud, option: str, value: str,
                      services: set[str], flows: int) -> None:
    result = citycloud("-r", city, "services", "list", option, value, "-o", "json")
    assert result.exit_code == 0, result.output
    report = jsonout.data(result.stdout)
    assert {f"{s['tenant']}/{s['service']}" for s in report["services"]} == services
    assert len(report["flows"]) == flows


def test_list_filters_combine(city: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", city, "services", "list", "--department", "wh-gongan", "--kind",
                       "data-exchange", "-o", "json")
    report = jsonout.data(result.stdout)
    assert report["services"] == []
    assert [(f["consumer"], f["service"]) for f in report["flows"]] == [
        ("wh-gongan-video", "exchange")]


TYPOS = [("--tenant", "wh-gongan-vidoe", "wh-gongan-video"),
         ("--department", "wh-gongn", "wh-gongan"), ("--kind", "identiy", "identity")]


@pytest.mark.parametrize(("command", "option", "typo", "meant"), [
    pytest.param(command, *typo, id=f"{command}{typo[0]}")
    for command in ("list", "graph", "report") for typo in TYPOS
    if command != "report" or typo[0] == "--kind"])  # report filters by kind only
def test_an_unknown_name_is_exit_2_with_did_you_mean(city: pathlib.Path, citycloud,
                                                     command: str, option: str, typo: str,
                                                     meant: str) -> None:
    result = citycloud("-r", city, "services", command, option, typo, "-o", "json")
    assert result.exit_code == 2
    error = jsonout.envelope(result.stdout)["error"]
    assert error["exitCode"] == 2
    assert f"did you mean {meant!r}?" in error["message"] and option in error["message"]
    plain = citycloud("-r", city, "services", command, option, typo)
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", plain.output).split())  # typer's box, unwrapped
    assert plain.exit_code == 2 and f"did you mean {meant!r}?" in said, said
    assert "Traceback" not in plain.output


def test_an_unknown_kind_with_nothing_close_lists_the_kinds(city: pathlib.Path,
                                                             citycloud) -> None:
    result = citycloud("-r", city, "services", "list", "--kind", "zzz", "-o", "json")
    assert result.exit_code == 2
    assert "there are: data-exchange, identity, office-automation" in (
        jsonout.envelope(result.stdout)["error"]["message"])


# ---- graph ------------------------------------------------------------------------------


# pydot 4 builds its parser with pyparsing's old camelCase names, which pyparsing 3.3 warns of.
PYDOT_ON_NEW_PYPARSING = pytest.mark.filterwarnings("ignore:'\\w+' deprecated - use")
MERMAID_EDGE = re.compile(r'^  (\w+) (-->|-\.->)\|"([^"]*)"\| (\w+)$')


def test_graph_mermaid(city: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", city, "services", "graph")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    edges = [MERMAID_EDGE.match(line).groups() for line in lines  # type: ignore[union-attr]
             if "->" in line]
    assert ("t_wh_shuiwu_portal", "-->", "sso", "t_wh_dsj_auth") in edges
    assert ("t_wh_shuiwu_portal", "-.->", "login (not-in-audience)",
            "t_wh_gongan_idp") in edges
    assert ("t_wh_shuiwu_portal", "-.->", "x (unknown-tenant)", "u_wh_nope_app") in edges
    assert sum(arrow == "-->" for _, arrow, _, _ in edges) == sharing_city.GRANTED
    assert sum(arrow == "-.->" for _, arrow, _, _ in edges) == sharing_city.REFUSED
    assert '  subgraph g_wh_gongan ["wh-gongan 市公安局"]' in lines
    assert '    t_wh_dsj_auth[["wh-dsj-auth (city identity)"]]' in lines
    assert "  class t_wh_dsj_auth,t_wh_dsj_exchange,t_wh_zwfw_oa catalogue" in lines
    assert "  class t_wh_gongan_idp,t_wh_jiaotong_sso duplicate" in lines
    assert lines.count("  end") == sum(line.startswith("  subgraph ") for line in lines)
    # Every node an edge names is declared.
    declared = set(re.findall(r"^\s+(\w+)\[", result.stdout, re.M))
    assert {e[0] for e in edges} | {e[3] for e in edges} <= declared


@PYDOT_ON_NEW_PYPARSING
def test_graph_dot_parses_with_a_real_parser(city: pathlib.Path, citycloud) -> None:
    pydot = pytest.importorskip("pydot", reason="pydot is in the dev extra: pip install -e "
                                "'.[dev]'")
    result = citycloud("-r", city, "services", "graph", "--format", "dot")
    assert result.exit_code == 0, result.output
    (graph,) = pydot.graph_from_dot_data(result.stdout)
    clusters = {s.get_name(): s for s in graph.get_subgraphs()}
    assert set(clusters) == {f"cluster_g_{code.replace('-', '_')}"
                             for code in sharing_city.DEPARTMENT_NAMES}
    assert clusters["cluster_g_wh_gongan"].get_label() == '"wh-gongan 市公安局"'
    edges = graph.get_edges()
    dashed = [e for e in edges if e.get_style() == "dashed"]
    assert (len(edges), len(dashed)) == (6, sharing_city.REFUSED)
    assert {(e.get_source(), e.get_destination(), e.get_label()) for e in dashed} == {
        ("t_wh_shuiwu_portal", "t_wh_gongan_idp", '"login (not-in-audience)"'),
        ("t_wh_shuiwu_portal", "t_wh_dsj_auth", '"admin (unknown-service)"'),
        ("t_wh_shuiwu_portal", "u_wh_nope_app", '"x (unknown-tenant)"')}
    (auth,) = clusters["cluster_g_wh_dsj"].get_node("t_wh_dsj_auth")
    assert auth.get_peripheries() == "2"


@PYDOT_ON_NEW_PYPARSING
def test_graph_text_is_escaped(tmp_path: pathlib.Path, citycloud) -> None:
    """A department name with quotes and a backslash stays one label in both formats."""
    pydot = pytest.importorskip("pydot", reason="pydot is in the dev extra")
    root = sharing_city.write(tmp_path / "city")
    departments = (root / "departments.yaml").read_text(encoding="utf-8")
    (root / "departments.yaml").write_text(
        departments.replace("name: 市公安局", "name: '市公安局 \"110\" \\ 指挥'"),
        encoding="utf-8")
    dot = citycloud("-r", root, "services", "graph", "-f", "dot")
    assert dot.exit_code == 0, dot.output
    (graph,) = pydot.graph_from_dot_data(dot.stdout)
    labels = {s.get_name(): s.get_label() for s in graph.get_subgraphs()}
    assert labels["cluster_g_wh_gongan"] == r'"wh-gongan 市公安局 \"110\" \\ 指挥"'
    mermaid = citycloud("-r", root, "services", "graph")
    assert '  subgraph g_wh_gongan ["wh-gongan 市公安局 #quot;110#quot; \\ 指挥"]' in (
        mermaid.stdout.splitlines())


def test_graph_by_department(city: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", city, "services", "graph", "--by", "department", "-o", "json")
    assert result.exit_code == 0, result.output
    graph = jsonout.data(result.stdout)
    assert graph["by"] == "department"
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {"d_wh_dsj", "d_wh_gongan", "d_wh_jiaotong", "d_wh_shuiwu",
                          "d_wh_zwfw", "u_wh_nope_app"}
    assert nodes["d_wh_dsj"]["catalogue"] == ["data-exchange", "identity"]
    assert nodes["d_wh_gongan"]["ownSystems"] == ["identity"]
    assert nodes["u_wh_nope_app"]["known"] is False
    edges = {(e["from"], e["to"], e["service"], e["status"]) for e in graph["edges"]}
    assert ("d_wh_gongan", "d_wh_gongan", "wh-gongan-idp/login", "granted") in edges
    assert ("d_wh_shuiwu", "d_wh_dsj", "wh-dsj-auth/sso", "granted") in edges
    assert len(edges) == 6


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_graph_other_outputs(city: pathlib.Path, citycloud, fmt: str) -> None:
    result = citycloud("-r", city, "services", "graph", "--kind", "identity", "-o", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "markdown":
        assert result.stdout.startswith("### Sharing map of test-city\n\n```mermaid\n")
        assert result.stdout.rstrip().endswith("```")
        return
    graph = jsonout.data(result.stdout)
    assert graph["by"] == "tenant"
    assert {(e["from"], e["to"], e["granted"], e["catalogue"]) for e in graph["edges"]} == {
        ("t_wh_gongan_video", "t_wh_gongan_idp", True, False),
        ("t_wh_shuiwu_portal", "t_wh_dsj_auth", True, True),
        ("t_wh_shuiwu_portal", "t_wh_gongan_idp", False, False)}
    assert {n["name"] for n in graph["nodes"]} == {
        "wh-dsj-auth", "wh-gongan-idp", "wh-jiaotong-sso", "wh-gongan-video",
        "wh-shuiwu-portal"}


def test_graph_format_must_be_known(city: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", city, "services", "graph", "--format", "svg")
    assert result.exit_code == 2
    assert "mermaid" in result.output and "dot" in result.output


# ---- report -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_report(city: pathlib.Path, citycloud, fmt: str) -> None:
    result = citycloud("-r", city, "services", "report", "-o", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        rows = {row["kind"]: row for row in jsonout.data(result.stdout)}
        assert list(rows) == ["identity", "data-exchange", "office-automation"]
        identity = rows["identity"]
        assert (identity["tenant"], identity["service"], identity["displayName"],
                identity["consumers"], identity["departments"]) == (
            "wh-dsj-auth", "sso", "统一身份认证", 1, ["wh-gongan", "wh-jiaotong"])
        assert [s["tenant"] for s in identity["systems"]] == ["wh-gongan-idp", "wh-jiaotong-sso"]
        assert identity["systems"][0]["services"] == ["login"]
        assert identity["quota"] == {"cpu": 24, "memory": 80 * 2**30,
                                     "storage": 2**40 + 100 * 2**30}
        assert rows["office-automation"]["systems"] == []
        assert rows["office-automation"]["quota"] == {"cpu": 0, "memory": 0, "storage": 0}
        return
    assert "统一身份认证" in result.stdout and "wh-jiaotong-sso" in result.stdout
    if fmt == "markdown":
        assert ("| identity | 统一身份认证 | wh-dsj-auth/sso | 1 | 2 | wh-gongan, wh-jiaotong | "
                "wh-gongan-idp, wh-jiaotong-sso | 24.0 cores |") in result.stdout


def test_report_by_kind(city: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", city, "services", "report", "--kind", "data-exchange", "-o", "json")
    assert [row["kind"] for row in jsonout.data(result.stdout)] == ["data-exchange"]


# ---- help and the example ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["list", "graph", "report"])
def test_help_teaches_with_examples(citycloud, command: str) -> None:
    result = citycloud("services", command, "--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout and f"citycloud services {command}" in result.stdout


@pytest.mark.parametrize("command", [["list"], ["graph"], ["graph", "-f", "dot"], ["report"]])
def test_on_the_wuhan_example(wuhan: pathlib.Path, citycloud, command: list[str]) -> None:
    result = citycloud("-r", wuhan, "services", *command)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


# ---- grants in a deployed snapshot (the audit record of apply) --------------------------


def test_deployed_grants_are_read_back_from_rendered_policies(city: pathlib.Path,
                                                              tmp_path: pathlib.Path,
                                                              citycloud) -> None:
    """The render's share NetworkPolicies, as tenants.manifests writes them, are what
    sharing_map.deployed_grants finds: one grant per granted request, nothing else."""
    out = tmp_path / "deployed"
    result = citycloud("-r", city, "render", out, "--force")  # the city has refused requests
    assert result.exit_code == 0, result.output
    assert sharing_map.deployed_grants(out) == {
        "wh-gongan-video -> wh-gongan-idp/login",
        "wh-gongan-video -> wh-dsj-exchange/exchange",
        "wh-shuiwu-portal -> wh-dsj-auth/sso"}
    # Broken files cost their grant, never the apply whose record asks. (A grant is on
    # both sides: the consumer's egress and the provider's ingress.)
    sides = [*out.glob("wh-shuiwu-portal/networkpolicy-*-citycloud-share-out-*.yaml"),
             *out.glob("wh-dsj-auth/networkpolicy-*-citycloud-share-in-*.yaml")]
    assert len(sides) == 2
    for broken in sides:
        broken.write_text("metadata: [unclosed", encoding="utf-8")
    assert "wh-shuiwu-portal -> wh-dsj-auth/sso" not in sharing_map.deployed_grants(out)
    assert sharing_map.deployed_grants(tmp_path / "nothing-deployed") == set()
