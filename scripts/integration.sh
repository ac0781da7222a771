#!/usr/bin/env bash
# `make integration`: the integration tests in two pytest processes at once.
#   lab:     the tests that use the Octavia lab (marker `lab`, set by tests/integration/conftest.py),
#            the exporter's lab tests included. They share one lab, and the fault tests stop its
#            components, so they run one at a time, in this process.
#   no lab:  the tests against real Prometheus, promtool, Alertmanager, VictoriaMetrics, vmalert and
#            haproxy processes of their own, on free 127.0.0.1 ports. They never touch the lab, and
#            spend most of their time waiting for scrapes, evaluations and reloads, so they overlap
#            the lab tests instead of waiting behind them.
# With --molecule first (what `make test` does), the no-lab side then runs every molecule scenario
# (scripts/molecule.sh) against a second lab of its own (.lab-molecule, its own ports and
# loopback ranges), which it starts and stops: the fault tests of the first lab cannot reach it,
# and the scenarios no longer wait for the lab tests to end.
# Both always run to the end; the output of the second follows the first, and the stage fails if
# either failed; each lists its 25 slowest tests. Extra arguments go to both pytest runs (for
# example -x or -k).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PY=.venv/bin/python
molecule=false
if [ "${1:-}" = "--molecule" ]; then
  molecule=true
  shift
fi
mkdir -p .build
nolab_log=.build/integration-nolab.log

# The second lab: ports and ranges that neither the default lab nor tests/lab/README's examples use.
molecule_lab() {
  env OCTAVIA_LAB_DIR="$PWD/.lab-molecule" OCTAVIA_LAB_API_PORT=29876 OCTAVIA_LAB_MYSQL_PORT=29306 \
    OCTAVIA_LAB_AMQP_PORT=29673 OCTAVIA_LAB_EPMD_PORT=29369 OCTAVIA_LAB_ERL_DIST_PORT=29674 \
    OCTAVIA_LAB_AMP_NET=127.250.0.0/16 OCTAVIA_LAB_VIP_NET=127.12.0.0/16 \
    OS_CLIENT_CONFIG_FILE="$PWD/.lab-molecule/clouds.yaml" "$@"
}

no_lab_side() {
  # Its own base directory, so neither process cleans up the other's temporary directories.
  $PY -m pytest -q --durations=25 -m "not packaging and not lab" --basetemp=.build/pytest-nolab "$@" \
    tests/integration
  local rc=$?
  if $molecule; then
    echo "== molecule, against the second lab"
    local t0=$SECONDS
    if molecule_lab $PY tests/lab/labctl.py up; then
      molecule_lab scripts/molecule.sh || rc=1
    else
      rc=1
    fi
    molecule_lab $PY tests/lab/labctl.py down || true
    echo "== molecule took $((SECONDS - t0))s"
  fi
  return $rc
}

no_lab_side "$@" >"$nolab_log" 2>&1 &
nolab_pid=$!
$PY -m pytest -q --durations=25 -m "not packaging and lab" "$@" tests/integration exporter/tests/test_exporter_lab.py
lab_rc=$?
wait "$nolab_pid"
nolab_rc=$?
if $molecule; then
  echo "== integration tests without the lab, then molecule (${nolab_log})"
else
  echo "== integration tests without the lab (${nolab_log})"
fi
cat "$nolab_log"
# With a selection (-k ...) one side may select nothing, which pytest reports as 5.
if [ $# -gt 0 ]; then
  [ "$lab_rc" -eq 5 ] && lab_rc=0
  [ "$nolab_rc" -eq 5 ] && nolab_rc=0
fi
echo "== integration: lab tests rc=${lab_rc}, tests without the lab rc=${nolab_rc}"
[ "$lab_rc" -eq 0 ] && [ "$nolab_rc" -eq 0 ]
