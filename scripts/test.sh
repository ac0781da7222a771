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
stage sanity      make --no-print-directory sanity
stage lint        make --no-print-directory lint
stage unit        make --no-print-directory unit
stage integration make --no-print-directory integration
stage molecule    make --no-print-directory molecule
printf '%s\n' "== stage times" "${summary[@]}"
