"""Octavia load balancer detail: one load balancer, its listeners, pools and members, by name."""
from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, Row, TimePicker

from . import panels as p
from .fleet import loadbalancer_query, scope_variables
from .promql import (NOT_SCRAPE_LISTENER, OCTAVIA_TARGET, ONE_LB, SCOPE, agg, in_state, increase, metric, named, rate,
                     state_code)

UID = "octavia-lb-detail"
TITLE = "Octavia load balancer detail"

LB = ONE_LB
# Catalogue filters: the variables choose listeners and pools by name.
LISTENERS = (*SCOPE, 'loadbalancer_name="$loadbalancer"', 'listener_name=~"$listener"', NOT_SCRAPE_LISTENER)
POOLS = (*SCOPE, 'loadbalancer_name="$loadbalancer"', 'pool_name=~"$pool"')
MEMBER_KEY = ("pool_name", "member_name", "member_address")


def by_listener(expr, labels=("listener_name",)):
    """Sum expr per listener name, for the listeners chosen in $listener."""
    return agg("sum", labels, named(expr, "listener", *LISTENERS))


def by_pool(expr, labels=("pool_name",), op="sum"):
    """Aggregate expr per pool name, for the pools chosen in $pool."""
    return agg(op, labels, named(expr, "pool", *POOLS))


def by_member(expr, labels=MEMBER_KEY, op="sum"):
    """Aggregate expr per member (pool, name, address), for members of the pools in $pool."""
    return agg(op, labels, named(expr, "member", *POOLS))


def variables():
    """Scope, then the load balancer, then its listeners and pools, all by name."""
    return [
        *scope_variables(),
        p.query_variable("loadbalancer", "Load balancer", "The load balancer to show (by name).",
                         loadbalancer_query(), multi=False, include_all=False),
        p.query_variable("listener", "Listener", "Listeners of the load balancer, by name (from the name catalogue).",
                         f"label_values(octavia_listener_info{{{', '.join(LISTENERS[:-2])}, {NOT_SCRAPE_LISTENER}}}, "
                         "listener_name)"),
        p.query_variable("pool", "Pool", "Pools of the load balancer, by name (from the name catalogue).",
                         f"label_values(octavia_pool_info{{{', '.join(POOLS[:-1])}}}, pool_name)"),
    ]


def overview():
    """The load balancer's health in one line."""
    return [
        p.stat_panel("Metrics endpoint", "UP when Prometheus scraped the PROMETHEUS listener at the last attempt.",
                     "none", [p.query(agg("max", (), metric("up", OCTAVIA_TARGET, *LB)), "endpoint", instant=True)],
                     steps=[(None, p.RED), (1, p.GREEN)], mappings=p.UP_DOWN_MAPPING),
        p.gauge_panel("Amphora CPU", "CPU load of the amphora: its 1-minute load average over its CPU count "
                      "(Octavia's measure; above 100 % the amphora is overloaded).",
                      "percent", [p.query(agg("max", (), metric("octavia_loadbalancer_cpu", *LB)), "cpu", instant=True)],
                      steps=[(None, p.GREEN), (70, p.ORANGE), (90, p.RED)]),
        p.gauge_panel("Amphora memory", "Memory in use on the amphora.",
                      "percent", [p.query(agg("max", (), metric("octavia_loadbalancer_memory", *LB)), "memory",
                                          instant=True)],
                      steps=[(None, p.GREEN), (70, p.ORANGE), (90, p.RED)]),
        p.stat_panel("Current connections", "Open client connections on the amphora.",
                     "short", [p.query(agg("sum", (), metric("octavia_loadbalancer_current_connections", *LB)),
                                       "connections", instant=True)], graph=True),
        p.gauge_panel("Connection limit used", "Open connections as a share of HAProxy's process connection limit.",
                      "percent", [p.query(f"100 * {agg('sum', (), metric('octavia_loadbalancer_current_connections', *LB))}"
                                          f" / {agg('sum', (), metric('octavia_loadbalancer_max_connections', *LB))}",
                                          "used", instant=True)],
                      steps=[(None, p.GREEN), (70, p.ORANGE), (90, p.RED)]),
        p.stat_panel("Members down", "Members of the chosen pools that health checks report DOWN.",
                     "short", [p.query(f"{by_pool(in_state('octavia_member_status', 'DOWN', *LB), ())} or vector(0)",
                                       "down", instant=True)],
                     steps=[(None, p.GREEN), (1, p.RED)]),
    ]


def listeners():
    """Traffic, sessions against limits, response codes and errors per listener."""
    sessions = by_listener(metric("octavia_listener_current_sessions", *LB))
    limits = by_listener(metric("octavia_listener_limit_sessions", *LB))
    return [
        p.timeseries_panel("Listener traffic", "Bits per second received from (in) and sent to (out) clients, "
                           "by listener name.", "bps", [
                               p.query(f"{by_listener(rate('octavia_listener_bytes_in_total', *LB))} * 8",
                                       "{{listener_name}} in"),
                               p.query(f"{by_listener(rate('octavia_listener_bytes_out_total', *LB))} * 8",
                                       "{{listener_name}} out"),
                           ]),
        p.timeseries_panel("Sessions against limits", "Open sessions per listener (solid) and the listener's "
                           "session limit, its connection_limit or HAProxy's default (dashed).", "short", [
                               p.query(sessions, "{{listener_name}}"),
                               p.query(limits, "{{listener_name}} limit"),
                           ], overrides=[(p.by_query("B"), [p.DASHED])]),
        p.bargauge_panel("Session limit used", "Open sessions as a share of each listener's session limit.",
                         "percent", [p.query(f"100 * {sessions} / {limits}", "{{listener_name}}", instant=True)],
                         width=8, steps=[(None, p.GREEN), (70, p.ORANGE), (90, p.RED)], max_value=100),
        p.timeseries_panel("Response codes", "HTTP responses per second by listener and status class.",
                           "reqps", [p.query(by_listener(rate("octavia_listener_http_responses_total", *LB),
                                                         ("listener_name", "code")),
                                             "{{listener_name}} {{code}}")],
                           width=16, stack=True, overrides=p.code_overrides()),
        p.timeseries_panel("New sessions per second", "Sessions (client connections) accepted per second, "
                           "by listener name.", "cps", [
                               p.query(by_listener(rate("octavia_listener_sessions_total", *LB)), "{{listener_name}}"),
                           ]),
        p.timeseries_panel("Request errors and denials", "Invalid requests, and requests and responses "
                           "denied by L7 rules or ACLs, per second by listener name.", "reqps", [
                               p.query(by_listener(rate("octavia_listener_request_errors_total", *LB)),
                                       "{{listener_name}} invalid"),
                               p.query(by_listener(rate("octavia_listener_requests_denied_total", *LB)),
                                       "{{listener_name}} requests denied"),
                               p.query(by_listener(rate("octavia_listener_responses_denied_total", *LB)),
                                       "{{listener_name}} responses denied"),
                           ]),
    ]


def pools_and_members():
    """Pool and member health, weights and health-check failures."""
    member_state = state_code("octavia_member_status", *LB)
    pool_state = state_code("octavia_pool_status", *LB)
    pool_key = ("pool_name", "listener_name")
    pool_columns = [
        ("pool_name", "Pool", "string", []),
        ("listener_name", "Listener", "string", []),
        ("Value #A", "Status", "none", [p.prop("mappings", p.POOL_STATE_MAPPING), p.cell_color("background")]),
        ("Value #B", "Active members", "short", []),
        ("Value #C", "Backup members", "short", []),
        ("Value #D", "Sessions", "short", []),
        ("Value #E", "Queued", "short", [p.prop("thresholds", p.thresholds((None, p.GREEN), (1, p.ORANGE)).build()),
                                         p.cell_color("text")]),
    ]
    member_columns = [
        ("pool_name", "Pool", "string", []),
        ("member_name", "Member", "string", []),
        ("member_address", "Address", "string", []),
        ("Value #A", "State", "none", [p.prop("mappings", p.MEMBER_STATE_MAPPING), p.cell_color("background")]),
        ("Value #B", "Weight", "short", []),
        ("Value #C", "Sessions", "short", []),
        ("Value #D", "Check failures", "short", [p.prop("thresholds", p.thresholds((None, p.GREEN), (1, p.ORANGE)).build()),
                                                 p.cell_color("text")]),
        ("Value #E", "Response time", "s", []),
    ]
    return [
        p.table_panel("Pools", "One row per pool and the listener it serves: HAProxy's status of the "
                      "backend, members in service, open sessions and requests waiting in the queue.", [
                          p.query(by_pool(pool_state, pool_key, "max"), instant=True, fmt="table"),
                          p.query(by_pool(metric("octavia_pool_active_members", *LB), pool_key), instant=True, fmt="table"),
                          p.query(by_pool(metric("octavia_pool_backup_members", *LB), pool_key), instant=True, fmt="table"),
                          p.query(by_pool(metric("octavia_pool_current_sessions", *LB), pool_key), instant=True, fmt="table"),
                          p.query(by_pool(metric("octavia_pool_current_queue", *LB), pool_key), instant=True, fmt="table"),
                      ], pool_columns, width=10, sort_by=("Pool", False)),
        p.table_panel("Members", "One row per member: its health-check state (UP, DOWN, MAINT when disabled, "
                      "DRAIN when weight is 0), weight, open sessions, health-check failures in the time range "
                      "and average response time.", [
                          p.query(by_member(member_state, op="max"), instant=True, fmt="table"),
                          p.query(by_member(metric("octavia_member_weight", *LB), op="max"), instant=True, fmt="table"),
                          p.query(by_member(metric("octavia_member_current_sessions", *LB)), instant=True, fmt="table"),
                          p.query(by_member(increase("octavia_member_check_failures_total", *LB, window="$__range")),
                                  instant=True, fmt="table"),
                          p.query(by_member(metric("octavia_member_response_time_average_seconds", *LB), op="max"),
                                  instant=True, fmt="table"),
                      ], member_columns, width=14, sort_by=("Pool", False)),
        p.state_timeline_panel("Member state", "Each member's health-check state over time.",
                               [p.query(by_member(member_state, ("pool_name", "member_name"), "max"),
                                        "{{pool_name}} / {{member_name}}")],
                               p.MEMBER_STATE_MAPPING),
        p.timeseries_panel("Member weights", "Each member's effective weight (0 drains it).", "short", [
            p.query(by_member(metric("octavia_member_weight", *LB), ("pool_name", "member_name"), "max"),
                    "{{pool_name}} / {{member_name}}"),
        ]),
        p.timeseries_panel("Health-check failures", "Failed health checks per interval (solid) and UP to "
                           "DOWN transitions (dashed), by member.", "short", [
                               p.query(by_member(increase("octavia_member_check_failures_total", *LB),
                                                 ("pool_name", "member_name")),
                                       "{{pool_name}} / {{member_name}} failed checks"),
                               p.query(by_member(increase("octavia_member_check_up_down_total", *LB),
                                                 ("pool_name", "member_name")),
                                       "{{pool_name}} / {{member_name}} went down"),
                           ], overrides=[(p.by_query("B"), [p.DASHED])]),
        p.timeseries_panel("Sessions per member", "Open sessions per member: how evenly the pool spreads load.",
                           "short", [p.query(by_member(metric("octavia_member_current_sessions", *LB),
                                                       ("pool_name", "member_name")),
                                             "{{pool_name}} / {{member_name}}")]),
    ]


def latency():
    """Where time goes: queue, connect, response and total, per pool and member."""
    def pool_time(name, what):
        return p.query(by_pool(metric(name, *LB), ("pool_name",), "max"), "{{pool_name}} " + what)
    return [
        p.timeseries_panel("Queue, connect and response time", "Average over HAProxy's last 1024 requests, "
                           "by pool: time in the queue, to connect to a member, for the member's response "
                           "and the whole request.", "s", [
                               pool_time("octavia_pool_queue_time_average_seconds", "queue"),
                               pool_time("octavia_pool_connect_time_average_seconds", "connect"),
                               pool_time("octavia_pool_response_time_average_seconds", "response"),
                               pool_time("octavia_pool_total_time_average_seconds", "total"),
                           ]),
        p.timeseries_panel("Response time by member", "Average response time over the member's last 1024 "
                           "requests.", "s", [
                               p.query(by_member(metric("octavia_member_response_time_average_seconds", *LB),
                                                 ("pool_name", "member_name"), "max"),
                                       "{{pool_name}} / {{member_name}}"),
                           ]),
        p.timeseries_panel("Queued requests", "Requests waiting for a free member connection, by pool.", "short", [
            p.query(by_pool(metric("octavia_pool_current_queue", *LB)), "{{pool_name}}"),
        ]),
        p.timeseries_panel("Connection errors and retries", "Per second by pool: failed connections to "
                           "members, invalid member responses, retries and redispatches.", "cps", [
                               p.query(by_pool(rate("octavia_pool_connection_errors_total", *LB)),
                                       "{{pool_name}} connection errors"),
                               p.query(by_pool(rate("octavia_pool_response_errors_total", *LB)),
                                       "{{pool_name}} response errors"),
                               p.query(by_pool(rate("octavia_pool_retry_warnings_total", *LB)), "{{pool_name}} retries"),
                               p.query(by_pool(rate("octavia_pool_redispatch_warnings_total", *LB)),
                                       "{{pool_name}} redispatches"),
                           ]),
    ]


def amphora():
    """The amphora itself: CPU, memory, connections against the limit, HAProxy memory."""
    return [
        p.timeseries_panel("Amphora CPU and memory", "CPU load (the 1-minute load average over the CPU "
                           "count, above 100 % when processes wait for a CPU) and memory in use on the amphora.",
                           "percent", [
                               p.query(agg("max", (), metric("octavia_loadbalancer_cpu", *LB)), "CPU"),
                               p.query(agg("max", (), metric("octavia_loadbalancer_memory", *LB)), "memory"),
                           ]),
        p.timeseries_panel("Connections against the limit", "Open connections (solid) and HAProxy's "
                           "process connection limit (dashed).", "short", [
                               p.query(agg("sum", (), metric("octavia_loadbalancer_current_connections", *LB)), "open"),
                               p.query(agg("sum", (), metric("octavia_loadbalancer_max_connections", *LB)), "limit"),
                           ], overrides=[(p.by_query("B"), [p.DASHED])]),
        p.timeseries_panel("HAProxy memory pools", "Memory HAProxy allocated for its pools and the part in use.",
                           "bytes", [
                               p.query(agg("sum", (), metric("octavia_memory_pool_allocated_bytes", *LB)), "allocated"),
                               p.query(agg("sum", (), metric("octavia_memory_pool_used_bytes", *LB)), "used"),
                           ]),
        p.timeseries_panel("Connection rate", "New connections per second on the amphora.", "cps", [
            p.query(agg("sum", (), rate("octavia_loadbalancer_connections_total", *LB)), "new connections"),
        ]),
    ]


def build():
    """Return the dashboard builder."""
    builder = (
        Dashboard(TITLE).uid(UID)
        .description("One Octavia load balancer chosen by name: listeners, pools, members, "
                     "latency and the amphora, each by name.")
        .tags(["octavia", "openstack", "load-balancer"])
        .time("now-3h", "now").refresh("1m").timezone("browser")
        .timepicker(TimePicker().refresh_intervals(["30s", "1m", "5m", "15m"]))
        .tooltip(p.model.DashboardCursorSync.CROSSHAIR)
        .link(DashboardLink("Octavia dashboards").type(p.model.DashboardLinkType.DASHBOARDS)
              .tags(["octavia"]).as_dropdown(True).include_vars(True).keep_time(True))
    )
    for variable in variables():
        builder = builder.with_variable(variable)
    sections = [
        ("$loadbalancer", overview()),
        ("Listeners", listeners()),
        ("Pools and members", pools_and_members()),
        ("Latency", latency()),
        ("Amphora", amphora()),
    ]
    for title, section in sections:
        builder = builder.with_row(Row(title))
        for panel in section:
            builder = builder.with_panel(panel)
    return builder
