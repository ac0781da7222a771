"""gunicorn's configuration file for the lab's octavia-api (loaded by gunicorn with --config).

The application is Octavia's own WSGI entry point, octavia.wsgi.api:application. It reads
its oslo.config arguments from sys.argv when it is imported, and in a gunicorn worker
sys.argv holds gunicorn's own options, which oslo.config would reject. Each worker imports
the application after fork, so this hook gives it the command line octavia-api would have
had. Every other setting is on gunicorn's command line (lab/services.py), where `ps` and
the PID record show it.
"""
import os
import sys


def post_fork(_server, _worker):
    """In a new worker, before it imports the application: point oslo.config at the lab's file."""
    sys.argv = ["octavia-api", "--config-file", os.environ["OCTAVIA_LAB_CONF"]]
