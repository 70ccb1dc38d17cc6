"""Paying merchants with mobile vouchers (CPM pay codes, MPM merchant QR), the merchant's refunds,
and the invariants 3 and 4a under real concurrent transactions (issue #8)."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from jinju_portal.api.idempotency import HEADER
from tests.races import outcomes
from tests.vouchers.conftest import assert_invariants, race
from tests.vouchers.factories import MerchantFactory, TrancheFactory, staff_actor
from vouchers import rules, selectors, services
from vouchers.errors import Code
from vouchers.models import (Citizen, MerchantMember, MerchantRefund, PayCode, Payment, VoucherEvent, Wallet,
                             WalletEntry)

KST = ZoneInfo("Asia/Seoul")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=KST)  # every test here runs at fixed instants
PAYMENTS = "/api/v1/vouchers/payments/"


@pytest.fixture(params=["sql", "sql_unprepared", "orm"])
def pay_path(request, settings):
    """The pay-code payment runs as one statement on PostgreSQL (prepared and plain) and as its ORM
    twin: every CPM test here runs on all three (tests/vouchers/test_payment_sql.py compares them)."""
    settings.VOUCHERS_FAST_SQL = request.param != "orm"
    settings.VOUCHERS_PREPARED_STATEMENTS = request.param == "sql"
    return request.param


def _fund(ci, face_value, *, at=T0):
    tranche = TrancheFactory(opens_at=at - dt.timedelta(hours=1), quota=10**9)
    return services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci, face_value=face_value,
                                      channel="zeropay_app", now=at)


def _wallet(ci) -> Wallet:
    return Wallet.objects.get(citizen=selectors.citizen_by_ci(ci))


def _pos(make_client, merchant):
    return make_client("merchant_pos", merchant_business_number=merchant.business_number)


def assert_payment_invariants():
    """Invariant 4a over the whole database: refunds never exceed payments, the ledger's payment
    lines match the payments, and no payment takes a wallet below zero (CHECKs and invariant 3)."""
    assert_invariants()
    for payment in Payment.objects.all():
        refunded = payment.refunds.aggregate(s=Sum("amount", default=0))["s"]
        assert payment.refunded == refunded <= payment.amount
        lines = payment.wallet_entries.aggregate(s=Sum("amount", default=0))["s"]
        assert lines == -payment.amount + refunded
        assert payment.status == rules.payment_status(amount=payment.amount, refunded=payment.refunded)
    assert PayCode.objects.filter(status="used").count() == Payment.objects.filter(pay_code__isnull=False).count()


# --- pay codes ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_pay_code_is_32_characters_and_6_digits_valid_3_minutes_and_a_new_one_voids_the_old():
    _fund("CI-PC", 50_000)
    first = services.issue_pay_code(buyer_ci="CI-PC", actor=None, now=T0)
    assert len(first.token) == 32 and len(first.short_code) == 6 and first.short_code.isdigit()
    assert first.expires_at == T0 + dt.timedelta(minutes=3)
    second = services.issue_pay_code(buyer_ci="CI-PC", actor=None, now=T0 + dt.timedelta(seconds=30))
    first.refresh_from_db()
    assert first.status == "voided" and second.status == "active"
    assert PayCode.objects.filter(wallet=second.wallet, status="active").count() == 1


@pytest.mark.django_db
def test_a_pay_code_for_a_new_buyer_opens_an_empty_wallet():
    code = services.issue_pay_code(buyer_ci="CI-NEW-PC", actor=None, now=T0)
    assert code.wallet.balance == 0 and Citizen.objects.filter(pk=code.wallet.citizen_id).exists()


@pytest.mark.django_db
def test_a_lapsed_short_code_may_be_drawn_again_for_another_wallet(monkeypatch):
    _fund("CI-A", 10_000)
    _fund("CI-B", 10_000)
    monkeypatch.setattr("vouchers.services.payments.secrets.randbelow", lambda n: 123456)
    old = services.issue_pay_code(buyer_ci="CI-A", actor=None, now=T0)
    with pytest.raises(services.ServiceError) as refused:  # live for A: every draw meets it
        services.issue_pay_code(buyer_ci="CI-B", actor=None, now=T0 + dt.timedelta(minutes=1))
    assert refused.value.code == "busy"
    new = services.issue_pay_code(buyer_ci="CI-B", actor=None, now=T0 + dt.timedelta(minutes=3))
    old.refresh_from_db()
    assert old.status == "lapsed" and new.short_code == "123456" and new.status == "active"


@pytest.mark.django_db
def test_the_database_holds_one_active_code_per_wallet_and_per_short_code():
    code = services.issue_pay_code(buyer_ci="CI-U", actor=None, now=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayCode.objects.create(wallet=code.wallet, token="x" * 32, short_code="000001", expires_at=T0)
    other = services.issue_pay_code(buyer_ci="CI-U2", actor=None, now=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayCode.objects.filter(pk=other.pk).update(short_code=code.short_code)


# --- paying ----------------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.usefixtures("pay_path")
def test_cpm_debits_the_wallet_with_a_ledger_line_and_records_the_merchant(make_client):
    merchant = MerchantFactory()
    client, _ = _pos(make_client, merchant)
    _fund("CI-CPM", 50_000)
    code = services.issue_pay_code(buyer_ci="CI-CPM", actor=None, now=T0)
    payment = services.pay_with_code(pay_code=code.token, amount=12_000, actor=client, now=T0)
    assert (payment.merchant, payment.amount, payment.status, payment.method) == (merchant, 12_000, "paid", "pay_code")
    entry = WalletEntry.objects.get(payment=payment)
    assert (entry.kind, entry.amount, entry.balance_after) == ("payment", -12_000, 38_000)
    assert _wallet("CI-CPM").balance == 38_000
    code.refresh_from_db()
    assert code.status == "used" and code.used_at == T0
    assert_payment_invariants()


@pytest.mark.django_db
@pytest.mark.usefixtures("pay_path")
def test_the_short_code_pays_in_place_of_the_qr_value(make_client):
    merchant = MerchantFactory()
    client, _ = _pos(make_client, merchant)
    _fund("CI-SHORT", 20_000)
    code = services.issue_pay_code(buyer_ci="CI-SHORT", actor=None, now=T0)
    payment = services.pay_with_code(pay_code=code.short_code, amount=20_000, actor=client, now=T0)
    assert payment.pay_code == code and _wallet("CI-SHORT").balance == 0


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["expired", "used", "voided", "unknown"])
@pytest.mark.usefixtures("pay_path")
def test_expired_used_voided_and_unknown_codes_are_refused_and_write_nothing(make_client, case):
    merchant = MerchantFactory()
    client, _ = _pos(make_client, merchant)
    _fund("CI-BAD", 50_000)
    code = services.issue_pay_code(buyer_ci="CI-BAD", actor=None, now=T0)
    at = T0 + dt.timedelta(seconds=10)
    value = code.token
    if case == "expired":
        at = T0 + rules.PAY_CODE_VALIDITY  # valid strictly before its 3 minutes are over
    elif case == "used":
        services.pay_with_code(pay_code=code.token, amount=1_000, actor=client, now=at)
    elif case == "voided":
        services.issue_pay_code(buyer_ci="CI-BAD", actor=None, now=at)
    else:
        value = "Z" * 32
    before = (Payment.objects.count(), WalletEntry.objects.count(), _wallet("CI-BAD").balance)
    with pytest.raises(services.ServiceError) as refused:
        services.pay_with_code(pay_code=value, amount=1_000, actor=client, now=at)
    assert refused.value.code == "invalid_pay_code" and refused.value.status == 409
    assert (Payment.objects.count(), WalletEntry.objects.count(), _wallet("CI-BAD").balance) == before


@pytest.mark.django_db
@pytest.mark.usefixtures("pay_path")
def test_a_code_pays_from_its_own_wallet_only(make_client):
    merchant = MerchantFactory()
    client, _ = _pos(make_client, merchant)
    _fund("CI-MINE", 10_000)
    _fund("CI-OTHER", 90_000)
    code = services.issue_pay_code(buyer_ci="CI-MINE", actor=None, now=T0)
    with pytest.raises(services.ServiceError) as refused:  # another wallet's money is never reached
        services.pay_with_code(pay_code=code.token, amount=20_000, actor=client, now=T0)
    assert refused.value.code == "insufficient_balance"
    assert (_wallet("CI-MINE").balance, _wallet("CI-OTHER").balance) == (10_000, 90_000)
    code.refresh_from_db()
    assert code.status == "active"  # a refusal leaves the code usable


@pytest.mark.django_db
@pytest.mark.parametrize("status,accepts_mobile,code", [
    ("pending", True, "merchant_not_active"), ("suspended", True, "merchant_not_active"),
    ("cancelled", True, "merchant_not_active"), ("approved", False, "merchant_not_mobile"),
])
@pytest.mark.usefixtures("pay_path")
def test_a_merchant_that_is_not_approved_or_takes_no_mobile_vouchers_is_refused(make_client, status,
                                                                                accepts_mobile, code):
    merchant = MerchantFactory(status=status, accepts_mobile=accepts_mobile, accepts_paper=True)
    client, _ = _pos(make_client, merchant)
    _fund("CI-M", 10_000)
    pay_code = services.issue_pay_code(buyer_ci="CI-M", actor=None, now=T0)
    for pay in (lambda: services.pay_with_code(pay_code=pay_code.token, amount=1_000, actor=client, now=T0),
                lambda: services.pay_merchant(merchant_code=merchant.code, amount=1_000, buyer_ci="CI-M",
                                              actor=None, now=T0)):
        with pytest.raises(services.ServiceError) as refused:
            pay()
        assert refused.value.code == code
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_mpm_pays_the_scanned_merchant_and_a_buyer_without_wallet_has_nothing_to_spend():
    merchant = MerchantFactory()
    _fund("CI-MPM", 30_000)
    payment = services.pay_merchant(merchant_code=merchant.code.lower(), amount=30_000, buyer_ci="CI-MPM",
                                    actor=None, now=T0)
    assert payment.method == "merchant_qr" and payment.merchant == merchant and _wallet("CI-MPM").balance == 0
    with pytest.raises(services.ServiceError) as refused:
        services.pay_merchant(merchant_code=merchant.code, amount=1_000, buyer_ci="CI-NOBODY", actor=None, now=T0)
    assert refused.value.code == "insufficient_balance"
    assert not Citizen.objects.filter(ci_hash=selectors.hash_identity("CI-NOBODY")).exists()


@pytest.mark.django_db
def test_an_unknown_or_mistyped_merchant_code_is_invalid_merchant():
    merchant = MerchantFactory()
    _fund("CI-X", 10_000)
    wrong_check = merchant.code[:-1] + ("0" if merchant.code[-1] != "0" else "1")
    for value in (wrong_check, "ABC", "", 12345678, None):
        with pytest.raises(services.ServiceError) as refused:
            services.pay_merchant(merchant_code=value, amount=1_000, buyer_ci="CI-X", actor=None, now=T0)
        assert refused.value.code == "invalid_merchant" and refused.value.status == 400


@pytest.mark.django_db
def test_spending_never_gives_back_quota_or_month_usage():
    merchant = MerchantFactory()
    bought = _fund("CI-LIMIT", 100_000)
    from vouchers.models import MonthlyUsage, Tranche
    usage = MonthlyUsage.objects.get(citizen__ci_hash=selectors.hash_identity("CI-LIMIT"))
    services.pay_merchant(merchant_code=merchant.code, amount=100_000, buyer_ci="CI-LIMIT", actor=None, now=T0)
    usage.refresh_from_db()
    assert usage.purchased == 100_000 and Tranche.objects.get(pk=bought.tranche).sold == 100_000


# --- oldest credits first; expired credits are not spent ------------------------------------------------

@pytest.mark.django_db
def test_credits_are_spent_oldest_first_so_only_the_newer_purchase_stays_cancellable():
    merchant = MerchantFactory()
    older = _fund("CI-FIFO", 50_000, at=T0)
    newer = _fund("CI-FIFO", 50_000, at=T0 + dt.timedelta(hours=1))
    services.pay_merchant(merchant_code=merchant.code, amount=10_000, buyer_ci="CI-FIFO", actor=None,
                          now=T0 + dt.timedelta(hours=2))
    clerk = staff_actor()
    at = T0 + dt.timedelta(hours=3)
    with pytest.raises(services.ServiceError) as refused:
        services.cancel_purchase(purchase_id=older.id, actor=clerk, now=at)
    assert refused.value.code == "already_used"  # its balance would cover it, but it was the one spent
    assert services.cancel_purchase(purchase_id=newer.id, actor=clerk, now=at).status == "cancelled"
    assert _wallet("CI-FIFO").balance == 40_000
    assert_payment_invariants()


@pytest.mark.django_db
def test_a_refunded_payment_makes_its_purchase_cancellable_again():
    merchant = MerchantFactory()
    client_merchant = merchant
    bought = _fund("CI-BACK", 50_000)
    payment = services.pay_merchant(merchant_code=merchant.code, amount=5_000, buyer_ci="CI-BACK", actor=None,
                                    now=T0)
    from jinju_portal.services import issue_api_key
    pos, _ = issue_api_key(name="pos", role="merchant_pos", merchant_business_number=client_merchant.business_number)
    services.refund_merchant_payment(payment_id=payment.pk, amount=5_000, actor=pos, now=T0)
    assert services.cancel_purchase(purchase_id=bought.id, actor=staff_actor(), now=T0).status == "cancelled"
    assert_payment_invariants()


@pytest.mark.django_db
def test_credits_past_their_validity_are_not_spent_and_the_expiry_job_agrees():
    merchant = MerchantFactory()
    _fund("CI-OLD", 30_000, at=T0)
    later = rules.expires(T0) - dt.timedelta(days=10)
    _fund("CI-OLD", 20_000, at=later)
    services.pay_merchant(merchant_code=merchant.code, amount=10_000, buyer_ci="CI-OLD", actor=None, now=later)
    after_expiry = rules.expires(T0) + dt.timedelta(minutes=1)  # 20,000 of the old credit is left, and expired
    statement = selectors.wallet_statement(citizen=selectors.citizen_by_ci("CI-OLD"), now=after_expiry)
    assert (statement["balance"], statement["spendable"]) == (40_000, 20_000)
    assert [c["amount"] for c in statement["expiring"]] == [20_000]
    with pytest.raises(services.ServiceError) as refused:
        services.pay_merchant(merchant_code=merchant.code, amount=20_001, buyer_ci="CI-OLD", actor=None,
                              now=after_expiry)
    assert refused.value.code == "insufficient_balance"
    assert services.expire_notes_and_credits(now=after_expiry)["credit_expired"] == 20_000
    assert _wallet("CI-OLD").balance == 20_000
    assert services.expire_notes_and_credits(now=after_expiry)["credit_expired"] == 0


@pytest.mark.django_db
def test_a_payment_after_a_credit_expired_expires_it_first_so_it_never_covers_the_old_credit():
    merchant = MerchantFactory()
    _fund("CI-LATE", 30_000, at=T0)
    _fund("CI-LATE", 20_000, at=T0 + dt.timedelta(days=1))
    after_expiry = rules.expires(T0) + dt.timedelta(minutes=1)  # the job has not run yet
    services.pay_merchant(merchant_code=merchant.code, amount=5_000, buyer_ci="CI-LATE", actor=None, now=after_expiry)
    kinds = list(_wallet("CI-LATE").entries.order_by("id").values_list("kind", "amount"))
    assert kinds[-2:] == [("expiry", -30_000), ("payment", -5_000)]
    assert services.expire_notes_and_credits(now=after_expiry)["credit_expired"] == 0
    assert _wallet("CI-LATE").balance == 15_000
    assert VoucherEvent.objects.filter(kind="credit_expired").count() == 1
    assert_payment_invariants()


# --- refunds ---------------------------------------------------------------------------------------------

@pytest.fixture
def paid(make_client):
    merchant = MerchantFactory()
    client, http = _pos(make_client, merchant)
    _fund("CI-REF", 50_000)
    payment = services.pay_merchant(merchant_code=merchant.code, amount=10_000, buyer_ci="CI-REF", actor=None,
                                    now=T0)
    return payment, client, http


@pytest.mark.django_db
def test_partial_then_full_refund_goes_back_to_the_wallet_with_events(paid):
    payment, client, _ = paid
    services.refund_merchant_payment(payment_id=payment.pk, amount=4_000, actor=client, now=T0)
    payment.refresh_from_db()
    assert (payment.refunded, payment.status) == (4_000, "partially_refunded")
    services.refund_merchant_payment(payment_id=payment.pk, amount=6_000, actor=client, now=T0)
    payment.refresh_from_db()
    assert (payment.refunded, payment.status) == (10_000, "refunded")
    assert _wallet("CI-REF").balance == 50_000
    assert list(MerchantRefund.objects.filter(payment=payment).values_list("amount", flat=True)) == [6_000, 4_000]
    events = VoucherEvent.objects.filter(payment=payment, kind="payment_refunded").order_by("id")
    assert [e.after["refunded"] for e in events] == [4_000, 10_000] and events[0].actor == f"client:{client.name}"
    assert_payment_invariants()


@pytest.mark.django_db
def test_a_refund_over_what_is_left_or_after_30_days_is_refused(paid):
    payment, client, _ = paid
    with pytest.raises(services.ServiceError) as refused:
        services.refund_merchant_payment(payment_id=payment.pk, amount=10_001, actor=client, now=T0)
    assert refused.value.code == "refund_exceeds_payment" and "10,000원" in refused.value.detail
    last_moment = T0 + rules.REFUND_WINDOW
    services.refund_merchant_payment(payment_id=payment.pk, amount=1_000, actor=client, now=last_moment)
    with pytest.raises(services.ServiceError) as refused:
        services.refund_merchant_payment(payment_id=payment.pk, amount=1_000, actor=client,
                                         now=last_moment + dt.timedelta(seconds=1))
    assert refused.value.code == "refund_window_closed"
    payment.refresh_from_db()
    assert payment.refunded == 1_000


@pytest.mark.django_db
def test_the_database_refuses_a_refund_beyond_the_payment():
    merchant = MerchantFactory()
    _fund("CI-CHK", 10_000)
    payment = services.pay_merchant(merchant_code=merchant.code, amount=1_000, buyer_ci="CI-CHK", actor=None, now=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded=1_001, status="refunded")


@pytest.mark.django_db
def test_only_the_owner_refunds_on_the_merchant_pages_a_cashier_is_403(django_user_model, paid):
    payment, _, _ = paid
    owner = django_user_model.objects.create_user("owner")
    cashier = django_user_model.objects.create_user("cashier")
    stranger = django_user_model.objects.create_user("stranger")
    MerchantMember.objects.create(merchant=payment.merchant, user=owner, role="owner")
    MerchantMember.objects.create(merchant=payment.merchant, user=cashier, role="cashier")
    with pytest.raises(services.ServiceError) as refused:
        services.refund_merchant_payment(payment_id=payment.pk, amount=1_000, actor=cashier, now=T0)
    assert (refused.value.code, refused.value.status) == ("not_merchant_owner", 403)
    with pytest.raises(services.ServiceError) as refused:
        services.refund_merchant_payment(payment_id=payment.pk, amount=1_000, actor=stranger, now=T0)
    assert refused.value.status == 404
    services.refund_merchant_payment(payment_id=payment.pk, amount=1_000, actor=owner, now=T0)
    assert MerchantRefund.objects.get().user == owner


# --- races (real concurrent transactions) ---------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_ten_tills_spending_one_wallet_of_70000_by_30000_succeed_exactly_twice():
    merchants = [MerchantFactory() for _ in range(2)]
    _fund("CI-RACE", 70_000)
    jobs = [(merchants[i % 2].code,) for i in range(10)]
    results = race(lambda code: services.pay_merchant(merchant_code=code, amount=30_000, buyer_ci="CI-RACE",
                                                      actor=None, now=T0).pk, jobs)
    assert sorted(outcomes(results)) == ["insufficient_balance"] * 8 + ["ok"] * 2
    assert _wallet("CI-RACE").balance == 10_000
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.usefixtures("pay_path")
def test_one_pay_code_submitted_by_ten_tills_at_once_pays_once(make_client):
    merchant = MerchantFactory()
    tills = [_pos(make_client, merchant)[0] for _ in range(10)]
    _fund("CI-ONCE", 100_000)
    code = services.issue_pay_code(buyer_ci="CI-ONCE", actor=None, now=T0)
    results = race(lambda till: services.pay_with_code(pay_code=code.token, amount=5_000, actor=till, now=T0).pk,
                   [(till,) for till in tills])
    assert sorted(outcomes(results)) == ["invalid_pay_code"] * 9 + ["ok"]
    assert _wallet("CI-ONCE").balance == 95_000
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.usefixtures("pay_path")
def test_a_new_code_racing_with_a_till_spending_the_old_one_never_pays_twice(make_client):
    merchant = MerchantFactory()
    till, _ = _pos(make_client, merchant)
    _fund("CI-RENEW", 100_000)
    for round_ in range(5):
        code = services.issue_pay_code(buyer_ci="CI-RENEW", actor=None, now=T0)
        jobs = [(lambda: services.pay_with_code(pay_code=code.token, amount=1_000, actor=till, now=T0).pk, ()),
                (lambda: services.issue_pay_code(buyer_ci="CI-RENEW", actor=None, now=T0).pk, ())]
        results = race(lambda fn, args: fn(*args), jobs)
        assert results[1][0] == "ok" and outcomes(results)[0] in ("ok", "invalid_pay_code"), results
    assert PayCode.objects.filter(status="active").count() == 1
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_parallel_refund_halves_of_a_payment_never_return_more_than_was_paid(make_client):
    merchant = MerchantFactory()
    till, _ = _pos(make_client, merchant)
    _fund("CI-HALVES", 50_000)
    payment = services.pay_merchant(merchant_code=merchant.code, amount=10_000, buyer_ci="CI-HALVES", actor=None,
                                    now=T0)
    results = race(lambda: services.refund_merchant_payment(payment_id=payment.pk, amount=5_000, actor=till,
                                                            now=T0).pk, [()] * 6)
    assert sorted(outcomes(results)) == ["ok"] * 2 + ["refund_exceeds_payment"] * 4
    payment.refresh_from_db()
    assert (payment.refunded, payment.status) == (10_000, "refunded")
    assert _wallet("CI-HALVES").balance == 50_000
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_payments_refunds_and_a_cancel_racing_on_one_wallet_keep_the_ledger_exact(make_client):
    merchant = MerchantFactory()
    till, _ = _pos(make_client, merchant)
    _fund("CI-MIX", 100_000)
    newest = _fund("CI-MIX", 50_000, at=T0 + dt.timedelta(minutes=1))
    first = services.pay_merchant(merchant_code=merchant.code, amount=20_000, buyer_ci="CI-MIX", actor=None, now=T0)
    at = T0 + dt.timedelta(minutes=2)
    jobs = ([(lambda: services.pay_merchant(merchant_code=merchant.code, amount=15_000, buyer_ci="CI-MIX",
                                            actor=None, now=at).pk, ())] * 6
            + [(lambda: services.refund_merchant_payment(payment_id=first.pk, amount=5_000, actor=till, now=at).pk,
                ())] * 3
            + [(lambda: services.cancel_purchase(purchase_id=newest.id, actor=staff_actor(), now=at).status, ())])
    results = race(lambda fn, args: fn(*args), jobs)
    assert not [r for r in results if r[0] == "exc"], results
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.usefixtures("pay_path")
def test_twenty_replays_of_one_payment_key_pay_once(make_client):
    merchant = MerchantFactory()
    _, http = _pos(make_client, merchant)
    _fund("CI-KEY", 50_000)
    code = services.issue_pay_code(buyer_ci="CI-KEY", actor=None)

    def post():
        try:
            response = http.post(PAYMENTS, {"pay_code": code.token, "amount": 7_000}, format="json",
                                 headers={HEADER: "pos-key-1"})
            return response.status_code, response.json()
        finally:
            connection.close()

    results = race(post, [()] * 20)
    answers = [value for _, value in results]
    assert {status for status, _ in answers} == {201}, answers
    assert all(body == answers[0][1] for _, body in answers)
    assert Payment.objects.count() == 1 and _wallet("CI-KEY").balance == 43_000
    assert_payment_invariants()


# --- the API -------------------------------------------------------------------------------------------------

@pytest.fixture
def shop(make_client):
    merchant = MerchantFactory(name="진주냉면")
    pos, pos_http = _pos(make_client, merchant)
    app, app_http = make_client("sales_agent")
    return merchant, pos, pos_http, app, app_http


@pytest.mark.django_db
@pytest.mark.usefixtures("pay_path")
def test_the_wallet_app_issues_a_code_and_the_pos_takes_it_over_http(shop):
    merchant, _, pos_http, app, app_http = shop
    app_http.post("/api/v1/vouchers/purchases/", {"tranche": TrancheFactory().pk, "buyer_ci": "CI-HTTP",
                                                  "face_value": 50_000}, format="json", headers={HEADER: "buy-1"})
    issued = app_http.post("/api/v1/vouchers/pay-codes/", {"buyer_ci": "CI-HTTP"}, format="json")
    assert issued.status_code == 201 and set(issued.json()) == {"pay_code", "short_code", "expires_at"}
    paid = pos_http.post(PAYMENTS, {"pay_code": issued.json()["short_code"], "amount": 8_000}, format="json",
                         headers={HEADER: "pay-1"})
    assert paid.status_code == 201, paid.json()
    body = paid.json()
    assert {k: body[k] for k in ("merchant", "merchant_name", "amount", "refunded", "status", "method")} == {
        "merchant": merchant.code, "merchant_name": "진주냉면", "amount": 8_000, "refunded": 0, "status": "paid",
        "method": "pay_code"}
    assert body["approval_number"] == f"{body['id']:010d}"
    # the app that issued the code, and the merchant's POS, both read it
    assert app_http.get(f"{PAYMENTS}{body['id']}/").json() == body
    assert pos_http.get(f"{PAYMENTS}{body['id']}/").json() == body
    wallet = app_http.post("/api/v1/vouchers/buyers/wallet/", {"buyer_ci": "CI-HTTP"}, format="json").json()
    assert wallet["balance"] == 42_000 and wallet["spendable"] == 42_000
    assert wallet["entries"][0] == {"kind": "payment", "amount": -8_000, "balance_after": 42_000,
                                    "created_at": wallet["entries"][0]["created_at"], "merchant": merchant.code}
    assert wallet["entries"][1]["merchant"] is None
    assert wallet["expiring"] == [{"amount": 42_000, "expires_at": wallet["expiring"][0]["expires_at"]}]


@pytest.mark.django_db
def test_mpm_and_refund_over_http_with_replays(shop):
    merchant, _, pos_http, _, app_http = shop
    _fund("CI-MPMH", 30_000)
    body = {"buyer_ci": "CI-MPMH", "merchant_code": merchant.code, "amount": 9_000}
    first = app_http.post("/api/v1/vouchers/wallet-payments/", body, format="json", headers={HEADER: "w-1"})
    again = app_http.post("/api/v1/vouchers/wallet-payments/", body, format="json", headers={HEADER: "w-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = app_http.post("/api/v1/vouchers/wallet-payments/", {**body, "amount": 1_000}, format="json",
                          headers={HEADER: "w-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    pid = first.json()["id"]
    refund = pos_http.post(f"{PAYMENTS}{pid}/refund/", {"amount": 4_000}, format="json", headers={HEADER: "r-1"})
    replay = pos_http.post(f"{PAYMENTS}{pid}/refund/", {"amount": 4_000}, format="json", headers={HEADER: "r-1"})
    assert refund.status_code == replay.status_code == 200 and refund.json() == replay.json()
    assert refund.json()["refunded"] == 4_000 and refund.json()["status"] == "partially_refunded"
    assert MerchantRefund.objects.count() == 1 and _wallet("CI-MPMH").balance == 25_000
    too_much = pos_http.post(f"{PAYMENTS}{pid}/refund/", {"amount": 5_001}, format="json", headers={HEADER: "r-2"})
    assert too_much.status_code == 409 and too_much.json()["code"] == "refund_exceeds_payment"
    # a refusal stores no key: the same key may be retried once the cause is gone
    fixed = pos_http.post(f"{PAYMENTS}{pid}/refund/", {"amount": 5_000}, format="json", headers={HEADER: "r-3"})
    assert fixed.json()["status"] == "refunded"


@pytest.mark.django_db
def test_another_merchants_pos_gets_404_on_every_payment_of_ours(shop, make_client):
    merchant, _, _, _, app_http = shop
    _fund("CI-404", 30_000)
    payment = services.pay_merchant(merchant_code=merchant.code, amount=1_000, buyer_ci="CI-404", actor=None)
    _, rival = _pos(make_client, MerchantFactory())
    _, other_app = make_client("sales_agent")
    assert rival.get(f"{PAYMENTS}{payment.pk}/").status_code == 404
    response = rival.post(f"{PAYMENTS}{payment.pk}/refund/", {"amount": 1_000}, format="json",
                          headers={HEADER: "steal"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert other_app.get(f"{PAYMENTS}{payment.pk}/").status_code == 404  # a wallet app that had no part in it
    assert rival.get(f"{PAYMENTS}999999999/").status_code == 404
    assert not MerchantRefund.objects.exists()


@pytest.mark.django_db
def test_roles_payments_need_a_pos_key_and_wallet_payments_a_sales_agent(shop, make_client):
    merchant, _, pos_http, _, app_http = shop
    _, operator = make_client("delivery_operator", operator_slug="baedal")
    assert app_http.post(PAYMENTS, {"pay_code": "123456", "amount": 1}, format="json",
                         headers={HEADER: "k"}).status_code == 403
    assert pos_http.post("/api/v1/vouchers/wallet-payments/", {}, format="json", headers={HEADER: "k"}).status_code == 403
    assert pos_http.post("/api/v1/vouchers/pay-codes/", {"buyer_ci": "CI"}, format="json").status_code == 403
    assert operator.get(f"{PAYMENTS}1/").status_code == 403
    from rest_framework.test import APIClient
    assert APIClient().post(PAYMENTS, {}, format="json").status_code == 401


@pytest.mark.django_db
@pytest.mark.usefixtures("pay_path")
def test_every_payment_post_needs_an_idempotency_key(shop):
    merchant, _, pos_http, _, app_http = shop
    for http, path, body in ((pos_http, PAYMENTS, {"pay_code": "123456", "amount": 1_000}),
                             (app_http, "/api/v1/vouchers/wallet-payments/",
                              {"buyer_ci": "CI", "merchant_code": merchant.code, "amount": 1_000}),
                             (pos_http, f"{PAYMENTS}1/refund/", {"amount": 1_000})):
        response = http.post(path, body, format="json")
        assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"


HOSTILE_AMOUNTS = [0, -1, 1.5, "1e3", "1000", 10**30, True, None, [], {}]


@pytest.mark.django_db
@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS, ids=repr)
@pytest.mark.usefixtures("pay_path")
def test_hostile_amounts_are_400_invalid_amount_and_write_nothing(shop, amount):
    merchant, _, pos_http, _, app_http = shop
    _fund("CI-HOSTILE", 50_000)
    payment = services.pay_merchant(merchant_code=merchant.code, amount=1_000, buyer_ci="CI-HOSTILE", actor=None)
    code = services.issue_pay_code(buyer_ci="CI-HOSTILE", actor=None)
    before = (Payment.objects.count(), WalletEntry.objects.count(), MerchantRefund.objects.count())
    for http, path, body in ((pos_http, PAYMENTS, {"pay_code": code.token, "amount": amount}),
                             (app_http, "/api/v1/vouchers/wallet-payments/",
                              {"buyer_ci": "CI-HOSTILE", "merchant_code": merchant.code, "amount": amount}),
                             (pos_http, f"{PAYMENTS}{payment.pk}/refund/", {"amount": amount})):
        response = http.post(path, body, format="json", headers={HEADER: f"hostile-{path}"})
        assert response.status_code == 400, (path, response.json())
        assert response.json()["code"] == "invalid_amount" and "amount" in response.json()["fields"]
    assert (Payment.objects.count(), WalletEntry.objects.count(), MerchantRefund.objects.count()) == before
    code.refresh_from_db()
    assert code.status == "active"


@pytest.mark.django_db
@pytest.mark.parametrize("pay_code", [None, "", "A" * 65, " 123456", "코드", "12345\x00", 123456, ["x"]], ids=repr)
@pytest.mark.usefixtures("pay_path")
def test_missing_overlong_or_malformed_pay_codes_are_400(shop, pay_code):
    _, _, pos_http, _, _ = shop
    body = {"amount": 1_000} if pay_code is None else {"pay_code": pay_code, "amount": 1_000}
    response = pos_http.post(PAYMENTS, body, format="json", headers={HEADER: "bad-code"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_pay_code"
    assert "pay_code" in response.json()["fields"] and not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("pay_path")
def test_non_utf8_and_non_json_bodies_are_4xx_and_write_nothing(shop):
    _, _, pos_http, _, app_http = shop
    for http, path in ((pos_http, PAYMENTS), (app_http, "/api/v1/vouchers/wallet-payments/"),
                       (app_http, "/api/v1/vouchers/pay-codes/")):
        for raw in (b'{"pay_code": "\xff\xfe", "amount": 1000}', b"[1, 2]", b"not json", b""):
            response = http.generic("POST", path, raw, content_type="application/json", headers={HEADER: "raw"})
            assert 400 <= response.status_code < 500, (path, raw, response.status_code)
    assert not Payment.objects.exists() and not PayCode.objects.exists()


@pytest.mark.django_db
def test_every_payment_refusal_code_of_api_md_is_in_the_schema(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    text = str(paths["/api/v1/vouchers/payments/"]) + str(paths["/api/v1/vouchers/payments/{id}/refund/"]) + str(
        paths["/api/v1/vouchers/wallet-payments/"])
    for code in (Code.INVALID_PAY_CODE, Code.INSUFFICIENT_BALANCE, Code.MERCHANT_NOT_ACTIVE, Code.MERCHANT_NOT_MOBILE,
                 Code.INVALID_AMOUNT, Code.REFUND_EXCEEDS_PAYMENT, Code.REFUND_WINDOW_CLOSED, Code.INVALID_MERCHANT):
        assert code.value in text, code


@pytest.mark.django_db
def test_a_cancelled_purchase_any_part_of_which_was_spent_answers_already_used_over_http(shop):
    merchant, _, _, _, app_http = shop
    bought = app_http.post("/api/v1/vouchers/purchases/", {"tranche": TrancheFactory().pk, "buyer_ci": "CI-SPENT",
                                                           "face_value": 50_000}, format="json",
                           headers={HEADER: "b-1"}).json()
    services.pay_merchant(merchant_code=merchant.code, amount=1_000, buyer_ci="CI-SPENT", actor=None)
    response = app_http.post(f"/api/v1/vouchers/purchases/{bought['id']}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "already_used"


# --- the staff admin -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_staff_see_payments_read_only_found_by_approval_number_with_refunds_and_trail(admin_client, paid):
    from django.urls import reverse

    payment, client, _ = paid
    services.refund_merchant_payment(payment_id=payment.pk, amount=3_000, actor=client, now=T0)
    url = reverse("admin:vouchers_payment_changelist")
    page = admin_client.get(url, {"q": payment.approval_number})
    assert page.status_code == 200 and list(page.context["cl"].result_list) == [payment]
    assert "10,000원" in page.content.decode() and "3,000원" in page.content.decode()
    assert list(admin_client.get(url, {"q": "0000000000"}).context["cl"].result_list) == []
    detail = admin_client.get(reverse("admin:vouchers_payment_change", args=[payment.pk])).content.decode()
    assert payment.approval_number in detail and "결제 환불 (가맹점)" in detail
    assert admin_client.get(reverse("admin:vouchers_payment_add")).status_code == 403
    wallet_page = admin_client.get(reverse("admin:vouchers_wallet_change", args=[payment.wallet_id]))
    assert wallet_page.status_code == 200
