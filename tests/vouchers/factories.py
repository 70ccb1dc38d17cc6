"""factory_boy factories for the vouchers tests."""
import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from jinju_portal.identity import hash_identity
from vouchers import merchant_codes
from vouchers.models import Citizen, IssuancePlan, LimitPolicy, Merchant, MerchantCategory, Tranche


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


class MerchantCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantCategory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"category_{n}")
    name = factory.Sequence(lambda n: f"업종 {n}")
    excluded = False
    excluded_reason = ""


def valid_business_number(n: int) -> str:
    """The n-th valid business number (check digit right) of the tests: 220-9x-xxxxx."""
    from jinju_portal import bizno

    first_nine = f"220{90 + n // 10_000 % 10:02d}{n % 10_000:04d}"
    return first_nine + str(bizno.check_digit(first_nine))


class MerchantFactory(factory.django.DjangoModelFactory):
    """An approved merchant taking both media, unless told otherwise (built directly, not through
    the services: use services.register_merchant to test registration itself)."""

    class Meta:
        model = Merchant

    business_number = factory.Sequence(valid_business_number)
    name = factory.Sequence(lambda n: f"가게 {n}")
    category = factory.SubFactory(MerchantCategoryFactory)
    address = "경상남도 진주시 진주대로 1"
    dong = "가좌동"
    representative = "김진주"
    annual_revenue = 100_000_000
    accepts_paper = True
    accepts_mobile = True
    code = factory.Sequence(lambda n: merchant_codes.new_code())
    status = "approved"
