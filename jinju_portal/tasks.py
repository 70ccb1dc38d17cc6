"""Celery tasks of the shared package (thin wrappers around services)."""
from celery import shared_task
from django.conf import settings
from django.db import transaction

from jinju_portal.api.idempotency import purge_idempotency_records


@shared_task(name="jinju_portal.tasks.purge_idempotency_keys")
def purge_idempotency_keys():
    return purge_idempotency_records(older_than_hours=settings.IDEMPOTENCY_KEEP_HOURS)


def enqueue_on_commit(task, *args, **kwargs):
    """Services enqueue side effects only once their transaction has committed (DESIGN.md)."""
    transaction.on_commit(lambda: task.delay(*args, **kwargs))
