"""Print what the demo's Prometheus sees: every Octavia target's health, and traffic by name."""
import argparse
import json
import time
import urllib.parse
import urllib.request


def get(base, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)["data"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--wait", type=float, default=30, help="seconds to wait for every target to be up")
    args = parser.parse_args()
    deadline = time.monotonic() + args.wait
    while True:
        targets = [t for t in get(args.prometheus, "/api/v1/targets", state="active")["activeTargets"]
                   if t["labels"].get("loadbalancer_id")]
        if (targets and all(t["health"] == "up" for t in targets)) or time.monotonic() > deadline:
            break
        time.sleep(1)
    print(f"{'load balancer':<14} {'scrape target':<22} {'health':<7} last error")
    for t in sorted(targets, key=lambda t: t["labels"]["loadbalancer_name"]):
        print(f"{t['labels']['loadbalancer_name']:<14} {t['labels']['instance']:<22} "
              f"{t['health']:<7} {t['lastError'] or '-'}")
    query = ("sum by (loadbalancer_name, listener_name) (increase(octavia_listener_http_responses_total[5m])"
             " * on (listener) group_left (listener_name) octavia_listener_info)")
    while True:
        rows = get(args.prometheus, "/api/v1/query", query=query)["result"]
        if rows or time.monotonic() > deadline:
            break
        time.sleep(1)
    if rows:
        print("\nHTTP responses in the last 5 minutes, by listener name (through the name catalogue):")
        for row in sorted(rows, key=lambda r: (r["metric"].get("loadbalancer_name", ""), r["metric"].get("listener_name", ""))):
            print(f"  {row['metric'].get('loadbalancer_name', '?'):<14} {row['metric'].get('listener_name', '?'):<12} "
                  f"{float(row['value'][1]):8.0f}")


if __name__ == "__main__":
    main()
