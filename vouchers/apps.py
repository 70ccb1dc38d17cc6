"""Jinju Love gift certificates (진주사랑상품권)."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VouchersConfig(AppConfig):
    name = "vouchers"
    verbose_name = _("진주사랑상품권")
