"""A newcomer's first `make run`: set-up is quiet (no e-mail, no warning), and the server ends its
start-up with the lines that matter, true to the settings."""
import io
import logging

import pytest
from django.core import mail
from django.core.management import call_command

CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the seed's on-commit tasks (a support request's mail) really run
def test_seed_demo_on_a_fresh_database_prints_no_email_and_no_warning(settings, capsys, caplog):
    settings.EMAIL_BACKEND = CONSOLE_MAIL  # what `make run` uses: a sent mail would land on stdout
    out, err = io.StringIO(), io.StringIO()
    with caplog.at_level(logging.INFO):
        call_command("seed_demo", stdout=out, stderr=err)
    printed = capsys.readouterr()
    console = printed.out + printed.err + out.getvalue() + err.getvalue()
    assert "Content-Type:" not in console and "MIME-Version" not in console
    assert err.getvalue() == ""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not [r for r in caplog.records if r.name.startswith("celery.app.trace")]  # eager noise
    assert "seed_demo:" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_seed_demo_sends_no_mail_at_all(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("seed_demo", stdout=io.StringIO())
    assert mail.outbox == []


@pytest.mark.django_db
def test_seed_demo_quiet_prints_nothing(capsys):
    out = io.StringIO()
    call_command("seed_demo", verbosity=0, stdout=out)
    assert out.getvalue() == "" and capsys.readouterr().out == ""


def _banner(port=8000):
    from jinju_portal.management.commands.serve_demo import Command

    out = io.StringIO()
    command = Command(stdout=out)
    command.addr, command._raw_ipv6, command.protocol = "127.0.0.1", False, "http"
    command.on_bind(port)
    return out.getvalue()


def test_serve_demo_ends_with_the_address_and_the_logins(settings):
    text = _banner()
    assert "진주시 경제지원 포털: http://127.0.0.1:8000/" in text
    assert "http://127.0.0.1:8000/admin/" in text and "http://127.0.0.1:8000/api/docs/" in text
    assert "admin (superuser), clerk (city staff), citizen" in text and "jinju-demo-2021" in text
    db = settings.DATABASES["default"]
    assert f"postgresql database {db['NAME']!r}" in text  # what this process really uses
    assert "WARNING" not in text and "development server" not in text
    assert text.rstrip().endswith("Stop with CONTROL-C.")


def test_make_run_is_told_what_runs_in_process(settings):
    from jinju_portal.management.commands.serve_demo import what_runs_where

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = CONSOLE_MAIL
    text = "\n".join(what_runs_where({"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/portal/db.sqlite3"}))
    assert "SQLite file /srv/portal/db.sqlite3" in text
    assert "run eagerly in this process" in text and "scheduled jobs (beat) do not run" in text
    assert "printed in this console" in text


def test_serve_demo_says_so_when_env_points_elsewhere(settings):
    from jinju_portal.management.commands.serve_demo import what_runs_where

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    text = "\n".join(what_runs_where({"ENGINE": "django.db.backends.postgresql", "NAME": "jinju",
                                      "HOST": "db.internal"}))
    assert "postgresql database 'jinju' at db.internal" in text and "SQLite" not in text
    assert "eagerly" not in text and "start a worker" in text
    assert "sent by django.core.mail.backends.smtp.EmailBackend" in text


def test_django_log_lines_are_printed_once():
    # Django's DEBUG console handler plus the root one printed "Watching for file changes" twice
    from django.conf import settings

    assert settings.LOGGING["loggers"]["django"]["handlers"] == []
    assert logging.getLogger("django").propagate is True  # to the root's one handler (and to caplog)


@pytest.mark.slow
def test_make_run_migrates_and_seeds_the_embedded_sqlite_database_quietly(tmp_path):
    """`make run`'s own steps on its embedded SQLite file, in a fresh process as the Makefile runs
    them: every migration must apply there too (PostgreSQL-only index types and SQL are skipped on
    other engines: jinju_portal/migration_sql.py), and nothing warns."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                                                              "PORTAL_FROZEN_CLOCK")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    for step in (["migrate", "--noinput", "-v", "0"], ["seed_demo", "-v", "0"], ["check"]):
        done = subprocess.run([sys.executable, "manage.py", *step], cwd=root, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, (step, done.stderr[-3000:])
        assert "WARNING" not in done.stdout + done.stderr and "Traceback" not in done.stderr, (step, done.stderr)
    # and the public pages and API answer on it: a query only PostgreSQL runs (DISTINCT ON, say) breaks
    # `make run` for a visitor, not its migrate or seed
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", PUBLIC_PAGES_SCRIPT], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert "BAD none" in done.stdout, (done.stdout[-3000:], done.stderr[-3000:])


PUBLIC_PAGES_SCRIPT = """
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
c = Client(HTTP_HOST="127.0.0.1")
urls = ["/", "/vouchers/", "/vouchers/merchants/?q=가", "/delivery/", "/delivery/stores/?brand=띵동",
        "/delivery/savings/", "/delivery/apply/", "/industrial/", "/api/v1/delivery/operators/",
        "/api/v1/delivery/directory/?dong=가좌동", "/api/v1/delivery/savings/", "/api/v1/vouchers/merchants/?q=가",
        "/api/v1/vouchers/tranches/", "/api/v1/industrial/projects/", "/api/schema/"]
bad = [(url, c.get(url).status_code) for url in urls]
bad = [b for b in bad if b[1] != 200]
print("BAD", bad or "none")
"""
