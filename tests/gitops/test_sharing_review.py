"""`validate --changed-since REF` on shared services: the flows a pull request opens or breaks,
and the departments whose consent they need beyond the owners of the files it touches.

On main, wh-gongan-video publishes `clips` (ports 443 and 8443) to wh-weijian, and
wh-weijian-portal consumes it; each test opens one pull request on top.
"""

from __future__ import annotations

from typing import Any

import gitrepos
import jsonout
import pytest
import registries
from gitrepos import GONGAN_AUTHOR, VIDEO_FILE

PORTAL_FILE = "tenants/wh-weijian/wh-weijian-portal.yaml"


def video(**audience: Any) -> dict[str, Any]:
    ports = audience.pop("ports", (443, 8443))
    clips = registries.service("clips", kind="video-sharing", ports=ports,
                               **(audience or {"departments": ["wh-weijian"]}))
    return registries.tenant("wh-gongan-video", cpu=8, memory="32Gi", storage="1Ti",
                             services=[clips])


def consumer(name: str) -> dict[str, Any]:
    return registries.tenant(name, consumes=[registries.consumption("wh-gongan-video", "clips")])


@pytest.fixture
def shared(repo: gitrepos.Repo) -> gitrepos.Repo:
    repo.write(VIDEO_FILE, video())
    repo.write(PORTAL_FILE, consumer("wh-weijian-portal"))
    repo.commit("wh-gongan shares clips with wh-weijian")
    return repo


def review(citycloud: Any, repo: gitrepos.Repo, *extra: str, code: int = 0) -> dict[str, Any]:
    result = citycloud("-r", repo.registry, "validate", "--changed-since", "main", "-o", "json",
                       *extra)
    assert result.exit_code == code, result.output
    data: dict[str, Any] = jsonout.data(result.stdout)
    return data


def test_narrowing_the_audience_breaks_the_consumer(citycloud: Any,
                                                    shared: gitrepos.Repo) -> None:
    shared.branch("gongan-only")
    shared.write(VIDEO_FILE, video(departments=["wh-gongan"]))
    shared.commit("wh-gongan: keep clips to itself", author=GONGAN_AUTHOR)

    data = review(citycloud, shared, code=1)

    assert data["flows"] == [{
        "change": "broken", "consumer": "wh-weijian-portal", "consumerDepartment": "wh-weijian",
        "provider": "wh-gongan-video", "providerDepartment": "wh-gongan", "service": "clips",
        "details": ["the audience no longer admits department wh-weijian or pool gov"],
        "approval": "wh-weijian"}]
    assert data["approvals"] == ["wh-weijian"]
    # The consumer's file did not change, yet the change is what breaks it.
    assert [(d["code"], d["file"]) for d in data["diagnostics"]] == [
        ("sharing.not-in-audience", PORTAL_FILE)]
    [tenant] = data["tenants"]
    assert tenant["details"] == ["~service clips: audience"]


def test_removing_a_port_narrows_the_flow(citycloud: Any, shared: gitrepos.Repo) -> None:
    shared.branch("no-8443")
    shared.write(VIDEO_FILE, video(ports=(443,), departments=["wh-weijian"]))
    shared.commit("wh-gongan: close 8443", author=GONGAN_AUTHOR)

    data = review(citycloud, shared)

    assert [(f["change"], f["details"], f["approval"]) for f in data["flows"]] == [
        ("narrowed", ["ports -8443/TCP"], "wh-weijian")]


def test_a_new_request_needs_the_provider(citycloud: Any, shared: gitrepos.Repo) -> None:
    shared.branch("weijian-lab")
    shared.write("tenants/wh-weijian/wh-weijian-lab.yaml", consumer("wh-weijian-lab"))
    shared.commit("wh-weijian: a lab that watches clips")

    data = review(citycloud, shared, "--author-department", "wh-weijian")

    assert [(f["change"], f["consumer"], f["details"], f["approval"]) for f in data["flows"]] == [
        ("granted", "wh-weijian-lab", ["new request"], "wh-gongan")]
    assert data["approvals"] == ["wh-gongan"]


def test_the_pull_request_comment_names_the_approvers(citycloud: Any,
                                                      shared: gitrepos.Repo) -> None:
    shared.branch("city-wide")
    shared.write(VIDEO_FILE, video(city=True, ports=(443, 8443, 9000)))
    shared.commit("wh-gongan: clips for the whole city, and a new port", author=GONGAN_AUTHOR)

    result = citycloud("-r", shared.registry, "validate", "--changed-since", "main",
                       "-o", "markdown")

    assert result.exit_code == 0, result.output
    assert "### Shared-service flows" in result.stdout
    assert ("| widened | wh-weijian-portal (wh-weijian) | wh-gongan-video/clips (wh-gongan) | "
            "ports +9000/TCP | wh-gongan |") in result.stdout
    assert "shared-service flows need the approval of department(s) wh-gongan" in result.stdout


def test_consent_on_both_sides_one_pull_request_each(citycloud: Any,
                                                     repo: gitrepos.Repo) -> None:
    """The round trip a department meets: asking for a service outside its audience fails
    and names who decides; the provider widens the audience in a pull request of its own; the
    same request then passes."""
    repo.write(VIDEO_FILE, video(departments=["wh-gongan"]))
    repo.commit("wh-gongan publishes clips to itself", author=GONGAN_AUTHOR)
    repo.branch("weijian-asks")
    repo.write(PORTAL_FILE, consumer("wh-weijian-portal"))
    repo.commit("wh-weijian: the portal shows clips")

    asked = review(citycloud, repo, "--author-department", "wh-weijian", code=1)

    [refusal] = asked["diagnostics"]
    assert (refusal["code"], refusal["file"]) == ("sharing.not-in-audience", PORTAL_FILE)
    assert "department wh-gongan decides" in refusal["hint"], refusal

    repo.checkout("main")
    repo.branch("gongan-widens")
    repo.write(VIDEO_FILE, video(departments=["wh-gongan", "wh-weijian"]))
    repo.commit("wh-gongan: clips for wh-weijian too", author=GONGAN_AUTHOR)
    widened = review(citycloud, repo, "--author-department", "wh-gongan")
    assert widened["diagnostics"] == [] and widened["flows"] == []
    repo.merge("gongan-widens")

    repo.checkout("weijian-asks")
    repo.git("rebase", "-q", "main")
    granted = review(citycloud, repo, "--author-department", "wh-weijian")
    assert granted["diagnostics"] == []
    assert [(f["change"], f["consumer"], f["approval"]) for f in granted["flows"]] == [
        ("granted", "wh-weijian-portal", "wh-gongan")]
