"""Jinju economic-support portal: project package (settings, URLs, Celery app, shared helpers)."""
from .celery import app as celery_app

__all__ = ("celery_app",)
