"""잔액 환불 on the citizen's pages (issue #9): offered on 내 상품권 when a purchase paid online is
used past the ratio; a page with each purchase's used share and what would go back, a confirmation
form with a one-time key that refunds once however often it is sent, and the result page; Korean
refusals. The sandbox gateway pays the card back (RecordingGateway)."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.races import race
from tests.vouchers.conftest import assert_invariants
from tests.vouchers.factories import MerchantFactory, TrancheFactory
from tests.vouchers_web.conftest import fund
from vouchers import services, web
from vouchers.models import MonthlyUsage, PaymentRefund, Tranche, Wallet, WalletEntry

pytestmark = [pytest.mark.clock, pytest.mark.usefixtures("frozen_clock")]  # the form's 10 minutes, validity

URL = "/vouchers/my/balance-refund/"
TICKET = re.compile(r'name="ticket" value="([^"]+)"')


def web_purchase(citizen, user, face_value):
    """Bought and paid on the portal (reserve → sandbox payment → confirmed)."""
    tranche = TrancheFactory(quota=10**9)
    held = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=face_value, actor=user)
    return services.settle_payment(reservation_id=held.pk, payment_reference=f"sandbox-{held.pk}-0a1b2c",
                                   paid=True).purchase


def spend(citizen, amount):
    services.pay_merchant(merchant_code=MerchantFactory().code, amount=amount, citizen_id=citizen.pk, actor=None)


def ticket_of(page: str) -> str:
    return TICKET.search(page).group(1)


@pytest.mark.django_db
def test_the_page_is_for_verified_citizens(signed_in):
    assert reverse("vouchers:balance_refund") == URL
    anon = Client()
    assert anon.get(URL)["Location"] == f"/accounts/login/?next={URL}"
    assert anon.post(URL).status_code == 302 and not PaymentRefund.objects.exists()
    assert signed_in.get(URL)["Location"].startswith(reverse("vouchers:verify") + "?next=")


@pytest.mark.django_db
def test_my_vouchers_offers_the_refund_only_once_the_share_is_used(signed_in, citizen, user, recording_gateway):
    web_purchase(citizen, user, 50_000)
    spend(citizen, 29_000)  # 58 %
    mine = signed_in.get(reverse("vouchers:mine")).content.decode()
    assert 'id="go-balance-refund"' not in mine
    page = signed_in.get(URL).content.decode()
    assert "60% 이상을 쓰셨다면" in page and "할인만큼을 뺀 금액" in page  # the rule in plain Korean
    assert 'name="ticket"' not in page and "아직 액면가의 60% 이상을 쓴 구매가 없어" in page
    assert "58%" in page
    spend(citizen, 1_000)  # 60 %
    assert 'id="go-balance-refund"' in signed_in.get(reverse("vouchers:mine")).content.decode()


@pytest.mark.django_db
def test_confirming_refunds_once_to_the_card_and_shows_the_result(signed_in, citizen, user, recording_gateway,
                                                                   django_capture_on_commit_callbacks):
    purchase = web_purchase(citizen, user, 50_000)
    spend(citizen, 31_500)  # 63 %: 18,500 left, 16,650 back at 10 %
    sold, used = Tranche.objects.get(pk=purchase.tranche_id).sold, MonthlyUsage.objects.get(citizen=citizen).purchased
    page = signed_in.get(URL).content.decode()
    assert "63%" in page and "18,500원" in page and 'class="paid-back">16,650원' in page
    assert "지갑에서 18,500원을 빼고 16,650원을 돌려받습니다" in page
    assert not PaymentRefund.objects.exists()  # a GET writes nothing
    ticket = ticket_of(page)
    with django_capture_on_commit_callbacks(execute=True):
        done = signed_in.post(URL, {"ticket": ticket})
    assert done.status_code == 302 and done["Location"].startswith(reverse("vouchers:balance_refund_done"))
    again = signed_in.post(URL, {"ticket": ticket})  # a double submit: the same result, no second refund
    assert again["Location"] == done["Location"]
    assert PaymentRefund.objects.count() == 1 and WalletEntry.objects.filter(kind="balance_refund").count() == 1
    assert recording_gateway.refunds == [(purchase.reservation.payment_reference, 16_650)]
    assert Wallet.objects.get(citizen=citizen).balance == 0
    assert Tranche.objects.get(pk=purchase.tranche_id).sold == sold  # quota and month usage stay
    assert MonthlyUsage.objects.get(citizen=citizen).purchased == used
    result = signed_in.get(done["Location"]).content.decode()
    assert "지갑에서 18,500원을 빼고 16,650원을 환불합니다" in result and "환불 완료" in result
    assert "이미 처리한 요청입니다" in result  # the replay said so
    other = Client()
    other.force_login(type(user).objects.create_user(username="someone-else"))
    assert other.get(done["Location"]).status_code in (302, 404)  # another account never sees it
    assert_invariants()


@pytest.mark.django_db
def test_a_refusal_at_confirmation_is_a_korean_message_and_changes_nothing(signed_in, citizen, user,
                                                                           recording_gateway):
    web_purchase(citizen, user, 20_000)
    spend(citizen, 15_000)
    ticket = ticket_of(signed_in.get(URL).content.decode())
    spend(citizen, 5_000)  # spent the rest meanwhile
    answer = signed_in.post(URL, {"ticket": ticket}, follow=True)
    assert "환불받을 남은 금액이 없습니다" in answer.content.decode()
    assert not PaymentRefund.objects.exists()
    forged = signed_in.post(URL, {"ticket": "not-a-ticket"}, follow=True)
    assert "환불 확인 정보를 읽을 수 없습니다" in forged.content.decode() and not PaymentRefund.objects.exists()


@pytest.mark.django_db
def test_a_stale_form_is_refused(signed_in, citizen, user, recording_gateway, frozen_clock):
    web_purchase(citizen, user, 20_000)
    spend(citizen, 15_000)
    ticket = ticket_of(signed_in.get(URL).content.decode())
    frozen_clock.shift(web.TICKET_AGE.total_seconds() + 1)
    answer = signed_in.post(URL, {"ticket": ticket}, follow=True)
    assert "환불 확인 시간(10분)이 지났습니다" in answer.content.decode() and not PaymentRefund.objects.exists()


@pytest.mark.django_db
def test_purchases_from_a_counter_or_app_are_sent_there(signed_in, citizen):
    fund(citizen, 100_000)  # a wallet app's sale
    spend(citizen, 90_000)
    page = signed_in.get(URL).content.decode()
    assert 'name="ticket"' not in page and "은행 창구나 구매한 앱에서 환불받을 수 있습니다" in page
    assert "은행 창구나 그 앱에서 환불받을 수 있습니다" in page  # the refusal, in the services' words
    assert 'id="go-balance-refund"' not in signed_in.get(reverse("vouchers:mine")).content.decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_same_form_sent_twice_at_once_refunds_once(citizen, user, recording_gateway):
    web_purchase(citizen, user, 30_000)
    spend(citizen, 20_000)
    browser = Client()
    browser.force_login(user)
    ticket = ticket_of(browser.get(URL).content.decode())

    def submit():
        c = Client()
        c.force_login(user)
        return c.post(URL, {"ticket": ticket})["Location"]

    results = race(submit, [(), ()])
    assert [kind for kind, _ in results] == ["ok", "ok"] and results[0][1] == results[1][1], results
    assert PaymentRefund.objects.count() == 1 and len(recording_gateway.refunds) == 1
    assert_invariants()


@pytest.mark.django_db
def test_the_result_page_needs_a_key_of_this_account(signed_in, citizen):
    assert signed_in.get(reverse("vouchers:balance_refund_done")).status_code == 404
    assert signed_in.get(reverse("vouchers:balance_refund_done") + "?key=web-nothing").status_code == 404
