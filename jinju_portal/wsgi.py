"""WSGI entry point for gunicorn."""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jinju_portal.settings")
django_application = get_wsgi_application()


def _load_lazily_loaded_code():
    """Import what Django and DRF would otherwise import on a worker's first request (every view
    module through the URLconf, DRF's configured classes, the translation catalogues). With
    `preload_app` this runs once in the gunicorn master and every worker starts with it, instead of
    the first requests of a freshly started server each waiting ~120 ms for it (bench/README.md)."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation
    from rest_framework.settings import api_settings

    get_resolver().url_patterns
    for name in ("DEFAULT_AUTHENTICATION_CLASSES", "DEFAULT_PERMISSION_CLASSES", "DEFAULT_RENDERER_CLASSES",
                 "DEFAULT_PARSER_CLASSES", "DEFAULT_THROTTLE_CLASSES", "DEFAULT_CONTENT_NEGOTIATION_CLASS",
                 "EXCEPTION_HANDLER"):
        getattr(api_settings, name)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("")
    # Django's Redis cache imports redis-py when first used: ~55 ms of a worker's first throttled
    # request (a POS payment's, bench/payments.py). Import it here; connections still open per worker.
    if any(cache["BACKEND"].endswith(".RedisCache") for cache in settings.CACHES.values()):
        import redis  # noqa: F401


_load_lazily_loaded_code()

# A till's ordinary payment skips Django's request machinery; everything else reaches Django
# (vouchers/api/pos.py says which requests, and why).
from vouchers.api.pos import LeanPayments  # noqa: E402

application = LeanPayments(django_application)
# Everything loaded so far lives as long as the process: keep it out of the cyclic garbage
# collector's generations, so its collections only walk what requests allocate (and a forked
# worker does not write to the master's pages by walking them).
gc.collect()
gc.freeze()
