"""Write (or check) the dashboard JSON that roles/octavia_grafana ships.

    python -m dashboards.generate          # rewrite the JSON files
    python -m dashboards.generate --check  # exit 1 if a committed file differs
"""
import argparse
import json
import pathlib
import sys

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import detail, fleet

REPO = pathlib.Path(__file__).resolve().parents[1]
OUTPUT_DIR = REPO / "roles" / "octavia_grafana" / "files" / "dashboards"
DASHBOARDS = (fleet, detail)


def number_panels(dashboard):
    """Give every panel, rows and the panels inside collapsed rows included, a stable id.

    Grafana would assign ids on load; fixed ids keep panel links (viewPanel=) and
    the committed JSON stable.
    """
    next_id = 1
    for panel in dashboard["panels"]:
        panel["id"] = next_id
        next_id += 1
        for inner in panel.get("panels", []):
            inner["id"] = next_id
            next_id += 1
    return dashboard


def render(module):
    """The dashboard of `module` as a JSON-ready dict."""
    dashboard = json.loads(JSONEncoder(sort_keys=True).encode(module.build().build()))
    return number_panels(dashboard)


def dumps(dashboard):
    """The exact text committed for a dashboard: sorted keys, 2-space indent, final newline."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def outputs():
    """{path: text} for every dashboard."""
    return {OUTPUT_DIR / f"{module.UID}.json": dumps(render(module)) for module in DASHBOARDS}


def _shown(path):
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {_shown(path)}")
    if stale:
        names = ", ".join(_shown(path) for path in stale)
        print(f"stale: {names}; run `python -m dashboards.generate`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
