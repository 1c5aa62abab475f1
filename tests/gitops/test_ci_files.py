"""The CI files: `citycloud init` writes a GitHub Actions workflow; README shows GitLab's."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from citycloud import tenants
from citycloud.tenants.gitops import ci

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_init_writes_a_workflow_that_validates_prs_and_applies_merges(
        citycloud: Any, tmp_path: pathlib.Path) -> None:
    registry = tmp_path / "city"
    assert citycloud("init", registry).exit_code == 0

    workflow = yaml.safe_load((registry / ".github/workflows/citycloud.yml").read_text())

    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true; GitHub reads "on"
    assert triggers == {"pull_request": {"branches": ["main"]},
                        "push": {"branches": ["main"]}}
    validate, apply = workflow["jobs"]["validate"], workflow["jobs"]["apply"]
    assert validate["if"] == "github.event_name == 'pull_request'"
    assert validate["steps"][0]["with"]["fetch-depth"] == 0
    script = validate["steps"][-1]["run"]
    assert 'citycloud validate --changed-since "origin/$BASE_REF"' in script
    assert '--author-department "$department"' in script and "--output github" in script
    assert apply["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert apply["concurrency"] == {"group": "citycloud-apply", "cancel-in-progress": False}
    assert apply["steps"][-1]["run"] == 'citycloud apply --from-git "$GITHUB_SHA" --yes'
    # The workflow is not a registry file: the new registry still loads.
    assert tenants.load(registry).departments


def test_readme_documents_the_same_gitlab_pipeline() -> None:
    assert f"```yaml\n{ci.GITLAB_CI}```" in README.read_text(encoding="utf-8")
    pipeline = yaml.safe_load(ci.GITLAB_CI)
    assert pipeline["validate"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert any("--changed-since" in line for line in pipeline["validate"]["script"])
    assert pipeline["apply"]["resource_group"] == "citycloud-apply"
    assert pipeline["apply"]["script"][-1] == 'citycloud apply --from-git "$CI_COMMIT_SHA" --yes'
