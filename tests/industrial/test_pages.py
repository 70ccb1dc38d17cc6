"""Public Korean pages: dashboard figures and chart, support form and lookup, events with sign-up,
library and clubs; bad input is a Korean form error (never a 500) and writes nothing."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from industrial import services
from industrial.models import Registration, SupportRequest
from tests.industrial.factories import VALID_BIZNO, BookFactory, ClubFactory, EventFactory, FundingFactory, ProjectFactory

pytestmark = pytest.mark.clock  # past events, today's expenditure


def form_body(**kw):
    body = {"company_name": "㈜상평테스트", "business_number": VALID_BIZNO, "category": "funding", "title": "운전자금 문의",
            "description": "운전자금 지원 제도를 알고 싶습니다.", "contact_email": "ceo@example.com"}
    body.update(kw)
    return body


@pytest.mark.django_db
def test_dashboard_shows_building_figures_budget_chart_timeline_and_last_update(client):
    project = ProjectFactory(name="상평 센터")
    funding = FundingFactory(project=project, source="national", amount=6_600_000_000)
    FundingFactory(project=project, source="city", amount=7_000_000_000)
    services.record_expenditure(funding=funding, amount=660_000_000, spent_on=timezone.localdate(), payee="p",
                                description="d")
    body = client.get("/industrial/").content.decode()
    for text in ("13,600,000,000원", "6,600,000,000원", "7,000,000,000원", "3,674㎡", "5,986㎡", "지하 1층", "지상 4층",
                 "2022년", "국비", "시비", "최종 갱신", "ind-chart-spent"):
        assert text in body, text
    assert 'style="width: 10.0%"' in body or 'style="width: 10%"' in body  # 660 M of 6.6 bn spent
    assert not re.findall(r'(?:src|href)="(https?://[^"]+)"', body)


@pytest.mark.django_db
def test_dashboard_without_a_project_still_renders(client):
    assert client.get("/industrial/").status_code == 200


@pytest.mark.django_db
def test_support_form_files_a_request_and_shows_its_number(client):
    response = client.post("/industrial/support/", form_body(), follow=True)
    sr = SupportRequest.objects.get()
    assert sr.number in response.content.decode()
    assert response.redirect_chain[-1][0].endswith("/industrial/support/done/")


@pytest.mark.django_db
@pytest.mark.parametrize("change,message", [
    ({"business_number": "220-81-62518"}, "사업자등록번호가 올바르지 않습니다"),
    ({"title": ""}, "필수 항목입니다"),
    ({"title": "가" * 201}, "최대 200"),
    ({"description": "가" * 5001}, "최대 5000"),
    ({"category": "bribery"}, "올바르게 선택해 주세요"),
    ({"contact_email": "nope"}, "유효한 이메일"),
    ({"title": "a\x00b"}, "null 문자는 사용할 수 없습니다"),
    ({"company_name": "x" * 200_000}, "최대 200"),
])
def test_support_form_errors_are_korean_and_write_nothing(client, change, message):
    response = client.post("/industrial/support/", form_body(**change))
    assert response.status_code == 400
    body = response.content.decode()
    assert "errorlist" in body and message in body
    assert SupportRequest.objects.count() == 0


@pytest.mark.django_db
def test_support_lookup_page_needs_the_matching_email(client):
    sr = services.submit_support_request(company_name="a", business_number=VALID_BIZNO, category="other",
                                         title="제목", description="내용", contact_email="ceo@example.com")
    services.answer_support_request(support_request=sr, answer="답변드립니다")
    ok = client.post("/industrial/support/lookup/", {"number": sr.number, "email": "ceo@example.com"})
    assert ok.status_code == 200 and "답변드립니다" in ok.content.decode()
    wrong = client.post("/industrial/support/lookup/", {"number": sr.number, "email": "x@example.com"})
    assert wrong.status_code == 404
    assert "일치하는 신청이 없습니다" in wrong.content.decode() and "답변드립니다" not in wrong.content.decode()


@pytest.mark.django_db
def test_event_page_signs_up_and_offers_a_cancel_link_that_works(client):
    event = EventFactory(seats=1)
    listing = client.get("/industrial/events/").content.decode()
    assert event.title in listing and "잔여 1석" in listing
    done = client.post(f"/industrial/events/{event.pk}/", {"name": "김근로", "company": "㈜상평",
                                                            "email": "kim@example.com"}, follow=True)
    body = done.content.decode()
    assert "참가가 확정되었습니다" in body
    cancel_url = re.search(r'href="(/industrial/events/cancel/[^"]+/)"', body).group(1)
    assert client.get(cancel_url).status_code == 200
    after = client.post(cancel_url, follow=True).content.decode()
    assert "취소되었습니다" in after or "취소했습니다" in after
    assert Registration.objects.get().status == "cancelled"


@pytest.mark.django_db
def test_event_page_reports_a_duplicate_email_as_a_form_error(client):
    event = EventFactory(seats=5)
    data = {"name": "김근로", "company": "㈜상평", "email": "kim@example.com"}
    client.post(f"/industrial/events/{event.pk}/", data)
    again = client.post(f"/industrial/events/{event.pk}/", data)
    assert again.status_code == 400 and "이미 신청했습니다" in again.content.decode()
    assert Registration.objects.count() == 1


@pytest.mark.django_db
def test_full_event_page_takes_a_numbered_waitlist_entry(client):
    event = EventFactory(seats=1)
    services.register_for_event(event_id=event.pk, name="a", company="b", email="a@example.com")
    body = client.post(f"/industrial/events/{event.pk}/", {"name": "이근로", "company": "㈜상평",
                                                            "email": "lee@example.com"}, follow=True).content.decode()
    assert "대기 1번" in body


@pytest.mark.django_db
def test_past_or_unknown_events_and_bad_tokens_are_404_pages(client):
    past = EventFactory(starts_at=timezone.now() - timedelta(days=1))
    assert client.get(f"/industrial/events/{past.pk}/").status_code == 404
    assert client.get("/industrial/events/999999/").status_code == 404
    assert client.get("/industrial/events/99999999999999999999999/").status_code == 404
    assert client.get("/industrial/events/cancel/nonsense/").status_code == 404


@pytest.mark.django_db
def test_library_and_clubs_pages_list_what_exists(client):
    book = BookFactory(title="세라믹 신소재 입문", copies=2)
    services.lend_book(book=book, borrower_name="김독서")
    ClubFactory(name="상평 산악회")
    assert "1 / 2" in client.get("/industrial/library/").content.decode()
    assert "상평 산악회" in client.get("/industrial/clubs/").content.decode()


@pytest.mark.django_db
def test_page_forms_share_the_public_form_throttle(client):
    from rest_framework.settings import api_settings

    from jinju_portal.api.throttling import PublicFormThrottle

    allowed = PublicFormThrottle().parse_rate(api_settings.DEFAULT_THROTTLE_RATES["public_form"])[0]
    for _ in range(allowed):
        client.post("/industrial/support/lookup/", {"number": "x", "email": "a@example.com"})
    response = client.post("/industrial/support/", form_body())
    assert "요청이 너무 많습니다" in response.content.decode()
    assert SupportRequest.objects.count() == 0
