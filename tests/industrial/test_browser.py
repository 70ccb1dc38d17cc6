"""Real Chromium through the public pages: sign up for an event, file a support request and look it up."""
import re

import pytest

from industrial.models import Registration, SupportRequest
from tests.industrial.factories import VALID_BIZNO, EventFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_worker_signs_up_for_an_event_on_a_phone_and_sees_the_confirmation(live_server, page):
    event = EventFactory(title="점심 음악회: 현악 4중주", seats=2)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/industrial/events/")
    page.get_by_text("점심 음악회: 현악 4중주").click()
    page.get_by_label("이름").fill("김근로")
    page.get_by_label("회사").fill("㈜상평에어로텍")
    page.get_by_label("이메일").fill("kim@example.com")
    page.get_by_role("button", name="참가 신청").click()
    page.wait_for_url(re.compile(r".*/industrial/events/registered/$"))
    assert "참가가 확정되었습니다" in page.locator("#registration-result").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert Registration.objects.get(event=event).status == "confirmed"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_company_files_a_support_request_and_looks_it_up(live_server, page):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/industrial/support/")
    page.get_by_label("기업명").fill("㈜상평테스트")
    page.get_by_label("사업자등록번호").fill("220-81-62518")  # wrong check digit first
    page.get_by_label("분야").select_option("regulation")
    page.get_by_label("제목").fill("공장 증축 인허가")
    page.get_by_label("내용").fill("증축 인허가 절차와 기간이 궁금합니다.")
    page.get_by_label("이메일").fill("ceo@example.com")
    page.get_by_role("button", name="신청하기").click()
    assert "사업자등록번호가 올바르지 않습니다" in page.content()
    assert SupportRequest.objects.count() == 0
    page.get_by_label("사업자등록번호").fill(VALID_BIZNO)
    page.get_by_role("button", name="신청하기").click()
    page.wait_for_url(re.compile(r".*/industrial/support/done/$"))
    number = page.locator("#request-number").inner_text().strip()
    assert SupportRequest.objects.get().number == number

    page.get_by_role("link", name="처리 상황 조회").last.click()
    page.get_by_label("접수번호").fill(number)
    page.get_by_label("신청 때 적은 이메일").fill("someone-else@example.com")
    page.get_by_role("button", name="조회").click()
    assert "일치하는 신청이 없습니다" in page.content()
    page.get_by_label("신청 때 적은 이메일").fill("ceo@example.com")
    page.get_by_role("button", name="조회").click()
    result = page.locator("#lookup-result").inner_text()
    assert number in result and "접수" in result
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_with_the_briefing_figures_fits_a_360px_phone(live_server, page):
    import io

    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/industrial/")
    text = page.locator("main").inner_text()
    for figure in ("13,600,000,000원", "3,674㎡", "5,986㎡", "지하 1층 · 지상 4층", "2022년"):
        assert figure in text
    assert page.locator(".ind-chart-row").count() == 2
    assert page.locator(".ind-timeline li").count() == 6
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
