"""Many plain openstacksdk clients at once against the lab API: how many requests fail, how fast.

A real cloud serves its API from several processes with a long listen queue; parallel clients
there see no connection errors. `labctl.py api-load` prints the figures, and test_lab.py
proves with the same function that no request fails.
"""
import threading
import time
import uuid


def _share(total, clients):
    """Split `total` requests over `clients` threads as evenly as possible."""
    base, extra = divmod(total, clients)
    return [base + (1 if index < extra else 0) for index in range(clients)]


def parallel_gets(lab_client, clients=64, total=1280):
    """`clients` threads, each with its own openstacksdk Connection, make `total` GETs in all.

    Each GET lists the load balancers with a name nobody uses: one small query, the same cost
    whatever else the lab holds. Every thread first makes one GET of its own (the SDK's version
    discovery happens there) and then waits for the others, so the timed part is `total`
    GETs with all clients running at once.

    Returns a dict: clients, requests (timed GETs attempted), name (the one in every GET's
    query), errors (a list of "ExceptionType: message" strings, warm-up failures included),
    seconds, per_second.
    """
    name = f"apiload-{uuid.uuid4().hex[:8]}"
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()
    errors = []

    def one_get(conn):
        try:
            list(conn.load_balancer.load_balancers(name=name))
        except Exception as exc:   # connection resets, timeouts and HTTP errors all count
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])

    def client(count):
        conn = lab_client.connect()
        try:
            one_get(conn)
            barrier.wait()
            for _request in range(count):
                one_get(conn)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(count,), daemon=True)
               for count in _share(total, clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    return {"clients": clients, "requests": total, "name": name, "errors": errors,
            "seconds": round(seconds, 2), "per_second": round(total / seconds, 1)}
