"""PromQL building blocks shared by the Octavia dashboards.

Pure string functions: no Grafana, no network. Three facts shape every query:

* Every series scraped from an amphora carries the scrape target labels that the
  octavia_prometheus role writes (loadbalancer_id, loadbalancer_name, project_id,
  listener_id, vip_address, provider, availability_zone, cloud, region), so load
  balancer names need no join.
* Octavia's prometheus-proxy labels listeners, pools and members by UUID only.
  Their names come from the name catalogue that the octavia_prometheus role
  records (docs/names.md): one octavia_<kind>_info series per object, joined
  with `* on (...) group_left (...)`. Names are never empty there (an unnamed
  object gets its UUID), so label_values() lists every object.
* Amphorae with HAProxy before 2.4 report pool and member status as a number,
  newer ones as one 0/1 series per state: queries of a status go through
  in_state() or state_code(), which read both.
"""

# Every Octavia scrape target has this label; `up` for other jobs does not.
OCTAVIA_TARGET = 'loadbalancer_id!=""'

# The template variables every dashboard has; "All" is sent as ".*".
SCOPE = ('cloud=~"$cloud"', 'region=~"$region"', 'project_id=~"$project"')
# One load balancer, chosen by name.
ONE_LB = SCOPE + ('loadbalancer_name="$loadbalancer"',)

# The PROMETHEUS listener only carries scrapes; operators look at the others.
NOT_SCRAPE_LISTENER = 'protocol!="PROMETHEUS"'

# kind -> (labels the metric and the catalogue share, name labels the catalogue adds, catalogue metric).
# The amphora's `pool` label is "<pool UUID>:<listener UUID>" and the catalogue uses
# the same value; members join on their UUID alone (docs/names.md explains both).
CATALOGUE = {
    "listener": (("listener",), ("listener_name",), "octavia_listener_info"),
    "pool": (("pool",), ("pool_name", "listener_name"), "octavia_pool_info"),
    "member": (("member",), ("member_name", "member_address", "pool_name"), "octavia_member_info"),
}

# Labels that hold UUIDs: never shown to a reader (legends, table columns).
ID_LABELS = ("loadbalancer_id", "listener_id", "listener", "pool", "pool_id", "member")


# The states of the status metrics the panels read, in HAProxy's numeric order.
# HAProxy 2.4 and later export one series per state with a `state` label, 1 for
# the current state; older versions (2.0 to 2.3, on older amphora images) one
# series without it whose value is the index here (their exporter's help text:
# "backend: 0=DOWN, 1=UP - server: 0=DOWN, 1=UP, 2=MAINT, 3=DRAIN, 4=NOLB").
# Octavia's prometheus-proxy renames the metrics and passes either form through.
HAPROXY_STATES = {
    "octavia_pool_status": ("DOWN", "UP"),
    "octavia_member_status": ("DOWN", "UP", "MAINT", "DRAIN", "NOLB"),
}
# Selects the older form: a series without a `state` label.
NO_STATE = 'state=""'


def sel(*matchers):
    """Return a PromQL label selector `{a, b}` from matcher strings (empty: "")."""
    return "{" + ", ".join(matchers) + "}" if matchers else ""


def metric(name, *matchers):
    """Return `name{matchers}`."""
    return name + sel(*matchers)


def rate(name, *matchers, window="$__rate_interval"):
    """Return `rate(name{matchers}[window])`."""
    return f"rate({metric(name, *matchers)}[{window}])"


def increase(name, *matchers, window="$__rate_interval"):
    """Return `increase(name{matchers}[window])`."""
    return f"increase({metric(name, *matchers)}[{window}])"


def named(expr, kind, *catalogue_matchers):
    """Attach the catalogue's name labels of `kind` to every series of `expr`.

    catalogue_matchers filter the catalogue side, which also filters `expr`
    (an inner join): a listener chosen by name in a variable narrows the result.
    Raises KeyError for an unknown kind.
    """
    on, names, info = CATALOGUE[kind]
    return f"{expr} * on ({', '.join(on)}) group_left ({', '.join(names)}) {metric(info, *catalogue_matchers)}"


def agg(op, by, expr):
    """Return `op by (by...) (expr)`, or `op (expr)` when by is empty."""
    if by:
        return f"{op} by ({', '.join(by)}) ({expr})"
    return f"{op} ({expr})"


def in_state(name, state, *matchers):
    """Whether each object of `name` is in `state`, as one 0/1 series per object, from either HAProxy format.

    HAProxy 2.4 and later export one 0/1 series per state, with a `state` label;
    older amphora images export one series without that label, whose value is the
    state's number (HAPROXY_STATES). The older series are selected by `state=""`
    (no such label) and given the `state` label the newer ones carry, so both
    forms yield the same labels. The alert pack (octavia-alerts.yml.j2) builds the
    same expression. Raises KeyError for a metric not in HAPROXY_STATES, and
    ValueError for a state HAProxy does not have for it.
    """
    code = HAPROXY_STATES[name].index(state)
    state_label = f'state="{state}"'
    newer = metric(name, *matchers, state_label)
    older = metric(name, *matchers, NO_STATE)
    return f'({newer} or label_replace({older} == bool {code}, "state", "{state}", "", ""))'


def state_code(name, *matchers):
    """One number per object for a status metric, from either HAProxy format.

    The result is HAProxy's number of the current state plus one (1 for the first
    state of HAPROXY_STATES[name], 0 when no state series is 1), without the
    `state` label, so it can share a table or a state timeline with other queries
    and panels.state_mapping turns it back into a name. Newer images give one 0/1
    series per state, each multiplied by its code; older ones the number itself.
    Raises KeyError for a metric not in HAPROXY_STATES.
    """
    parts = []
    for code, state in enumerate(HAPROXY_STATES[name], start=1):
        state_label = f'state="{state}"'
        parts.append(f"{metric(name, *matchers, state_label)} * {code}")
    parts.append(f"{metric(name, *matchers, NO_STATE)} + 1")
    return f"sum without (state) ({' or '.join(parts)})"
