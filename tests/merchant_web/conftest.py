"""Fixtures of the merchant-page tests: a shop with its owner and cashier, a stranger, another
shop, and payments made through the services at fixed instants."""
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.vouchers.factories import MerchantFactory, TrancheFactory
from vouchers import inputs, services
from vouchers.models import MerchantMember

KST = ZoneInfo("Asia/Seoul")
T0 = dt.datetime(2026, 12, 1, 14, 0, tzinfo=KST)  # a weekday afternoon in Seoul
PASSWORD = "jinju-test-2026"
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _forget_tranche_media():
    inputs.forget_tranche_media()
    yield
    inputs.forget_tranche_media()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A Korean phone: the counter uses the pages on one."""
    return {**browser_context_args, "locale": "ko-KR", "viewport": {"width": 390, "height": 844}}


def make_member(merchant, role, username=None, *, active=True):
    """A sign-in of `merchant` (built directly; tests of the member service call it instead)."""
    user = get_user_model().objects.create_user(username=username or f"{role}-{next(_serial)}", password=PASSWORD)
    return MerchantMember.objects.create(merchant=merchant, user=user, role=role, active=active)


@pytest.fixture
def merchant(db):
    return MerchantFactory(name="진주 비빔밥")


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(name="남강 국밥")


@pytest.fixture
def owner(merchant):
    return make_member(merchant, "owner", "bibim-owner").user


@pytest.fixture
def cashier(merchant):
    return make_member(merchant, "cashier", "bibim-cashier").user


@pytest.fixture
def stranger(db):
    return get_user_model().objects.create_user(username="passer-by", password=PASSWORD)


@pytest.fixture
def as_owner(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def as_cashier(client, cashier):
    client.force_login(cashier)
    return client


def fund(ci, face_value, *, at=T0, name=""):
    """A citizen's wallet credited through the sale service (a Zeropay app's sale)."""
    tranche = TrancheFactory(opens_at=at - dt.timedelta(days=1), closes_at=at + dt.timedelta(days=60), quota=10**9)
    services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci, face_value=face_value, channel="zeropay_app",
                               buyer_name=name or None, buyer_birth_year=1980, now=at)


def pay(merchant, amount, *, at=T0, actor=None, ci=None, method="cpm"):
    """A payment to `merchant` at `at`: CPM by a member of it (its till), or MPM by the citizen."""
    ci = ci or f"CI-MERCHANT-WEB-{next(_serial)}"
    fund(ci, max(amount, 10_000) * 2, at=at - dt.timedelta(minutes=5))
    if method == "mpm":
        return services.pay_merchant(merchant_code=merchant.code, amount=amount, buyer_ci=ci, actor=None, now=at)
    if actor is None:
        actor = (MerchantMember.objects.filter(merchant=merchant, active=True).first()
                 or make_member(merchant, "cashier")).user
    code = services.issue_pay_code(buyer_ci=ci, actor=None, now=at - dt.timedelta(seconds=30))
    return services.pay_with_code(pay_code=code.token, amount=amount, actor=actor, merchant_id=merchant.pk, now=at)


def pay_code_for(ci, face_value=50_000, *, at=None):
    """A funded wallet and a fresh pay code of it, at `at` (default: now)."""
    at = at or timezone.now()
    fund(ci, face_value, at=at)
    return services.issue_pay_code(buyer_ci=ci, actor=None, now=at)


@pytest.fixture
def at_t0():
    """The clock stands at T0 (a Seoul weekday afternoon) for the test and the pages it asks for."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller
