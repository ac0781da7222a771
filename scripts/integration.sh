#!/usr/bin/env bash
# `make integration`: the integration tests in two pytest processes at once.
#   lab:     the tests that use the Octavia lab (marker `lab`, set by tests/integration/conftest.py),
#            the exporter's lab tests included. They share one lab, and the fault tests stop its
#            components, so they run one at a time, in this process.
#   no lab:  the tests against real Prometheus, promtool, Alertmanager, VictoriaMetrics, vmalert and
#            haproxy processes of their own, on free 127.0.0.1 ports. They never touch the lab, and
#            spend most of their time waiting for scrapes, evaluations and reloads, so they overlap
#            the lab tests instead of waiting behind them.
# Both always run to the end; the output of the second follows the first, and the stage fails if
# either failed; each lists its 25 slowest tests. Extra arguments go to both (for example -x or -k).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PY=.venv/bin/python
mkdir -p .build
nolab_log=.build/integration-nolab.log
# Its own base directory, so neither process cleans up the other's temporary directories.
$PY -m pytest -q --durations=25 -m "not packaging and not lab" --basetemp=.build/pytest-nolab "$@" \
  tests/integration >"$nolab_log" 2>&1 &
nolab_pid=$!
$PY -m pytest -q --durations=25 -m "not packaging and lab" "$@" tests/integration exporter/tests/test_exporter_lab.py
lab_rc=$?
wait "$nolab_pid"
nolab_rc=$?
echo "== integration tests without the lab (${nolab_log})"
cat "$nolab_log"
# With a selection (-k ...) one side may select nothing, which pytest reports as 5.
if [ $# -gt 0 ]; then
  [ "$lab_rc" -eq 5 ] && lab_rc=0
  [ "$nolab_rc" -eq 5 ] && nolab_rc=0
fi
echo "== integration: lab tests rc=${lab_rc}, tests without the lab rc=${nolab_rc}"
[ "$lab_rc" -eq 0 ] && [ "$nolab_rc" -eq 0 ]
