#!/usr/bin/env bash
# The demo's octavia-exporter: the octavia_exporter role configures it in foreground mode (no
# systemd here), then its launcher runs in the background with a PID file, which
# `make demo-down` uses to stop it. Run again, it restarts the exporter on the new configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OCTAVIA_DEMO_DIR:?set OCTAVIA_DEMO_DIR (scripts/demo.sh does)}"
dir=$OCTAVIA_DEMO_DIR/exporter
url=http://127.0.0.1:9878
mkdir -p "$dir"
ansible-playbook -i demo/inventory/hosts.yml demo/exporter.yml \
  | sed -n '/^PLAY RECAP/,$p'
if [ -f "$dir/exporter.pid" ]; then
  pid=$(cat "$dir/exporter.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$dir/exporter.pid"
fi
setsid "$dir/opt/run-foreground" >>"$dir/exporter.log" 2>&1 &
echo $! >"$dir/exporter.pid"
# Up to 2 minutes: the first cycle imports openstacksdk on a busy machine. grep -c reads the whole
# page (grep -q would stop early, and under pipefail the cut-off curl would fail the check).
for _ in $(seq 1 600); do
  curl -sf "$url/metrics" 2>/dev/null | grep -c '^openstack_octavia_api_source_up{.*} 1.0$' >/dev/null && break
  sleep 0.2
done
curl -sf "$url/metrics" | grep -c '^openstack_octavia_api_source_up{.*} 1.0$' >/dev/null || {
  echo "the exporter did not complete a cycle; its log ($dir/exporter.log) ends:"; tail -20 "$dir/exporter.log"; exit 1; }
echo "octavia-exporter is serving $(curl -sf "$url/sd/prometheus" | grep -c '"targets"') SD target(s): $url"
