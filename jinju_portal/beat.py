"""Beat scheduler: django-celery-beat's DatabaseScheduler, honouring DISABLED_PERIODIC_TASKS."""
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler


class PortalScheduler(DatabaseScheduler):
    def setup_schedule(self):
        super().setup_schedule()
        # An entry switched off by setting may have been stored by an earlier beat: disable it there too.
        disabled = list(settings.DISABLED_PERIODIC_TASKS)
        if disabled:
            PeriodicTask.objects.filter(name__in=disabled, enabled=True).update(enabled=False)
