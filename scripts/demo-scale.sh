#!/usr/bin/env bash
# `make demo-scale`: the sharded topology of issue 13 on the local lab.
#   1. the lab and the demo load balancers (demo/setup_lab.py, as `make demo` makes them);
#   2. 30 more load balancers in the demo project (demo/scale/up.py --fleet);
#   3. VictoriaMetrics on 127.0.0.1:8428, Alertmanager on :9093 with the webhook receiver on
#      :9096, three Prometheus shards on :9101, :9102, :9103 (TLS and basic auth once the role
#      has written their web config);
#   4. ansible-playbook octavia.monitoring.site against that topology, then vmalert on :8880;
#   5. every PROMETHEUS listener scraped by exactly one shard, read from VictoriaMetrics;
#   6. the site playbook again: the recap must show no change. Then what runs where.
# Every process runs in its own session with a PID file under .demo/scale; `make demo-scale-down`
# stops them by those files.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export OCTAVIA_DEMO_DIR=${OCTAVIA_DEMO_DIR:-$repo/.demo}
export OCTAVIA_DEMO_SCALE_DIR=${OCTAVIA_DEMO_SCALE_DIR:-$OCTAVIA_DEMO_DIR/scale}
export OS_CLIENT_CONFIG_FILE=$repo/.lab/clouds.yaml
export ANSIBLE_COLLECTIONS_PATH=$repo/.build/collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true
export PATH=$repo/.venv/bin:$PATH

printf '\n\033[1m== %s\033[0m\n' "1. The lab and the demo load balancers"
python tests/lab/labctl.py up
python demo/setup_lab.py
python demo/scale/up.py --fleet "${OCTAVIA_DEMO_SCALE_FLEET:-30}"
