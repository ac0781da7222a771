#!/usr/bin/env bash
# The Debian packages that the lab, the demo and the tests need, and the one step that installs
# them: `.ci/run`, `make demo` and `make test` all run this script.
#
#   as root:         installs whatever is missing (apt-get update runs only then), then stops the
#                    distro services that Debian's maintainer scripts start on install, because
#                    the lab and the demo run their own instances on their own ports;
#   as another user: if anything is missing, prints the exact command to run as root and exits 1;
#   --list:          prints the package names, one a line.
#
# With everything installed it does nothing but one dpkg-query, as any user.
# These are development packages. What an execution environment needs at run time is bindep.txt
# (nothing today): the collection's plugins call the OpenStack API and need no system binary.
set -euo pipefail

packages=(
  # the lab: Octavia's database and message bus, and the amphorae's load balancer
  mariadb-server rabbitmq-server haproxy
  # the real servers and checkers the roles are tested with: prometheus (with promtool),
  # node_exporter, Alertmanager (amtool), VictoriaMetrics (vmalert)
  prometheus prometheus-node-exporter prometheus-alertmanager victoria-metrics
  # `make sanity` runs shellcheck on the scripts
  shellcheck
  # the virtualenv, and the tools the scripts and the lab call
  python3-venv iproute2 procps psmisc curl git make
)
# Services the packages above may start on install; none of them is used.
services=(mariadb rabbitmq-server haproxy prometheus prometheus-node-exporter
          prometheus-alertmanager victoria-metrics)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all ${#packages[@]} installed"
  exit 0
fi

command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  {
    echo "system packages: missing ${missing[*]}"
    echo "Installing them needs root. Run this, then the same make command again:"
    echo "  sudo sh -c '$command'"
  } >&2
  exit 1
fi

echo "system packages: installing ${missing[*]}"
log=$(mktemp /tmp/system-packages.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "system packages: apt-get failed; the end of its log ($log):" >&2
  tail -40 "$log" >&2
  exit 1
fi
rm -f "$log"
for svc in "${services[@]}"; do
  service "$svc" stop >/dev/null 2>&1 || true
done
echo "system packages: installed ${missing[*]}"
