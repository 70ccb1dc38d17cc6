"""Celery app and the one beat schedule of the portal (stored by django-celery-beat's DatabaseScheduler)."""
import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jinju_portal.settings")

app = Celery("jinju_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# The whole schedule lives here, in Asia/Seoul (CELERY_TIMEZONE). Every entry expires before its
# next run is due, so a backlog after an outage never runs the same job twice in a row; every task
# is idempotent anyway (DESIGN.md "Scheduled work"). Entries are switched off by name with the
# DISABLED_PERIODIC_TASKS setting. Domain issues add their jobs here.
BEAT_SCHEDULE = {
    # vouchers (issue 3): month roll-over, reservation release, note/credit expiry
    "vouchers-month-rollover": {
        "task": "vouchers.tasks.month_rollover",
        "schedule": crontab(minute=5, hour=0, day_of_month=1),
        "options": {"expires": 6 * HOUR},
    },
    "vouchers-release-reservations": {
        "task": "vouchers.tasks.release_lapsed_reservations",
        "schedule": crontab(),  # every minute
        "options": {"expires": 50},
    },
    "vouchers-expire-notes-and-credits": {
        "task": "vouchers.tasks.expire_notes_and_credits",
        "schedule": crontab(minute=15, hour=0),
        "options": {"expires": 12 * HOUR},
    },
    "vouchers-retry-pending-refunds": {
        "task": "vouchers.tasks.retry_pending_refunds",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 9 * MINUTE},
    },
    # vouchers (issue 9): at 02:00 build yesterday's merchant settlements (paid the next business day)
    "vouchers-build-settlements": {
        "task": "vouchers.tasks.build_settlements",
        "schedule": crontab(minute=0, hour=2),
        "options": {"expires": 20 * HOUR},
    },
    # vouchers (issue 9): the cash-out (깡) scan, after the 02:00 settlement build (DESIGN.md)
    "vouchers-scan-cash-out": {
        "task": "vouchers.tasks.scan_cash_out",
        "schedule": crontab(minute=30, hour=2),
        "options": {"expires": 12 * HOUR},
    },
    # delivery (issue 10): on the 1st at 03:00, close last month and issue its statements
    "delivery-build-statements": {
        "task": "delivery.tasks.build_statements",
        "schedule": crontab(minute=0, hour=3, day_of_month=1),
        "options": {"expires": 20 * HOUR},
    },
    "purge-idempotency-keys": {
        "task": "jinju_portal.tasks.purge_idempotency_keys",
        "schedule": crontab(minute=30, hour=4),
        "options": {"expires": 6 * HOUR},
    },
    # industrial (issue 4): every morning, remind the business support team of overdue SME requests.
    "industrial-overdue-support-reminders": {
        "task": "industrial.tasks.remind_overdue_support_requests",
        "schedule": crontab(minute=0, hour=9),
        "options": {"expires": 12 * HOUR},
    },
}


def active_schedule(disabled=()):
    """The schedule minus switched-off entries, with `expires` spelt the way django-celery-beat stores
    it (`expire_seconds`; it silently drops an `expires` option)."""
    out = {}
    for name, entry in BEAT_SCHEDULE.items():
        if name in disabled:
            continue
        options = dict(entry.get("options", {}))
        if "expires" in options:
            options["expire_seconds"] = options.pop("expires")
        out[name] = {**entry, "options": options}
    return out


@app.on_after_configure.connect
def _install_schedule(sender, **kwargs):
    from django.conf import settings

    sender.conf.beat_schedule = active_schedule(settings.DISABLED_PERIODIC_TASKS)
    if sender.conf.task_always_eager and not sender.conf.broker_url:
        # Tasks run in-process (no broker configured), but Celery still builds a producer to serialise
        # their arguments: give it the in-memory transport. An empty URL means amqp://localhost, and
        # kombu warns "No hostname was supplied" on the first task. Django's CELERY_BROKER_URL stays
        # empty, so /healthz still says Redis is "not configured".
        sender.conf.broker_url = "memory://localhost/"
