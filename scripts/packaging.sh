#!/usr/bin/env bash
# `make packaging`: the collection as Galaxy, Automation Hub and ansible-builder get it, from a
# tarball built afresh: galaxy-importer (Automation Hub's settings), antsibull-docs,
# antsibull-changelog, ansible-builder introspect and create, ansible-doc of every plugin and
# role. Each check is one test in tests/integration/test_collection_build.py or
# test_execution_environment.py (marker `packaging`), so a failure names the check and shows
# the tool's own output. Needs no lab. Arguments go to pytest (e.g. -k importer).
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1
exec .venv/bin/python -m pytest -q -p no:cacheprovider -m packaging \
  tests/integration/test_collection_build.py tests/integration/test_execution_environment.py "$@"
