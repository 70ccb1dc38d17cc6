"""Sangpyeong complex innovation-support and culture centre (상평산단 혁신지원센터)."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndustrialConfig(AppConfig):
    name = "industrial"
    verbose_name = _("상평산단 혁신지원·문화센터")
