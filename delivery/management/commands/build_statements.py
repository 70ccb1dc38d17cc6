"""python manage.py build_statements YYYY-MM: every operator's statements of a month (the monthly job's service)."""
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum

from delivery import services
from delivery.models import Statement
from jinju_portal.errors import ServiceError
from jinju_portal.money import format_krw


class Command(BaseCommand):
    help = ("Build (or rebuild) the delivery statements of one month (Asia/Seoul). A month that has ended is "
            "closed and its statements issued; an issued month never changes (a rebuild writes nothing); the "
            "current month is a draft.")

    def add_arguments(self, parser):
        parser.add_argument("month", help="YYYY-MM, up to the current month")

    def handle(self, *args, **options):
        try:
            result = services.build_statements(month=options["month"])
        except ServiceError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        totals = Statement.objects.filter(month=result.month).aggregate(
            c=Sum("commission", default=0), a=Sum("adjustments", default=0))
        statuses = ", ".join(f"{slug} {status}" for slug, status in sorted(result.statuses.items())) or "no operators"
        self.stdout.write(f"{result.month}: {statuses}; {result.rows} statements ({result.created} created, "
                          f"{result.updated} updated, {result.emptied} emptied); commission {format_krw(totals['c'])}, "
                          f"adjustments {format_krw(totals['a'])}")
