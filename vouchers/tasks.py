"""Celery tasks of `vouchers`: thin wrappers around the scheduled services (all idempotent)."""
from celery import shared_task

from vouchers import services


@shared_task(name="vouchers.tasks.month_rollover")
def month_rollover():
    return services.month_rollover()


@shared_task(name="vouchers.tasks.release_lapsed_reservations")
def release_lapsed_reservations():
    return services.release_lapsed_reservations()


@shared_task(name="vouchers.tasks.expire_notes_and_credits")
def expire_notes_and_credits():
    return services.expire_notes_and_credits()
