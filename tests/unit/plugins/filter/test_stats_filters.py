"""Unit tests of the stats rendering filters, on plain dicts shaped like lb_stats_info's result."""
import copy
import csv
import importlib
import io
import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.octavia.monitoring.plugins.plugin_utils import _stats_render as flt

FIELDS = ("active_connections", "bytes_in", "bytes_out", "request_errors", "total_connections")


def figures(active, bytes_in, bytes_out, errors, total):
    return {"active_connections": active, "bytes_in": bytes_in, "bytes_out": bytes_out,
            "request_errors": errors, "total_connections": total}


def listener(lid, name, protocol, port, stats):
    return {"id": lid, "name": name, "protocol": protocol, "protocol_port": port, "stats": stats}


def load_balancer(lid, name, stats, listeners=None, project="proj-1", provider="amphora"):
    lb = {"id": lid, "name": name, "project_id": project, "vip_address": "127.3.0.10",
          "provider": provider, "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
          "stats": stats}
    if listeners is not None:
        lb["listeners"] = listeners
    return lb


@pytest.fixture
def lbs():
    web_http = figures(2, 1000, 5000, 1, 40)
    web_https = figures(1, 2236722, 100973832, 0, 3606)
    web_total = {f: web_http[f] + web_https[f] for f in FIELDS}
    return [
        load_balancer("lb-web", "web", web_total, [
            listener("li-http", "http", "HTTP", 80, web_http),
            listener("li-https", "https", "TERMINATED_HTTPS", 443, web_https),
        ]),
        load_balancer("lb-dns", "dns", figures(0, 89, 237, 0, 1), [
            listener("li-dns", "dns-udp", "UDP", 53, figures(0, 89, 237, 0, 1)),
        ], project="proj-2", provider="ovn"),
    ]


# --- human_bytes --------------------------------------------------------------------------


@pytest.mark.parametrize("value, kwargs, expected", [
    (0, {}, "0 B"),
    (1023, {}, "1023 B"),
    (1024, {}, "1.0 KiB"),
    (1536, {}, "1.5 KiB"),
    (2236722, {}, "2.1 MiB"),
    (100973832, {}, "96.3 MiB"),
    (1024 ** 3, {}, "1.0 GiB"),
    (5 * 1024 ** 4, {}, "5.0 TiB"),
    (1024 ** 7, {}, "1024.0 EiB"),
    (1048575, {}, "1.0 MiB"),  # 1023.999 KiB rounds to 1024.0: carried into the next unit
    (999, {"unit_system": "si"}, "999 B"),
    (1000, {"unit_system": "si"}, "1.0 kB"),
    (2236722, {"unit_system": "si", "precision": 2}, "2.24 MB"),
    (2236722, {"precision": 0}, "2 MiB"),
    ("4096", {}, "4.0 KiB"),
])
def test_human_bytes(value, kwargs, expected):
    assert flt.human_bytes(value, **kwargs) == expected


@pytest.mark.parametrize("value, kwargs, message", [
    (-1, {}, "non-negative integer"),
    (1.5, {}, "non-negative integer"),
    (True, {}, "non-negative integer"),
    (None, {}, "non-negative integer"),
    ("12k", {}, "non-negative integer"),
    (10, {"unit_system": "binary"}, "unit_system must be 'iec' or 'si'"),
    (10, {"precision": -1}, "precision must be"),
])
def test_human_bytes_rejects(value, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        flt.human_bytes(value, **kwargs)


# --- stats_table --------------------------------------------------------------------------


def cells(line):
    return [c.strip() for c in line.strip("|").split("|")]


def test_table_rows_columns_and_total(lbs):
    lines = flt.stats_table(lbs).split("\n")
    assert all(len(line) == len(lines[0]) for line in lines), "every line has the same width"
    assert cells(lines[1]) == ["Name", "ID", "Protocol", "Active conns", "Total conns", "Bytes in",
                               "Bytes out", "Request errors"]
    rows = [cells(line) for line in lines if line.startswith("|")][1:]
    assert rows == [
        ["web", "lb-web", "", "3", "3646", "2237722 (2.1 MiB)", "100978832 (96.3 MiB)", "1"],
        ["- http", "li-http", "HTTP:80", "2", "40", "1000 (1000 B)", "5000 (4.9 KiB)", "1"],
        ["- https", "li-https", "TERMINATED_HTTPS:443", "1", "3606", "2236722 (2.1 MiB)",
         "100973832 (96.3 MiB)", "0"],
        ["dns", "lb-dns", "", "0", "1", "89 (89 B)", "237 (237 B)", "0"],
        ["- dns-udp", "li-dns", "UDP:53", "0", "1", "89 (89 B)", "237 (237 B)", "0"],
        ["Total", "2 load balancers", "", "3", "3647", "2237811 (2.1 MiB)", "100979069 (96.3 MiB)", "1"],
    ]
    # Separator lines: top, under the header, after the body, after the total.
    assert [i for i, line in enumerate(lines) if line.startswith("+")] == [0, 2, 8, 10]


def test_table_keeps_input_order_and_indents_listeners(lbs):
    lines = flt.stats_table(list(reversed(lbs))).split("\n")
    names = [line.split("|")[1] for line in lines[3:8]]
    assert names[0].strip() == "dns"
    assert names[1].startswith("   - dns-udp")
    assert names[2].strip() == "web"


def test_table_aligns_raw_figures_on_the_right(lbs):
    lines = flt.stats_table(lbs).split("\n")
    body = [line for line in lines if line.startswith("|")][1:]
    bars = [m.start() for m in re.finditer(r"\|", lines[1])]
    for column in (5, 6):
        # Whatever the readable unit, each raw byte count ends, and its "(" starts, in one column.
        segments = [line[bars[column]:bars[column + 1]] for line in body]
        assert len({re.search(r"\d \(", seg).start() for seg in segments}) == 1, segments


def test_table_without_listener_rows(lbs):
    rows = [cells(line) for line in flt.stats_table(lbs, listeners=False).split("\n")
            if line.startswith("|")][1:]
    assert [r[0] for r in rows] == ["web", "dns", "Total"]


def test_table_when_the_module_ran_without_listeners(lbs):
    for lb in lbs:
        del lb["listeners"]
    rows = [cells(line) for line in flt.stats_table(lbs).split("\n") if line.startswith("|")][1:]
    assert [r[0] for r in rows] == ["web", "dns", "Total"]


def test_table_without_total(lbs):
    text = flt.stats_table(lbs, totals=False)
    assert "Total " not in text.replace("Total conns", "")
    assert text.rsplit("\n", maxsplit=1)[-1].startswith("+")


def test_table_single_load_balancer_says_singular(lbs):
    rows = [cells(line) for line in flt.stats_table(lbs[:1]).split("\n") if line.startswith("|")]
    assert rows[-1][1] == "1 load balancer"


def test_table_si_units(lbs):
    assert "2237722 (2.2 MB)" in flt.stats_table(lbs, unit_system="si")


def test_table_empty_says_so_and_has_no_total():
    lines = flt.stats_table([]).split("\n")
    assert "No load balancer matched." in lines[3]
    assert all(len(line) == len(lines[0]) for line in lines)
    assert len(lines) == 5
    assert not any(line.startswith("| Total") for line in lines)


def test_table_accepts_the_whole_registered_result(lbs):
    result = {"changed": False, "load_balancers": lbs, "totals": figures(3, 0, 0, 1, 3647)}
    assert flt.stats_table(result) == flt.stats_table(lbs)


def test_table_lb_without_name_shows_empty_name_and_its_id(lbs):
    lbs[1]["name"] = None
    rows = [cells(line) for line in flt.stats_table(lbs).split("\n") if line.startswith("|")]
    assert ["", "lb-dns"] == rows[4][:2]


@pytest.mark.parametrize("mutate, message", [
    (lambda lbs: "not a list", "expects the load_balancers list"),
    (lambda lbs: [1], "item 0 is not a dict"),
    (lambda lbs: [dict(lbs[0], stats=None)], "load balancer web has no 'stats' dict"),
    (lambda lbs: [dict(lbs[0], stats=dict(lbs[0]["stats"], bytes_in="12"))],
     "load balancer web: stats.bytes_in must be an integer, got '12'"),
    (lambda lbs: [dict(lbs[0], stats={k: v for k, v in lbs[0]["stats"].items() if k != "bytes_out"})],
     "stats.bytes_out must be an integer, got None"),
    (lambda lbs: [dict(lbs[1], listeners=[dict(lbs[1]["listeners"][0], stats={})])],
     "listener dns-udp of load balancer dns: stats.active_connections must be an integer"),
    (lambda lbs: [dict(lbs[1], listeners=["x"])], "listener 0 of load balancer dns has no 'stats' dict"),
])
def test_table_rejects_malformed_input(lbs, mutate, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        flt.stats_table(mutate(lbs))


@pytest.mark.parametrize("kwargs", [{"listeners": "yes"}, {"totals": 1}])
def test_table_rejects_non_bool_switches(lbs, kwargs):
    with pytest.raises(AnsibleFilterError, match="must be a boolean"):
        flt.stats_table(lbs, **kwargs)


def test_filters_do_not_modify_their_input(lbs):
    before = copy.deepcopy(lbs)
    flt.stats_table(lbs)
    flt.stats_csv(lbs)
    flt.stats_exposition(lbs)
    assert lbs == before


# --- stats_csv ----------------------------------------------------------------------------


def test_csv_rows(lbs):
    text = flt.stats_csv(lbs)
    assert text.endswith("\n") and "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(flt.CSV_COLUMNS)
    assert [(r["kind"], r["loadbalancer_name"], r["listener_name"]) for r in rows] == [
        ("loadbalancer", "web", ""), ("listener", "web", "http"), ("listener", "web", "https"),
        ("loadbalancer", "dns", ""), ("listener", "dns", "dns-udp"),
    ]
    assert rows[2] == {
        "kind": "listener", "loadbalancer_id": "lb-web", "loadbalancer_name": "web",
        "project_id": "proj-1", "provider": "amphora", "listener_id": "li-https",
        "listener_name": "https", "protocol": "TERMINATED_HTTPS", "protocol_port": "443",
        "active_connections": "1", "bytes_in": "2236722", "bytes_out": "100973832",
        "request_errors": "0", "total_connections": "3606",
    }
    assert rows[3]["provider"] == "ovn" and rows[3]["project_id"] == "proj-2"
    assert rows[3]["protocol_port"] == "" and rows[3]["bytes_out"] == "237"


def test_csv_without_listeners(lbs):
    rows = list(csv.DictReader(io.StringIO(flt.stats_csv(lbs, listeners=False))))
    assert [r["kind"] for r in rows] == ["loadbalancer", "loadbalancer"]


def test_csv_quotes_awkward_names(lbs):
    lbs[0]["name"] = 'web, "primary"\nsite'
    rows = list(csv.DictReader(io.StringIO(flt.stats_csv(lbs, listeners=False))))
    assert rows[0]["loadbalancer_name"] == 'web, "primary"\nsite'


def test_csv_empty_is_just_the_header():
    assert flt.stats_csv([]) == ",".join(flt.CSV_COLUMNS) + "\n"


# --- stats_exposition ---------------------------------------------------------------------

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\d+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """A strict reader of what the filter writes: ({name: (type, help)}, [(name, labels, value)])."""
    families, samples, current = {}, [], None
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name, help_text = line[len("# HELP "):].split(" ", 1)
            assert name not in families, f"family {name} declared twice"
            families[name] = [None, help_text]
            current = name
        elif line.startswith("# TYPE "):
            name, mtype = line[len("# TYPE "):].split(" ")
            assert name == current, "TYPE follows its HELP"
            families[name][0] = mtype
        else:
            match = SAMPLE_RE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, raw_labels, value = match.groups()
            assert name == current, f"sample {name} outside its family"
            labels = {k: v.encode().decode("unicode_escape") for k, v in LABEL_RE.findall(raw_labels)}
            assert ",".join(f'{k}="{v}"' for k, v in LABEL_RE.findall(raw_labels)) == raw_labels
            samples.append((name, labels, int(value)))
    return {k: tuple(v) for k, v in families.items()}, samples


def parse_families(text):
    return parse(text)[0]


def test_exposition_families_and_types(lbs):
    text = flt.stats_exposition(lbs)
    assert text.endswith("\n")
    families = parse_families(text)
    expected = {}
    for scope in ("loadbalancer", "listener"):
        expected[f"openstack_octavia_api_{scope}_active_connections"] = "gauge"
        for suffix in ("connections_total", "bytes_in_total", "bytes_out_total", "request_errors_total"):
            expected[f"openstack_octavia_api_{scope}_{suffix}"] = "counter"
    assert {name: spec[0] for name, spec in families.items()} == expected
    assert all(spec[1] for spec in families.values())
    assert not any(name.startswith("octavia_") for name in families)


def test_exposition_values_and_labels(lbs):
    samples = parse(flt.stats_exposition(lbs))[1]
    by_key = {(name, labels.get("listener_id", labels["loadbalancer_id"])): (labels, value)
              for name, labels, value in samples}
    assert len(by_key) == len(samples) == 5 * 2 + 5 * 3
    labels, value = by_key[("openstack_octavia_api_loadbalancer_bytes_out_total", "lb-web")]
    assert value == 100978832
    assert labels == {"loadbalancer_id": "lb-web", "loadbalancer_name": "web", "project_id": "proj-1"}
    labels, value = by_key[("openstack_octavia_api_listener_connections_total", "li-dns")]
    assert value == 1
    assert labels == {"loadbalancer_id": "lb-dns", "loadbalancer_name": "dns", "project_id": "proj-2",
                      "listener_id": "li-dns", "listener_name": "dns-udp", "protocol": "UDP",
                      "protocol_port": "53"}
    for (name, key), (labels, value) in by_key.items():
        field = {"active_connections": "active_connections", "connections_total": "total_connections",
                 "bytes_in_total": "bytes_in", "bytes_out_total": "bytes_out",
                 "request_errors_total": "request_errors"}[name.split("_", 4)[-1]]
        source = next(item for lb in lbs for item in [lb] + lb["listeners"] if item["id"] == key)
        assert value == source["stats"][field], (name, key)


def test_exposition_escapes_label_values(lbs):
    lbs[0]["name"] = 'web "a"\\b\nc'
    text = flt.stats_exposition(lbs, listeners=False)
    assert 'loadbalancer_name="web \\"a\\"\\\\b\\nc"' in text
    assert len(text.split("\n")) == 5 * 4 + 1, "the newline in the name did not break a line"


def test_exposition_without_listeners(lbs):
    families, samples = parse(flt.stats_exposition(lbs, listeners=False))
    assert all("_loadbalancer_" in name for name in families)
    assert len(samples) == 10


def test_exposition_leaves_out_families_without_series(lbs):
    for lb in lbs:
        lb.pop("listeners")
    families = parse_families(flt.stats_exposition(lbs))
    assert len(families) == 5


def test_exposition_empty():
    assert flt.stats_exposition([]) == ""


def test_exposition_is_stable(lbs):
    assert flt.stats_exposition(lbs) == flt.stats_exposition(copy.deepcopy(lbs))


@pytest.mark.parametrize("prefix, first", [
    ("cloud_lb_api", "cloud_lb_api_loadbalancer_active_connections"),
    ("octavia_api_", "octavia_api_loadbalancer_active_connections"),
])
def test_exposition_prefix(lbs, prefix, first):
    families = parse_families(flt.stats_exposition(lbs, prefix=prefix))
    assert next(iter(families)) == first


@pytest.mark.parametrize("prefix, message", [
    ("octavia", "would mix these series with the amphora's"),
    ("octavia_", "would mix these series with the amphora's"),
    ("9lives", "not a valid Prometheus metric name prefix"),
    ("my-api", "not a valid Prometheus metric name prefix"),
    ("", "not a valid Prometheus metric name prefix"),
    (None, "not a valid Prometheus metric name prefix"),
])
def test_exposition_rejects_prefix(lbs, prefix, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        flt.stats_exposition(lbs, prefix=prefix)


@pytest.mark.parametrize("name", ["human_bytes", "stats_table", "stats_csv", "stats_exposition"])
def test_each_filter_file_holds_the_one_filter_it_is_named_after(name):
    # Galaxy lists filters by file name; a file with several filters shows as one undocumented one.
    module = importlib.import_module(f"ansible_collections.octavia.monitoring.plugins.filter.{name}")
    assert module.FilterModule().filters() == {name: getattr(flt, name)}
