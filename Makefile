# octavia.monitoring: every entry point a developer or CI needs.
# Each target creates or reuses the virtualenv at .venv.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
COLLECTIONS := $(CURDIR)/.build/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help system-packages venv collection lab-up lab-down lab-status lint sanity unit integration packaging molecule test demo demo-down build changelog ee ee-context bench

help:
	@echo "make demo        start the local Octavia lab and run the main job against it"
	@echo "make test        every test and check (what CI runs)"
	@echo "make demo-down   stop the demo's Prometheus, exporter and backends, then the lab"
	@echo "make demo-scale  three TLS Prometheus shards, VictoriaMetrics, vmalert, Alertmanager (docs/scaling.md)"
	@echo "make demo-scale-down   stop the scale demo's processes and its generated load balancers"
	@echo "make lab-up | lab-down | lab-status"
	@echo "make lint | sanity | unit | integration | packaging | molecule | build | bench"
	@echo "make changelog   record the release of galaxy.yml's version (fragments, new plugins) and CHANGELOG.rst"
	@echo "make ee | ee-context   an execution environment (podman or docker) | its build context only"
	@echo "make system-packages   install the Debian packages the lab and the tests need (as root)"

# requirements.txt is what the collection needs at run time; tests/requirements.txt adds the
# test, lab and packaging tools (and includes the former).
$(STAMP): requirements.txt tests/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required: install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | { grep -v "is ignored: it is neither" || true; }
	$(PY) -m pip install -q -r tests/requirements.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
	touch $@

# The Debian packages of the lab and the tests: installs the missing ones as root; as another
# user, prints the apt-get command to run and stops. `make demo` and `make test` run it first.
system-packages:
	@scripts/system-packages.sh

venv: $(STAMP)

# Ansible finds this checkout as octavia.monitoring through a symlinked collections tree.
collection: venv
	@mkdir -p $(COLLECTIONS)/ansible_collections/octavia
	@ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/octavia/monitoring

lab-up: venv
	$(PY) tests/lab/labctl.py up

lab-down: venv
	$(PY) tests/lab/labctl.py down

lab-status: venv
	$(PY) tests/lab/labctl.py status

lint: collection
	scripts/lint.sh

sanity: venv
	scripts/sanity.sh

unit: collection
	$(PY) -m pytest -q tests/unit exporter/tests/test_exporter_unit.py

# The packaging checks build their own tarball and need no lab: `make packaging` runs them.
# Lab tests and tests without the lab in two processes at once (scripts/integration.sh).
integration: collection
	scripts/integration.sh

packaging: collection
	scripts/packaging.sh

molecule: collection
	scripts/molecule.sh

build: collection
	mkdir -p .build/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build/dist .

# The release of galaxy.yml's version in changelogs/changelog.yaml and CHANGELOG.rst.
changelog: collection
	scripts/changelog.sh

# An execution environment with this collection (execution-environment.yml). `ee` needs podman
# or docker; `ee-context` stops at the build context, which needs neither.
EE_TAG ?= octavia-monitoring-ee:$(shell sed -n 's/^version: *//p' galaxy.yml)
ee: build
	$(VENV)/bin/ansible-builder build -f execution-environment.yml -c .build/ee -t $(EE_TAG)

ee-context: build
	$(VENV)/bin/ansible-builder create -f execution-environment.yml -c .build/ee

test: system-packages collection
	scripts/test.sh

demo: system-packages collection
	scripts/demo.sh

# The demo's own processes (Prometheus, HTTP backends) by their PID files, then the lab.
demo-down:
	@for pidfile in .demo/prometheus/prometheus.pid .demo/exporter/exporter.pid .demo/backends/*.pid; do \
	  [ -f "$$pidfile" ] || continue; kill "$$(cat "$$pidfile")" 2>/dev/null || true; rm -f "$$pidfile"; \
	done
	$(MAKE) --no-print-directory lab-down

# Not part of `make test`: each prints its approaches side by side with the ratios.
bench: collection lab-up
	$(PY) bench/stats_bench.py
	$(PY) bench/rollout
	$(PY) bench/exporter_bench.py
	$(PY) bench/shards

# make demo-scale, make demo-scale-down
include demo/scale/Makefile.inc
