"""The octavia_grafana role's owed reloads (plugins/filter/grafana_reload_owed.py), on plain dicts."""
import pytest

from ansible_collections.octavia.monitoring.plugins.filter.grafana_reload_owed import (
    FilterModule,
    grafana_reload_owed,
)


def stat(kind, mtime, stamp=False, path="p"):
    result = {"stat": {"exists": mtime is not None}, "item": {"kind": kind, "path": path, "stamp": stamp}}
    if mtime is not None:
        result["stat"]["mtime"] = mtime
    return result


def stats(*results):
    return {"results": list(results)}


def test_the_file_holds_the_filter_it_is_named_after():
    assert list(FilterModule().filters()) == ["grafana_reload_owed"]


@pytest.mark.parametrize("results, changed, owed", [
    # Reloaded after the last write: nothing owed.
    ((stat("dashboards", 10.0), stat("dashboards", 20.0, stamp=True)), [], []),
    # A file newer than the stamp: the last reload did not read it.
    ((stat("dashboards", 30.0), stat("dashboards", 20.0, stamp=True)), [], ["dashboards"]),
    # Never reloaded, files there.
    ((stat("datasources", 5.0), stat("datasources", None, stamp=True)), [], ["datasources"]),
    # Nothing on disk and no stamp: nothing to read.
    ((stat("datasources", None), stat("datasources", None, stamp=True)), [], []),
    # Changed in this run, whatever the times say (check mode writes nothing).
    ((stat("dashboards", 10.0), stat("dashboards", 20.0, stamp=True)), ["dashboards"], ["dashboards"]),
    # Kinds are judged apart, the newest file of a kind counts.
    ((stat("datasources", 10.0), stat("datasources", 20.0, stamp=True),
      stat("dashboards", 10.0), stat("dashboards", 25.0), stat("dashboards", 20.0, stamp=True)),
     [], ["dashboards"]),
    ((stat("dashboards", 30.0), stat("dashboards", 20.0, stamp=True)), ["datasources"], ["dashboards", "datasources"]),
])
def test_owed(results, changed, owed):
    assert grafana_reload_owed(stats(*results), changed) == owed


@pytest.mark.parametrize("value", [None, {}, {"results": []}])
def test_nothing_looked_at_nothing_owed(value):
    assert grafana_reload_owed(value) == []
