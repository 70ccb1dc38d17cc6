"""The industrial API exactly as API.md "Industrial": shapes, every refusal, hostile input (a 4xx that
writes nothing), throttling, and a schema that documents every status code."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.settings import api_settings

from industrial import services
from industrial.models import Event, Registration, SupportRequest
from jinju_portal.api.throttling import PublicFormThrottle
from tests.industrial.factories import VALID_BIZNO, EventFactory, FundingFactory, MilestoneFactory, ProjectFactory

pytestmark = pytest.mark.clock  # due dates, past events

SUPPORT = "/api/v1/industrial/support-requests/"
LOOKUP = "/api/v1/industrial/support-requests/lookup/"
EVENTS = "/api/v1/industrial/events/"


def support_body(**kw):
    body = {"company_name": "㈜상평테스트", "business_number": VALID_BIZNO, "category": "regulation",
            "title": "공장 증축 인허가", "description": "증축 인허가 절차가 궁금합니다.", "contact_email": "ceo@example.com"}
    body.update(kw)
    return body


def counts():
    return (SupportRequest.objects.count(), Registration.objects.count(),
            sum(Event.objects.values_list("confirmed_count", flat=True)))


@pytest.mark.django_db
def test_project_answer_has_the_contract_fields_with_numbers_and_four_place_ratios(api):
    project = ProjectFactory(site_area_m2=3674, gross_floor_area_m2=5986)
    national = FundingFactory(project=project, source="national", amount=6_600_000_000)
    FundingFactory(project=project, source="city", amount=7_000_000_000)
    services.record_expenditure(funding=national, amount=1_746_720_000, spent_on=timezone.localdate(), payee="p",
                                description="d")
    MilestoneFactory(project=project, name="설계", weight=1, percent_done=100)
    MilestoneFactory(project=project, name="준공", weight=3, percent_done=0)
    body = api.get(f"/api/v1/industrial/projects/{project.pk}/").json()
    for key in ("id", "name", "budget_total", "funding", "spent", "execution_rate", "site_area_m2",
                "gross_floor_area_m2", "floors_below", "floors_above", "planned_completion", "progress", "milestones"):
        assert key in body, key
    assert body["budget_total"] == 13_600_000_000
    assert [(f["source"], f["amount"], f["spent"]) for f in body["funding"]] == [
        ("national", 6_600_000_000, 1_746_720_000), ("city", 7_000_000_000, 0)]
    assert body["execution_rate"] == "0.1284" and body["funding"][0]["execution_rate"] == "0.2647"
    assert body["progress"] == "0.2500"
    assert body["site_area_m2"] == 3674 and body["gross_floor_area_m2"] == 5986
    assert (body["floors_below"], body["floors_above"]) == (1, 4)
    assert [m["name"] for m in body["milestones"]] == ["설계", "준공"]
    listed = api.get("/api/v1/industrial/projects/").json()
    assert listed["count"] == 1 and listed["results"][0] == body


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["999999/", "abc/", "-1/", "99999999999999999999999/"])
def test_unknown_project_is_a_json_404(api, path):
    response = api.get(f"/api/v1/industrial/projects/{path}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_support_request_created_with_due_at_seven_days_later(api):
    response = api.post(SUPPORT, support_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "number", "status", "due_at"} and body["status"] == "received"
    sr = SupportRequest.objects.get(pk=body["id"])
    assert sr.number == body["number"] and sr.due_at - sr.received_at == timedelta(days=7)
    assert body["due_at"].endswith("+09:00")


@pytest.mark.django_db
def test_invalid_business_number_is_its_own_400_code(api):
    response = api.post(SUPPORT, support_body(business_number="220-81-62518"), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_business_number"
    assert "business_number" in response.json()["fields"]
    assert SupportRequest.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("change,field", [
    ({"title": "가" * 201}, "title"),
    ({"title": ""}, "title"),
    ({"description": "가" * 5001}, "description"),
    ({"description": ""}, "description"),
    ({"category": "bribery"}, "category"),
    ({"category": "Sales channels"}, "category"),
    ({"contact_email": "nope"}, "contact_email"),
    ({"contact_email": "a@" + "b" * 300 + ".com"}, "contact_email"),
    ({"title": "a\x00b"}, "title"),
    ({"company_name": "x" * 100_000}, "company_name"),
    ({"title": ["list"]}, "title"),
    ({"description": {"a": 1}}, "description"),
    ({"business_number": 2208162517}, None),  # a number where a string is expected is still read as digits
    ({"business_number": None}, "business_number"),
    ({"category": None}, "category"),
])
def test_bad_support_fields_are_400_with_fields_and_write_nothing(api, change, field):
    before = counts()
    response = api.post(SUPPORT, support_body(**change), format="json")
    if field is None:
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] in ("invalid", "invalid_business_number") and field in body["fields"]
    assert counts() == before


@pytest.mark.django_db
def test_missing_fields_are_all_reported(api):
    response = api.post(SUPPORT, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"company_name", "business_number", "category", "title",
                                              "description", "contact_email"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", [SUPPORT, LOOKUP, "EVENT"])
@pytest.mark.parametrize("raw,content_type,status,code", [
    ('{"title": ', "application/json", 400, "malformed_request"),
    ("[1, 2, 3]", "application/json", 400, "malformed_request"),
    ('"just a string"', "application/json", 400, "malformed_request"),
    (b"\xff\xfe\x00garbage", "application/json", 400, "malformed_request"),
    ("title=hi&description=there", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("<xml/>", "application/xml", 415, "unsupported_media_type"),
    ('{"a": "' + "x" * (300 * 1024) + '"}', "application/json", 413, "request_too_large"),
])
def test_hostile_bodies_are_4xx_and_write_nothing(api, path, raw, content_type, status, code):
    if path == "EVENT":
        path = f"{EVENTS}{EventFactory().pk}/registrations/"
    before = counts()
    response = api.generic("POST", path, raw, content_type=content_type)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert counts() == before


@pytest.mark.django_db
def test_lookup_answers_only_with_the_matching_email(api):
    number = api.post(SUPPORT, support_body(), format="json").json()["number"]
    sr = SupportRequest.objects.get(number=number)
    services.answer_support_request(support_request=sr, answer="허가과에 확인해 드렸습니다.")
    ok = api.post(LOOKUP, {"number": number, "email": "CEO@example.com"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["number"] == number and ok.json()["status"] == "received"
    assert ok.json()["answer"] == "허가과에 확인해 드렸습니다." and "due_at" in ok.json()
    wrong = api.post(LOOKUP, {"number": number, "email": "someone@example.com"}, format="json")
    unknown = api.post(LOOKUP, {"number": "SP-000000-AAAAA", "email": "ceo@example.com"}, format="json")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()  # nothing tells a wrong e-mail from an unknown number


@pytest.mark.django_db
def test_lookup_is_post_only(api):
    assert api.get(LOOKUP + "?number=x&email=y@example.com").status_code == 405


@pytest.mark.django_db
def test_events_list_upcoming_with_seats_left(api):
    EventFactory(starts_at=timezone.now() - timedelta(days=1))
    event = EventFactory(seats=3)
    services.register_for_event(event_id=event.pk, name="가", company="나", email="a@example.com")
    body = api.get(EVENTS).json()
    assert body["count"] == 1
    item = body["results"][0]
    assert {k: item[k] for k in ("id", "title", "venue", "seats", "seats_left")} == {
        "id": event.pk, "title": event.title, "venue": event.venue, "seats": 3, "seats_left": 2}
    assert item["programme"] == event.programme.name and item["starts_at"].endswith("+09:00")


@pytest.mark.django_db
def test_registration_confirmed_then_waitlisted_then_409_for_the_same_email(api):
    event = EventFactory(seats=1)
    url = f"{EVENTS}{event.pk}/registrations/"
    first = api.post(url, {"name": "김근로", "company": "㈜상평", "email": "kim@example.com"}, format="json")
    assert first.status_code == 201 and first.json()["status"] == "confirmed" and first.json()["position"] is None
    second = api.post(url, {"name": "이근로", "company": "㈜상평", "email": "lee@example.com"}, format="json")
    assert second.status_code == 201
    assert second.json()["status"] == "waitlisted" and second.json()["position"] == 1
    again = api.post(url, {"name": "김근로", "company": "㈜상평", "email": "KIM@example.com"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_registered"
    assert Registration.objects.filter(event=event).count() == 2


@pytest.mark.django_db
def test_registration_refusals(api):
    past = EventFactory(starts_at=timezone.now() - timedelta(hours=1))
    body = {"name": "김근로", "company": "㈜상평", "email": "kim@example.com"}
    closed = api.post(f"{EVENTS}{past.pk}/registrations/", body, format="json")
    assert closed.status_code == 409 and closed.json()["code"] == "registration_closed"
    for path in ("999999", "abc", "99999999999999999999999"):
        missing = api.post(f"{EVENTS}{path}/registrations/", body, format="json")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    event = EventFactory()
    bad = api.post(f"{EVENTS}{event.pk}/registrations/", {"name": "", "company": "x" * 201, "email": "x"},
                   format="json")
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"name", "company", "email"}
    assert Registration.objects.count() == 0


def _allowed():
    rate = api_settings.DEFAULT_THROTTLE_RATES[PublicFormThrottle.scope]
    return PublicFormThrottle().parse_rate(rate)[0]


@pytest.mark.django_db
def test_public_writes_are_throttled_per_ip_with_retry_after(api):
    for _ in range(_allowed()):
        assert api.post(LOOKUP, {"number": "SP-1", "email": "a@example.com"}, format="json").status_code == 404
    throttled = api.post(SUPPORT, support_body(), format="json")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0
    assert SupportRequest.objects.count() == 0
    event = EventFactory()
    assert api.post(f"{EVENTS}{event.pk}/registrations/", {"name": "a", "company": "b", "email": "c@example.com"},
                    format="json").status_code == 429
    # Reads are not on the public-form budget.
    assert api.get(EVENTS).status_code == 200


@pytest.mark.django_db
def test_schema_documents_every_status_code_of_each_endpoint(api):
    schema = json.loads(api.get("/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/json").content)
    paths = schema["paths"]
    expected = {
        ("/api/v1/industrial/projects/", "get"): {"200", "429"},
        ("/api/v1/industrial/projects/{id}/", "get"): {"200", "404", "429"},
        ("/api/v1/industrial/support-requests/", "post"): {"201", "400", "413", "415", "429"},
        ("/api/v1/industrial/support-requests/lookup/", "post"): {"200", "400", "404", "413", "415", "429"},
        ("/api/v1/industrial/events/", "get"): {"200", "429"},
        ("/api/v1/industrial/events/{id}/registrations/", "post"): {"201", "400", "404", "409", "413", "415",
                                                                     "429"},
    }
    for (path, method), codes in expected.items():
        assert codes <= set(paths[path][method]["responses"]), (path, method)
    assert "invalid_business_number" in json.dumps(paths[SUPPORT]["post"]["responses"]["400"])
    assert "already_registered" in json.dumps(paths["/api/v1/industrial/events/{id}/registrations/"]["post"])
