"""내 상품권: wallet balance and ledger, the month's usage, purchases, and cancelling with a confirmation step."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.vouchers.conftest import assert_invariants
from tests.vouchers.factories import CitizenFactory, TrancheFactory
from tests.vouchers_web.test_purchase_pages import answer, reserve, start_payment
from vouchers import services
from vouchers.models import MonthlyUsage, PaymentRefund, Purchase, Tranche, Wallet

pytestmark = pytest.mark.clock  # the 7-day cancel window, the month's usage


def buy_on_the_web(client, tranche, amount="50,000"):
    reservation = reserve(client, tranche, amount)
    answer(client, reservation, start_payment(client, reservation), "paid")
    return Purchase.objects.get(reservation=reservation)


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")  # both sales and the page in one month
def test_my_page_shows_balance_ledger_usage_and_purchases(signed_in, citizen, tranche):
    services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=30_000, channel="zeropay_app")
    web = buy_on_the_web(signed_in, tranche)
    page = signed_in.get(reverse("vouchers:mine")).content.decode()
    assert 'id="wallet-balance">80,000원' in page
    assert 'id="usage-purchased">80,000원' in page and 'id="usage-remaining">220,000원' in page
    assert f"구매 충전 (구매 #{web.pk})" in page and "+50,000원" in page
    assert "<td class=\"num\">80,000원</td>" in page  # balance after the second credit
    assert "제로페이 앱" in page and "누리집" in page and "구매 완료" in page
    # the web purchase may be cancelled here; the app's purchase only where it was bought
    assert reverse("vouchers:cancel", args=[web.pk]) in page
    app = Purchase.objects.get(channel="zeropay_app")
    assert reverse("vouchers:cancel", args=[app.pk]) not in page


@pytest.mark.django_db
def test_cancel_asks_for_confirmation_then_gives_everything_back(signed_in, citizen, tranche):
    purchase = buy_on_the_web(signed_in, tranche)
    confirm = signed_in.get(reverse("vouchers:cancel", args=[purchase.pk])).content.decode()
    assert "네, 구매를 취소합니다" in confirm and "7일" in confirm
    assert Purchase.objects.get().status == "completed"  # a GET changes nothing
    response = signed_in.post(reverse("vouchers:cancel", args=[purchase.pk]))
    assert response["Location"] == reverse("vouchers:mine")
    page = signed_in.get(response["Location"]).content.decode()
    assert "구매를 취소했습니다" in page and "구매 취소" in page
    assert 'id="wallet-balance">0원' in page and 'id="usage-remaining">300,000원' in page
    assert Purchase.objects.get().status == "cancelled"
    assert Tranche.objects.get().sold == 0 and MonthlyUsage.objects.get().purchased == 0
    assert reverse("vouchers:cancel", args=[purchase.pk]) + '"' not in page  # no button any more
    # a repeated confirmation changes nothing
    signed_in.post(reverse("vouchers:cancel", args=[purchase.pk]))
    assert Wallet.objects.get().balance == 0 and Wallet.objects.get().entries.count() == 2
    assert_invariants()


@pytest.mark.django_db
def test_cancelling_a_paid_web_purchase_refunds_the_payment_once(signed_in, citizen, tranche, recording_gateway,
                                                                 django_capture_on_commit_callbacks):
    purchase = buy_on_the_web(signed_in, tranche)
    reference = purchase.reservation.payment_reference
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("vouchers:cancel", args=[purchase.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("vouchers:cancel", args=[purchase.pk]))
    assert recording_gateway.refunds == [(reference, 45_000)]
    refund = PaymentRefund.objects.get()
    assert (refund.purchase_id, refund.reason, refund.status, refund.attempts) == (purchase.pk, "cancelled", "done", 1)


@pytest.mark.django_db
def test_cancel_after_seven_days_is_refused_with_a_message(signed_in, citizen, user):
    old = TrancheFactory(opens_at=timezone.now() - dt.timedelta(days=20))
    bought = services.purchase_vouchers(tranche_id=old.pk, citizen=citizen, face_value=10_000, channel="web",
                                        actor=user, now=timezone.now() - dt.timedelta(days=8))
    page = signed_in.get(reverse("vouchers:mine")).content.decode()
    assert reverse("vouchers:cancel", args=[bought.id]) not in page
    assert "누리집에서 취소할 수 없습니다" in signed_in.get(reverse("vouchers:cancel", args=[bought.id])).content.decode()
    response = signed_in.post(reverse("vouchers:cancel", args=[bought.id]))
    assert "구매 후 7일이 지나 취소할 수 없습니다." in signed_in.get(response["Location"]).content.decode()
    assert Purchase.objects.get().status == "completed" and Wallet.objects.get().balance == 10_000


@pytest.mark.django_db
def test_a_purchase_made_elsewhere_cannot_be_cancelled_here(signed_in, citizen, tranche):
    bought = services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=10_000,
                                        channel="zeropay_app")
    response = signed_in.post(reverse("vouchers:cancel", args=[bought.id]))
    assert "구매한 곳(은행 창구·앱)에 문의해 주세요" in signed_in.get(response["Location"]).content.decode()
    assert Purchase.objects.get().status == "completed"


@pytest.mark.django_db
def test_someone_elses_purchase_is_not_found(signed_in, citizen, tranche, make_user):
    other = CitizenFactory(user=make_user())
    theirs = services.purchase_vouchers(tranche_id=tranche.pk, citizen=other, face_value=10_000, channel="web",
                                        actor=other.user)
    assert signed_in.get(reverse("vouchers:cancel", args=[theirs.id])).status_code == 404
    assert signed_in.post(reverse("vouchers:cancel", args=[theirs.id])).status_code == 404
    assert Purchase.objects.get().status == "completed"


@pytest.mark.django_db
def test_an_empty_wallet_page_for_a_new_citizen(signed_in, citizen):
    page = signed_in.get(reverse("vouchers:mine")).content.decode()
    assert 'id="wallet-balance">0원' in page and "아직 구매 내역이 없습니다." in page


@pytest.mark.django_db
def test_every_page_renders_in_english_too(signed_in, citizen, tranche, settings):
    purchase = buy_on_the_web(signed_in, tranche)
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    urls = [reverse("vouchers:index"), reverse("vouchers:buy"), reverse("vouchers:mine"),
            reverse("vouchers:cancel", args=[purchase.pk]),
            reverse("vouchers:reservation", args=[purchase.reservation.pk])]
    for url in urls:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert '<html lang="en">' in response.content.decode(), url


@pytest.mark.django_db
def test_the_cancel_page_says_why_a_purchase_cannot_be_cancelled(signed_in, citizen, tranche):
    purchase = buy_on_the_web(signed_in, tranche)
    Wallet.objects.filter(citizen=citizen).update(balance=10_000)  # part of it spent at a shop
    page = signed_in.get(reverse("vouchers:cancel", args=[purchase.pk])).content.decode()
    assert "이미 사용한 금액이 있어 취소할 수 없습니다." in page and "네, 구매를 취소합니다" not in page
    assert reverse("vouchers:cancel", args=[purchase.pk]) not in signed_in.get(reverse("vouchers:mine")).content.decode()
    Wallet.objects.filter(citizen=citizen).update(balance=50_000)
    signed_in.post(reverse("vouchers:cancel", args=[purchase.pk]))
    assert "이미 취소된 구매입니다." in signed_in.get(reverse("vouchers:cancel", args=[purchase.pk])).content.decode()


@pytest.mark.django_db
def test_a_staff_account_on_the_citizen_pages_cannot_cancel_a_purchase_made_at_a_branch(signed_in, citizen, user,
                                                                                          tranche):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    bought = services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=30_000,
                                        channel="zeropay_app")  # the account's citizen, sold by a partner
    response = signed_in.post(reverse("vouchers:cancel", args=[bought.id]))
    assert response.status_code == 302
    assert Purchase.objects.get(pk=bought.id).status == "completed"
    assert "누리집에서 취소할 수 없습니다" in signed_in.get(response["Location"]).content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")  # both purchases and the payment inside the 7 days, one month
def test_a_purchase_whose_credit_a_shop_payment_spent_cannot_be_cancelled_though_the_balance_covers_it(
        signed_in, citizen, user, tranche):
    """Credits are spent oldest first: 10,000 paid at a shop comes out of the first 50,000, so that
    purchase is used (already_used) while the wallet's 90,000 still covers it; the second is untouched."""
    from tests.vouchers.factories import MerchantFactory

    older, newer = buy_on_the_web(signed_in, tranche), buy_on_the_web(signed_in, tranche)
    shop = MerchantFactory(name="진주냉면")
    services.pay_merchant(merchant_code=shop.code, citizen_id=citizen.pk, amount=10_000, actor=user)
    assert Wallet.objects.get(citizen=citizen).balance == 90_000
    page = signed_in.get(reverse("vouchers:cancel", args=[older.pk])).content.decode()
    assert 'id="cancel-refusal"' in page and "이미 사용한 금액이 있어 취소할 수 없습니다." in page
    assert "네, 구매를 취소합니다" not in page
    mine = signed_in.get(reverse("vouchers:mine")).content.decode()
    assert reverse("vouchers:cancel", args=[older.pk]) not in mine
    assert reverse("vouchers:cancel", args=[newer.pk]) in mine
    response = signed_in.post(reverse("vouchers:cancel", args=[older.pk]))
    assert "이미 사용한 금액이 있어 취소할 수 없습니다." in signed_in.get(response["Location"]).content.decode()
    assert Purchase.objects.get(pk=older.pk).status == "completed"
    assert "네, 구매를 취소합니다" in signed_in.get(reverse("vouchers:cancel", args=[newer.pk])).content.decode()
    signed_in.post(reverse("vouchers:cancel", args=[newer.pk]))
    assert Purchase.objects.get(pk=newer.pk).status == "cancelled"
    assert Wallet.objects.get(citizen=citizen).balance == 40_000
    assert_invariants()
