"""seed_demo's delivery part: FACTS.md's three operators and two brands at 2 %, and exactly 450
approved stores listed with all three, two thirds of them the seeded mobile Jinju Love merchants."""
import datetime as dt
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F

from delivery import rules, seed
from delivery.models import Brand, CommissionContract, DeliveryEvent, Operator, Store, StoreListing
from jinju_portal import bizno
from tests.seed_support import SeedOut

pytestmark = [pytest.mark.django_db, pytest.mark.slow]




def test_seed_demo_delivery_figures_exactly_and_idempotent():
    """One seed_demo run (8,500 voucher merchants first: the links need them), checked part by part."""
    call_command("seed_demo", stdout=StringIO())
    check_operators_brands_and_2_percent()
    check_exactly_450_approved_stores_listed_with_all_three()
    check_two_thirds_linked_to_their_mobile_voucher_merchant()
    check_idempotent_and_quick()


def check_operators_brands_and_2_percent():
    operators = {o.slug: o for o in Operator.objects.all()}
    assert {slug: o.name for slug, o in operators.items()} == {
        "smartro": "㈜스마트로", "aramsolution": "㈜아람솔루션", "honeybees": "㈜허니비즈"}
    for operator in operators.values():
        assert bizno.is_valid(operator.business_number)
        assert operator.selected_on.year == 2020 and operator.agreement_signed_on.year == 2020
        assert operator.status == "active"
    assert dict(Brand.objects.values_list("name", "operator__slug")) == {"배달의 진주": "smartro", "띵동": "honeybees"}
    contracts = CommissionContract.objects.values_list("operator__slug", "rate", "effective_from")
    assert sorted(contracts) == [(slug, Decimal("0.0200"), dt.date(2021, 3, 1))
                                 for slug in ("aramsolution", "honeybees", "smartro")]


def check_exactly_450_approved_stores_listed_with_all_three():
    assert Store.objects.count() == Store.objects.filter(status="approved").count() == 450
    assert StoreListing.objects.count() == 1350
    assert not Store.objects.annotate(n=Count("listings")).exclude(n=3).exists()
    by_operator = dict(StoreListing.objects.values_list("operator__slug").annotate(n=Count("id")))
    assert by_operator == {"smartro": 450, "aramsolution": 450, "honeybees": 450}
    brands = dict(StoreListing.objects.values_list("operator__slug", "brand__name").distinct())
    assert brands == {"smartro": "배달의 진주", "aramsolution": None, "honeybees": "띵동"}
    numbers = list(Store.objects.values_list("business_number", flat=True))
    assert len(set(numbers)) == 450 and all(bizno.is_valid(n) for n in numbers)
    assert set(Store.objects.values_list("dong", flat=True)) <= set(rules.JINJU_DONGS)
    assert Store.objects.values("dong").distinct().count() >= 15
    assert set(Store.objects.values_list("category", flat=True)) >= {"korean", "cafe", "chicken", "pizza"}
    assert all(rules.dong_of(address) == dong for address, dong in Store.objects.values_list("address", "dong"))
    assert DeliveryEvent.objects.filter(kind="store_approved").count() == 450


def check_two_thirds_linked_to_their_mobile_voucher_merchant():
    linked = Store.objects.filter(merchant__isnull=False)
    assert linked.count() == 300
    assert not linked.exclude(merchant__business_number=F("business_number")).exists()
    assert not linked.exclude(merchant__accepts_mobile=True, merchant__status="approved").exists()
    assert not linked.exclude(name=F("merchant__name")).exists()


def check_idempotent_and_quick():
    snapshot = (Store.objects.count(), StoreListing.objects.count(), DeliveryEvent.objects.count(),
                CommissionContract.objects.count())
    second = SeedOut()
    started = time.monotonic()
    seed.run(second)
    assert second.created_items == []
    assert time.monotonic() - started < 5
    assert snapshot == (Store.objects.count(), StoreListing.objects.count(), DeliveryEvent.objects.count(),
                        CommissionContract.objects.count())
