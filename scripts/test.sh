#!/usr/bin/env bash
# `make test`: every gate in order, with the time each took. Stops at the first red stage.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -a summary=()
stage() {
  local name=$1; shift
  local t0=$SECONDS
  echo "== stage: $name"
  if "$@"; then
    summary+=("$(printf '%-12s ok    %4ss' "$name" $((SECONDS - t0)))")
  else
    summary+=("$(printf '%-12s FAIL  %4ss' "$name" $((SECONDS - t0)))")
    printf '%s\n' "== stage times" "${summary[@]}"
    exit 1
  fi
}
# One lab serves the integration stage (molecule brings its own); stop it afterwards only if this run started it.
lab_was_up=false
.venv/bin/python tests/lab/labctl.py status >/dev/null 2>&1 && lab_was_up=true
stop_lab() { $lab_was_up || make --no-print-directory lab-down || true; }
trap stop_lab EXIT

stage sanity      make --no-print-directory sanity
stage lint        make --no-print-directory lint
stage unit        make --no-print-directory unit
stage packaging   make --no-print-directory packaging
stage lab-up      make --no-print-directory lab-up
export OS_CLIENT_CONFIG_FILE="$PWD/.lab/clouds.yaml"
# The molecule scenarios run beside the lab tests, on a second lab (scripts/integration.sh).
stage integration scripts/integration.sh --molecule
printf '%s\n' "== stage times" "${summary[@]}"
