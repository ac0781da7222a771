"""Listener statistics written the way Octavia's own stats driver writes them.

With noop drivers nothing reports traffic, so the /stats endpoints return zeros. A
real amphora's figures reach the DB through octavia.statistics.drivers.update_db
(StatsUpdateDb); this module calls that same driver, so the API, the SDK and the CLI
read back exactly what was written.
"""
import threading
import warnings

FIGURES = ("bytes_in", "bytes_out", "active_connections", "total_connections", "request_errors")

_INIT_LOCK = threading.Lock()
_INITIALISED = {}


def init_octavia(conf_path):
    """Load octavia.conf into oslo.config once per process; refuse a second, different file."""
    with _INIT_LOCK:
        if _INITIALISED.get("conf") == str(conf_path):
            return
        if _INITIALISED:
            raise RuntimeError(f"octavia config already loaded from {_INITIALISED['conf']}, "
                               f"cannot switch to {conf_path} in the same process")
        with warnings.catch_warnings():
            # oslo.service's eventlet backend warns on import; a lab command's output
            # (a container reference, say) should be only its answer.
            warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")
            from octavia.common import config
        config.init(["--config-file", str(conf_path)])
        _INITIALISED["conf"] = str(conf_path)


def _allocated_amphora(session, listener_id):
    from octavia.common import constants
    from octavia.db import repositories
    listener = repositories.ListenerRepository().get(session, id=listener_id)
    if listener is None:
        raise LookupError(f"listener {listener_id} does not exist")
    amphorae = listener.load_balancer.amphorae if listener.load_balancer else []
    return next((amp.id for amp in amphorae if amp.status == constants.AMPHORA_ALLOCATED), None)


def seed_listener_stats(conf_path, listener_id, amphora_id=None, **figures):
    """Replace one listener's statistics row; returns the amphora id the row is keyed on.

    amphora_id defaults to the load balancer's ALLOCATED amphora, as an amphora's own
    report would be; without one, to listener_id (how other provider drivers key it).
    Unknown figure names raise ValueError; missing figures are written as 0.
    """
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown statistics {sorted(unknown)}; known: {', '.join(FIGURES)}")
    init_octavia(conf_path)
    from octavia.common import data_models
    from octavia.db import api as db_api
    from octavia.statistics.drivers.update_db import StatsUpdateDb

    if amphora_id is None:
        with db_api.session().begin() as session:
            amphora_id = _allocated_amphora(session, listener_id) or listener_id
    values = {name: int(figures.get(name, 0)) for name in FIGURES}
    StatsUpdateDb().update_stats([data_models.ListenerStatistics(
        listener_id=listener_id, amphora_id=amphora_id, **values)])
    return amphora_id
