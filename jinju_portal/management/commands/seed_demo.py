"""`manage.py seed_demo`: load the demo accounts and each app's figures from shared/FACTS.md.

Idempotent: a second run changes nothing. Each app extends it with a `seed.py` module that has
`run(out)`; `out.step(text)` prints progress and `out.created(text)` counts a new row set.
Seeding sends no e-mail: the demo companies' addresses are made up, and services that notify on
commit (a support request's "received" mail) would otherwise print or send one per row.
`-v 0` prints nothing unless something fails (`make run`).
"""
import importlib

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

SEED_MODULES = ["jinju_portal.seed", "vouchers.seed", "delivery.seed", "delivery.demo_orders", "industrial.seed"]
NO_MAIL = "django.core.mail.backends.dummy.EmailBackend"


class Progress:
    def __init__(self, command, verbosity=1):
        self.command = command
        self.verbosity = verbosity
        self.created_count = 0

    def step(self, text):
        if self.verbosity >= 1:
            self.command.stdout.write(f"  · {text}")

    def created(self, text):
        self.created_count += 1
        if self.verbosity >= 1:
            self.command.stdout.write(self.command.style.SUCCESS(f"  + {text}"))


class Command(BaseCommand):
    help = "Load demo accounts and the published 2021 figures (idempotent)."

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        out = Progress(self, verbosity)
        with override_settings(EMAIL_BACKEND=NO_MAIL):
            for name in SEED_MODULES:
                try:
                    module = importlib.import_module(name)
                except ModuleNotFoundError as exc:
                    if exc.name == name:
                        continue
                    raise
                if verbosity >= 1:
                    self.stdout.write(f"{name}:")
                with transaction.atomic():  # its on-commit tasks run here, still without mail
                    module.run(out)
        if verbosity < 1:
            return
        if out.created_count:
            self.stdout.write(self.style.SUCCESS(f"seed_demo: {out.created_count}개 항목을 새로 만들었습니다."))
        else:
            self.stdout.write("seed_demo: 이미 모두 있습니다 — 바뀐 것 없음.")
