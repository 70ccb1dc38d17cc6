"""What the order tests share: a listed store, a report with defaults, funded wallets and pay codes."""
import datetime as dt
from zoneinfo import ZoneInfo

from delivery import selectors, services
from tests.delivery.factories import StoreFactory, StoreListingFactory
from tests.vouchers.factories import MerchantFactory, TrancheFactory
from vouchers import selectors as voucher_selectors
from vouchers import services as voucher_services
from vouchers.models import Wallet

KST = ZoneInfo("Asia/Seoul")
T0 = dt.datetime(2026, 12, 10, 12, 0, tzinfo=KST)  # the service tests run at fixed instants


def listed_store(operator, **fields):
    store = StoreFactory(**fields)
    StoreListingFactory(store=store, operator=operator)
    selectors.forget_order_lookups()
    return store


def voucher_store(operator, **merchant_fields):
    """A store listed with `operator`, linked to an approved merchant taking mobile vouchers."""
    merchant = MerchantFactory(**merchant_fields)
    return listed_store(operator, merchant=merchant, business_number=merchant.business_number)


def key_of(operator):
    """The operator's ApiClient (make_operator issued one delivery_operator key for it)."""
    from jinju_portal.models import ApiClient

    return ApiClient.objects.get(operator_slug=operator.slug)


def report(actor, store, external_id="ORD-1", *, food=20_000, fee=3_000, method="card", at=None, pay_code=None,
           now=None):
    now = now or T0
    at = at or now - dt.timedelta(minutes=10)
    return services.report_order(actor=actor, store=store.pk, external_id=external_id, food_amount=food,
                                 delivery_fee=fee, payment_method=method, ordered_at=at.isoformat(),
                                 pay_code=pay_code, now=now)


def fund(ci, face_value, *, at=T0):
    tranche = TrancheFactory(opens_at=at - dt.timedelta(hours=1), quota=10**9)
    return voucher_services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci, face_value=face_value,
                                              channel="zeropay_app", now=at)


def pay_code(ci, *, at=T0):
    return voucher_services.issue_pay_code(buyer_ci=ci, actor=None, now=at)


def wallet(ci) -> Wallet:
    return Wallet.objects.get(citizen=voucher_selectors.citizen_by_ci(ci))
