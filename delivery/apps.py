"""Public delivery app (배달의 진주, 띵동)."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = _("공공배달앱")
