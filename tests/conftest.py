"""Shared fixtures: real PostgreSQL (never SQLite), clean cache per test, API clients, Chromium, the test clock."""
import datetime as dt
import os
import shutil

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run inside
# one unless told this thread is allowed (the loop never runs our code concurrently).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# CI runs the tests marked `clock` again with the clock travelled to instants where dates turn over
# (a month's last second in Seoul, 31 December, a leap day, …): PORTAL_FROZEN_CLOCK=2027-01-31T23:59:59+09:00.
# Every test then starts at exactly that instant and the clock ticks on from there (tick=True: timeouts
# and races still progress). Only this process travels: a Celery worker subprocess, Chromium and
# PostgreSQL's now() keep the real time, so tests that need them are skipped in such a run.
CLOCK_ENV = "PORTAL_FROZEN_CLOCK"


def _travelled_instant():
    value = os.environ.get(CLOCK_ENV, "").strip()
    if not value:
        return None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise pytest.UsageError(f"{CLOCK_ENV}={value!r}: give an ISO 8601 instant with its offset, "
                                "e.g. 2027-01-31T23:59:59+09:00")
    return instant


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The suite runs on PostgreSQL only: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/jinju "
            "(make test does this)."
        )
    config._portal_instant = _travelled_instant()
    if config._portal_instant is not None:
        # for the whole session too: module constants, collection and session fixtures see the instant
        config._portal_travel = time_machine.travel(config._portal_instant, tick=True)
        config._portal_travel.start()


def pytest_unconfigure(config):
    travel = getattr(config, "_portal_travel", None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config):
    instant = getattr(config, "_portal_instant", None)
    if instant is not None:
        return f"clock: every test starts at {instant.isoformat()} ({CLOCK_ENV}), ticking"


def _needs_another_process(item):
    return "browser" in item.keywords or "celery_worker_process" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    if getattr(config, "_portal_instant", None) is not None:
        skip = pytest.mark.skip(reason=f"{CLOCK_ENV}: another process (Chromium, a Celery worker) keeps the real clock")
        for item in items:
            if _needs_another_process(item):
                item.add_marker(skip)
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install -y chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _travelled_clock(request):
    """In a PORTAL_FROZEN_CLOCK run, each test starts at the instant itself (not wherever the session's
    clock has ticked to), so a month's last second really is the last second for every test."""
    instant = getattr(request.config, "_portal_instant", None)
    if instant is None:
        yield None
        return
    with time_machine.travel(instant, tick=True) as traveller:
        yield traveller


@pytest.fixture
def frozen_clock():
    """The clock stands still for this test at the instant it starts (the travelled one in a clock
    run): every timezone.now() reads the same instant, so a test that builds "this month" or "today"
    and then checks it can never straddle midnight or a month end. time.monotonic() still runs."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached lookups never leak from one test into the next."""
    from jinju_portal.api.authentication import clear_client_cache

    cache.clear()
    clear_client_cache()
    yield
    clear_client_cache()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def make_client(db):
    """make_client("sales_agent") -> (ApiClient, APIClient authenticated with its key)."""
    from rest_framework.test import APIClient

    from jinju_portal.services import issue_api_key

    counter = {"n": 0}

    def _make(role, **kwargs):
        counter["n"] += 1
        client, key = issue_api_key(name=kwargs.pop("name", f"{role}-{counter['n']}"), role=role, **kwargs)
        http = APIClient()
        http.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client, http

    return _make


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.fail(f"Redis at {TEST_REDIS_URL} does not answer (make test starts it)")
    return TEST_REDIS_URL


@pytest.fixture
def which_chromium():
    return shutil.which(CHROMIUM) or CHROMIUM


@pytest.fixture
def celery_worker_process(redis_url, transactional_db):
    """A real `celery worker` process on the test database and a test Redis, on a queue of its own
    (so no other worker takes its tasks). Yields `send(task, *args, **kwargs)`; data the test
    writes must be committed (this fixture implies transactional_db)."""
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
           "CONN_MAX_AGE": "0"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "jinju_portal", "worker", "-Q", queue, "--pool", "solo",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"{queue}@%h", "--loglevel", "INFO"],
        cwd=Path(__file__).resolve().parents[1], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    from celery import Celery

    # A producer of its own: the project's app stays eager for the rest of the suite.
    sender = Celery("test-sender", broker=redis_url, set_as_current=False)
    sender.conf.update(task_serializer="json", accept_content=["json"])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replies = sender.control.ping(destination=[f"{queue}@" + os.uname().nodename], timeout=0.5)
            if replies:
                break
            if proc.poll() is not None:
                pytest.fail("celery worker exited:\n" + proc.stdout.read())
        else:
            pytest.fail("celery worker did not answer a ping within 30 s")

        def send(task, *args, **kwargs):
            return sender.send_task(task.name, args=args, kwargs=kwargs, queue=queue)

        yield send
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        sender.close()
