#!/usr/bin/env bash
# `make demo-scale-down`: stop what `make demo-scale` started (by PID file: the shards, the store,
# vmalert, Alertmanager, the webhook receiver, the demo's HTTP backends), delete the generated load
# balancers, then stop the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export OCTAVIA_DEMO_DIR=${OCTAVIA_DEMO_DIR:-$repo/.demo}
export OCTAVIA_DEMO_SCALE_DIR=${OCTAVIA_DEMO_SCALE_DIR:-$OCTAVIA_DEMO_DIR/scale}
export OS_CLIENT_CONFIG_FILE=$repo/.lab/clouds.yaml
export PATH=$repo/.venv/bin:$PATH
python demo/scale/up.py --down
# demo/setup_lab.py's backends, as `make demo-down` stops them.
for pidfile in "$OCTAVIA_DEMO_DIR"/backends/*.pid; do
  [ -f "$pidfile" ] || continue
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
done
python tests/lab/labctl.py down
