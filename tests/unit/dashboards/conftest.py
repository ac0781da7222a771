"""The dashboards package lives at the repository root, outside pytest's pythonpath."""
import json
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dashboards import generate  # noqa: E402 - needs the path above


@pytest.fixture(scope="session")
def committed():
    """{uid: dashboard dict} as committed under roles/octavia_grafana/files/dashboards."""
    return {module.UID: json.loads((generate.OUTPUT_DIR / f"{module.UID}.json").read_text())
            for module in generate.DASHBOARDS}
