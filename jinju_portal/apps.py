"""App config of the shared project package (API clients, idempotency records, helpers)."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "jinju_portal"
    label = "portal"
    verbose_name = _("포털 공통")
