"""Languages of the Sangpyeong centre: refusals in the language of the request (Korean by default),
e-mails in the language of their reader (requester or registrant: the one they filed in; staff: Korean)."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from industrial import services
from industrial.models import Registration, SupportCategorySLA, SupportRequest
from jinju_portal.errors import RuleViolation
from tests.industrial.factories import VALID_BIZNO, EventFactory, FundingFactory, team_member

pytestmark = pytest.mark.clock  # past events, the overdue digest

EVENTS = "/api/v1/industrial/events/"
SUPPORT = "/api/v1/industrial/support-requests/"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PERSON = {"name": "Jane Doe", "company": "Sangpyeong Ltd", "email": "jane@example.com"}


def _run(callbacks, *, active):
    """Send the queued e-mails while another language is active: the reader's language must win."""
    with translation.override(active):
        for callback in callbacks:
            callback()


def _without(text, *data):
    """`text` with the Korean data (event titles, venues) taken out, to look for Korean wording."""
    for value in data:
        text = text.replace(value, "")
    return text


@pytest.mark.django_db
def test_a_registration_made_in_english_gets_an_english_confirmation(client, django_capture_on_commit_callbacks):
    event = EventFactory(seats=5)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = client.post(f"/industrial/events/{event.pk}/", PERSON, HTTP_ACCEPT_LANGUAGE="en")
    assert done.status_code == 302
    assert Registration.objects.get().language == "en"
    _run(callbacks, active="ko")
    (message,) = mail.outbox
    assert message.to == ["jane@example.com"]
    assert message.subject == f"[Sangpyeong culture centre] Registration confirmed: {event.title}"
    assert "Dear Jane Doe, your place at" in message.body and "is confirmed." in message.body
    assert "/industrial/events/cancel/" in message.body
    assert not HANGUL.search(_without(message.subject + message.body, event.title, event.venue))


@pytest.mark.django_db
def test_a_registration_made_in_korean_gets_a_korean_confirmation(client, django_capture_on_commit_callbacks):
    event = EventFactory(seats=5)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(f"/industrial/events/{event.pk}/", {**PERSON, "name": "김근로"}, HTTP_ACCEPT_LANGUAGE="ko")
    assert Registration.objects.get().language == "ko"
    _run(callbacks, active="en")
    (message,) = mail.outbox
    assert message.subject == f"[상평 문화센터] 참가 확정: {event.title}"
    assert "김근로님," in message.body and "참가가 확정되었습니다." in message.body
    assert "confirmed" not in message.body


@pytest.mark.django_db
def test_api_registration_in_english_is_waitlisted_then_promoted_in_english(api, django_capture_on_commit_callbacks):
    event = EventFactory(seats=1)
    url = f"{EVENTS}{event.pk}/registrations/"
    with django_capture_on_commit_callbacks(execute=True):
        api.post(url, {**PERSON, "email": "first@example.com"}, format="json")
        waiting = api.post(url, PERSON, format="json", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert waiting.json()["status"] == "waitlisted"
    assert Registration.objects.get(email="jane@example.com").language == "en"
    assert Registration.objects.get(email="first@example.com").language == "ko"
    english = [m for m in mail.outbox if m.to == ["jane@example.com"]]
    assert english[0].subject == f"[Sangpyeong culture centre] Waitlisted: {event.title}"
    assert "number 1 on the waitlist" in english[0].body
    first = Registration.objects.get(email="first@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_registration(registration_id=first.pk)
    promoted, cancelled = mail.outbox[-2:]
    assert promoted.to == ["jane@example.com"]
    assert promoted.subject == f"[Sangpyeong culture centre] Confirmed from the waitlist: {event.title}"
    assert cancelled.to == ["first@example.com"] and cancelled.subject == f"[상평 문화센터] 신청 취소: {event.title}"


@pytest.mark.django_db
def test_api_refusal_is_korean_by_default_and_english_on_request(api):
    event = EventFactory(seats=5)
    url = f"{EVENTS}{event.pk}/registrations/"
    assert api.post(url, PERSON, format="json").status_code == 201
    korean = api.post(url, PERSON, format="json")
    assert korean.status_code == 409
    assert korean.json() == {"code": "already_registered", "detail": "이 이메일로 이미 신청했습니다."}
    english = api.post(url, PERSON, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 409
    assert english.json() == {"code": "already_registered",
                              "detail": "You have already registered with this email address."}
    past = EventFactory(starts_at=timezone.now() - timedelta(hours=1))
    closed = api.post(f"{EVENTS}{past.pk}/registrations/", PERSON, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert closed.json() == {"code": "registration_closed", "detail": "This event has already started or is over."}
    missing = api.post(f"{EVENTS}abc/registrations/", PERSON, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 404 and missing.json() == {"code": "not_found", "detail": "Event not found."}


@pytest.mark.django_db
def test_page_form_shows_the_service_refusal_in_the_page_language(client):
    event = EventFactory(seats=5)
    client.post(f"/industrial/events/{event.pk}/", PERSON)
    english = client.post(f"/industrial/events/{event.pk}/", PERSON, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400
    assert "You have already registered with this email address." in english.content.decode()
    korean = client.post(f"/industrial/events/{event.pk}/", PERSON, HTTP_ACCEPT_LANGUAGE="ko")
    assert "이 이메일로 이미 신청했습니다." in korean.content.decode()


@pytest.mark.django_db
def test_support_request_filed_in_english_is_answered_in_english_and_staff_stay_korean(
        api, django_capture_on_commit_callbacks):
    body = {"company_name": "Sangpyeong Ltd", "business_number": VALID_BIZNO, "category": "technology",
            "title": "Test rig", "description": "May we borrow the test rig?", "contact_email": "owner@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(SUPPORT, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert created.status_code == 201
    sr = SupportRequest.objects.get()
    assert sr.language == "en"
    receipt = mail.outbox[0]
    assert receipt.subject == f"[Sangpyeong business support] {sr.number} Received"
    assert receipt.body.startswith("Dear Sangpyeong Ltd,")
    assert not HANGUL.search(receipt.body)
    # A Korean-speaking clerk resolves it: the requester still reads English.
    member = team_member(lead=True)
    with translation.override("ko"), django_capture_on_commit_callbacks(execute=True):
        services.assign_support_request(support_request=sr, assignee=member)
        services.change_support_status(support_request=sr, status="resolved", answer="Please call the lab.")
    resolved = mail.outbox[-1]
    assert resolved.subject == f"[Sangpyeong business support] {sr.number} Resolved"
    assert "[Reply]\nPlease call the lab." in resolved.body
    # The overdue digest goes to staff in Korean even while English is active.
    SupportRequest.objects.filter(pk=sr.pk).update(status="in_progress", received_at=timezone.now() - timedelta(days=9),
                                                   due_at=timezone.now() - timedelta(days=1))
    mail.outbox.clear()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.send_overdue_reminders()
    assert mail.outbox and all("기한 경과" in m.subject for m in mail.outbox)
    assert all("처리 기한이 지난" in m.body or "팀 전체의" in m.body for m in mail.outbox)


@pytest.mark.django_db
def test_rule_messages_and_labels_follow_the_active_language():
    funding = FundingFactory(amount=1_000)
    for language, expected in (("ko", "남은 배정액 1,000원을 넘을 수 없습니다."),
                               ("en", "Cannot exceed the remaining allocation of ₩1,000.")):
        with translation.override(language), pytest.raises(RuleViolation) as refused:
            services.record_expenditure(funding=funding, amount=2_000, spent_on=timezone.localdate(),
                                        payee="x", description="y")
        assert refused.value.code == "allocation_exceeded" and refused.value.fields == {"amount": [expected]}
    sla = SupportCategorySLA(category="technology", days=7)
    with translation.override("ko"):
        assert str(sla) == "기술: 7일"
    with translation.override("en"):
        assert str(sla) == "Technology: 7 days"
        assert str(SupportCategorySLA(category="technology", days=1)) == "Technology: 1 day"
