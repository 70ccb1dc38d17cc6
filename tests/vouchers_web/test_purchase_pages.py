"""Web purchase pages: reserve → sandbox pay → confirm, every refusal as a Korean message, lapse, double pay."""
import datetime as dt
import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.vouchers.conftest import assert_invariants
from tests.vouchers.factories import CitizenFactory, TrancheFactory
from vouchers import months, payments, services  # noqa: F401
from vouchers.models import MonthlyUsage, PaymentRefund, Purchase, Reservation, Tranche, Wallet, WalletEntry

pytestmark = pytest.mark.clock  # the 10-minute hold, 5부제 days, the month's usage


def reserve(client, tranche, amount="50,000"):
    response = client.post(reverse("vouchers:buy"), {"tranche": tranche.pk, "face_value": amount})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Reservation.objects.get(pk=int(re.search(r"/reservations/(\d+)/", response["Location"]).group(1)))


def start_payment(client, reservation):
    response = client.post(reverse("vouchers:pay", args=[reservation.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("vouchers:sandbox", args=[reservation.pk]) + "?ref=sandbox-")
    return response["Location"].split("?ref=")[1]


def answer(client, reservation, reference, outcome):
    return client.post(reverse("vouchers:payment_return", args=[reservation.pk]),
                       {"reference": reference, "outcome": outcome})


def no_hold_written():
    return not Reservation.objects.exists() and Tranche.objects.filter(sold__gt=0).count() == 0 and not (
        MonthlyUsage.objects.filter(purchased__gt=0).exists())


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")  # the month's usage on four pages, one month
def test_buying_50000_reserves_pays_in_the_sandbox_and_credits_the_wallet(signed_in, citizen, tranche):
    form = signed_in.get(reverse("vouchers:buy")).content.decode()
    assert "2026년 모바일 1차" in form and 'id="usage-remaining">300,000원' in form
    reservation = reserve(signed_in, tranche)
    assert (reservation.face_value, reservation.price, reservation.status) == (50_000, 45_000, "held")
    assert Tranche.objects.get().sold == 50_000  # the hold counts at once
    page = signed_in.get(reverse("vouchers:reservation", args=[reservation.pk])).content.decode()
    assert 'id="price">45,000원' in page and "45,000원 결제하기" in page
    assert f"{months.seoul(reservation.expires_at):%H:%M:%S}까지 결제해 주세요." in page
    assert 'id="usage-remaining">250,000원' in page

    reference = start_payment(signed_in, reservation)
    sandbox = signed_in.get(reverse("vouchers:sandbox", args=[reservation.pk]), {"ref": reference}).content.decode()
    assert "테스트 결제(샌드박스)" in sandbox and "승인" in sandbox and "실패" in sandbox
    response = answer(signed_in, reservation, reference, "paid")
    assert response["Location"] == reverse("vouchers:reservation", args=[reservation.pk])
    result = signed_in.get(response["Location"]).content.decode()
    assert "구매 완료" in result and "모바일 지갑에 50,000원이 충전되었습니다." in result
    assert 'id="wallet-balance">50,000원' in result and 'id="usage-remaining">250,000원' in result
    purchase = Purchase.objects.get()
    assert (purchase.channel, purchase.face_value, purchase.price, purchase.user_id) == ("web", 50_000, 45_000,
                                                                                         citizen.user_id)
    assert Reservation.objects.get().payment_reference == reference
    assert Wallet.objects.get(citizen=citizen).balance == 50_000
    assert_invariants()


@pytest.mark.django_db
def test_a_failed_sandbox_payment_gives_the_hold_back_at_once(signed_in, citizen, tranche):
    reservation = reserve(signed_in, tranche, "100000")
    reference = start_payment(signed_in, reservation)
    response = answer(signed_in, reservation, reference, "failed")
    page = signed_in.get(response["Location"]).content.decode()
    assert "결제가 되지 않았습니다" in page and 'id="usage-remaining">300,000원' in page
    assert Reservation.objects.get().status == "failed"
    assert Tranche.objects.get().sold == 0 and MonthlyUsage.objects.get().purchased == 0
    assert not Purchase.objects.exists() and not WalletEntry.objects.exists()
    # and a "paid" answer arriving afterwards is refused (and would be refunded), never confirmed
    answer(signed_in, reservation, reference, "paid")
    assert not Purchase.objects.exists()
    assert_invariants()


@pytest.mark.django_db
def test_double_submitting_pay_charges_and_credits_once(signed_in, citizen, tranche, recording_gateway):
    reservation = reserve(signed_in, tranche)
    reference = start_payment(signed_in, reservation)
    for _ in range(3):
        answer(signed_in, reservation, reference, "paid")
    # once paid, "pay" starts no new payment
    assert signed_in.post(reverse("vouchers:pay", args=[reservation.pk]))["Location"] == reverse(
        "vouchers:reservation", args=[reservation.pk])
    assert Purchase.objects.count() == 1
    assert list(WalletEntry.objects.values_list("amount", flat=True)) == [50_000]
    assert Wallet.objects.get().balance == 50_000 and Tranche.objects.get().sold == 50_000
    assert recording_gateway.refunds == []
    assert_invariants()


@pytest.mark.django_db
def test_two_tabs_paying_the_same_hold_are_charged_once_and_the_extra_payment_refunded(
        signed_in, citizen, tranche, recording_gateway, django_capture_on_commit_callbacks):
    reservation = reserve(signed_in, tranche)
    first = start_payment(signed_in, reservation)
    second = start_payment(signed_in, reservation)  # both started while the hold was pending
    answer(signed_in, reservation, first, "paid")
    with django_capture_on_commit_callbacks(execute=True):
        answer(signed_in, reservation, second, "paid")
    assert PaymentRefund.objects.get().reason == "duplicate_payment"
    assert Purchase.objects.count() == 1 and Wallet.objects.get().balance == 50_000
    assert recording_gateway.refunds == [(second, 45_000)]
    assert_invariants()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_pay_answers_racing_in_parallel_confirm_one_purchase(user, tranche):
    citizen = CitizenFactory(user=user)
    client = Client()
    client.force_login(user)
    reservation = reserve(client, tranche)
    reference = start_payment(client, reservation)
    cookies = client.cookies
    barrier = threading.Barrier(6)
    codes = []

    def worker():
        racer = Client()
        racer.cookies = cookies
        try:
            barrier.wait(timeout=30)
            codes.append(answer(racer, reservation, reference, "paid").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes == [302] * 6
    assert Purchase.objects.filter(citizen=citizen).count() == 1
    assert Wallet.objects.get(citizen=citizen).balance == 50_000
    assert WalletEntry.objects.count() == 1
    assert_invariants()


@pytest.mark.django_db
@pytest.mark.parametrize("amount, message", [
    ("", "구매할 금액을 입력해 주세요."),
    ("abc", "금액은 원 단위의 숫자로만 입력해 주세요."),
    ("-5000", "금액은 원 단위의 숫자로만 입력해 주세요."),
    ("1.5", "금액은 원 단위의 숫자로만 입력해 주세요."),
    ("５００００", "금액은 원 단위의 숫자로만 입력해 주세요."),
    ("0", "금액은 0원보다 커야 합니다."),
    ("12,345", "금액은 1,000원 단위로 입력해 주세요."),
    ("500", "금액은 1,000원 단위로 입력해 주세요."),
    ("1" + "0" * 25, "금액이 너무 큽니다."),
    ("99999999999999999999", "금액이 너무 큽니다."),
])
def test_invalid_amounts_get_a_korean_form_error_and_hold_nothing(signed_in, citizen, tranche, amount, message):
    response = signed_in.post(reverse("vouchers:buy"), {"tranche": tranche.pk, "face_value": amount})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert no_hold_written()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "99999999999999999999999"])
def test_a_missing_or_unknown_tranche_is_a_form_error(signed_in, citizen, tranche, value):
    response = signed_in.post(reverse("vouchers:buy"), {"tranche": value, "face_value": "50000"})
    assert response.status_code == 400
    assert "회차를 골라 주세요" in response.content.decode()
    assert no_hold_written()


def _refusal(signed_in, tranche, amount="50000"):
    response = signed_in.post(reverse("vouchers:buy"), {"tranche": tranche.pk, "face_value": amount})
    assert response.status_code == 400
    return response.content.decode()


@pytest.mark.django_db
def test_tranche_not_open_is_explained(signed_in, citizen):
    closed = TrancheFactory(opens_at=timezone.now() - dt.timedelta(days=40))
    assert "지금은 이 회차의 판매 기간이 아닙니다." in _refusal(signed_in, closed)
    assert no_hold_written()


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")  # opened at today's midnight, refused still on day 1
def test_not_rotation_day_names_todays_digits(signed_in, citizen):
    start = months.seoul(timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    rotation = TrancheFactory(rotation=True, opens_at=start)
    assert "오늘은 5부제 판매 1일째라 출생 연도 끝자리가 1 또는 6인 분만 살 수 있습니다." in _refusal(signed_in, rotation)
    assert no_hold_written()


@pytest.mark.django_db
def test_a_refusal_is_explained_for_the_day_it_was_decided_even_if_midnight_passes_meanwhile(
        signed_in, citizen, frozen_clock, monkeypatch):
    start = months.seoul(timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    rotation = TrancheFactory(rotation=True, opens_at=start)
    reserve_purchase = services.reserve_purchase

    def refused_just_before_midnight(**kwargs):
        try:
            return reserve_purchase(**kwargs)
        finally:
            frozen_clock.shift(dt.timedelta(days=1))  # day 2 has begun by the time the page explains

    monkeypatch.setattr(services, "reserve_purchase", refused_just_before_midnight)
    assert "5부제 판매 1일째라 출생 연도 끝자리가 1 또는 6인 분만" in _refusal(signed_in, rotation)


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")  # the 280,000 counts only in its own month
def test_monthly_limit_exceeded_says_what_is_left(signed_in, citizen, tranche):
    services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=280_000, channel="zeropay_app")
    assert "이번 달에 더 살 수 있는 금액은 20,000원입니다." in _refusal(signed_in, tranche, "50,000")


@pytest.mark.django_db
def test_tranche_sold_out_says_what_is_left(signed_in, citizen):
    small = TrancheFactory(quota=30_000)
    assert "이 회차의 남은 발행 한도(30,000원)가 구매 금액보다 적습니다." in _refusal(signed_in, small)
    assert no_hold_written()


@pytest.mark.django_db
def test_a_paper_tranche_cannot_be_bought_on_the_web(signed_in, citizen):
    paper = TrancheFactory(medium="paper")
    assert "판매 중인 모바일 상품권 회차를 골라 주세요." in _refusal(signed_in, paper)
    assert no_hold_written()


@pytest.mark.django_db
def test_a_released_reservation_is_shown_as_expired_and_a_late_payment_is_refunded(
        signed_in, citizen, tranche, recording_gateway, django_capture_on_commit_callbacks):
    reservation = reserve(signed_in, tranche)
    reference = start_payment(signed_in, reservation)
    assert services.release_lapsed_reservations(now=timezone.now() + dt.timedelta(minutes=11)) == 1
    page = signed_in.get(reverse("vouchers:reservation", args=[reservation.pk])).content.decode()
    assert "결제 기한(10분)이 지나 예약이 해제되었습니다." in page and "결제하기</button>" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = answer(signed_in, reservation, reference, "paid")
    refund = PaymentRefund.objects.get()
    assert (refund.reservation_id, refund.purchase_id, refund.reason, refund.amount, refund.status) == (
        reservation.pk, None, "late_payment", 45_000, "done")
    assert "결제한 금액은 환불됩니다." in signed_in.get(response["Location"]).content.decode()
    assert not Purchase.objects.exists() and recording_gateway.refunds == [(reference, 45_000)]
    assert Tranche.objects.get().sold == 0
    assert_invariants()


@pytest.mark.django_db
def test_a_hold_past_its_window_shows_expired_and_offers_no_payment_before_the_job_runs(signed_in, citizen, tranche):
    reservation = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=10_000,
                                            actor=citizen.user, now=timezone.now() - dt.timedelta(minutes=11))
    page = signed_in.get(reverse("vouchers:reservation", args=[reservation.pk])).content.decode()
    assert 'id="reservation-expired"' in page and "결제하기</button>" not in page
    response = signed_in.post(reverse("vouchers:pay", args=[reservation.pk]))
    assert response["Location"] == reverse("vouchers:reservation", args=[reservation.pk])  # no payment started


@pytest.mark.django_db
def test_giving_up_a_hold_returns_it_at_once(signed_in, citizen, tranche):
    reservation = reserve(signed_in, tranche)
    assert signed_in.post(reverse("vouchers:give_up", args=[reservation.pk]))["Location"] == reverse("vouchers:buy")
    assert Reservation.objects.get().status == "failed" and Tranche.objects.get().sold == 0
    assert_invariants()


@pytest.mark.django_db
def test_someone_elses_reservation_is_not_found(signed_in, citizen, tranche, make_user):
    other = CitizenFactory(user=make_user())
    theirs = services.reserve_purchase(tranche_id=tranche.pk, citizen=other, face_value=10_000, actor=other.user)
    for name in ("reservation", "sandbox"):
        assert signed_in.get(reverse(f"vouchers:{name}", args=[theirs.pk])).status_code == 404
    for name in ("pay", "payment_return", "give_up"):
        assert signed_in.post(reverse(f"vouchers:{name}", args=[theirs.pk]),
                              {"reference": "x", "outcome": "paid"}).status_code == 404
    assert Reservation.objects.get().status == "held"


@pytest.mark.django_db
def test_a_payment_answer_this_browser_did_not_start_confirms_nothing(signed_in, citizen, tranche):
    reservation = reserve(signed_in, tranche)
    response = answer(signed_in, reservation, f"sandbox-{reservation.pk}-forged", "paid")
    assert "이 결제 정보를 확인할 수 없습니다" in signed_in.get(response["Location"]).content.decode()
    assert not Purchase.objects.exists() and Reservation.objects.get().status == "held"
    sandbox = signed_in.get(reverse("vouchers:sandbox", args=[reservation.pk]), {"ref": "made-up"})
    assert sandbox.status_code == 404


@pytest.mark.django_db
def test_without_any_payment_gateway_the_page_says_so_and_holds_nothing(signed_in, citizen, tranche, settings):
    settings.VOUCHERS_SANDBOX_PAYMENTS = False
    page = signed_in.get(reverse("vouchers:buy")).content.decode()
    assert "지금은 온라인 결제를 사용할 수 없어" in page
    response = signed_in.post(reverse("vouchers:buy"), {"tranche": tranche.pk, "face_value": "50000"})
    assert response.status_code == 400 and "온라인 결제를 사용할 수 없어" in response.content.decode()
    assert no_hold_written()


@pytest.mark.django_db
def test_the_sandbox_page_does_not_exist_with_a_real_gateway(signed_in, citizen, tranche, settings):
    reservation = reserve(signed_in, tranche)
    reference = start_payment(signed_in, reservation)
    settings.VOUCHERS_SANDBOX_PAYMENTS = False
    settings.VOUCHERS_PAYMENT_GATEWAY = "tests.vouchers_web.test_purchase_pages.NotSandbox"
    assert signed_in.get(reverse("vouchers:sandbox", args=[reservation.pk]), {"ref": reference}).status_code == 404


class NotSandbox(payments.SandboxPaymentGateway):
    is_sandbox = False


@pytest.mark.django_db
def test_posts_without_a_csrf_token_are_refused(user, citizen, tranche):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(reverse("vouchers:buy"), {"tranche": tranche.pk, "face_value": "50000"}).status_code == 403
    assert no_hold_written()


@pytest.mark.django_db
def test_sending_the_buy_form_twice_makes_one_hold(signed_in, citizen, tranche):
    page = signed_in.get(reverse("vouchers:buy")).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"tranche": tranche.pk, "face_value": "50000", "form_token": token}
    first = signed_in.post(reverse("vouchers:buy"), data)
    second = signed_in.post(reverse("vouchers:buy"), data)
    assert first["Location"] == second["Location"]
    assert Reservation.objects.count() == 1 and Tranche.objects.get().sold == 50_000
    page = signed_in.get(reverse("vouchers:buy")).content.decode()
    assert "결제를 기다리는 예약이 있습니다." in page and first["Location"] in page


class BrokenGateway(payments.SandboxPaymentGateway):
    is_sandbox = False

    def start(self, *, reservation, return_url):
        raise ConnectionError("PG down")


@pytest.mark.django_db
def test_a_gateway_outage_when_starting_payment_is_a_message_and_the_hold_stays(signed_in, citizen, tranche,
                                                                                settings):
    reservation = reserve(signed_in, tranche)
    settings.VOUCHERS_PAYMENT_GATEWAY = "tests.vouchers_web.test_purchase_pages.BrokenGateway"
    response = signed_in.post(reverse("vouchers:pay", args=[reservation.pk]))
    assert response["Location"] == reverse("vouchers:reservation", args=[reservation.pk])
    assert "결제를 시작하지 못했습니다" in signed_in.get(response["Location"]).content.decode()
    assert Reservation.objects.get().status == "held"


@pytest.mark.django_db
def test_giving_up_a_paid_reservation_changes_nothing(signed_in, citizen, tranche):
    reservation = reserve(signed_in, tranche)
    answer(signed_in, reservation, start_payment(signed_in, reservation), "paid")
    response = signed_in.post(reverse("vouchers:give_up", args=[reservation.pk]))
    assert response["Location"] == reverse("vouchers:reservation", args=[reservation.pk])
    assert Reservation.objects.get().status == "confirmed" and Wallet.objects.get().balance == 50_000
    assert_invariants()
