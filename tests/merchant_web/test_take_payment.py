"""Taking a payment at the counter (CPM): the amount, then the citizen's pay code (QR value or 6
digits); the receipt; a double submit takes one payment, also under a real race."""
import re

import pytest
from django.test import Client

from tests.merchant_web.conftest import KST, make_member, pay_code_for
from tests.races import outcomes, race
from vouchers.choices import EventKind
from vouchers.models import PayCode, Payment, VoucherEvent, Wallet


def _form(client):
    text = client.get("/merchant/pay/").content.decode()
    return re.search(r'name="nonce" value="([^"]+)"', text).group(1)


def _post(client, **data):
    return client.post("/merchant/pay/", data)


@pytest.mark.django_db
def test_a_cashier_takes_12000_won_by_the_qr_value_and_sees_the_receipt(as_cashier, cashier, merchant):
    code = pay_code_for("CI-CPM-WEB", 50_000)
    response = _post(as_cashier, amount="12,000", pay_code=code.token, nonce=_form(as_cashier))
    payment = Payment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/merchant/payments/{payment.approval_number}/"
    assert (payment.merchant, payment.amount, payment.user, payment.method) == (merchant, 12_000, cashier, "pay_code")
    assert payment.idempotency_key.startswith("merchant-pay:")
    receipt = as_cashier.get(response["Location"]).content.decode()
    assert "결제를 받았습니다." in receipt
    block = receipt.split('id="receipt"')[1].split("</section>")[0]
    assert payment.approval_number in block and "12,000원" in block and "QR 제시" in block and "결제 완료" in block
    assert payment.created_at.astimezone(KST).strftime("%Y.%-m.%-d %H:%M:%S") in block
    assert Wallet.objects.get().balance == 38_000


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["{code}", " {code} ", "{a} {b}", "{a}-{b}"])
def test_the_six_digits_may_be_typed_with_a_space_or_hyphen(as_cashier, typed):
    code = pay_code_for("CI-SHORT-WEB", 20_000)
    text = typed.format(code=code.short_code, a=code.short_code[:3], b=code.short_code[3:])
    response = _post(as_cashier, amount="20000원", pay_code=text, nonce=_form(as_cashier))
    assert response.status_code == 302 and Payment.objects.get().pay_code == code


@pytest.mark.django_db
def test_the_amount_field_comes_first_so_a_scanners_enter_sends_it_complete(as_cashier):
    text = as_cashier.get("/merchant/pay/").content.decode()
    assert text.index('name="amount"') < text.index('name="pay_code"')


@pytest.mark.django_db
@pytest.mark.parametrize("case, field, sentence", [
    ("unknown", "pay_code", "결제 코드가 올바르지 않거나 이미 사용·만료되었습니다"),
    ("used", "pay_code", "결제 코드가 올바르지 않거나 이미 사용·만료되었습니다"),
    ("format", "pay_code", "결제 코드는 QR 값 또는 6자리 숫자여야 합니다."),
    ("zero", "amount", "금액은 1원 이상의 정수(원)여야 합니다."),
    ("letters", "amount", "금액은 1원 이상의 정수(원)여야 합니다."),
    ("balance", None, "지갑 잔액이 부족합니다."),
])
def test_refusals_are_korean_under_their_field_and_take_nothing(as_cashier, case, field, sentence):
    code = pay_code_for("CI-REFUSED-WEB", 10_000)
    data = {"amount": "5,000", "pay_code": code.token, "nonce": _form(as_cashier)}
    if case == "unknown":
        data["pay_code"] = "Z" * 32
    elif case == "used":
        assert _post(as_cashier, **{**data, "amount": "1,000"}).status_code == 302
        data["nonce"] = _form(as_cashier)
    elif case == "format":
        data["pay_code"] = "코드"
    elif case == "zero":
        data["amount"] = "0"
    elif case == "letters":
        data["amount"] = "만원"
    elif case == "balance":
        data["amount"] = "10,001"
    before = Payment.objects.count()
    response = _post(as_cashier, **data)
    text = response.content.decode()
    assert response.status_code == 400 and Payment.objects.count() == before
    errors = text.split(f'id="id_{field}-errors"')[1].split("</ul>")[0] if field else \
        text.split('id="form-errors"')[1].split("</div>")[0]
    assert sentence in errors
    fresh = re.search(r'name="nonce" value="([^"]+)"', text).group(1)
    assert fresh != data["nonce"]


@pytest.mark.django_db
def test_a_form_without_its_nonce_takes_nothing(as_cashier):
    code = pay_code_for("CI-NONCE-WEB", 10_000)
    response = _post(as_cashier, amount="1,000", pay_code=code.token)
    assert response.status_code == 400 and "입력 화면이 오래되었습니다" in response.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_the_same_form_sent_twice_shows_the_first_payment_and_takes_nothing_more(as_cashier):
    code = pay_code_for("CI-TWICE-WEB", 50_000)
    data = {"amount": "12,000", "pay_code": code.token, "nonce": _form(as_cashier)}
    first = _post(as_cashier, **data)
    second = _post(as_cashier, **data)
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert Payment.objects.count() == 1 and Wallet.objects.get().balance == 38_000
    assert "이미 받은 결제입니다" in as_cashier.get(second["Location"]).content.decode()


@pytest.mark.django_db
def test_a_suspended_shop_is_told_why_it_cannot_take_payments(as_cashier, merchant):
    merchant.status = "suspended"
    merchant.save(update_fields=["status"])
    code = pay_code_for("CI-SUSPENDED-WEB", 10_000)
    response = _post(as_cashier, amount="1,000", pay_code=code.token, nonce=_form(as_cashier))
    assert response.status_code == 400 and "승인된 가맹점만 받습니다" in response.content.decode()


# --- real concurrent submits -----------------------------------------------------------------------

def _clients(user, n):
    clients = []
    for _ in range(n):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_one_form_sent_by_eight_double_clicks_at_once_takes_one_payment(merchant):
    cashier = make_member(merchant, "cashier").user
    code = pay_code_for("CI-RACE-FORM", 50_000)
    clients = _clients(cashier, 8)
    data = {"amount": "12,000", "pay_code": code.token, "nonce": "n" * 32}
    results = race(lambda c: (c.post("/merchant/pay/", data).status_code,
                              c.post("/merchant/pay/", data)["Location"]), [(c,) for c in clients])
    assert outcomes(results) == ["ok"] * 8
    payment = Payment.objects.get()
    assert {value for _, value in results} == {(302, f"/merchant/payments/{payment.approval_number}/")}
    assert Wallet.objects.get().balance == 38_000 and PayCode.objects.get().status == "used"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_database_keeps_one_payment_per_nonce_even_for_two_different_codes_at_once(merchant):
    """The unique index (user, idempotency_key) is what holds here: two wallets, no lock in common."""
    cashier = make_member(merchant, "cashier").user
    codes = [pay_code_for(f"CI-RACE-NONCE-{i}", 50_000) for i in range(2)]
    clients = _clients(cashier, 2)
    results = race(lambda c, token: c.post("/merchant/pay/", {"amount": "5,000", "pay_code": token,
                                                              "nonce": "same-nonce-" + "x" * 20})["Location"],
                   [(clients[i], codes[i].token) for i in range(2)])
    payment = Payment.objects.get()
    assert outcomes(results) == ["ok", "ok"]
    assert {value for _, value in results} == {f"/merchant/payments/{payment.approval_number}/"}
    assert sorted(Wallet.objects.values_list("balance", flat=True)) == [45_000, 50_000]
    assert PayCode.objects.filter(status="used").count() == 1  # the loser's code was rolled back with it
    assert not VoucherEvent.objects.filter(kind=EventKind.PAYMENT_REFUNDED).exists()


@pytest.mark.django_db
def test_a_twin_committing_between_the_check_and_the_insert_is_caught_by_the_index(monkeypatch, merchant):
    """The race's middle, forced: the nonce check finds nothing, the twin commits, then this insert
    meets the unique index, rolls back (the pay code too) and shows the twin's payment."""
    from vouchers import merchant_web, services
    from vouchers.selectors import member_of

    member = make_member(merchant, "cashier")
    first, second = pay_code_for("CI-MIDDLE-1", 20_000), pay_code_for("CI-MIDDLE-2", 20_000)
    twin = merchant_web.take_payment(member=member, user=member.user, pay_code=first.token, amount=3_000,
                                     nonce="m" * 24).payment
    calls = []
    real = merchant_web._payment_by_nonce
    monkeypatch.setattr(merchant_web, "_payment_by_nonce",
                        lambda user, key: calls.append(key) or (None if len(calls) == 1 else real(user, key)))
    again = merchant_web.take_payment(member=member_of(member.user), user=member.user, pay_code=second.token,
                                      amount=3_000, nonce="m" * 24)
    assert again.replayed and again.payment == twin and len(calls) == 2
    second.refresh_from_db()
    assert second.status == "active" and Payment.objects.count() == 1
    assert services.pay_with_code(pay_code=second.token, amount=1_000, actor=member.user,
                                  merchant_id=merchant.pk).amount == 1_000  # the code still pays
