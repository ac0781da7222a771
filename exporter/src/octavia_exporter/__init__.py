"""octavia-exporter: a read-only Prometheus exporter for the OpenStack Octavia API."""

__version__ = "1.0.0"
