"""Race helper for the concurrency tests: real threads, each with its own database connection."""
import threading

from django.db import connection

from jinju_portal.errors import ServiceError


def race(fn, args_list, timeout=60):
    """Run fn(*args) for each args in its own thread; a barrier makes them all start together.
    Returns [("ok", value) | ("err", refusal code) | ("exc", repr)] in input order."""
    barrier = threading.Barrier(len(args_list))
    results = [None] * len(args_list)

    def worker(i, args):
        try:
            barrier.wait(timeout=timeout)
            results[i] = ("ok", fn(*args))
        except ServiceError as exc:
            results[i] = ("err", exc.code)
        except Exception as exc:  # surfaced by the test's assertions
            results[i] = ("exc", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


def outcomes(results):
    """[("ok", x), ("err", "sold_out")] -> ["ok", "sold_out"]."""
    return ["ok" if kind == "ok" else value for kind, value in results]
