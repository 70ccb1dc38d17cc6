"""Idempotency-Key: required; same key and body → the first answer; other body → 422; races make one write."""
import re
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from jinju_portal.models import IdempotencyRecord

URL = "/api/v1/test/groups/"
pytestmark = pytest.mark.urls("tests.portal.plumbing_urls")


HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.django_db
def test_money_moving_post_without_a_key_is_400_and_writes_nothing(make_client):
    _, http = make_client("staff")
    response = http.post(URL, {"name": "a", "size": 1}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "detail"} and body["code"] == "idempotency_key_required"
    assert HANGUL.search(body["detail"])
    assert Group.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_missing_key_is_named_before_the_body_is_read(make_client):
    # a retry without a key is refused whatever it carries: the partner learns the one thing to fix
    _, http = make_client("staff")
    response = http.generic("POST", URL, b"{not json", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_required")


@pytest.mark.django_db
def test_key_is_optional_where_the_view_declares_it_so_and_still_replays(make_client):
    _, http = make_client("staff")
    group = Group.objects.create(name="before")
    url = f"/api/v1/test/groups/{group.pk}/rename/"
    assert http.post(url).status_code == 200
    first = http.post(url, HTTP_IDEMPOTENCY_KEY="rename-1")
    again = http.post(url, HTTP_IDEMPOTENCY_KEY="rename-1")
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert http.post(url, HTTP_IDEMPOTENCY_KEY="").json()["code"] == "invalid_idempotency_key"


def test_the_requirement_is_declared_on_the_decorated_view():
    from jinju_portal.api.idempotency import idempotent
    from tests.portal.plumbing_urls import CreateGroup, RenameGroup

    assert CreateGroup.post.idempotency.required is True  # the default: every new money POST
    assert RenameGroup.post.idempotency.required is False

    @idempotent
    def bare(self, request):
        """Both spellings, @idempotent and @idempotent(), declare the same."""

    assert bare.idempotency.required is True and bare.__doc__.startswith("Both spellings")


@pytest.mark.django_db
def test_same_key_same_body_replays_first_answer_and_writes_once(make_client):
    _, http = make_client("staff")
    first = http.post(URL, {"name": "a", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = http.post(URL, {"size": 1, "name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Group.objects.count() == 1


@pytest.mark.django_db
def test_same_key_other_body_is_422_and_writes_nothing(make_client):
    _, http = make_client("staff")
    http.post(URL, {"name": "a", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = http.post(URL, {"name": "b", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert list(Group.objects.values_list("name", flat=True)) == ["a"]


@pytest.mark.django_db
def test_keys_are_per_client(make_client):
    _, one = make_client("staff")
    _, two = make_client("staff")
    one.post(URL, {"name": "a", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = two.post(URL, {"name": "b", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert Group.objects.count() == 2


@pytest.mark.django_db
def test_refusal_is_not_stored_so_a_corrected_retry_can_succeed(make_client):
    _, http = make_client("staff")
    refused = http.post(URL, {"name": "refuse", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert refused.status_code == 409
    assert IdempotencyRecord.objects.count() == 0
    invalid = http.post(URL, {"name": "x", "size": 99}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert invalid.status_code == 400
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "nul\x00"])
def test_invalid_keys_are_400(make_client, key):
    _, http = make_client("staff")
    response = http.post(URL, {"name": "a", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Group.objects.count() == 0


@pytest.mark.django_db
def test_255_character_key_is_accepted(make_client):
    _, http = make_client("staff")
    response = http.post(URL, {"name": "a", "size": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 255)
    assert response.status_code == 201


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_replays_of_one_key_write_once_with_identical_answers(make_client):
    _, http = make_client("staff")
    token = http._credentials["HTTP_AUTHORIZATION"]
    barrier = threading.Barrier(20)
    answers = []

    def fire():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        try:
            barrier.wait()
            r = client.post(URL, {"name": "rush", "size": 3}, format="json", HTTP_IDEMPOTENCY_KEY="same")
            answers.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 20
    assert {status for status, _ in answers} == {201}
    assert len({str(body) for _, body in answers}) == 1
    assert Group.objects.filter(name="rush").count() == 1


@pytest.mark.django_db
@pytest.mark.clock
def test_purge_removes_only_old_records():
    from django.utils import timezone

    from jinju_portal.tasks import purge_idempotency_keys

    old = IdempotencyRecord.objects.create(owner="client:1", key="old", request_hash="h",
                                           created_at=timezone.now() - timezone.timedelta(hours=49))
    fresh = IdempotencyRecord.objects.create(owner="client:1", key="fresh", request_hash="h",
                                             created_at=timezone.now() - timezone.timedelta(hours=25))
    assert purge_idempotency_keys() == 1
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert IdempotencyRecord.objects.filter(pk=fresh.pk).exists()  # kept at least 24 hours


def test_the_schema_documents_what_the_decorator_declares_without_the_view_saying_it():
    # the plumbing views carry no @extend_schema: a new money-moving endpoint is documented by default
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf="tests.portal.plumbing_urls").get_schema(request=None, public=True)
    create = schema["paths"]["/api/v1/test/groups/"]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header["required"]) == ("header", True)
    assert "idempotency_key_required" in create["responses"]["400"]["description"]
    assert "invalid_idempotency_key" in create["responses"]["400"]["description"]
    assert "idempotency_key_reused" in create["responses"]["422"]["description"]
    rename = schema["paths"]["/api/v1/test/groups/{id}/rename/"]["post"]
    header = next(p for p in rename["parameters"] if p["name"] == "Idempotency-Key")
    assert header.get("required", False) is False
    assert "idempotency_key_required" not in rename["responses"]["400"]["description"]
