"""Paying shops from the citizen's pages (issue #8): the pay code on 결제하기 (CPM) with its status
endpoint, the shop QR page /pay/<code>/ (MPM) with its confirmation step and receipt, and a confirm
form that pays once however often, or however simultaneously, it is sent."""
import datetime as dt
import re
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from tests.vouchers.conftest import assert_invariants
from tests.vouchers_web.conftest import fund
from tests.vouchers.factories import CitizenFactory, MerchantFactory
from vouchers import merchant_codes, months, services, web
from vouchers.models import PayCode, Payment, Wallet

pytestmark = pytest.mark.clock  # the pay code's 3 minutes, the confirm form's 10, times on the receipt

SHORT = re.compile(r'id="short-code">(\d{3}) (\d{3})<')




@pytest.fixture
def till(make_client, shop):
    """The shop's POS key (the merchant side of a CPM payment)."""
    return make_client("merchant_pos", merchant_business_number=shop.business_number)[0]


def issue(client):
    response = client.post(reverse("vouchers:pay_code"))
    assert response.status_code == 302 and response["Location"] == reverse("vouchers:pay_code")
    return PayCode.objects.order_by("-id").first()


# --- 결제하기: the pay code (CPM) ------------------------------------------------------------------

@pytest.mark.django_db
def test_the_pay_page_is_for_verified_citizens(signed_in):
    url, anon_client = reverse("vouchers:pay_code"), Client()
    assert anon_client.get(url)["Location"] == f"/accounts/login/?next={url}"
    assert anon_client.post(url).status_code == 302 and not PayCode.objects.exists()
    assert signed_in.get(url)["Location"].startswith(reverse("vouchers:verify") + "?next=")  # not verified yet
    assert signed_in.post(url).status_code == 302 and not PayCode.objects.exists()


@pytest.mark.django_db
def test_a_get_shows_a_button_and_issues_nothing(signed_in, citizen):
    fund(citizen, 42_000)
    page = signed_in.get(reverse("vouchers:pay_code")).content.decode()
    assert 'id="spendable">42,000원' in page and "결제 코드 받기" in page and "<svg" not in page
    assert not PayCode.objects.exists()
    assert reverse("vouchers:pay_code") in signed_in.get(reverse("vouchers:mine")).content.decode()  # linked


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_a_post_issues_a_code_shown_as_qr_six_digits_and_its_expiry(signed_in, citizen, user):
    fund(citizen, 42_000)
    code = issue(signed_in)
    assert (code.user, code.wallet.citizen, code.status) == (user, citizen, "active")
    page = signed_in.get(reverse("vouchers:pay_code")).content.decode()
    assert 'class="vw-qr-svg"' in page and "<title>결제 QR 코드</title>" in page and 'role="img"' in page
    assert SHORT.search(page).groups() == (code.short_code[:3], code.short_code[3:])
    assert code.token not in page  # the QR draws it; it is not printed as text
    assert f"{months.seoul(code.expires_at):%H:%M:%S}까지 쓸 수 있습니다" in page
    assert 'data-seconds-left="180"' in page
    assert reverse("vouchers:pay_code_status", args=[code.pk]) in page
    assert 'id="spendable">42,000원' in page and "새 코드 받기" in page


@pytest.mark.django_db
def test_a_reload_shows_the_same_code_and_renewing_voids_it(signed_in, citizen):
    first = issue(signed_in)
    again = signed_in.get(reverse("vouchers:pay_code")).content.decode()
    assert SHORT.search(again).groups() == (first.short_code[:3], first.short_code[3:])
    assert PayCode.objects.count() == 1
    second = issue(signed_in)
    first.refresh_from_db()
    assert first.status == "voided" and second.status == "active" and second.pk != first.pk
    page = signed_in.get(reverse("vouchers:pay_code")).content.decode()
    assert reverse("vouchers:pay_code_status", args=[second.pk]) in page
    assert reverse("vouchers:pay_code_status", args=[first.pk]) not in page


@pytest.mark.django_db
def test_an_expired_code_is_not_shown_any_more(signed_in, citizen, frozen_clock):
    code = issue(signed_in)
    frozen_clock.shift(dt.timedelta(minutes=3))
    page = signed_in.get(reverse("vouchers:pay_code")).content.decode()
    assert "<svg" not in page and code.short_code not in page and "결제 코드 받기" in page
    status = signed_in.get(reverse("vouchers:pay_code_status", args=[code.pk])).json()
    assert status == {"state": "expired", "seconds_left": 0}


@pytest.mark.django_db
def test_the_status_endpoint_says_when_the_shop_took_the_code(signed_in, citizen, shop, till):
    fund(citizen, 50_000)
    code = issue(signed_in)
    url = reverse("vouchers:pay_code_status", args=[code.pk])
    status = signed_in.get(url)
    assert status["Cache-Control"] == "no-store"
    assert status.json()["state"] == "active" and 0 < status.json()["seconds_left"] <= 180
    payment = services.pay_with_code(pay_code=code.short_code, amount=12_000, actor=till)
    body = signed_in.get(url).json()
    assert body == {"state": "used", "seconds_left": body["seconds_left"], "amount": 12_000, "merchant": "진주냉면",
                    "paid_text": "결제되었습니다 12,000원 · 진주냉면", "spendable": 38_000,
                    "spendable_text": "38,000원", "receipt_url": reverse("vouchers:payment", args=[payment.pk])}
    # without script, a reload says the same
    page = signed_in.get(reverse("vouchers:pay_code")).content.decode()
    assert "결제되었습니다 12,000원 · 진주냉면" in page and 'id="spendable">38,000원' in page and "<svg" not in page


@pytest.mark.django_db
def test_a_voided_code_reports_voided(signed_in, citizen):
    first = issue(signed_in)
    issue(signed_in)
    assert signed_in.get(reverse("vouchers:pay_code_status", args=[first.pk])).json()["state"] == "voided"


@pytest.mark.django_db
def test_another_citizens_code_status_is_not_found(signed_in, citizen, make_user):
    other_user = make_user()
    other = CitizenFactory(user=other_user)
    theirs = services.issue_pay_code(citizen_id=other.pk, actor=other_user)
    url = reverse("vouchers:pay_code_status", args=[theirs.pk])
    response = signed_in.get(url)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert theirs.short_code not in response.content.decode()
    assert Client().get(url).status_code == 404
    assert signed_in.get(reverse("vouchers:pay_code_status", args=[10**12])).status_code == 404


@pytest.mark.django_db
def test_a_code_a_wallet_app_issued_is_not_shown_on_the_web_page(signed_in, citizen, make_client):
    app = make_client("sales_agent")[0]
    services.issue_pay_code(citizen_id=citizen.pk, actor=app)
    page = signed_in.get(reverse("vouchers:pay_code")).content.decode()
    assert "<svg" not in page and "결제 코드 받기" in page


# --- /pay/<code>/: the shop's QR (MPM) -----------------------------------------------------------------

def pay_url(merchant):
    return reverse("merchant_pay", args=[merchant.code])


def enter_amount(client, merchant, amount):
    return client.post(pay_url(merchant), {"amount": amount} if amount is not None else {})


def ticket_of(page: str) -> str:
    return re.search(r'name="ticket" value="([^"]+)"', page).group(1)


def confirm(client, merchant, ticket):
    return client.post(reverse("merchant_pay_confirm", args=[merchant.code]), {"ticket": ticket})


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["NOSUCH00", "abc", "0" * 8, "x" * 300, "%EC%A7%84%EC%A3%BC", "AB CD"])
def test_an_unknown_or_malformed_shop_code_is_a_korean_404(signed_in, citizen, code):
    for client in (Client(), signed_in):
        response = client.get(f"/pay/{code}/")
        assert response.status_code == 404
        assert "가맹점을 찾을 수 없습니다" in response.content.decode()
        assert client.post(f"/pay/{code}/confirm/", {"ticket": "x"}).status_code == 404


@pytest.mark.django_db
def test_a_well_formed_code_of_no_shop_is_404(signed_in, citizen):
    assert signed_in.get(f"/pay/{merchant_codes.new_code()}/").status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in_and_back(anon_client, shop):
    response = anon_client.get(pay_url(shop))
    assert response["Location"] == f"/accounts/login/?next=/pay/{shop.code}/"
    response = anon_client.get(f"/pay/{shop.code.lower()}/")  # typed in lower case: the same shop
    assert response["Location"] == f"/accounts/login/?next=/pay/{shop.code}/"
    response = anon_client.post(reverse("merchant_pay_confirm", args=[shop.code]), {"ticket": "x"})
    assert response["Location"] == f"/accounts/login/?next=/pay/{shop.code}/"


@pytest.mark.django_db
def test_an_unverified_citizen_verifies_and_comes_back(signed_in, shop):
    response = signed_in.get(pay_url(shop))
    assert response["Location"] == reverse("vouchers:verify") + f"?next=%2Fpay%2F{shop.code}%2F"
    confirming = signed_in.post(reverse("merchant_pay_confirm", args=[shop.code]), {"ticket": "x"})
    assert confirming["Location"] == response["Location"]  # back to the shop page, not to a POST-only URL
    back = signed_in.post(response["Location"], {"name": "김진주", "birth_year": "1985", "ci": "TEST-CI-MPM"})
    assert back.status_code == 302 and back["Location"] == f"/pay/{shop.code}/"


@pytest.mark.django_db
def test_the_shop_page_shows_the_shop_and_the_spendable_balance(signed_in, citizen, shop):
    fund(citizen, 42_000)
    page = signed_in.get(pay_url(shop)).content.decode()
    assert 'id="shop-name">진주냉면' in page and "일반음식점" in page and "경상남도 진주시 진주성로 12" in page
    assert 'id="spendable">42,000원' in page and 'inputmode="numeric"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("amount, message", [
    ("", "결제할 금액을 입력해 주세요."),
    (None, "결제할 금액을 입력해 주세요."),  # no field at all
    ("0", "금액은 1원 이상이어야 합니다."),
    ("-1", "금액은 1원 이상이어야 합니다."),
    ("-0", "금액은 1원 이상이어야 합니다."),
    ("1.5", "금액은 원 단위로, 소수점 없이 입력해 주세요."),
    ("12,000.", "금액은 원 단위로, 소수점 없이 입력해 주세요."),
    ("abc", "금액은 숫자로만 입력해 주세요."),
    ("1e3", "금액은 숫자로만 입력해 주세요."),
    ("１２０００", "금액은 숫자로만 입력해 주세요."),
    ("9" * 25, "금액이 너무 큽니다."),
    ("9" * 40, "금액이 너무 큽니다."),
    ("42,001", "지갑 잔액이 부족합니다. 쓸 수 있는 잔액은 42,000원입니다."),
    ("9223372036854775807", "지갑 잔액이 부족합니다."),
])
def test_a_bad_amount_is_explained_under_the_field_and_nothing_is_paid(signed_in, citizen, shop, amount, message):
    fund(citizen, 42_000)
    response = enter_amount(signed_in, shop, amount)
    page = response.content.decode()
    assert response.status_code == 400
    errors = re.search(r'<ul class="errorlist" role="alert" id="id_amount-errors">(.*?)</ul>', page, re.S).group(1)
    assert message in errors
    assert 'name="ticket"' not in page and not Payment.objects.exists()


@pytest.mark.django_db
def test_paying_a_shop_asks_for_confirmation_then_pays_and_shows_the_receipt(signed_in, citizen, user, shop):
    fund(citizen, 50_000)
    response = enter_amount(signed_in, shop, "12,000원")
    page = response.content.decode()
    assert response.status_code == 200 and "진주냉면에 12,000원을 결제합니다" in page and ">결제</button>" in page
    assert not Payment.objects.exists()  # nothing paid before the 결제 button
    response = confirm(signed_in, shop, ticket_of(page))
    payment = Payment.objects.get()
    assert response["Location"] == reverse("vouchers:payment", args=[payment.pk])
    assert (payment.amount, payment.merchant, payment.user, payment.method) == (12_000, shop, user, "merchant_qr")
    assert payment.idempotency_key.startswith("web-")
    assert Wallet.objects.get(citizen=citizen).balance == 38_000
    receipt = signed_in.get(response["Location"]).content.decode()
    assert f'id="approval-number">{payment.approval_number}<' in receipt and len(payment.approval_number) == 10
    assert 'id="receipt-amount">12,000원' in receipt and "진주냉면" in receipt
    assert f"{months.seoul(payment.created_at):%Y-%m-%d %H:%M:%S}" in receipt  # Asia/Seoul
    assert 'id="balance-after">38,000원' in receipt
    assert_invariants()


@pytest.mark.django_db
def test_the_same_confirm_form_sent_twice_pays_once(signed_in, citizen, shop):
    fund(citizen, 50_000)
    ticket = ticket_of(enter_amount(signed_in, shop, "12000").content.decode())
    first = confirm(signed_in, shop, ticket)
    second = confirm(signed_in, shop, ticket)  # a double tap, or back and 결제 again
    assert first["Location"] == second["Location"]
    assert Payment.objects.count() == 1 and Wallet.objects.get(citizen=citizen).balance == 38_000
    assert "이미 결제한 요청입니다. 한 번만 결제되었습니다." in signed_in.get(second["Location"]).content.decode()
    # a new confirm form is a new payment
    confirm(signed_in, shop, ticket_of(enter_amount(signed_in, shop, "12000").content.decode()))
    assert Payment.objects.count() == 2 and Wallet.objects.get(citizen=citizen).balance == 26_000


@pytest.mark.django_db
def test_a_resubmit_that_finds_the_balance_spent_by_its_own_first_submit_shows_the_receipt(signed_in, citizen, shop):
    fund(citizen, 12_000)
    ticket = ticket_of(enter_amount(signed_in, shop, "12000").content.decode())
    first = confirm(signed_in, shop, ticket)
    assert confirm(signed_in, shop, ticket)["Location"] == first["Location"]
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_the_unique_key_alone_stops_a_second_payment(signed_in, citizen, user, shop, monkeypatch):
    """As if both submits had passed the look-up before either committed: the second one's insert
    meets UNIQUE (user, idempotency_key), rolls back whole (no second debit) and answers the first."""
    fund(citizen, 50_000)
    page = enter_amount(signed_in, shop, "12000").content.decode()
    ticket = web.read_pay_ticket(ticket_of(page), user=user, merchant=shop)
    first, replayed = web.pay_at_merchant(merchant=shop, citizen=citizen, user=user, ticket=ticket)
    assert not replayed
    calls = []
    real = web.selectors.web_payment

    def blind_first_look(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(web.selectors, "web_payment", blind_first_look)
    again, replayed = web.pay_at_merchant(merchant=shop, citizen=citizen, user=user, ticket=ticket)
    assert (again, replayed) == (first, True) and len(calls) == 2
    assert Payment.objects.count() == 1 and Wallet.objects.get(citizen=citizen).balance == 38_000
    assert Wallet.objects.get(citizen=citizen).entries.count() == 2
    assert_invariants()


@pytest.mark.django_db
def test_the_database_refuses_a_second_payment_with_an_accounts_key(citizen, user, shop, make_client):
    fund(citizen, 50_000)
    first = services.pay_merchant(merchant_code=shop.code, citizen_id=citizen.pk, amount=1_000, actor=user,
                                  idempotency_key="web-k")
    with pytest.raises(IntegrityError), transaction.atomic():
        services.pay_merchant(merchant_code=shop.code, citizen_id=citizen.pk, amount=1_000, actor=user,
                              idempotency_key="web-k")
    # the constraint is per account, and leaves keyless and API payments alone
    services.pay_merchant(merchant_code=shop.code, citizen_id=citizen.pk, amount=1_000, actor=user)
    services.pay_merchant(merchant_code=shop.code, citizen_id=citizen.pk, amount=1_000, actor=user)
    app = make_client("sales_agent")[0]
    for _ in range(2):
        services.pay_merchant(merchant_code=shop.code, citizen_id=citizen.pk, amount=1_000, actor=app,
                              idempotency_key="web-k")
    assert Payment.objects.count() == 5 and Payment.objects.filter(user=user, idempotency_key="web-k").get() == first


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.parametrize("funds", [50_000, 12_000])  # the second submit meets the key / finds the balance spent
def test_the_same_confirm_form_sent_by_six_tabs_at_once_pays_once(user, shop, funds):
    citizen = CitizenFactory(user=user)
    fund(citizen, funds)
    client = Client()
    client.force_login(user)
    ticket = ticket_of(enter_amount(client, shop, "12000").content.decode())
    cookies = client.cookies
    barrier = threading.Barrier(6)
    answers = []

    def worker():
        racer = Client()
        racer.cookies = cookies
        try:
            barrier.wait(timeout=30)
            response = confirm(racer, shop, ticket)
            answers.append((response.status_code, response.get("Location")))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    payment = Payment.objects.get()
    assert answers == [(302, reverse("vouchers:payment", args=[payment.pk]))] * 6
    assert Wallet.objects.get(citizen=citizen).balance == funds - 12_000
    assert Wallet.objects.get(citizen=citizen).entries.count() == 2
    assert_invariants()


@pytest.mark.django_db
def test_a_ticket_is_bound_to_its_account_shop_and_contents(signed_in, citizen, shop, make_user):
    fund(citizen, 50_000)
    ticket = ticket_of(enter_amount(signed_in, shop, "12000").content.decode())
    other_shop = MerchantFactory()
    response = confirm(signed_in, other_shop, ticket)
    assert response["Location"] == pay_url(other_shop)
    assert "결제 확인 정보를 읽을 수 없습니다" in signed_in.get(response["Location"]).content.decode()
    assert confirm(signed_in, shop, ticket[:-2] + "xx")["Location"] == pay_url(shop)  # tampered
    assert confirm(signed_in, shop, "")["Location"] == pay_url(shop)
    other = Client()
    other_user = make_user()
    CitizenFactory(user=other_user)
    other.force_login(other_user)
    assert confirm(other, shop, ticket)["Location"] == pay_url(shop)  # someone else's form
    assert not Payment.objects.exists()
    assert signed_in.get(pay_url(shop)).status_code == 200


@pytest.mark.django_db
def test_a_confirm_form_older_than_ten_minutes_pays_nothing(signed_in, citizen, shop, frozen_clock):
    fund(citizen, 50_000)
    ticket = ticket_of(enter_amount(signed_in, shop, "12000").content.decode())
    frozen_clock.shift(dt.timedelta(minutes=10, seconds=1))
    response = confirm(signed_in, shop, ticket)
    assert response["Location"] == pay_url(shop) and not Payment.objects.exists()
    assert "결제 확인 시간(10분)이 지났습니다" in signed_in.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_a_late_resubmit_of_a_form_that_paid_still_shows_its_receipt(signed_in, citizen, shop, frozen_clock):
    fund(citizen, 50_000)
    ticket = ticket_of(enter_amount(signed_in, shop, "12000").content.decode())
    first = confirm(signed_in, shop, ticket)
    frozen_clock.shift(dt.timedelta(hours=1))
    assert confirm(signed_in, shop, ticket)["Location"] == first["Location"]
    assert Payment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("change, message", [
    ({"status": "suspended"}, "지금 상품권 결제를 받을 수 없는 가맹점입니다"),
    ({"status": "pending"}, "지금 상품권 결제를 받을 수 없는 가맹점입니다"),
    ({"accepts_mobile": False}, "모바일 상품권을 받지 않는 가맹점입니다."),
])
def test_a_shop_that_cannot_take_the_wallet_is_explained(signed_in, citizen, shop, change, message):
    fund(citizen, 50_000)
    type(shop).objects.filter(pk=shop.pk).update(**change)
    page = signed_in.get(pay_url(shop)).content.decode()
    assert 'id="merchant-refusal"' in page and message in page
    for typed in ("12000", "abc"):  # the shop's reason, whatever was typed
        response = enter_amount(signed_in, shop, typed)
        assert response.status_code == 400 and 'name="ticket"' not in response.content.decode()
        assert message in re.search(r'id="id_amount-errors">(.*?)</ul>', response.content.decode(), re.S).group(1)
    assert not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("between, message", [
    ("suspend", "지금 상품권 결제를 받을 수 없는 가맹점입니다"),
    ("spend", "지갑 잔액이 부족합니다."),
])
def test_the_services_refusal_at_the_pay_step_is_shown_under_the_amount(signed_in, citizen, user, shop, till,
                                                                         between, message):
    """Between the confirm page and the 결제 button the shop was suspended, or the wallet was spent
    at the counter: the service refuses, and the page says why under the amount."""
    fund(citizen, 20_000)
    ticket = ticket_of(enter_amount(signed_in, shop, "12000").content.decode())
    if between == "suspend":
        type(shop).objects.filter(pk=shop.pk).update(status="suspended")
    else:
        code = services.issue_pay_code(citizen_id=citizen.pk, actor=user)
        services.pay_with_code(pay_code=code.token, amount=10_000, actor=till)
    response = confirm(signed_in, shop, ticket)
    page = response.content.decode()
    assert response.status_code == 409
    assert message in re.search(r'id="id_amount-errors">(.*?)</ul>', page, re.S).group(1)
    assert 'value="12,000"' in page  # the amount stays typed
    assert Payment.objects.filter(method="merchant_qr").count() == 0


@pytest.mark.django_db
def test_someone_elses_receipt_is_not_found(signed_in, citizen, shop, make_user):
    other_user = make_user()
    other = CitizenFactory(user=other_user)
    fund(other, 10_000)
    theirs = services.pay_merchant(merchant_code=shop.code, citizen_id=other.pk, amount=5_000, actor=other_user)
    assert signed_in.get(reverse("vouchers:payment", args=[theirs.pk])).status_code == 404
    assert signed_in.get(reverse("vouchers:payment", args=[10**12])).status_code == 404


@pytest.mark.django_db
def test_the_pay_pages_render_in_english_too(signed_in, citizen, shop, settings):
    fund(citizen, 50_000)
    issue(signed_in)
    ticket = ticket_of(enter_amount(signed_in, shop, "1000").content.decode())
    receipt = confirm(signed_in, shop, ticket)["Location"]
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for url in (reverse("vouchers:pay_code"), pay_url(shop), receipt):
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert '<html lang="en">' in response.content.decode(), url
    assert signed_in.get("/pay/NOSUCH00/").status_code == 404
