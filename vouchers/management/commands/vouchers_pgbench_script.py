"""Print a pgbench script that runs the project's own sale statement (for bench/rush.py)."""
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from vouchers.db import sql
from vouchers.models import Tranche


class Command(BaseCommand):
    help = "pgbench -n -f <(manage.py vouchers_pgbench_script --tranche ID) …: the sale SQL, one per transaction."

    def add_arguments(self, parser):
        parser.add_argument("--tranche", type=int, required=True)
        parser.add_argument("--face-value", type=int, default=300_000)

    def handle(self, *args, **options):
        tranche = Tranche.objects.get(pk=options["tranche"])
        with connection.cursor() as cursor:
            script = sql.pgbench_script(tranche_id=tranche.pk, medium=tranche.medium,
                                        face_value=options["face_value"], now=timezone.now(),
                                        mogrify=cursor.cursor.mogrify)
        self.stdout.write(script, ending="")
