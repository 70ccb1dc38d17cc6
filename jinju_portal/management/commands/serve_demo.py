"""`manage.py serve_demo [addr:port]`: runserver for `make run`.

Once the server listens it ends with the lines a newcomer needs: where to go, how to log in, and
what runs in-process. They are read from the settings, so they stay true when `.env` points the
database, Celery or e-mail elsewhere.
"""
from django.conf import settings
from whitenoise.runserver_nostatic.management.commands.runserver import Command as RunserverCommand

from jinju_portal.seed import DEMO_ACCOUNTS, DEMO_MERCHANT_ACCOUNTS, DEMO_PASSWORD


def _role(is_staff, is_superuser):
    return "superuser" if is_superuser else "city staff" if is_staff else "citizen pages"


def what_runs_where(database: dict | None = None) -> list[str]:
    db = database or settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        database = f"SQLite file {db['NAME']} (delete it to start over)"
    else:
        database = f"{db['ENGINE'].rsplit('.', 1)[-1]} database {db['NAME']!r} at {db.get('HOST') or 'localhost'}"
    if settings.CELERY_TASK_ALWAYS_EAGER:
        tasks = "run eagerly in this process (no REDIS_URL); scheduled jobs (beat) do not run"
    else:
        tasks = "go to the broker in CELERY_BROKER_URL: start a worker and beat to run them"
    mail = {"django.core.mail.backends.console.EmailBackend": "printed in this console",
            "django.core.mail.backends.locmem.EmailBackend": "kept in memory",
            "django.core.mail.backends.dummy.EmailBackend": "discarded"}.get(
        settings.EMAIL_BACKEND, f"sent by {settings.EMAIL_BACKEND}")
    return [f"  Database:  {database}", f"  Tasks:     {tasks}", f"  E-mail:    {mail}"]


def banner(base_url: str) -> str:
    logins = ", ".join([f"{name} ({_role(staff, superuser)})" for name, _full, staff, superuser in DEMO_ACCOUNTS]
                       + [f"{name} (merchant {role}, {base_url}merchant/)" for name, role in DEMO_MERCHANT_ACCOUNTS])
    return "\n".join([
        "",
        f"  진주시 경제지원 포털: {base_url}",
        f"  API docs:  {base_url}api/docs/",
        f"  Admin:     {base_url}admin/",
        f"  Logins:    {logins}; password {DEMO_PASSWORD}",
        *what_runs_where(),
        "  Stop with CONTROL-C.",
        "",
    ])


class Command(RunserverCommand):
    help = "runserver for `make run`: ends its start-up with the addresses, demo logins and what runs in-process."

    def on_bind(self, server_port):
        # instead of Django's lines (date, version, address, and the development-server warning,
        # which `make run` needs no reminder of): the same address and what a newcomer needs
        addr = f"[{self.addr}]" if self._raw_ipv6 else "0.0.0.0" if self.addr == "0" else self.addr
        self.stdout.write(banner(f"{self.protocol}://{addr}:{server_port}/"))
