#!/usr/bin/env bash
# `make demo`: the main job on the local lab, end to end.
#   1. the lab and the demo load balancers (one unmonitored, one already monitored, one with no
#      listener, one UDP-only);
#   2. a Prometheus on 127.0.0.1:9090 (started here, stopped by `make demo-down`), and
#      octavia-exporter on 127.0.0.1:9878 in the foreground, installed and configured by its role;
#   3. ansible-playbook octavia.monitoring.site with the inventory plugin against cloud octavia-lab;
#   4. some traffic, then every target's health and the API statistics table;
#   5. the same playbook again, to show that it changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export OCTAVIA_DEMO_DIR=${OCTAVIA_DEMO_DIR:-$repo/.demo}
export OS_CLIENT_CONFIG_FILE=$repo/.lab/clouds.yaml
export ANSIBLE_COLLECTIONS_PATH=$repo/.build/collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_LOCALHOST_WARNING=false
# As recommended for AWX: an inventory source that fails to load fails the run.
export ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true
export PATH=$repo/.venv/bin:$PATH
prom_port=9090
prom_dir=$OCTAVIA_DEMO_DIR/prometheus
inventory=(-i demo/inventory/lab.octavia.yml -i demo/inventory/hosts.yml)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. The lab and the demo load balancers"
python tests/lab/labctl.py up
python demo/setup_lab.py

say "2. Prometheus on 127.0.0.1:$prom_port"
mkdir -p "$prom_dir/data" "$prom_dir/file_sd" "$prom_dir/rules"
if ! curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1; then
  # Until the role writes the real config, Prometheus starts with an empty one.
  [ -f "$prom_dir/prometheus.yml" ] || printf 'global:\n  scrape_interval: 5s\n' >"$prom_dir/prometheus.yml"
  setsid prometheus --config.file="$prom_dir/prometheus.yml" --storage.tsdb.path="$prom_dir/data" \
    --web.listen-address="127.0.0.1:$prom_port" --web.enable-lifecycle \
    --storage.tsdb.retention.time=1d >"$prom_dir/prometheus.log" 2>&1 &
  echo $! >"$prom_dir/prometheus.pid"
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null || {
    echo "Prometheus did not start on 127.0.0.1:$prom_port; its log ($prom_dir/prometheus.log) ends:"; tail -20 "$prom_dir/prometheus.log"; exit 1; }
fi
echo "Prometheus is ready: http://127.0.0.1:$prom_port"

say "2b. octavia-exporter in the foreground, configured by the octavia_exporter role"
demo/exporter.sh

say "3. ansible-playbook octavia.monitoring.site (first run)"
ansible-playbook "${inventory[@]}" octavia.monitoring.site

say "4. Traffic through the demo load balancers, then what Prometheus and the API see"
python demo/traffic.py --seconds 12
python demo/report.py --prometheus "http://127.0.0.1:$prom_port"
ansible-playbook octavia.monitoring.stats -e octavia_stats_cloud=octavia-lab \
  -e '{"octavia_stats_filters": {"project_ids": ["demo-project"]}}' -e octavia_stats_include_listeners=true \
  2>&1 | sed -n '/^TASK \[Show the statistics/,/^PLAY RECAP/p' | sed '$d'

say "5. ansible-playbook octavia.monitoring.site again: nothing left to change"
ansible-playbook "${inventory[@]}" octavia.monitoring.site | tee "$OCTAVIA_DEMO_DIR/second-run.log" | sed -n '/^PLAY RECAP/,$p'
if grep -E 'changed=[1-9]|failed=[1-9]' "$OCTAVIA_DEMO_DIR/second-run.log" >/dev/null; then
  echo "The second run changed something; see $OCTAVIA_DEMO_DIR/second-run.log"; exit 1
fi

cat <<MSG

Done. What is running and where:
  Octavia API       $(python -c 'import sys; sys.path.insert(0, "tests"); from lab.settings import Settings; print(Settings().api_url)')   (cloud octavia-lab, OS_CLIENT_CONFIG_FILE=$OS_CLIENT_CONFIG_FILE)
  Prometheus        http://127.0.0.1:$prom_port   (config $prom_dir/prometheus.yml)
  Exporter metrics  http://127.0.0.1:9878/metrics
  Exporter SD       http://127.0.0.1:9878/sd/prometheus
  Grafana tree      $OCTAVIA_DEMO_DIR/grafana   (provisioning/ and dashboards/ for a Grafana server)
Stop everything with: make demo-down
MSG
