"""`manage.py seed_demo`: load the demo accounts and each app's figures from shared/FACTS.md.

Idempotent: a second run changes nothing. Each app extends it with a `seed.py` module that has
`run(out)`; `out.step(text)` prints progress and `out.created(text)` counts a new row set.
"""
import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

SEED_MODULES = ["jinju_portal.seed", "vouchers.seed", "delivery.seed", "industrial.seed"]


class Progress:
    def __init__(self, command):
        self.command = command
        self.created_count = 0

    def step(self, text):
        self.command.stdout.write(f"  · {text}")

    def created(self, text):
        self.created_count += 1
        self.command.stdout.write(self.command.style.SUCCESS(f"  + {text}"))


class Command(BaseCommand):
    help = "Load demo accounts and the published 2021 figures (idempotent)."

    def handle(self, *args, **options):
        out = Progress(self)
        for name in SEED_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name == name:
                    continue
                raise
            self.stdout.write(f"{name}:")
            with transaction.atomic():
                module.run(out)
        if out.created_count:
            self.stdout.write(self.style.SUCCESS(f"seed_demo: {out.created_count}개 항목을 새로 만들었습니다."))
        else:
            self.stdout.write("seed_demo: 이미 모두 있습니다 — 바뀐 것 없음.")
