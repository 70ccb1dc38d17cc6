"""Celery: JSON only, one beat schedule with expiries stored by the DatabaseScheduler, a real worker."""
import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab, schedule
from django.utils import timezone

from jinju_portal.celery import BEAT_SCHEDULE, active_schedule, app

pytestmark = pytest.mark.clock  # the beat schedule's periods, beat's stored schedule


# Any fixed start will do; a year and a half from it holds every month (February's 28 days give a
# monthly entry its shortest gap) and a leap day. Reading the real clock instead made the result
# depend on the day the suite ran: from the 1st of a 31-day month until about the 22nd, a 40-day
# window held one run of the monthly roll-over, and min() of no gaps raised ValueError.
PERIOD_SCAN_START = dt.datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Seoul"))
PERIOD_SCAN_DAYS = 550
PERIOD_SCAN_RUNS = 5_000  # enough for a frequent entry: its gaps repeat every day


def crontab_runs(sched, start=PERIOD_SCAN_START, days=PERIOD_SCAN_DAYS, limit=PERIOD_SCAN_RUNS):
    """The instants a crontab fires in Asia/Seoul (CELERY_TIMEZONE), in order, from `start` on."""
    runs = []
    for n in range(days):
        day = (start + dt.timedelta(days=n)).date()
        if day.day not in sched.day_of_month or day.month not in sched.month_of_year \
                or day.isoweekday() % 7 not in sched.day_of_week:
            continue
        for hour in sorted(sched.hour):
            for minute in sorted(sched.minute):
                runs.append(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=start.tzinfo))
                if len(runs) >= limit:
                    return runs
    return runs


def period_seconds(sched):
    """Shortest gap between two runs of a schedule, whatever the day the suite runs on."""
    if isinstance(sched, crontab):
        runs = crontab_runs(sched)
        assert len(runs) >= 2, f"{sched} fires fewer than twice in {PERIOD_SCAN_DAYS} days"
        return min((b - a).total_seconds() for a, b in zip(runs, runs[1:]))
    if isinstance(sched, schedule):
        return sched.run_every.total_seconds()
    return float(sched)


def test_period_of_each_kind_of_entry():
    day = 24 * 3600
    assert period_seconds(crontab(minute=5, hour=0, day_of_month=1)) == 28 * day  # February
    assert period_seconds(crontab(minute=15, hour=0)) == day
    assert period_seconds(crontab(minute="*/10")) == 600
    assert period_seconds(crontab()) == 60
    leap_day = crontab_runs(crontab(minute=0, hour=9, day_of_month=29, month_of_year=2))
    assert [r.date() for r in leap_day] == [dt.date(2028, 2, 29)]
    runs = crontab_runs(crontab(minute=5, hour=0, day_of_month=1))
    assert [r.month for r in runs[:13]] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1]


def test_only_json_is_accepted():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"


@pytest.mark.parametrize("name", sorted(BEAT_SCHEDULE))
def test_every_periodic_task_expires_before_its_next_run(name):
    app.loader.import_default_modules()  # autodiscovery is lazy: load every app's tasks.py, as a worker does
    entry = BEAT_SCHEDULE[name]
    assert 0 < entry["options"]["expires"] < period_seconds(entry["schedule"]), name
    assert entry["task"] in app.tasks, f"{entry['task']} is not a registered task"


def test_periodic_tasks_can_be_switched_off_by_setting():
    assert set(active_schedule(disabled=["purge-idempotency-keys"])) == set(BEAT_SCHEDULE) - {"purge-idempotency-keys"}


@pytest.mark.django_db(transaction=True)  # the scheduler closes the connection, as beat does
def test_database_scheduler_stores_the_schedule_with_expiry(settings):
    from django_celery_beat.models import PeriodicTask

    from jinju_portal.beat import PortalScheduler

    settings.DISABLED_PERIODIC_TASKS = []
    app.conf.beat_schedule = active_schedule()
    PortalScheduler(app=app)
    stored = {t.name: t for t in PeriodicTask.objects.all()}
    for name, entry in BEAT_SCHEDULE.items():
        assert stored[name].task == entry["task"]
        assert stored[name].expire_seconds == entry["options"]["expires"]
        assert stored[name].enabled
    assert str(stored["purge-idempotency-keys"].crontab.timezone) == "Asia/Seoul"

    settings.DISABLED_PERIODIC_TASKS = ["purge-idempotency-keys"]
    app.conf.beat_schedule = active_schedule(settings.DISABLED_PERIODIC_TASKS)
    PortalScheduler(app=app)
    assert not PeriodicTask.objects.get(name="purge-idempotency-keys").enabled


@pytest.mark.slow
def test_real_worker_runs_a_task_from_redis(celery_worker_process):
    from jinju_portal.models import IdempotencyRecord
    from jinju_portal.tasks import purge_idempotency_keys

    IdempotencyRecord.objects.create(owner="client:1", key="stale", request_hash="h",
                                     created_at=timezone.now() - timezone.timedelta(days=3))
    celery_worker_process(purge_idempotency_keys)
    deadline = time.monotonic() + 20
    while IdempotencyRecord.objects.filter(key="stale").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not IdempotencyRecord.objects.filter(key="stale").exists()


def test_on_commit_enqueue_waits_for_the_transaction(django_capture_on_commit_callbacks, db):
    from jinju_portal.tasks import enqueue_on_commit, purge_idempotency_keys

    with django_capture_on_commit_callbacks() as callbacks:
        enqueue_on_commit(purge_idempotency_keys)
    assert len(callbacks) == 1
