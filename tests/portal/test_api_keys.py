"""API keys: `issue_api_key` prints a working key, only its hash is stored, revocation refuses it."""
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from jinju_portal.models import ApiClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.plumbing_urls")]


def issue(*args):
    out = io.StringIO()
    call_command("issue_api_key", *args, stdout=out)
    return out.getvalue()


def test_issue_api_key_prints_the_key_alone_and_it_works():
    output = issue("city-hall", "--role", "staff")
    key = output.strip()
    assert output == key + "\n" and len(key) >= 40 and " " not in key
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert http.get("/api/v1/test/staff/").json() == {"ok": True}


def test_only_a_hash_of_the_key_is_stored():
    key = issue("nh-bank", "--role", "sales_agent").strip()
    client = ApiClient.objects.get(name="nh-bank")
    assert client.key_hash != key and len(client.key_hash) == 64
    with connection.cursor() as cursor:
        for table in ("portal_apiclient", "portal_historicalapiclient"):
            cursor.execute(f"SELECT * FROM {table}")
            for row in cursor.fetchall():
                assert not any(key in str(value) for value in row)


def test_operator_and_merchant_options_are_checked_and_stored():
    issue("smartro", "--role", "delivery_operator", "--operator", "smartro")
    issue("pos-1", "--role", "merchant_pos", "--merchant", "220-81-62517")
    assert ApiClient.objects.get(name="smartro").operator_slug == "smartro"
    assert ApiClient.objects.get(name="pos-1").merchant_business_number == "2208162517"
    with pytest.raises(CommandError):
        issue("pos-2", "--role", "merchant_pos", "--merchant", "220-81-62518")
    with pytest.raises(CommandError):
        issue("op-2", "--role", "delivery_operator")
    with pytest.raises(CommandError):
        issue("smartro", "--role", "staff")


def test_key_revoked_in_the_admin_is_refused_at_once(admin_client):
    key = issue("zeropay", "--role", "staff").strip()
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert http.get("/api/v1/test/staff/").status_code == 200  # now cached in this process
    client = ApiClient.objects.get(name="zeropay")
    response = admin_client.post("/admin/portal/apiclient/",
                                 {"action": "revoke", "_selected_action": [client.pk]}, follow=True)
    assert response.status_code == 200
    client.refresh_from_db()
    assert client.revoked_at is not None
    refused = http.get("/api/v1/test/staff/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"
    assert client.history.count() == 2  # who revoked it is recorded


def test_revoked_key_is_refused_by_a_process_that_never_cached_it():
    from jinju_portal.api.authentication import clear_client_cache
    from jinju_portal.services import revoke_api_client

    key = issue("old-app", "--role", "staff").strip()
    revoke_api_client(client=ApiClient.objects.get(name="old-app"))
    clear_client_cache()
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert http.get("/api/v1/test/staff/").status_code == 401


def test_a_key_lookup_skips_the_health_check_only_right_after_this_session_answered(monkeypatch):
    """The lookup of a key not in the process's cache is often a request's first query: it skips
    Django's `SELECT 1` on the sale's terms (jinju_portal/db_health.py), and only on them."""
    from jinju_portal import db_health
    from jinju_portal.api.authentication import clear_client_cache, client_for_key

    key = issue("pos-health", "--role", "staff").strip()
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    for answered_ago, checked in ((None, 1), (0.0, 0), (db_health.HEALTHY_FOR, 1)):
        clear_client_cache()
        connection.health_check_done = False  # as at the start of a request
        connection._answered_at = None
        if answered_ago is not None:
            db_health.mark_answered()
            raw, at = connection._answered_at
            connection._answered_at = (raw, at - answered_ago)
        checks.clear()
        assert client_for_key(key) is not None
        assert len(checks) == checked, answered_ago
