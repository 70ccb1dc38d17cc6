"""SME support desk: SLA due dates, the status workflow, assignment to the team, e-mails on every
change, overdue detection with an injected clock, the daily reminder, and the team's figures."""
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from industrial import selectors, services, tasks
from industrial.choices import SupportStatus
from industrial.models import SupportCategorySLA, SupportRequest, SupportRequestEvent
from jinju_portal.errors import InvalidInput, RuleViolation
from tests.industrial.factories import VALID_BIZNO, CompanyFactory, UserFactory, team_member

pytestmark = pytest.mark.clock  # SLA due dates, overdue detection, the daily reminder

T0 = timezone.make_aware(datetime(2021, 3, 2, 10, 0))


def submit(now=T0, **kw):
    data = dict(company_name="㈜상평테스트", business_number=VALID_BIZNO, category="technology",
                title="시험 장비 문의", description="시험 장비를 빌릴 수 있을까요?", contact_email="Owner@Example.com")
    data.update(kw)
    return services.submit_support_request(now=now, **data)


@pytest.mark.django_db
def test_due_date_is_received_plus_the_category_sla_with_seven_days_by_default():
    SupportCategorySLA.objects.create(category="funding", days=3)
    funding = submit(category="funding")
    other = submit(category="labour")
    assert funding.due_at == T0 + timedelta(days=3)
    assert other.due_at == T0 + timedelta(days=7)
    assert funding.status == "received" and funding.received_at == T0
    assert funding.contact_email == "owner@example.com"
    assert funding.business_number == "2208162517"


@pytest.mark.django_db
def test_request_is_linked_to_a_known_company_by_business_number():
    company = CompanyFactory(business_number="2208162517")
    assert submit().company == company
    assert list(company.support_requests.all()) != []


@pytest.mark.django_db
def test_overdue_detection_follows_the_injected_clock():
    sr = submit()
    assert list(selectors.overdue_support_requests(now=T0 + timedelta(days=7))) == []
    assert list(selectors.overdue_support_requests(now=T0 + timedelta(days=7, seconds=1))) == [sr]
    member = team_member()
    services.assign_support_request(support_request=sr, assignee=member, now=T0)
    services.change_support_status(support_request=sr, status="in_progress", now=T0)
    services.change_support_status(support_request=sr, status="resolved", answer="시험기관 목록을 보내 드렸습니다.",
                                   now=T0 + timedelta(days=8))
    assert list(selectors.overdue_support_requests(now=T0 + timedelta(days=9))) == []


@pytest.mark.django_db
def test_workflow_moves_forward_only_and_resolving_needs_an_answer(django_capture_on_commit_callbacks):
    member = team_member()
    sr = submit()
    with pytest.raises(RuleViolation) as refused:
        services.change_support_status(support_request=sr, status="resolved")
    assert refused.value.code == "invalid_transition"
    with pytest.raises(RuleViolation) as refused:
        services.change_support_status(support_request=sr, status="assigned")
    assert refused.value.code == "assignee_required"
    with django_capture_on_commit_callbacks(execute=True):
        services.assign_support_request(support_request=sr, assignee=member, note="기술 담당")
        services.change_support_status(support_request=sr, status="in_progress", note="기관 확인 중")
    with pytest.raises(InvalidInput) as refused:
        services.change_support_status(support_request=sr, status="resolved")
    assert refused.value.code == "answer_required"
    with django_capture_on_commit_callbacks(execute=True):
        services.change_support_status(support_request=sr, status="resolved", answer="한국세라믹기술원을 안내합니다.")
        services.change_support_status(support_request=sr, status="closed")
    with pytest.raises(RuleViolation):
        services.change_support_status(support_request=sr, status="in_progress")
    sr.refresh_from_db()
    assert sr.status == "closed" and sr.resolved_at and sr.closed_at
    steps = list(SupportRequestEvent.objects.filter(request=sr).exclude(to_status="")
                 .values_list("from_status", "to_status"))
    assert steps == [("", "received"), ("received", "assigned"), ("assigned", "in_progress"), ("in_progress", "resolved"),
                     ("resolved", "closed")]
    # One e-mail to the requester per status change, the answer included once resolved.
    subjects = [m.subject for m in mail.outbox]
    assert all(m.to == ["owner@example.com"] for m in mail.outbox)
    assert len(subjects) == 4 and "해결" in subjects[2]
    assert "한국세라믹기술원" in mail.outbox[2].body


@pytest.mark.django_db
def test_receipt_email_is_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sr = submit()
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert mail.outbox[0].to == ["owner@example.com"] and sr.number in mail.outbox[0].subject


@pytest.mark.django_db
def test_only_business_support_team_members_can_be_assigned():
    outsider = UserFactory(username="outsider")
    sr = submit()
    with pytest.raises(RuleViolation) as refused:
        services.assign_support_request(support_request=sr, assignee=outsider)
    assert refused.value.code == "not_support_team_member"
    sr.refresh_from_db()
    assert sr.assignee is None and sr.status == "received"


@pytest.mark.django_db
def test_daily_reminder_mails_the_assignee_and_the_team_lead_once_a_day(django_capture_on_commit_callbacks):
    member = team_member("member1")
    lead = team_member("lead1", lead=True)
    late = submit(now=T0)
    services.assign_support_request(support_request=late, assignee=member, now=T0)
    unassigned_late = submit(now=T0, title="미배정 지연 건")
    on_time = submit(now=T0 + timedelta(days=5), title="기한 내 건")
    later = T0 + timedelta(days=8)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_overdue_reminders(now=later) == 2
    recipients = {tuple(m.to): m.body for m in mail.outbox}
    assert set(recipients) == {(member.email,), (lead.email,)}
    assert late.number in recipients[(member.email,)] and unassigned_late.number not in recipients[(member.email,)]
    assert late.number in recipients[(lead.email,)] and unassigned_late.number in recipients[(lead.email,)]
    assert on_time.number not in recipients[(lead.email,)]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_overdue_reminders(now=later + timedelta(hours=1)) == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_reminder_celery_task_runs_the_service(django_capture_on_commit_callbacks):
    member = team_member("member2")
    lead = team_member("lead2", lead=True)
    sr = submit(now=timezone.now() - timedelta(days=10))
    services.assign_support_request(support_request=sr, assignee=member)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.remind_overdue_support_requests.apply().get() == 1
    assert {m.to[0] for m in mail.outbox} == {member.email, lead.email}


def test_reminder_is_in_the_beat_schedule_and_expires_within_a_day():
    from jinju_portal.celery import BEAT_SCHEDULE, app

    entry = BEAT_SCHEDULE["industrial-overdue-support-reminders"]
    assert entry["task"] == tasks.remind_overdue_support_requests.name
    assert entry["task"] in app.tasks
    assert 0 < entry["options"]["expires"] < 24 * 3600


@pytest.mark.django_db
def test_lookup_needs_the_matching_email():
    sr = submit()
    assert selectors.lookup_support_request(number=sr.number, email="OWNER@example.com") == sr
    assert selectors.lookup_support_request(number=sr.number.lower(), email="owner@example.com") == sr
    assert selectors.lookup_support_request(number=sr.number, email="other@example.com") is None
    assert selectors.lookup_support_request(number="SP-000000-XXXXX", email="owner@example.com") is None


@pytest.mark.django_db
def test_team_figures_count_open_overdue_and_median_days_to_resolve():
    member = team_member()
    now = T0 + timedelta(days=20)
    for days_to_resolve in (1, 2, 6):
        sr = submit(category="funding")
        services.assign_support_request(support_request=sr, assignee=member, now=T0)
        services.change_support_status(support_request=sr, status="resolved", answer="완료",
                                       now=T0 + timedelta(days=days_to_resolve))
    submit(category="funding")  # overdue by `now`
    submit(category="technology", now=now - timedelta(days=1))  # open, not overdue
    figures = {f.category: f for f in selectors.support_team_figures(now=now)}
    assert (figures["funding"].open, figures["funding"].overdue, figures["funding"].resolved) == (1, 1, 3)
    assert figures["funding"].median_days_to_resolve == Decimal("2.0")
    assert (figures["technology"].open, figures["technology"].overdue) == (1, 0)
    assert figures["technology"].median_days_to_resolve is None
    assert (figures[""].open, figures[""].overdue, figures[""].resolved) == (2, 1, 3)


@pytest.mark.django_db
@pytest.mark.parametrize("field,value,code", [
    ("business_number", "220-81-62518", "invalid_business_number"),
    ("business_number", "２２０８１６２５１７", "invalid_business_number"),
    ("category", "bribery", "invalid"),
    ("title", "", "invalid"),
    ("title", "가" * 201, "invalid"),
    ("description", "가" * 5001, "invalid"),
    ("description", "a\x00b", "invalid"),
    ("contact_email", "not-an-email", "invalid"),
    ("title", ["a list"], "invalid"),
])
def test_service_refuses_bad_input_and_writes_nothing(field, value, code):
    with pytest.raises(InvalidInput) as refused:
        submit(**{field: value})
    assert refused.value.code == code
    assert SupportRequest.objects.count() == 0


@pytest.mark.django_db
def test_limits_are_inclusive():
    sr = submit(title="가" * 200, description="나" * 5000)
    assert len(sr.title) == 200 and len(sr.description) == 5000
    assert sr.status == SupportStatus.RECEIVED
