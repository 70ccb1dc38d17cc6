"""/healthz: 200 when the database (and a configured Redis) answer; 503 naming the failing part."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthy_without_redis_configured(client, settings):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "not configured"}


@pytest.mark.django_db
def test_healthy_with_real_redis(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    assert client.get("/healthz").json() == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_redis_configured_but_down_is_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["redis"].startswith("error")


def test_database_unreachable_is_503():
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz')\n"
        "print(r.status_code, r.json())\n"
    )
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere", "REDIS_URL": "",
           "DJANGO_SETTINGS_MODULE": "jinju_portal.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("503 ")
    assert "'database': 'error: OperationalError'" in result.stdout
