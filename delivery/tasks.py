"""Celery tasks of `delivery`: thin wrappers around the scheduled services (all idempotent)."""
from celery import shared_task


@shared_task(name="delivery.tasks.build_statements")
def build_statements(month=None):
    """Last month's statements (Asia/Seoul) by default: closes and issues it on the first run, a rerun
    (late, or twice) writes nothing."""
    from django.utils import timezone

    from delivery import services
    from vouchers import months

    month = month or months.add_months(months.month_of(timezone.now()), -1)
    return services.build_statements(month=month).as_dict()
