"""factory_boy factories for the delivery tests (rows built directly, not through the services:
call the services to test the rules themselves)."""
import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from delivery.models import Brand, CommissionContract, Operator, Order, Store, StoreListing
from jinju_portal import bizno
from vouchers.months import month_of


def store_business_number(n: int) -> str:
    """The n-th valid business number of the delivery tests: 221-8x-xxxxx (never a MerchantFactory
    number, 220-9x-xxxxx, unless a test passes one on purpose to link the two)."""
    first_nine = f"221{80 + n // 10_000 % 10:02d}{n % 10_000:04d}"
    return first_nine + str(bizno.check_digit(first_nine))


def operator_business_number(n: int) -> str:
    first_nine = f"222{70 + n // 10_000 % 10:02d}{n % 10_000:04d}"
    return first_nine + str(bizno.check_digit(first_nine))


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"operator-{n}")
    name = factory.Sequence(lambda n: f"㈜운영사{n}")
    business_number = factory.Sequence(operator_business_number)
    selected_on = dt.date(2020, 11, 20)
    agreement_signed_on = dt.date(2020, 12, 15)
    status = "active"


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"브랜드{n}")
    operator = factory.SubFactory(OperatorFactory)


class CommissionContractFactory(factory.django.DjangoModelFactory):
    """2 % since 2021, no waiver."""

    class Meta:
        model = CommissionContract

    operator = factory.SubFactory(OperatorFactory)
    rate = Decimal("0.0200")
    effective_from = dt.date(2021, 1, 1)
    waiver_monthly_food = 0


class StoreFactory(factory.django.DjangoModelFactory):
    """An approved store, not linked to a voucher merchant, unless told otherwise."""

    class Meta:
        model = Store

    business_number = factory.Sequence(store_business_number)
    name = factory.Sequence(lambda n: f"배달가게 {n}")
    category = "chicken"
    address = "경상남도 진주시 가좌동 진주대로 501"
    dong = "가좌동"
    phone = "055-000-0000"
    status = "approved"
    approved_at = factory.LazyFunction(timezone.now)


class StoreListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreListing

    store = factory.SubFactory(StoreFactory)
    operator = factory.SubFactory(OperatorFactory)
    brand = None
    source = "operator"


class OrderFactory(factory.django.DjangoModelFactory):
    """A card order of 20,000 won food + 3,000 won fee at 2 %, placed now (pass ordered_at to fix it);
    `contract` defaults to a 2 % contract of the order's operator."""

    class Meta:
        model = Order

    operator = factory.SubFactory(OperatorFactory)
    store = factory.SubFactory(StoreFactory)
    external_id = factory.Sequence(lambda n: f"ORD-{n:08d}")
    food_amount = 20_000
    delivery_fee = 3_000
    payment_method = "card"
    ordered_at = factory.LazyFunction(timezone.now)
    month = factory.LazyAttribute(lambda o: month_of(o.ordered_at))
    contract = factory.LazyAttribute(
        lambda o: CommissionContract.objects.filter(operator=o.operator).order_by("-effective_from").first()
        or CommissionContractFactory(operator=o.operator))
    commission_rate = factory.LazyAttribute(lambda o: o.contract.rate)
    commission_waived = 0
    commission = factory.LazyAttribute(
        lambda o: int((Decimal(o.food_amount - o.commission_waived) * o.commission_rate).to_integral_value(
            rounding="ROUND_FLOOR")))
    request_hash = factory.Sequence(lambda n: f"{n:064d}")
    reported_at = factory.LazyAttribute(lambda o: o.ordered_at)
