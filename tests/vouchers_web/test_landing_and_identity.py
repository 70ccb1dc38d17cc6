"""The landing page and web identity verification: who may buy, and how an account finds its citizen."""
import pytest
from django.urls import reverse
from django.utils import timezone

from jinju_portal.identity import hash_identity
from tests.vouchers.factories import CitizenFactory, TrancheFactory
from vouchers import months, services
from vouchers.identity_verification import IdentityVerifier, VerificationFailed, VerifiedIdentity
from vouchers.models import Citizen, Reservation

pytestmark = pytest.mark.clock  # 5부제 days, the month's usage, birth years up to this year

DEV_NOTICE = "개발용 본인확인 — 실제 본인확인이 아닙니다"


def _start_of_seoul_day():
    local = months.seoul(timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.mark.django_db
def test_landing_explains_the_vouchers_and_shows_live_remaining_quota_to_anyone(anon_client, tranche):
    services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="BANK-1", face_value=300_000, channel="branch")
    page = anon_client.get(reverse("vouchers:index")).content.decode()
    for fact in ("10% 할인", "300,000원", "NH농협은행", "신분증", "비플제로페이", "올원뱅크", "5년", "7일", "60%"):
        assert fact in page, fact
    assert "남은 발행 한도 9,700,000원 / 10,000,000원 (97.0%)" in page
    assert 'max="10000000" value="9700000"' in page  # the progress bar
    assert "로그인하고 모바일 상품권 사기" in page


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")  # opened at today's midnight, read as day 1
def test_landing_shows_a_verified_citizens_month_and_whether_today_is_their_rotation_day(signed_in, citizen):
    TrancheFactory(name="5부제 회차", rotation=True, opens_at=_start_of_seoul_day())  # day 1: years ending 1 or 6
    page = signed_in.get(reverse("vouchers:index")).content.decode()
    assert "오늘은 5부제 1일째: 출생 연도 끝자리 1·6인 분만 살 수 있습니다." in page
    assert "오늘은 회원님의 구매일이 아닙니다." in page
    assert 'id="usage-remaining">300,000원' in page
    citizen.birth_year = 1986
    citizen.save()
    assert "오늘은 회원님의 구매일입니다." in signed_in.get(reverse("vouchers:index")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["buy", "mine", "verify"])
def test_anonymous_visitor_is_sent_to_the_login_page(anon_client, name):
    response = anon_client.get(reverse(f"vouchers:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=/vouchers/")


@pytest.mark.django_db
def test_signed_in_but_unverified_user_is_sent_to_identity_verification(signed_in):
    response = signed_in.get(reverse("vouchers:buy"))
    assert response.status_code == 302
    assert response["Location"] == reverse("vouchers:verify") + "?next=%2Fvouchers%2Fbuy%2F"


@pytest.mark.django_db
def test_dev_verifier_says_on_screen_that_it_is_not_real_and_links_by_hash_only(signed_in, user):
    page = signed_in.get(reverse("vouchers:verify")).content.decode()
    assert DEV_NOTICE in page
    response = signed_in.post(reverse("vouchers:verify"), {"name": "김진주", "birth_year": "1985",
                                                           "ci": "TEST-CI-0001", "next": "/vouchers/buy/"})
    assert response.status_code == 302 and response["Location"] == "/vouchers/buy/"
    citizen = Citizen.objects.get(user=user)
    assert (citizen.name, citizen.birth_year) == ("김진주", 1985)
    assert citizen.ci_hash == hash_identity("TEST-CI-0001")
    stored = [str(v) for v in Citizen.objects.filter(pk=citizen.pk).values().get().values()]
    assert not any("TEST-CI-0001" in v for v in stored)
    assert signed_in.get(reverse("vouchers:buy")).status_code == 200


@pytest.mark.django_db
def test_verification_links_the_citizen_who_already_bought_at_a_bank_so_the_limit_is_shared(signed_in, user):
    paper = TrancheFactory(medium="paper")
    mobile = TrancheFactory(name="모바일 회차")
    services.purchase_vouchers(tranche_id=paper.pk, buyer_ci="BANK-CI-77", buyer_name="박창구", buyer_birth_year=1970,
                               face_value=200_000, channel="branch")
    signed_in.post(reverse("vouchers:verify"), {"name": "박창구", "birth_year": "1970", "ci": "BANK-CI-77"})
    assert Citizen.objects.count() == 1 and Citizen.objects.get().user == user
    page = signed_in.get(reverse("vouchers:buy")).content.decode()
    assert 'id="usage-purchased">200,000원' in page and 'id="usage-remaining">100,000원' in page
    response = signed_in.post(reverse("vouchers:buy"), {"tranche": mobile.pk, "face_value": "150,000"})
    assert "이번 달 구매 한도를 넘습니다. 이번 달에 더 살 수 있는 금액은 100,000원입니다." in response.content.decode()
    assert not Reservation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("data, message", [
    ({"name": "", "birth_year": "1985", "ci": "X"}, "이름을 입력해 주세요."),
    ({"name": "김", "birth_year": "", "ci": "X"}, "출생 연도를 입력해 주세요."),
    ({"name": "김", "birth_year": "85년", "ci": "X"}, "출생 연도는 네 자리 숫자로 입력해 주세요."),
    ({"name": "김", "birth_year": "1850", "ci": "X"}, "출생 연도는 1900년부터 올해 사이여야 합니다."),
    ({"name": "김", "birth_year": "3000", "ci": "X"}, "출생 연도는 1900년부터 올해 사이여야 합니다."),
    ({"name": "김", "birth_year": "1985", "ci": ""}, "테스트용 CI를 입력해 주세요."),
    # the page always says "CI" (the field's label): pin the refusal itself
    ({"name": "김", "birth_year": "1985", "ci": "A\x00B"}, "null 문자는 사용할 수 없습니다"),
])
def test_verification_form_errors_are_korean_and_link_nothing(signed_in, data, message):
    response = signed_in.post(reverse("vouchers:verify"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Citizen.objects.exists()


@pytest.mark.django_db
def test_a_ci_already_linked_to_another_account_is_refused_with_a_message(signed_in, make_user):
    CitizenFactory(ci="TAKEN-CI", user=make_user())
    response = signed_in.post(reverse("vouchers:verify"), {"name": "김", "birth_year": "1985", "ci": "TAKEN-CI"})
    assert response.status_code == 400
    assert "이미 다른 계정과 연결되어 있습니다" in response.content.decode()


@pytest.mark.django_db
def test_with_the_dev_verifier_off_and_none_configured_pages_say_verification_is_unavailable(signed_in, settings,
                                                                                           tranche):
    settings.DEV_IDENTITY_VERIFIER = False
    response = signed_in.get(reverse("vouchers:verify"))
    assert response.status_code == 503
    page = response.content.decode()
    assert "본인확인을 사용할 수 없습니다" in page and DEV_NOTICE not in page
    response = signed_in.post(reverse("vouchers:verify"), {"name": "김", "birth_year": "1985", "ci": "SNEAKY"})
    assert response.status_code == 503 and not Citizen.objects.exists()
    assert signed_in.get(reverse("vouchers:buy"))["Location"].startswith(reverse("vouchers:verify"))
    landing = signed_in.get(reverse("vouchers:index")).content.decode()
    assert "본인확인을 사용할 수 없어 누리집에서 상품권을 살 수 없습니다" in landing


@pytest.mark.django_db
def test_a_misconfigured_verifier_path_is_unavailable_not_a_server_error(signed_in, settings):
    settings.VOUCHERS_IDENTITY_VERIFIER = "nowhere.Verifier"
    assert signed_in.get(reverse("vouchers:verify")).status_code == 503


class ProviderVerifier(IdentityVerifier):
    """A redirecting provider (PASS/NICE-like) for the test: vouches for `token=good`."""

    label = "테스트 본인확인 기관"

    def start_url(self, *, request, return_url):
        return "https://provider.example/verify?return=" + return_url

    def complete(self, *, request, data):
        if data.get("token") != "good":
            raise VerificationFailed("본인확인 기관이 확인해 주지 않았습니다.")
        return VerifiedIdentity(ci="PROVIDER-CI-9", name="이기관", birth_year=1990)


@pytest.mark.django_db
def test_a_real_verifier_plugs_in_by_setting_and_answers_through_its_callback(signed_in, settings, user):
    settings.VOUCHERS_IDENTITY_VERIFIER = "tests.vouchers_web.test_landing_and_identity.ProviderVerifier"
    settings.DEV_IDENTITY_VERIFIER = False  # a real verifier does not depend on the dev switch
    response = signed_in.get(reverse("vouchers:verify"))
    assert response["Location"].startswith("https://provider.example/verify?return=http://testserver/vouchers/")
    callback = reverse("vouchers:verify_callback")
    assert signed_in.get(callback, {"token": "forged"})["Location"] == reverse("vouchers:index")
    assert not Citizen.objects.exists()
    assert signed_in.get(callback, {"token": "good"})["Location"] == reverse("vouchers:buy")
    assert Citizen.objects.get(user=user).ci_hash == hash_identity("PROVIDER-CI-9")
    assert DEV_NOTICE not in signed_in.get(reverse("vouchers:buy")).content.decode()


@pytest.mark.django_db
def test_verification_redirect_ignores_foreign_next_urls(signed_in):
    response = signed_in.post(reverse("vouchers:verify"), {"name": "김", "birth_year": "1985", "ci": "C-1",
                                                           "next": "https://evil.example/"})
    assert response["Location"] == reverse("vouchers:buy")

