"""Project-level pages: the home page and the health probe."""
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


def home(request):
    return render(request, "portal/home.html")


def _check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any driver error means "not answering"
        return f"error: {exc.__class__.__name__}"


def _check_redis():
    url = settings.REDIS_URL or settings.CELERY_BROKER_URL
    if not url:
        return "not configured"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


@never_cache
@require_safe
def healthz(request):
    """200 when the database (and Redis, when configured) answer; 503 naming the failing part."""
    body = {"database": _check_database(), "redis": _check_redis()}
    healthy = body["database"] == "ok" and body["redis"] in ("ok", "not configured")
    return JsonResponse(body, status=200 if healthy else 503)
