"""Celery: JSON only, one beat schedule with expiries stored by the DatabaseScheduler, a real worker."""
import time

import pytest
from celery.schedules import crontab, schedule
from django.utils import timezone

from jinju_portal.celery import BEAT_SCHEDULE, active_schedule, app


def period_seconds(sched):
    """Shortest gap between two runs of a schedule, found by stepping through a week."""
    if isinstance(sched, crontab):
        start = timezone.now().replace(second=0, microsecond=0)
        runs, t = [], start
        while len(runs) < 3 and t < start + timezone.timedelta(days=40):
            t += timezone.timedelta(minutes=1)
            local = timezone.localtime(t)
            if (local.minute in sched.minute and local.hour in sched.hour
                    and local.day in sched.day_of_month and local.month in sched.month_of_year
                    and local.isoweekday() % 7 in sched.day_of_week):
                runs.append(t)
        return min((b - a).total_seconds() for a, b in zip(runs, runs[1:]))
    if isinstance(sched, schedule):
        return sched.run_every.total_seconds()
    return float(sched)


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
