"""factory_boy factories for the vouchers tests."""
import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from jinju_portal.identity import hash_identity
from vouchers.models import Citizen, IssuancePlan, LimitPolicy, Tranche


class CitizenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citizen

    class Params:
        ci = factory.Sequence(lambda n: f"CI-TEST-{n:06d}")

    ci_hash = factory.LazyAttribute(lambda o: hash_identity(o.ci))
    name = factory.Sequence(lambda n: f"구매자{n}")
    birth_year = 1980


class IssuancePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IssuancePlan
        django_get_or_create = ("year", "medium")

    year = 2021
    medium = "mobile"
    planned = 19_000_000_000


class TrancheFactory(factory.django.DjangoModelFactory):
    """Open since an hour ago for three days, unless told otherwise."""

    class Meta:
        model = Tranche

    name = factory.Sequence(lambda n: f"회차 {n}")
    medium = "mobile"
    quota = 10_000_000
    discount_rate = Decimal("0.1000")
    opens_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    closes_at = factory.LazyAttribute(lambda o: o.opens_at + dt.timedelta(days=30))
    month = ""


class LimitPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LimitPolicy

    effective_from = dt.date(2000, 1, 1)
    monthly_limit = 300_000


def staff_actor():
    """A city clerk (is_staff) as the `actor` of a service call: staff may act on any purchase."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="test-clerk", defaults={"is_staff": True})
    return user
