# Everything starts from a fresh clone: `make run` and `make test` install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/wuhan

.PHONY: install run test unit lint bench controlplane e2e clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/citycloud --registry $(EXAMPLE) validate
	$(BIN)/citycloud --registry $(EXAMPLE) capacity
	$(BIN)/citycloud --registry $(EXAMPLE) plan

test: lint unit e2e

# The node tests get a process of their own: ansible-runner forks, and a process in which the
# Pulumi engine's gRPC has run cannot fork safely (gRPC's poller broke in the child, now and
# then, before ansible-playbook started). `citycloud nodes` never runs the Pulumi engine.
unit: install
	$(BIN)/pytest -q --ignore=tests/e2e --ignore=tests/nodes
	$(BIN)/pytest -q tests/nodes

# kube-apiserver, kube-controller-manager, etcd, pulumi and its Kubernetes provider, built from
# their Go modules into a cache outside the repo (reused when warm; scripts/controlplane/),
# and the independent checkers the tests consult: cyclonus and kustomize (scripts/checkers/,
# a cache of its own).
controlplane:
	scripts/controlplane/build.sh
	scripts/checkers/build.sh

# End-to-end tests on that control plane with the real Pulumi engine (they fail under CI=true
# when the binaries are missing, and skip otherwise).
e2e: install controlplane
	$(BIN)/pytest -q --durations=10 tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install controlplane
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/overlaps.py
	$(BIN)/python bench/exporter.py
	$(BIN)/python bench/onboarding.py
	$(BIN)/python bench/converge.py
	$(BIN)/python bench/clusters.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
