"""Octavia fleet overview: every load balancer at a glance, one row each, by name."""
from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, Row, TimePicker

from . import panels as p
from .promql import NOT_SCRAPE_LISTENER, OCTAVIA_TARGET, ONE_LB, SCOPE, agg, in_state, metric, named, rate

UID = "octavia-fleet-overview"
TITLE = "Octavia fleet overview"
DETAIL_UID = "octavia-lb-detail"

# Table rows are load balancers; these labels identify one and are shown as columns.
LB_KEY = ("loadbalancer_name", "project_id", "vip_address")


def scope_variables():
    """cloud, region and project: each narrows the next, all default to All."""
    return [
        p.query_variable("cloud", "Cloud", "Cloud name from clouds.yaml, as the scrape targets carry it.",
                         f"label_values(up{{{OCTAVIA_TARGET}}}, cloud)"),
        p.query_variable("region", "Region", "OpenStack region of the load balancers.",
                         f'label_values(up{{{OCTAVIA_TARGET}, cloud=~"$cloud"}}, region)'),
        p.query_variable("project", "Project ID", "Project (tenant) that owns the load balancers.",
                         f'label_values(up{{{OCTAVIA_TARGET}, cloud=~"$cloud", region=~"$region"}}, project_id)'),
    ]


def loadbalancer_query():
    """label_values() of the load balancer names in scope, from the scrape targets."""
    return f"label_values(up{{{OCTAVIA_TARGET}, {', '.join(SCOPE)}}}, loadbalancer_name)"


def _detail_link():
    return p.model.DashboardLink(
        title="Open ${__value.raw} in the load balancer detail",
        url=(f"/d/{DETAIL_UID}?var-loadbalancer=${{__value.raw}}"
             "&${cloud:queryparam}&${region:queryparam}&${project:queryparam}&${__url_time_range}"),
        type_val=p.model.DashboardLinkType.LINK)


def fleet_stats():
    """Fleet totals across everything in scope."""
    up = metric("up", OCTAVIA_TARGET, *SCOPE)
    return [
        p.stat_panel("Load balancers", "Load balancers whose metrics endpoint Prometheus scrapes.",
                     "short", [p.query(f"count({up})", "load balancers", instant=True)]),
        p.stat_panel("Metrics endpoints down",
                     "Load balancers whose PROMETHEUS listener did not answer the last scrape.",
                     "short", [p.query(f"count({up} == 0) or vector(0)", "down", instant=True)],
                     steps=[(None, p.GREEN), (1, p.RED)]),
        p.stat_panel("Current connections", "Open client connections on all amphorae.",
                     "short", [p.query(agg("sum", (), metric("octavia_loadbalancer_current_connections", *SCOPE)),
                                       "connections", instant=True)], graph=True),
        p.stat_panel("Traffic in", "Bits per second received from clients on all listeners.",
                     "bps", [p.query(f"{agg('sum', (), rate('octavia_listener_bytes_in_total', *SCOPE))} * 8",
                                     "in", instant=True)], graph=True),
        p.stat_panel("Traffic out", "Bits per second sent to clients on all listeners.",
                     "bps", [p.query(f"{agg('sum', (), rate('octavia_listener_bytes_out_total', *SCOPE))} * 8",
                                     "out", instant=True)], graph=True),
        p.stat_panel("Members down", "Pool members that HAProxy's health checks report DOWN "
                     "(members disabled by an operator show as MAINT and are not counted).",
                     "short", [p.query(f"{agg('sum', (), in_state('octavia_member_status', 'DOWN', *SCOPE))}"
                                       " or vector(0)", "down", instant=True)],
                     steps=[(None, p.GREEN), (1, p.RED)]),
    ]


def fleet_table():
    """One table row per load balancer with its key figures; the name links to the detail."""
    key = LB_KEY
    up = metric("up", OCTAVIA_TARGET, *SCOPE)

    def rate_sum(name, *matchers):
        return agg("sum", key, rate(name, *SCOPE, *matchers))

    targets = [
        p.query(agg("max", key, up), instant=True, fmt="table"),
        p.query(agg("sum", key, metric("octavia_loadbalancer_current_connections", *SCOPE)), instant=True, fmt="table"),
        p.query(rate_sum("octavia_listener_connections_total"), instant=True, fmt="table"),
        p.query(f"{rate_sum('octavia_listener_bytes_in_total')} * 8", instant=True, fmt="table"),
        p.query(f"{rate_sum('octavia_listener_bytes_out_total')} * 8", instant=True, fmt="table"),
        p.query(rate_sum("octavia_listener_http_responses_total", 'code="5xx"'), instant=True, fmt="table"),
        p.query(rate_sum("octavia_listener_request_errors_total"), instant=True, fmt="table"),
        p.query(agg("sum", key, in_state("octavia_member_status", "DOWN", *SCOPE)), instant=True, fmt="table"),
        p.query(agg("max", key, metric("octavia_loadbalancer_cpu", *SCOPE)), instant=True, fmt="table"),
        p.query(agg("max", key, metric("octavia_loadbalancer_memory", *SCOPE)), instant=True, fmt="table"),
    ]

    def alarm(*steps):
        # Colour the cell's background by thresholds: an operator scans for red.
        return [p.prop("thresholds", p.thresholds((None, p.GREEN), *steps).build()), p.cell_color("background")]

    columns = [
        ("loadbalancer_name", "Load balancer", "string", [p.prop("links", [_detail_link()])]),
        ("project_id", "Project ID", "string", []),
        ("vip_address", "VIP", "string", []),
        ("Value #A", "Metrics endpoint", "none", [p.prop("mappings", p.UP_DOWN_MAPPING), p.cell_color("background")]),
        ("Value #B", "Connections", "short", []),
        ("Value #C", "New connections", "cps", []),
        ("Value #D", "In", "bps", []),
        ("Value #E", "Out", "bps", []),
        ("Value #F", "5xx responses", "reqps", alarm((0.001, p.RED))),
        ("Value #G", "Request errors", "reqps", alarm((0.001, p.ORANGE))),
        ("Value #H", "Members down", "short", alarm((1, p.RED))),
        ("Value #I", "CPU", "percent", alarm((70, p.ORANGE), (90, p.RED))),
        ("Value #J", "Memory", "percent", alarm((70, p.ORANGE), (90, p.RED))),
    ]
    return p.table_panel(
        "Load balancers",
        "One row per load balancer in scope: whether Prometheus can scrape it, its connections, "
        "traffic in and out (bits per second), 5xx responses and invalid requests per second, "
        "pool members down and amphora CPU and memory. Click a name for its detail dashboard.",
        targets, columns, height=10, sort_by=("In", True))


def top_n():
    """The busiest and the most failing load balancers."""
    both_ways = rate("octavia_listener_bytes_in_total", *SCOPE) + " + " + rate("octavia_listener_bytes_out_total", *SCOPE)
    traffic = f"topk($topn, {agg('sum', ('loadbalancer_name',), both_ways)} * 8)"
    errors = ("topk($topn, " + agg("sum", ("loadbalancer_name",),
                                   rate("octavia_listener_request_errors_total", *SCOPE) + " or "
                                   + rate("octavia_listener_http_responses_total", *SCOPE, 'code="5xx"')) + ")")
    return [
        p.bargauge_panel("Top $topn load balancers by traffic",
                         "Bits per second in plus out, the busiest load balancers first.",
                         "bps", [p.query(traffic, "{{loadbalancer_name}}", instant=True)]),
        p.bargauge_panel("Top $topn load balancers by errors",
                         "Invalid client requests plus 5xx responses per second, the worst first.",
                         "reqps", [p.query(errors, "{{loadbalancer_name}}", instant=True)],
                         steps=[(None, p.GREEN), (0.001, p.ORANGE), (1, p.RED)]),
    ]


# The octavia-exporter's series (exporter/README.md). Its state series carry IDs only;
# joining its loadbalancer_info scopes them to the chosen clouds, regions and projects.
API = "openstack_octavia_api_"
AMPHORA_PROVIDERS = 'provider=~"amphora|amphorav2|octavia"'


def in_scope(expr):
    """`expr` limited to the load balancers in scope, through the exporter's loadbalancer_info."""
    return f"({expr}) and on (loadbalancer_id) {metric(API + 'loadbalancer_info', *SCOPE)}"


def fleet_state():
    """The state of the fleet as Octavia's API reports it (from octavia-exporter)."""
    def state(name, *matchers):
        return metric(API + name, *matchers) + " == 1"

    def count(expr):
        return f"count({in_scope(expr)}) or vector(0)"

    listener_quota = ('resource="listener"', 'project_id=~"$project"')
    quota = (f"{metric(API + 'quota_usage', *listener_quota)}"
             f" / ({metric(API + 'quota_limit', *listener_quota)} > 0)")
    sources = metric(API + "source_up", 'cloud=~"$cloud"')
    last_success = metric(API + "source_last_success_timestamp_seconds", 'cloud=~"$cloud"')
    return [
        p.stat_panel("Provisioning ERROR", "Load balancers Octavia reports in provisioning status ERROR: "
                     "Octavia refuses every change to them until they are failed over or deleted.",
                     "short", [p.query(count(state("loadbalancer_provisioning_status", 'status="ERROR"')),
                                       "error", instant=True)],
                     steps=[(None, p.GREEN), (1, p.RED)]),
        p.stat_panel("Pending", "Load balancers in a PENDING_* provisioning status now (one stuck there "
                     "raises OctaviaLoadBalancerStuckPending).",
                     "short", [p.query(count(state("loadbalancer_provisioning_status", 'status=~"PENDING_.*"')),
                                       "pending", instant=True)],
                     steps=[(None, p.GREEN), (1, p.ORANGE)]),
        p.stat_panel("Unmonitored", "Amphora load balancers without a PROMETHEUS listener: their amphora "
                     "metrics are not scraped.",
                     "short", [p.query(count(f"{metric(API + 'loadbalancer_prometheus_listeners', AMPHORA_PROVIDERS)}"
                                             " == 0"), "unmonitored", instant=True)],
                     steps=[(None, p.GREEN), (1, p.ORANGE)]),
        p.stat_panel("Amphorae in ERROR", "Amphorae of the load balancers in scope in status ERROR.",
                     "short", [p.query(count(state("amphora_status", 'status="ERROR"')), "error", instant=True)],
                     steps=[(None, p.GREEN), (1, p.RED)]),
        p.stat_panel("Exporter sources down", "Sources of octavia-exporter whose last cycle failed (their "
                     "series keep their last values until it recovers).",
                     "short", [p.query(f"count({sources} == 0) or vector(0)", "down", instant=True)],
                     steps=[(None, p.GREEN), (1, p.RED)]),
        p.stat_panel("Exporter data age", "Time since octavia-exporter last read every source completely.",
                     "s", [p.query(f"time() - min({last_success})", "age", instant=True)],
                     steps=[(None, p.GREEN), (300, p.ORANGE), (900, p.RED)]),
        p.bargauge_panel("Load balancers by provisioning status", "How many load balancers in scope are "
                         "in each provisioning status.", "short",
                         [p.query(agg("sum", ("status",), in_scope(state("loadbalancer_provisioning_status"))),
                                  "{{status}}", instant=True)], width=8),
        p.bargauge_panel("Load balancers by operating status", "How many load balancers in scope are in "
                         "each operating status.", "short",
                         [p.query(agg("sum", ("status",), in_scope(state("loadbalancer_operating_status"))),
                                  "{{status}}", instant=True)], width=8),
        p.bargauge_panel("Listener quota used", "The share of its Octavia listener quota each project uses "
                         "(projects with an unlimited quota are not shown).", "percentunit",
                         [p.query(agg("max", ("project_id",), quota), "{{project_id}}", instant=True)],
                         width=8, steps=[(None, p.GREEN), (0.8, p.ORANGE), (0.95, p.RED)], max_value=1),
    ]


def per_lb_row():
    """The panels repeated once per load balancer (the row repeats over $loadbalancer)."""
    lb = ONE_LB
    listener_names = (*SCOPE, 'loadbalancer_name="$loadbalancer"', NOT_SCRAPE_LISTENER)
    member_names = (*SCOPE, 'loadbalancer_name="$loadbalancer"')
    return [
        p.stat_panel("Metrics endpoint", "UP when Prometheus scraped this load balancer's PROMETHEUS listener "
                     "at the last attempt, DOWN when it did not answer.",
                     "none", [p.query(agg("max", (), metric("up", OCTAVIA_TARGET, *lb)), "endpoint", instant=True)],
                     width=3, height=7, steps=[(None, p.RED), (1, p.GREEN)], mappings=p.UP_DOWN_MAPPING),
        p.stat_panel("Members down", "Members of this load balancer's pools that health checks report DOWN.",
                     "short", [p.query(f"{agg('sum', (), in_state('octavia_member_status', 'DOWN', *lb))} or vector(0)",
                                       "down", instant=True)],
                     width=3, height=7, steps=[(None, p.GREEN), (1, p.RED)]),
        p.timeseries_panel("Connections", "Open client connections (left axis) and new connections "
                           "per second accepted by its listeners (right axis).", "short", [
                               p.query(agg("sum", (), metric("octavia_loadbalancer_current_connections", *lb)), "open"),
                               p.query(agg("sum", (), rate("octavia_listener_connections_total", *lb)), "new per second"),
                           ], width=6, height=7,
                           overrides=[(p.by_query("B"), [p.prop("unit", "cps"), p.RIGHT_AXIS])]),
        p.timeseries_panel("Traffic", "Bits per second received from (in) and sent to (out) clients, all listeners.",
                           "bps", [
                               p.query(f"{agg('sum', (), rate('octavia_listener_bytes_in_total', *lb))} * 8", "in"),
                               p.query(f"{agg('sum', (), rate('octavia_listener_bytes_out_total', *lb))} * 8", "out"),
                           ], width=6, height=7),
        p.timeseries_panel("HTTP responses by code", "HTTP responses per second by status class, all listeners.",
                           "reqps", [p.query(agg("sum", ("code",), rate("octavia_listener_http_responses_total", *lb)),
                                             "{{code}}")],
                           width=6, height=7, stack=True, overrides=p.code_overrides()),
        p.timeseries_panel("Request errors by listener", "Invalid client requests per second (HAProxy's "
                           "request errors: aborted, malformed or timed-out requests), by listener name.",
                           "reqps", [p.query(agg("sum", ("listener_name",),
                                                 named(rate("octavia_listener_request_errors_total", *lb),
                                                       "listener", *listener_names)),
                                             "{{listener_name}}")], width=12, height=7),
        p.timeseries_panel("Members down by pool", "Members that health checks report DOWN, by pool name.",
                           "short", [p.query(agg("sum", ("pool_name",),
                                                 named(in_state("octavia_member_status", "DOWN", *lb),
                                                       "member", *member_names)),
                                             "{{pool_name}}")], width=12, height=7),
    ]


def build():
    """Return the dashboard builder."""
    builder = (
        Dashboard(TITLE).uid(UID)
        .description("Every Octavia load balancer in the chosen clouds, regions and projects: "
                     "scrape health, connections, traffic, HTTP responses, errors and members down.")
        .tags(["octavia", "openstack", "load-balancer"])
        .time("now-3h", "now").refresh("1m").timezone("browser")
        .timepicker(TimePicker().refresh_intervals(["30s", "1m", "5m", "15m"]))
        .tooltip(p.model.DashboardCursorSync.CROSSHAIR)
        .link(DashboardLink("Octavia dashboards").type(p.model.DashboardLinkType.DASHBOARDS)
              .tags(["octavia"]).as_dropdown(True).include_vars(True).keep_time(True))
    )
    for variable in scope_variables():
        builder = builder.with_variable(variable)
    builder = builder.with_variable(p.query_variable(
        "loadbalancer", "Load balancer", "Load balancers to give a row each below (by name).", loadbalancer_query()))
    builder = builder.with_variable(p.custom_variable(
        "topn", "Top N", "How many load balancers the top-N panels list.", ["5", "10", "20", "50"], "10"))

    builder = builder.with_row(Row("Fleet"))
    for panel in fleet_stats():
        builder = builder.with_panel(panel)
    builder = builder.with_panel(fleet_table())
    for panel in top_n():
        builder = builder.with_panel(panel)
    builder = builder.with_row(Row("Fleet state (Octavia API, from octavia-exporter)"))
    for panel in fleet_state():
        builder = builder.with_panel(panel)
    builder = builder.with_row(Row("$loadbalancer").repeat("loadbalancer"))
    for panel in per_lb_row():
        builder = builder.with_panel(panel)
    return builder
