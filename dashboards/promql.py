"""PromQL building blocks shared by the Octavia dashboards.

Pure string functions: no Grafana, no network. Two facts shape every query:

* Every series scraped from an amphora carries the scrape target labels that the
  octavia_prometheus role writes (loadbalancer_id, loadbalancer_name, project_id,
  listener_id, vip_address, provider, availability_zone, cloud, region), so load
  balancer names need no join.
* Octavia's prometheus-proxy labels listeners, pools and members by UUID only.
  Their names come from the name catalogue that the octavia_prometheus role
  records (docs/names.md): one octavia_<kind>_info series per object, joined
  with `* on (...) group_left (...)`. Names are never empty there (an unnamed
  object gets its UUID), so label_values() lists every object.
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


def state_code(name, states, *matchers):
    """One number for a metric that HAProxy exports as one 0/1 series per state.

    `states` lists the state label values in code order, 1-based: the result is
    the code of the state whose series is 1 (0 when none is), with the `state`
    label gone, so it can share a table or a state timeline with other queries.
    """
    parts = []
    for code, state in enumerate(states, start=1):
        state_matcher = 'state="%s"' % state
        parts.append(f"{metric(name, *matchers, state_matcher)} * {code}")
    return f"sum without (state) ({' or '.join(parts)})"
