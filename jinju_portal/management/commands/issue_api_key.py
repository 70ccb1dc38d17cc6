"""`manage.py issue_api_key NAME --role ROLE [--operator SLUG] [--merchant BNO]`: prints the key alone."""
from django.core.management.base import BaseCommand, CommandError

from jinju_portal.errors import ServiceError
from jinju_portal.models import Role
from jinju_portal.services import issue_api_key


class Command(BaseCommand):
    help = "Create a partner API client and print its key (only a hash of it is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--operator", default="", help="delivery operator slug (delivery_operator role)")
        parser.add_argument("--merchant", default="", help="merchant business number (merchant_pos role)")
        parser.add_argument("--rate", default="", help="throttle rate, e.g. 600/min (blank: role default)")

    def handle(self, *args, name, role, operator, merchant, rate, **options):
        try:
            _client, key = issue_api_key(name=name, role=role, operator_slug=operator,
                                         merchant_business_number=merchant, throttle_rate=rate)
        except ServiceError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(key)
