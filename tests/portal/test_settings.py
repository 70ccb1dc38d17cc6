"""Settings come from the environment: each variable set and unset, in a fresh interpreter."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
  "engine": db["ENGINE"], "name": str(db["NAME"]), "conn_max_age": db["CONN_MAX_AGE"],
  "debug": settings.DEBUG, "eager": settings.CELERY_TASK_ALWAYS_EAGER, "broker": settings.CELERY_BROKER_URL,
  "cache": settings.CACHES["default"]["BACKEND"], "hosts": settings.ALLOWED_HOSTS,
  "csrf": settings.CSRF_TRUSTED_ORIGINS, "ssl_redirect": getattr(settings, "SECURE_SSL_REDIRECT", False),
  "hsts": getattr(settings, "SECURE_HSTS_SECONDS", 0), "secure_cookies": getattr(settings, "SESSION_COOKIE_SECURE", False),
  "tz": settings.TIME_ZONE, "lang": settings.LANGUAGE_CODE, "langs": [c for c, _ in settings.LANGUAGES],
  "identity_key": settings.IDENTITY_HASH_KEY, "secret": settings.SECRET_KEY,
}))
"""
VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS", "IDENTITY_HASH_KEY", "SECURE_SSL_REDIRECT", "CONN_MAX_AGE",
        "DJANGO_ALLOW_ASYNC_UNSAFE")
PROD = {"DEBUG": "0", "SECRET_KEY": "s" * 50 + "-real-secret", "IDENTITY_HASH_KEY": "real-identity-key",
        "ALLOWED_HOSTS": "portal.jinju.go.kr"}


def run_django(code, **env):
    clean = {k: v for k, v in os.environ.items() if k not in VARS}
    clean.update(env, DJANGO_SETTINGS_MODULE="jinju_portal.settings")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=60)


def probe(**env):
    result = run_django(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_defaults_are_the_embedded_development_setup():
    s, log = probe()
    assert s["engine"] == "django.db.backends.sqlite3" and s["name"].endswith("db.sqlite3")
    assert s["debug"] is True and s["eager"] is True and s["broker"] == ""
    assert "eagerly" not in log  # the plan in development: `make run` says so once, when the server is up
    assert s["cache"].endswith("LocMemCache")
    assert s["tz"] == "Asia/Seoul" and s["lang"] == "ko" and s["langs"] == ["ko", "en"]
    assert s["conn_max_age"] == 300


def test_a_deployment_without_a_broker_is_warned_that_tasks_run_in_process():
    _, log = probe(**PROD)
    assert "tasks run eagerly in-process" in log


def test_database_url_selects_postgresql():
    s, _ = probe(DATABASE_URL="postgres://u@db.example:5432/jinju", CONN_MAX_AGE="0")
    assert s["engine"] == "django.db.backends.postgresql" and s["name"] == "jinju"
    assert s["conn_max_age"] == 0


def test_redis_url_configures_broker_and_cache_and_turns_eager_off():
    s, log = probe(REDIS_URL="redis://127.0.0.1:6379/3")
    assert s["broker"] == "redis://127.0.0.1:6379/3" and s["eager"] is False
    assert s["cache"].endswith("RedisCache")
    assert "eagerly" not in log


def test_celery_broker_url_may_differ_from_redis_url():
    s, _ = probe(REDIS_URL="redis://127.0.0.1:6379/3", CELERY_BROKER_URL="redis://127.0.0.1:6379/4")
    assert s["broker"] == "redis://127.0.0.1:6379/4"


def test_hosts_and_origins_are_lists():
    s, _ = probe(ALLOWED_HOSTS="a.kr,b.kr", CSRF_TRUSTED_ORIGINS="https://a.kr,https://b.kr")
    assert s["hosts"] == ["a.kr", "b.kr"] and s["csrf"] == ["https://a.kr", "https://b.kr"]


def test_production_turns_https_on_by_default():
    s, _ = probe(**PROD)
    assert s["debug"] is False and s["ssl_redirect"] is True and s["hsts"] >= 31536000 and s["secure_cookies"]
    assert s["identity_key"] == "real-identity-key" and s["secret"].endswith("real-secret")


def test_secure_ssl_redirect_0_switches_off_only_the_redirect():
    s, _ = probe(**PROD, SECURE_SSL_REDIRECT="0")
    assert s["ssl_redirect"] is False and s["hsts"] >= 31536000 and s["secure_cookies"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "IDENTITY_HASH_KEY"])
def test_production_refuses_to_start_without_real_secrets(missing):
    env = {k: v for k, v in PROD.items() if k != missing}
    result = run_django(PROBE, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_check_deploy_is_clean_in_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**{k: v for k, v in os.environ.items() if k not in VARS}, **PROD},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_identity_hash_depends_on_the_key(settings):
    from jinju_portal.identity import hash_identity

    settings.IDENTITY_HASH_KEY = "one"
    a = hash_identity("CI-ABC")
    settings.IDENTITY_HASH_KEY = "two"
    b = hash_identity("CI-ABC")
    assert a != b and len(a) == 64 and "CI-ABC" not in a
