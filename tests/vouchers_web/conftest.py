"""Fixtures of the citizen-page tests: sandbox payments and the dev verifier on, signed-in users."""
import pytest
from django.contrib.auth import get_user_model

from tests.vouchers.factories import CitizenFactory, MerchantCategoryFactory, MerchantFactory, TrancheFactory
from vouchers import inputs, payments, services

PASSWORD = "jinju-test-2026"


@pytest.fixture(autouse=True)
def _web_settings(settings):
    """pytest-django runs with DEBUG=False, where both test doubles are off by default: switch them on
    explicitly, as a development or staging deployment would."""
    settings.DEV_IDENTITY_VERIFIER = True
    settings.VOUCHERS_SANDBOX_PAYMENTS = True
    settings.VOUCHERS_PAYMENT_GATEWAY = ""
    inputs.forget_tranche_media()
    yield settings
    inputs.forget_tranche_media()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A Korean browser: the pages are Korean first."""
    return {**browser_context_args, "locale": "ko-KR"}


@pytest.fixture
def make_user(db):
    counter = {"n": 0}

    def _make(username=None):
        counter["n"] += 1
        return get_user_model().objects.create_user(username=username or f"web{counter['n']}", password=PASSWORD)

    return _make


@pytest.fixture
def user(make_user):
    return make_user("jinju")


@pytest.fixture
def anon_client(client):
    return client


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def citizen(user):
    """The signed-in user, verified: linked to a citizen born in 1980."""
    return CitizenFactory(user=user, birth_year=1980)


@pytest.fixture
def tranche(db):
    return TrancheFactory(name="2026년 모바일 1차", quota=10_000_000)


class RecordingGateway(payments.SandboxPaymentGateway):
    """The sandbox, remembering refunds (class-level: the pages build a new instance per request)."""

    refunds: list = []

    def refund(self, *, reference, amount):
        RecordingGateway.refunds.append((reference, amount))


@pytest.fixture
def recording_gateway(settings):
    settings.VOUCHERS_PAYMENT_GATEWAY = "tests.vouchers_web.conftest.RecordingGateway"
    RecordingGateway.refunds = []
    return RecordingGateway


def fund(citizen, amount):
    """A mobile purchase of `amount` credited to the citizen's wallet."""
    tranche = TrancheFactory(quota=10**9)
    services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=amount, channel="zeropay_app")


@pytest.fixture
def shop(db):
    """A restaurant taking mobile vouchers, for the pay pages."""
    return MerchantFactory(name="진주냉면", category=MerchantCategoryFactory(code="restaurant", name="일반음식점"),
                           address="경상남도 진주시 진주성로 12")
