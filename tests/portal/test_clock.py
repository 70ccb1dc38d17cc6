"""The test clock: in a PORTAL_FROZEN_CLOCK run every way the code reads the time sees the travelled
instant; `frozen_clock` stops it for one test."""
import datetime as dt
import time

import pytest
from django.db import connection
from django.utils import timezone

from vouchers import months

pytestmark = pytest.mark.clock

SLACK = dt.timedelta(seconds=5)


def test_every_clock_reader_starts_at_the_travelled_instant(request):
    instant = request.config._portal_instant
    if instant is None:
        pytest.skip("PORTAL_FROZEN_CLOCK is not set: the real clock")
    now = timezone.now()
    assert instant <= now < instant + SLACK  # each test starts at the instant itself, ticking
    assert abs(dt.datetime.now(dt.timezone.utc) - instant) < SLACK
    assert abs(time.time() - instant.timestamp()) < SLACK.total_seconds()
    seoul_days = {months.seoul(instant).date(), months.seoul(instant + SLACK).date()}
    assert timezone.localdate() in seoul_days
    assert dt.date.today() in seoul_days  # Django sets the process's TZ to TIME_ZONE (Asia/Seoul)


@pytest.mark.django_db
def test_postgresql_keeps_the_real_clock(request):
    """Why no code may read the date in SQL (now(), CURRENT_DATE): a clock run would not move it. The
    sale statement and every job take `now` from Python as a parameter."""
    instant = request.config._portal_instant
    if instant is None:
        pytest.skip("PORTAL_FROZEN_CLOCK is not set: both clocks agree")
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        database_now = cursor.fetchone()[0]
    assert abs(database_now - timezone.now()) > SLACK or abs(instant - database_now) < SLACK


def test_frozen_clock_stands_still_but_monotonic_time_runs(request, frozen_clock):
    before, ticks = timezone.now(), time.monotonic()
    instant = request.config._portal_instant
    if instant is not None:
        assert instant <= before < instant + SLACK  # stopped at the travelled instant, not the real one
    time.sleep(0.02)
    assert timezone.now() == before and time.monotonic() > ticks
    frozen_clock.shift(dt.timedelta(days=1))
    assert timezone.now() == before + dt.timedelta(days=1)
