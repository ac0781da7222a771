"""Send a little HTTP traffic through the demo load balancers' HTTP listeners.

A mix of paths gives the dashboards and alerts something to show: 2xx from `/`, 4xx and 5xx
from the backends' /status/NNN, spread over every demo VIP that serves HTTP.
"""
import argparse
import itertools
import time
import urllib.error
import urllib.request

VIPS = ("127.0.0.51", "127.0.0.52")
PATHS = ("/", "/", "/", "/", "/status/404", "/status/503")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    counts = {}
    deadline = time.monotonic() + args.seconds
    for vip, path in itertools.cycle([(v, p) for v in VIPS for p in PATHS]):
        if time.monotonic() > deadline:
            break
        try:
            with urllib.request.urlopen(f"http://{vip}{path}", timeout=2) as resp:
                code = resp.status
        except urllib.error.HTTPError as err:
            code = err.code
        except OSError:
            code = "no answer"
        counts[(vip, code)] = counts.get((vip, code), 0) + 1
        time.sleep(0.02)
    for vip in VIPS:
        seen = ", ".join(f"{code}: {n}" for (v, code), n in sorted(counts.items(), key=str) if v == vip)
        print(f"  http://{vip}/  {seen}")


if __name__ == "__main__":
    main()
