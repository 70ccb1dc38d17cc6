"""Celery tasks of the Sangpyeong centre (thin wrappers around services and notifications)."""
from celery import shared_task

from industrial import notifications


@shared_task(name="industrial.tasks.remind_overdue_support_requests")
def remind_overdue_support_requests():
    from industrial import services  # services enqueue these tasks: import them here, not at module level

    return services.send_overdue_reminders()


@shared_task(name="industrial.tasks.send_overdue_digest")
def send_overdue_digest(request_ids):
    return notifications.send_overdue_digest(request_ids)


@shared_task(name="industrial.tasks.send_support_status_email")
def send_support_status_email(request_id, status):
    return notifications.send_support_status_email(request_id, status)


@shared_task(name="industrial.tasks.send_registration_email")
def send_registration_email(registration_id, kind, token=None):
    return notifications.send_registration_email(registration_id, kind, token)
