"""Fixtures for tests against the local Octavia lab (tests/lab, README.md there).

    lab           session: the running lab (started here if it is down); connect(), env,
                  seed_listener_stats(), api_request_marker()/api_requests_since(),
                  amphora_stop()/amphora_start(), api_url, clouds_yaml, conf;
                  faults: stop_component(), kill_component(), start_component(),
                  pause_component(), resume_component(), component_down() (a context
                  manager that always restores), wait_healthy(); the database:
                  db_execute(sql, params), db_query(sql, params)
    lb_factory    function: creates load balancers (project "lab-project", a free VIP in
                  OCTAVIA_LAB_VIP_NET, default 127.1.0.0/16) and deletes them, cascade,
                  when the test ends
    http_backend  function: starts HTTP servers to use as pool members
    conn          function: an openstacksdk connection to the lab, closed when the test ends

Every test that uses `lab` is marked `lab`, so `-m "not lab"` leaves them out.
"""
import os

import pytest

from lab.backends import HttpBackend
from lab.client import LabClient
from lab.control import Lab
from lab.errors import LabError
from lab.factory import LoadBalancerFactory
from lab.settings import Settings


def pytest_collection_modifyitems(items):
    for item in items:
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab():
    """The lab, reused if it runs; stopped at the end only if this session started all of it."""
    try:
        settings = Settings()
        control = Lab(settings)
        started = control.up()
    except LabError as exc:
        pytest.fail(f"the Octavia lab is not available: {exc}", pytrace=False)
    yield LabClient(settings)
    started_everything = set(started) == set(control.services)
    if started_everything and os.environ.get("OCTAVIA_LAB_KEEP") != "1":
        control.down()


@pytest.fixture
def lb_factory(lab):
    """factory.create(...) / factory.create_many(n) -> ACTIVE load balancers, deleted afterwards."""
    conn = lab.connect()
    factory = LoadBalancerFactory(conn)
    try:
        yield factory
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


@pytest.fixture
def conn(lab):
    connection = lab.connect()
    yield connection
    connection.close()


@pytest.fixture
def http_backend():
    """http_backend(address="127.0.0.1", port=0, default_status=404) -> a started HttpBackend.

    / answers 200, /status/NNN answers NNN, other paths the default status.
    """
    started = []

    def start(address="127.0.0.1", port=0, default_status=404):
        backend = HttpBackend(address, port, default_status=default_status).start()
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.stop()
