"""``python -m octavia_exporter``: the same as the ``octavia-exporter`` command."""

from octavia_exporter.cli import main

raise SystemExit(main())
