"""The Octavia Grafana dashboards, authored as code with grafana-foundation-sdk.

`python -m dashboards.generate` writes the JSON that roles/octavia_grafana ships;
`python -m dashboards.generate --check` fails when the committed JSON is stale.
"""
