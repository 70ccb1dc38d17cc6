"""python manage.py build_settlements YYYY-MM-DD: the day's merchant settlements (the nightly job's service)."""
from django.core.management.base import BaseCommand, CommandError

from jinju_portal.errors import ServiceError
from jinju_portal.money import format_krw
from vouchers import services
from vouchers.models import Settlement


class Command(BaseCommand):
    help = ("Build (or rebuild) the merchants' settlements of one day (Asia/Seoul). A rebuild with nothing new "
            "changes nothing; settlements already sent to the bank are never changed.")

    def add_arguments(self, parser):
        parser.add_argument("date", help="YYYY-MM-DD, a day that has ended")

    def handle(self, *args, **options):
        try:
            result = services.build_settlements(date=options["date"])
        except ServiceError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        rows = Settlement.objects.filter(date=result.date)
        total = sum(rows.values_list("amount_due", flat=True))
        self.stdout.write(f"{result.date.isoformat()}: {result.created} created, {result.recalculated} recalculated, "
                          f"{result.unchanged} unchanged; {rows.count()} settlements, {format_krw(total)} due")
