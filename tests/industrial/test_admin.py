"""Staff admin: money written through the services (refusals as form errors, never a 500), the support
inbox's assignment and bulk status changes, team figures, registrations cancelled with promotion."""
from datetime import timedelta

import pytest
from django.utils import timezone

from industrial import selectors, services
from industrial.models import Expenditure, Funding, FundingAmendment, Registration, SupportRequest
from tests.industrial.factories import VALID_BIZNO, EventFactory, FundingFactory, UserFactory, team_member

pytestmark = pytest.mark.clock  # overdue loans and requests, dated amendments


@pytest.fixture
def staff(client):
    admin = UserFactory(username="boss", is_superuser=True)
    client.force_login(admin)
    return client


def expenditure_form(funding, amount):
    return {"funding": funding.pk, "spent_on": "2021-06-01", "amount": amount, "payee": "㈜상평건설",
            "description": "기성금", "document_ref": "D-1"}


@pytest.mark.django_db
def test_expenditure_over_the_allocation_is_a_clear_form_error(staff):
    funding = FundingFactory(amount=1_000_000)
    ok = staff.post("/admin/industrial/expenditure/add/", expenditure_form(funding, 700_000))
    assert ok.status_code == 302
    refused = staff.post("/admin/industrial/expenditure/add/", expenditure_form(funding, 300_001))
    assert refused.status_code == 200
    assert "남은 배정액 300,000원을 넘을 수 없습니다" in refused.content.decode()
    funding.refresh_from_db()
    assert funding.spent == 700_000 and Expenditure.objects.count() == 1
    assert Expenditure.objects.get().created_by.username == "boss"


@pytest.mark.django_db
def test_funding_is_amended_not_overwritten_in_the_admin(staff):
    funding = FundingFactory(amount=1_000)
    services.record_expenditure(funding=funding, amount=600, spent_on=timezone.localdate(), payee="p", description="d")
    cut = staff.post("/admin/industrial/fundingamendment/add/", {
        "funding": funding.pk, "amount_after": 500, "effective_on": "2022-01-01", "reason": "감액"})
    assert cut.status_code == 200 and "집행액 600원 이상이어야 합니다" in cut.content.decode()
    grow = staff.post("/admin/industrial/fundingamendment/add/", {
        "funding": funding.pk, "amount_after": 2_000, "effective_on": "2022-01-01", "reason": "증액"})
    assert grow.status_code == 302
    funding.refresh_from_db()
    assert funding.amount == 2_000
    assert list(FundingAmendment.objects.values_list("amount_before", "amount_after")) == [(1_000, 2_000)]
    # The figure itself is read-only on the funding page.
    page = staff.get(f"/admin/industrial/funding/{funding.pk}/change/").content.decode()
    assert 'name="amount"' not in page


@pytest.mark.django_db
def test_admin_creates_a_funding_with_its_first_amendment(staff):
    from tests.industrial.factories import ProjectFactory

    project = ProjectFactory()
    body = {"project": project.pk, "source": "city", "amount": 7_000_000_000, "effective_on": "2021-02-18",
            "reason": "최초 배정"}
    # A tampered page (no inline management form) re-renders with an error and must leave nothing behind.
    tampered = staff.post("/admin/industrial/funding/add/", body)
    assert tampered.status_code == 200 and not Funding.objects.exists() and not FundingAmendment.objects.exists()
    management = {"amendments-TOTAL_FORMS": "0", "amendments-INITIAL_FORMS": "0", "amendments-MIN_NUM_FORMS": "0",
                  "amendments-MAX_NUM_FORMS": "1000"}
    response = staff.post("/admin/industrial/funding/add/", {**body, **management})
    assert response.status_code == 302
    funding = Funding.objects.get(project=project)
    assert funding.amendments.get().amount_after == 7_000_000_000


@pytest.mark.django_db
def test_inbox_assigns_and_changes_status_in_bulk_and_shows_team_figures(staff):
    member = team_member("member9")
    requests = [services.submit_support_request(company_name="a", business_number=VALID_BIZNO, category="labour",
                                                title=f"t{i}", description="d", contact_email="a@example.com")
                for i in range(3)]
    ids = [str(r.pk) for r in requests]
    url = "/admin/industrial/supportrequest/"
    staff.post(url, {"action": "assign_selected", "_selected_action": ids, "assignee": member.pk, "note": "배정"})
    assert set(SupportRequest.objects.values_list("status", "assignee")) == {("assigned", member.pk)}
    staff.post(url, {"action": "mark_in_progress", "_selected_action": ids})
    services.answer_support_request(support_request=requests[0], answer="해결 방법 안내")
    response = staff.post(url, {"action": "mark_resolved", "_selected_action": ids}, follow=True)
    statuses = dict(SupportRequest.objects.values_list("pk", "status"))
    assert statuses[requests[0].pk] == "resolved"
    assert statuses[requests[1].pk] == statuses[requests[2].pk] == "in_progress"
    assert "답변이 필요합니다" in response.content.decode()
    page = staff.get(url + "?due=open").content.decode()
    assert "기업지원팀 현황" in page and "인력·노무" in page


@pytest.mark.django_db
def test_inbox_change_form_assigns_answers_and_resolves(staff):
    member = team_member("member8")
    sr = services.submit_support_request(company_name="a", business_number=VALID_BIZNO, category="labour",
                                         title="t", description="d", contact_email="a@example.com")
    url = f"/admin/industrial/supportrequest/{sr.pk}/change/"
    inline = {"events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1", "events-MIN_NUM_FORMS": "0",
              "events-MAX_NUM_FORMS": "1000", "events-0-id": sr.events.get().pk, "events-0-request": sr.pk}
    bad = staff.post(url, {"new_status": "resolved", "answer": "", "note": "", **inline})
    assert bad.status_code == 200 and "바꿀 수 없습니다" in bad.content.decode()
    ok = staff.post(url, {"new_assignee": member.pk, "new_status": "", "answer": "노무사 상담 연결", "note": "",
                          **inline})
    assert ok.status_code == 302, ok.content.decode()[:2000]
    sr.refresh_from_db()
    assert (sr.status, sr.assignee, sr.answer) == ("assigned", member, "노무사 상담 연결")


@pytest.mark.django_db
def test_admin_cancellation_promotes_the_waiting_list(staff):
    event = EventFactory(seats=1)
    first, _ = services.register_for_event(event_id=event.pk, name="a", company="c", email="a@example.com")
    second, _ = services.register_for_event(event_id=event.pk, name="b", company="c", email="b@example.com")
    staff.post("/admin/industrial/registration/", {"action": "cancel_selected", "_selected_action": [first.pk]})
    assert dict(Registration.objects.values_list("pk", "status")) == {first.pk: "cancelled", second.pk: "confirmed"}


@pytest.mark.django_db
def test_overdue_loans_filter(staff):
    from industrial.models import Loan
    from tests.industrial.factories import BookFactory

    book = BookFactory(copies=2)
    late = services.lend_book(book=book, borrower_name="늦은이", now=timezone.now() - timedelta(days=30))
    services.lend_book(book=book, borrower_name="제때")
    page = staff.get("/admin/industrial/loan/?state=overdue").content.decode()
    assert "늦은이" in page and "제때" not in page
    assert [loan.borrower_name for loan in selectors.overdue_loans()] == ["늦은이"]
    from jinju_portal.errors import RuleViolation

    with pytest.raises(RuleViolation):
        services.lend_book(book=book, borrower_name="세번째")
    services.return_loan(loan=late)
    assert Loan.objects.filter(returned_on__isnull=True).count() == 1


# Every model city staff manage in the admin, and the ones shown only inside another's page. A model
# dropped from the admin, or a new one nobody placed, fails here rather than passing as a 404.
IN_ADMIN = {"Book", "Club", "Company", "Event", "Expenditure", "Funding", "FundingAmendment", "Loan", "Milestone",
            "Programme", "Project", "Registration", "SupportCategorySLA", "SupportRequest"}
INLINE_ONLY = {"ClubMember", "SupportRequestEvent"}  # shown on the club's / the request's page
NO_ADD_PAGE = {"SupportRequest"}  # requests come from companies (page or API), never typed in by staff


@pytest.mark.django_db
def test_every_industrial_admin_page_renders(staff):
    from django.apps import apps
    from django.contrib import admin

    models = {m.__name__: m for m in apps.get_app_config("industrial").get_models()
              if not m.__name__.startswith("Historical")}
    assert set(models) == IN_ADMIN | INLINE_ONLY, "place the new model in IN_ADMIN or INLINE_ONLY"
    registered = {m.__name__ for m in admin.site._registry if m._meta.app_label == "industrial"}
    assert registered == IN_ADMIN
    for name in sorted(IN_ADMIN):
        url = f"/admin/industrial/{models[name]._meta.model_name}/"
        assert staff.get(url).status_code == 200, url
        assert staff.get(f"{url}add/").status_code == (403 if name in NO_ADD_PAGE else 200), f"{url}add/"
    for name in INLINE_ONLY:
        assert staff.get(f"/admin/industrial/{models[name]._meta.model_name}/").status_code == 404
