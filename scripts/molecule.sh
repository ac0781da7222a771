#!/usr/bin/env bash
# Every molecule scenario of every role: converge, idempotence, verify (no containers: localhost).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export ANSIBLE_COLLECTIONS_PATH="$repo/.build/collections"
export PATH="$repo/.venv/bin:$PATH"
# Plain text in CI logs.
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
[ -f "$repo/.lab/clouds.yaml" ] && export OS_CLIENT_CONFIG_FILE="${OS_CLIENT_CONFIG_FILE:-$repo/.lab/clouds.yaml}"
ran=0
for scenario_dir in roles/*/molecule/*/; do
  [ -f "$scenario_dir/molecule.yml" ] || continue
  role_dir=${scenario_dir%%/molecule/*}
  scenario=$(basename "$scenario_dir")
  echo "-- molecule: $(basename "$role_dir") / $scenario"
  (cd "$role_dir" && molecule test -s "$scenario")
  ran=$((ran + 1))
done
echo "molecule: $ran scenario(s) passed"
