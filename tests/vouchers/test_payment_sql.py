"""The pay-code payment as one PostgreSQL statement (vouchers/db/payments.py) against its ORM twin:
the same rows, the same refusals in the same order, nothing written by a refusal, the stored
idempotent answer equal to the API's, the rare expired-credit wallet left to the twin, and races
that stay exact across the two paths (a till on the statement, another payment on the ORM)."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Sum

from jinju_portal.api.idempotency import HEADER
from jinju_portal.models import IdempotencyRecord
from tests.races import outcomes
from tests.vouchers.conftest import race
from tests.vouchers.factories import MerchantFactory, TrancheFactory, valid_business_number
from tests.vouchers.test_payments import _pos, assert_payment_invariants
from vouchers import rules, selectors, services
from vouchers.api import serializers as s
from vouchers.db import payments as payment_sql
from vouchers.models import PayCode, Payment, Wallet, WalletEntry

KST = ZoneInfo("Asia/Seoul")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=KST)
PAYMENTS = "/api/v1/vouchers/payments/"
PATHS = ["sql", "sql_unprepared", "orm"]


def _use(settings, path):
    settings.VOUCHERS_FAST_SQL = path != "orm"
    settings.VOUCHERS_PREPARED_STATEMENTS = path == "sql"


def _fund(ci, face_value, *, at=T0):
    tranche = TrancheFactory(opens_at=at - dt.timedelta(hours=1), quota=10**9)
    return services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci, face_value=face_value,
                                      channel="zeropay_app", now=at)


def _wallet(ci) -> Wallet:
    return Wallet.objects.get(citizen=selectors.citizen_by_ci(ci))


def _state():
    """Everything a payment could write, to compare before and after a refusal."""
    return (list(Payment.objects.order_by("id").values_list("id", "amount")),
            list(WalletEntry.objects.order_by("id").values_list("id", "amount", "balance_after")),
            list(PayCode.objects.order_by("id").values_list("id", "status", "used_at")),
            list(Wallet.objects.order_by("id").values_list("id", "balance")),
            list(IdempotencyRecord.objects.order_by("id").values_list("id", "status_code")))


def _written(payment):
    """A payment and what it wrote, without ids: comparable across the two paths."""
    payment = Payment.objects.get(pk=payment.pk)
    entry = WalletEntry.objects.get(payment=payment)
    code = payment.pay_code
    return {
        "payment": (payment.merchant.code, payment.method, payment.amount, payment.refunded, payment.status,
                    payment.idempotency_key, payment.created_at, payment.api_client.name if payment.api_client else None,
                    payment.code_issuer_id == code.api_client_id, payment.user_id, payment.wallet_id == code.wallet_id),
        "entry": (entry.kind, entry.amount, entry.balance_after, entry.reference == f"payment:{payment.pk}",
                  entry.created_at, entry.expires_at, entry.purchase_id, entry.wallet_id == payment.wallet_id),
        "code": (code.status, code.used_at),
        "wallet": payment.wallet.balance,
    }


@pytest.mark.django_db
def test_the_statement_writes_the_same_rows_as_the_orm_twin_and_returns_the_same_payment(settings, make_client):
    results = {}
    for i, path in enumerate(PATHS):
        _use(settings, path)
        merchant = MerchantFactory(name=f"같은 가게 {i}")
        till, _ = _pos(make_client, merchant)
        app, _ = make_client("sales_agent")
        _fund(f"CI-SAME-{i}", 50_000)
        code = services.issue_pay_code(buyer_ci=f"CI-SAME-{i}", actor=app, now=T0)
        value = code.short_code if i % 2 else code.token
        payment = services.pay_with_code(pay_code=value, amount=12_345, actor=till, idempotency_key="same", now=T0)
        # what the service returns: the same fields the answer shows, as the twin's instance has them
        returned = {**s.payment_body(payment), "id": None, "approval_number": None, "merchant": None,
                    "merchant_name": payment.merchant.name.rsplit(" ", 1)[0]}
        written = _written(payment)
        written["payment"] = (None, *written["payment"][1:7], None, *written["payment"][8:])
        results[path] = (returned, written, payment.pay_code == code, payment.wallet.pk == code.wallet_id)
    assert results["sql"] == results["orm"] == results["sql_unprepared"]
    assert results["sql"][1]["entry"][:3] == ("payment", -12_345, 50_000 - 12_345)
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
def test_a_keyed_pos_payment_is_one_statement_in_autocommit(make_client):
    """The point of the statement: over HTTP one round trip for the payment and its stored answer (plus
    DRF's key lookup on a cold key cache, and the PREPARE once per connection); no BEGIN, no COMMIT."""
    from django.test.utils import CaptureQueriesContext

    from jinju_portal.api.authentication import clear_client_cache

    merchant = MerchantFactory()
    _, http = _pos(make_client, merchant)
    _fund("CI-ONE", 20_000)
    codes = []
    for i in range(2):
        codes.append(services.issue_pay_code(buyer_ci="CI-ONE", actor=None))
        clear_client_cache()
        with CaptureQueriesContext(connection) as queries:
            response = http.post(PAYMENTS, {"pay_code": codes[-1].token, "amount": 1_000}, format="json",
                                 headers={HEADER: f"one-{i}"})
        assert response.status_code == 201, response.json()
        sent = [q["sql"].split()[0] for q in queries.captured_queries]
        assert sent == ["SELECT"] + (["PREPARE"] if i == 0 else []) + ["EXECUTE"], sent
    assert_payment_invariants()


def _refusal_cases():
    """(name, setup) → setup returns the call's kwargs; each refusal in the order the service checks."""
    return ["merchant_pending", "merchant_not_mobile", "key_without_merchant", "unknown_code", "expired_code",
            "used_code", "voided_code", "insufficient", "used_and_insufficient", "pending_and_unknown_code",
            "short_unknown"]


@pytest.mark.django_db
@pytest.mark.parametrize("case", _refusal_cases())
def test_each_refusal_is_the_same_on_both_paths_and_writes_nothing(settings, make_client, case):
    seen = {}
    for i, path in enumerate(PATHS):
        _use(settings, path)
        status = "pending" if case in ("merchant_pending", "pending_and_unknown_code") else "approved"
        merchant = MerchantFactory(status=status, accepts_mobile=case != "merchant_not_mobile")
        till, _ = _pos(make_client, merchant)
        ci = f"CI-{case}-{i}"
        _fund(ci, 10_000)
        code = services.issue_pay_code(buyer_ci=ci, actor=None, now=T0)
        at, value, amount = T0 + dt.timedelta(seconds=10), code.token, 1_000
        if case == "key_without_merchant":
            till, _ = make_client("merchant_pos", merchant_business_number=valid_business_number(99_999 - i))  # nobody's
        elif case in ("unknown_code", "pending_and_unknown_code"):
            value = "Q" * 32
        elif case == "short_unknown":
            value = "000000" if code.short_code != "000000" else "000001"
        elif case == "expired_code":
            at = T0 + rules.PAY_CODE_VALIDITY
        elif case in ("used_code", "used_and_insufficient"):
            services.pay_with_code(pay_code=code.token, amount=1_000, actor=till, now=at)
            amount = 20_000 if case == "used_and_insufficient" else 1_000  # both wrong: the code is named
        elif case == "voided_code":
            services.issue_pay_code(buyer_ci=ci, actor=None, now=at)
        elif case == "insufficient":
            amount = 10_001
        before = _state()
        with pytest.raises(services.ServiceError) as refused:
            services.pay_with_code(pay_code=value, amount=amount, actor=till, idempotency_key=f"r-{i}", now=at)
        assert _state() == before, (path, case)
        seen[path] = (refused.value.code, refused.value.status)
    expected = {"merchant_pending": "merchant_not_active", "merchant_not_mobile": "merchant_not_mobile",
                "key_without_merchant": "merchant_not_active", "insufficient": "insufficient_balance",
                "pending_and_unknown_code": "merchant_not_active"}.get(case, "invalid_pay_code")
    assert seen == {path: (expected, 409) for path in PATHS}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["sql", "sql_unprepared"])
def test_over_http_the_statement_stores_the_answer_the_api_gives_and_replays_it(settings, make_client, path):
    _use(settings, path)
    merchant = MerchantFactory(name="진주냉면 본점")
    _, http = _pos(make_client, merchant)
    app, _ = make_client("sales_agent")
    _fund("CI-KEYED", 30_000)
    code = services.issue_pay_code(buyer_ci="CI-KEYED", actor=app)
    body = {"pay_code": code.token, "amount": 4_000}
    first = http.post(PAYMENTS, body, format="json", headers={HEADER: "till-1"})
    assert first.status_code == 201, first.json()
    payment = Payment.objects.get()
    record = IdempotencyRecord.objects.get(key="till-1")
    assert record.status_code == 201 and record.response_body == first.json() == s.PaymentSerializer(payment).data
    again = http.post(PAYMENTS, body, format="json", headers={HEADER: "till-1"})
    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (201, first.json(), "true")
    other = http.post(PAYMENTS, {**body, "amount": 4_001}, format="json", headers={HEADER: "till-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # the same key with another, valid code is 422 too, and pays nothing (the statement aborts)
    fresh = services.issue_pay_code(buyer_ci="CI-KEYED", actor=app)
    before = _state()
    reused = http.post(PAYMENTS, {"pay_code": fresh.token, "amount": 1_000}, format="json", headers={HEADER: "till-1"})
    assert reused.status_code == 422 and _state() == before
    # a refusal stores no key: the same key pays once the cause is gone
    short = http.post(PAYMENTS, {"pay_code": fresh.token, "amount": 26_001}, format="json", headers={HEADER: "till-2"})
    assert short.status_code == 409 and short.json()["code"] == "insufficient_balance"
    assert not IdempotencyRecord.objects.filter(key="till-2").exists()
    paid = http.post(PAYMENTS, {"pay_code": fresh.token, "amount": 26_000}, format="json", headers={HEADER: "till-2"})
    assert paid.status_code == 201 and _wallet("CI-KEYED").balance == 0
    assert_payment_invariants()


@pytest.mark.django_db
def test_payment_body_is_the_serializers_answer_and_the_statement_numbers_approvals_the_same_way():
    payment = Payment(id=12_345_678_901, merchant=MerchantFactory.build(code="AB12CD3E", name="가게"), method="pay_code",
                      amount=1_000, refunded=0, status="paid", created_at=T0)
    assert s.payment_body(payment) == s.PaymentSerializer(payment).data
    with connection.cursor() as cursor:
        for n in (1, 42, 999_999_999, 1_000_000_000, 9_999_999_999, 12_345_678_901):
            cursor.execute("SELECT repeat('0', 10 - length(%s::bigint::text)) || %s::bigint::text", [n, n])
            assert cursor.fetchone()[0] == Payment(id=n).approval_number


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_a_wallet_with_a_credit_past_validity_is_paid_by_the_twin_which_expires_it_first(settings, make_client,
                                                                                          path):
    _use(settings, path)
    merchant = MerchantFactory()
    _, http = _pos(make_client, merchant)
    _fund("CI-STALE", 30_000, at=T0)
    _fund("CI-STALE", 20_000, at=T0 + dt.timedelta(days=1))
    after_expiry = rules.expires(T0) + dt.timedelta(minutes=1)
    code = services.issue_pay_code(buyer_ci="CI-STALE", actor=None, now=after_expiry)
    from time_machine import travel

    with travel(after_expiry, tick=False):
        response = http.post(PAYMENTS, {"pay_code": code.token, "amount": 5_000}, format="json",
                             headers={HEADER: "stale"})
        assert response.status_code == 201, response.json()
        again = http.post(PAYMENTS, {"pay_code": code.token, "amount": 5_000}, format="json",
                          headers={HEADER: "stale"})
    assert again.json() == response.json() and Payment.objects.count() == 1
    kinds = list(_wallet("CI-STALE").entries.order_by("id").values_list("kind", "amount"))
    assert kinds[-2:] == [("expiry", -30_000), ("payment", -5_000)] and _wallet("CI-STALE").balance == 15_000
    assert IdempotencyRecord.objects.get(key="stale").response_body == response.json()
    assert_payment_invariants()


@pytest.mark.django_db
def test_the_pgbench_script_is_the_keyed_statement_and_pays(make_client):
    """bench/payments.py divides HTTP payments/s by pgbench running this script: it must be the same
    statement, and it must pay."""
    merchant = MerchantFactory()
    till, _ = _pos(make_client, merchant)
    app, _ = make_client("sales_agent")
    _fund("CI-PGB", 10_000)
    code = services.issue_pay_code(buyer_ci="CI-PGB", actor=app)
    PayCode.objects.filter(pk=code.pk).update(token="pgb7")
    with connection.cursor() as cursor:
        # the pgbench run by hand: its clock frozen before the code's expiry, its variables set
        script = payment_sql.pgbench_script(now=code.expires_at - dt.timedelta(seconds=1),
                                            mogrify=cursor.cursor.mogrify)
        assert script.count("WITH") == 1 and "portal_idempotencyrecord" in script
        for name, value in (("m", merchant.pk), ("x", 2_500), ("cl", till.pk), ("k", 7)):
            assert f":{name})" in script
            script = script.replace(f":{name})", f"{value})")
        cursor.execute(script.rstrip().rstrip(";"))
    payment = Payment.objects.get()
    assert (payment.amount, payment.merchant, payment.api_client_id, payment.idempotency_key) == (
        2_500, merchant, till.pk, "pgb-7")
    assert IdempotencyRecord.objects.get(owner=f"client:{till.pk}", key="pgb-7").response_body["id"] == payment.pk
    assert _wallet("CI-PGB").balance == 7_500
    assert_payment_invariants()


# --- races across the two paths -------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_till_on_the_statement_and_wallet_payments_on_the_orm_never_overdraw_one_wallet(settings, make_client):
    merchant = MerchantFactory()
    till, _ = _pos(make_client, merchant)
    _fund("CI-CROSS", 70_000)
    code = services.issue_pay_code(buyer_ci="CI-CROSS", actor=None, now=T0)
    jobs = ([(lambda: services.pay_with_code(pay_code=code.token, amount=30_000, actor=till, now=T0).pk, ())]
            + [(lambda: services.pay_merchant(merchant_code=merchant.code, amount=30_000, buyer_ci="CI-CROSS",
                                              actor=None, now=T0).pk, ())] * 7)
    results = race(lambda fn, args: fn(*args), jobs)
    assert sorted(outcomes(results)) == ["insufficient_balance"] * 6 + ["ok"] * 2, results
    assert _wallet("CI-CROSS").balance == 10_000
    code.refresh_from_db()
    assert code.status == ("used" if results[0][0] == "ok" else "active")
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_tills_on_the_statement_and_on_the_orm_twin_spending_one_code_pay_once(make_client):
    from vouchers.services import payments

    merchant = MerchantFactory()
    tills = [_pos(make_client, merchant)[0] for _ in range(10)]
    _fund("CI-TWIN", 100_000)
    code = services.issue_pay_code(buyer_ci="CI-TWIN", actor=None, now=T0)

    def statement(till):  # settings say PostgreSQL's fast path
        return services.pay_with_code(pay_code=code.short_code, amount=5_000, actor=till, now=T0).pk

    def twin(till):
        return payments._pay_with_code_orm(text=code.token, amount=5_000, actor=till, merchant_id=None,
                                           idempotency_key="", now=T0).pk

    results = race(lambda fn, till: fn(till), [(statement if i % 2 else twin, till) for i, till in enumerate(tills)])
    assert sorted(outcomes(results)) == ["invalid_pay_code"] * 9 + ["ok"], results
    assert _wallet("CI-TWIN").balance == 95_000
    assert Payment.objects.aggregate(s=Sum("amount"))["s"] == 5_000
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_one_key_replayed_twelve_times_and_eight_other_keys_racing_for_one_code_pay_once(make_client):
    merchant = MerchantFactory()
    _, http = _pos(make_client, merchant)
    _fund("CI-RACEKEY", 50_000)
    code = services.issue_pay_code(buyer_ci="CI-RACEKEY", actor=None)

    def post(key):
        try:
            response = http.post(PAYMENTS, {"pay_code": code.token, "amount": 7_000}, format="json",
                                 headers={HEADER: key})
            return response.status_code, response.json()
        finally:
            connection.close()

    results = race(post, [("same",)] * 12 + [(f"other-{i}",) for i in range(8)])
    answers = [value for _, value in results]
    assert all(answer == answers[0] for answer in answers[:12]), answers  # one key, one answer
    paid = [body for status, body in answers if status == 201]
    assert {body["id"] for body in paid} == {Payment.objects.get().pk}, answers
    assert all(status == 409 and body["code"] == "invalid_pay_code" for status, body in answers if status != 201)
    stored = IdempotencyRecord.objects.filter(status_code=201)
    assert [r.response_body["id"] for r in stored] == [Payment.objects.get().pk]  # refusals store no key
    assert _wallet("CI-RACEKEY").balance == 43_000
    assert_payment_invariants()
