#!/usr/bin/env bash
# ansible-lint with the production profile over the whole collection.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
export NO_COLOR=1 PY_COLORS=0
exec .venv/bin/ansible-lint --profile production --offline "$@"
