"""The CI files of a registry repo: check pull requests, apply merges to main.

`citycloud init` writes GITHUB_WORKFLOW into every new registry, so the
pull-request flow works from the first push; GITLAB_CI is the same pipeline
for GitLab, shown in the README (a test keeps the two texts in step with it).

Both pipelines do three things: validate what a pull request changes
(`validate --changed-since`, with `--author-department` taken from a
`department:<code>` label), report it where reviewers look (GitHub
annotations and the job summary; a GitLab artifact), and on a merge to main
apply exactly the merged commit (`apply --from-git`), one apply at a time and
in order, from a runner whose state directory outlives the job (deployed
commit, Pulumi state, audit log).
"""

from __future__ import annotations

GITHUB_WORKFLOW_PATH = ".github/workflows/citycloud.yml"

GITHUB_WORKFLOW = """\
# Written by 'citycloud init'. Pull requests: validate what they change, annotate the files,
# and summarise the effect on tenants and pools in the job summary. Merges to main: apply
# exactly the merged commit. Ownership: generate CODEOWNERS ('citycloud codeowners --write')
# and require code-owner review in main's branch protection.
name: citycloud

on:
  pull_request:
    branches: [main]
  push:
    branches: [main]

permissions:
  contents: read

env:
  # How CI installs citycloud: a pinned version from your package index, or a wheel's URL.
  CITYCLOUD_PIP: citycloud==0.1.0
  # Who the audit trail names as the actor, beside the runner's OS user.
  CITYCLOUD_ACTOR: ${{ github.actor }}

jobs:
  validate:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # --changed-since needs the base branch and the merge base
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install "$CITYCLOUD_PIP"
      - name: Validate what the pull request changes
        env:
          BASE_REF: ${{ github.base_ref }}
          # A department's pull request carries the label department:<code>; with it, any
          # change outside tenants/<code>/ is refused.
          LABELS: ${{ join(github.event.pull_request.labels.*.name, ' ') }}
        # --output github: annotations on the changed files, and the Markdown summary
        # (tenants, pools before -> after, findings) appended to $GITHUB_STEP_SUMMARY.
        run: |
          department=""
          for label in $LABELS; do
            case "$label" in department:*) department="${label#department:}" ;; esac
          done
          citycloud validate --changed-since "origin/$BASE_REF" \\
            ${department:+--author-department "$department"} --output github

  apply:
    if: github.event_name == 'push' && github.ref == 'refs/heads/main'
    # A runner inside the platform network, with cluster credentials and a state directory
    # that outlives the job (deployed commit, Pulumi state, audit log).
    runs-on: [self-hosted, citycloud]
    environment: production
    concurrency:
      group: citycloud-apply
      cancel-in-progress: false  # merges apply one after another, in order
    env:
      CITYCLOUD_STATE_DIR: /var/lib/citycloud
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # apply checks that the commit descends from the deployed one
      - run: pip install "$CITYCLOUD_PIP"
      - name: Apply the merged commit
        run: citycloud apply --from-git "$GITHUB_SHA" --yes
"""

GITLAB_CI = """\
# .gitlab-ci.yml of a citycloud registry: the same flow as the GitHub workflow.
variables:
  CITYCLOUD_PIP: citycloud==0.1.0
  CITYCLOUD_ACTOR: $GITLAB_USER_LOGIN
  GIT_DEPTH: 0  # --changed-since and apply --from-git need the history

validate:
  image: python:3.11
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
    - pip install "$CITYCLOUD_PIP"
    - git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    # A department's merge request carries the label department:<code>.
    - department=$(echo "$CI_MERGE_REQUEST_LABELS" | tr ',' '\\n'
        | sed -n 's/^department://p' | head -n 1)
    - citycloud validate --changed-since "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
        ${department:+--author-department "$department"} --output markdown
        > citycloud-summary.md || failed=1
    - cat citycloud-summary.md
    - test -z "$failed"
  artifacts:
    when: always
    expose_as: citycloud summary
    paths: [citycloud-summary.md]

apply:
  image: python:3.11
  rules:
    - if: $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  resource_group: citycloud-apply  # one apply at a time, in pipeline order
  environment: production
  tags: [citycloud]  # a runner inside the platform network, with a lasting state directory
  variables:
    CITYCLOUD_STATE_DIR: /var/lib/citycloud
  script:
    - pip install "$CITYCLOUD_PIP"
    - citycloud apply --from-git "$CI_COMMIT_SHA" --yes
"""
