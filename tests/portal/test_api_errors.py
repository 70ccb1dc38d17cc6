"""Every error DRF or Django raises under /api/ answers {"code", "detail", "fields"?} — never HTML."""
import json
import re

import pytest
from django.contrib.auth.models import Group

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.plumbing_urls")]
URL = "/api/v1/test/groups/"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
KEYED = {"HTTP_IDEMPOTENCY_KEY": "errors-1"}  # the test view moves "money" (@idempotent): a key is required


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_unknown_api_path_is_json_404(client):
    assert_error(client.get("/api/v1/nowhere/"), 404, "not_found")


def test_unknown_page_outside_api_is_html_404(client):
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_missing_key_is_401_with_www_authenticate(api):
    response = api.post(URL, {"name": "a", "size": 1}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Token nonsense", "Token", "Token a b", "Token " + "x" * 500])
def test_bad_key_is_401(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    assert_error(api.post(URL, {"name": "a", "size": 1}, format="json"), 401, "authentication_failed")


def test_wrong_role_is_403(make_client):
    _, http = make_client("sales_agent")
    assert_error(http.get("/api/v1/test/staff/"), 403, "permission_denied")


def test_wrong_method_is_405(make_client):
    _, http = make_client("staff")
    assert_error(http.delete("/api/v1/test/staff/"), 405, "method_not_allowed")


def test_validation_error_is_400_with_fields(make_client):
    _, http = make_client("staff")
    body = assert_error(http.post(URL, {"name": "", "size": "many"}, format="json", **KEYED), 400, "invalid")
    assert set(body["fields"]) == {"name", "size"}
    assert all(isinstance(m, str) for msgs in body["fields"].values() for m in msgs)


@pytest.mark.parametrize("payload", [
    b"{", b'{"name": "a", "size": 1', b"\xff\xfe{}", b"[1,2", b"nul\x00l", b"   ", b'{"name": "a"} trailing',
    b'\xef\xbb\xbf{"name": "a", "size": 1}', b'{"name": "\xed\xa0\x80", "size": 1}',  # BOM; CESU surrogate bytes
    b'{"name": "\\udc00", "size": 1}', b'{"name": "a", "size": NaN}',  # escaped lone surrogate; NaN
    b'{"size": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",  # deeper than Python's parser recurses
    b'[{"name": "a", "size": 1}]', b'"name"', b"1", b"null", b"true",
])
def test_malformed_non_utf8_or_non_object_json_is_400_in_korean_and_writes_nothing(make_client, payload):
    _, http = make_client("staff")
    response = http.generic("POST", URL, payload, content_type="application/json", **KEYED)
    body = assert_error(response, 400, "malformed_request")
    assert set(body) == {"code", "detail"}
    assert HANGUL.search(body["detail"]) and "JSON" in body["detail"] and "parse error" not in body["detail"]
    assert Group.objects.count() == 0


@pytest.mark.parametrize("content_type,payload", [
    ("application/x-www-form-urlencoded", "name=a&size=1"),
    ("application/xml", "<group><name>a</name></group>"),
    ("text/plain", "name=a"),
    ("multipart/form-data; boundary=xx", "--xx\r\n"),
])
def test_form_xml_and_other_bodies_are_415(make_client, content_type, payload):
    _, http = make_client("staff")
    assert_error(http.generic("POST", URL, payload, content_type=content_type, **KEYED), 415, "unsupported_media_type")
    assert Group.objects.count() == 0


def test_multi_megabyte_body_is_413_and_writes_nothing(make_client):
    _, http = make_client("staff")
    payload = json.dumps({"name": "a" * (3 * 1024 * 1024), "size": 1})
    assert_error(http.generic("POST", URL, payload, content_type="application/json", **KEYED), 413, "request_too_large")
    assert Group.objects.count() == 0


def test_business_refusal_is_409_with_its_code(make_client):
    _, http = make_client("staff")
    assert_error(http.post(URL, {"name": "refuse", "size": 1}, format="json", **KEYED), 409, "refused_on_purpose")


def test_client_over_its_rate_gets_429_with_retry_after(make_client):
    _, http = make_client("staff", throttle_rate="2/min")
    for _ in range(2):
        assert http.get("/api/v1/test/staff/").status_code == 200
    response = http.get("/api/v1/test/staff/")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_staff_sales_agents_and_delivery_operators_are_unthrottled_unless_the_city_sets_a_rate(make_client):
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "api_client": "3/min"}
    try:
        _, staff = make_client("staff")
        _, pos = make_client("merchant_pos", merchant_business_number="220-81-62517")
        staff_codes = {staff.get("/api/v1/test/staff/").status_code for _ in range(10)}
        _, operator = make_client("delivery_operator", operator_slug="smartro")
        operator_codes = {operator.get("/api/v1/test/ping/").status_code for _ in range(10)}
        _, capped = make_client("delivery_operator", operator_slug="honeybees", throttle_rate="2/min")
        capped_codes = [capped.get("/api/v1/test/ping/").status_code for _ in range(3)]
        pos_codes = [pos.get("/api/v1/test/ping/").status_code for _ in range(4)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert staff_codes == {200}
    assert operator_codes == {200}
    assert capped_codes == [200, 200, 429]  # a rate the city set on the key applies
    assert pos_codes == [200, 200, 200, 429]  # other roles get the default client rate


def test_anonymous_callers_are_throttled_per_ip(api, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "3/min"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [api.get("/api/v1/test/ping/").status_code for _ in range(4)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert codes == [200, 200, 200, 429]
    assert api_settings.DEFAULT_THROTTLE_RATES["anon"] != "3/min"


def test_crash_under_api_is_json_500_not_html(client):
    client.raise_request_exception = False
    assert_error(client.get("/api/v1/test/crash/"), 500, "server_error")


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content  # served from our own static files


def test_api_root_lists_the_three_apps(client):
    body = client.get("/api/v1/").json()
    assert {"vouchers", "delivery", "industrial"} <= set(body)
