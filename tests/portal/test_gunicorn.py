"""The production server as deployed: gunicorn with deploy/gunicorn.conf.py (the inline one-thread
worker of jinju_portal/gunicorn_worker.py) answers kept-alive and concurrent connections, and a
partner sale through it, against the test database."""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    port = _free_port()
    db = connection.settings_dict
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 50, "IDENTITY_HASH_KEY": "test-identity-key",
           "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_ACCESSLOG": ""}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "jinju_portal.wsgi"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"gunicorn did not start: {proc.stdout.read().decode()[-2000:]}")
    yield port
    proc.terminate()
    proc.wait(10)


def test_kept_alive_and_concurrent_connections_are_all_answered(server):
    errors, answered = [], []

    def client():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
            for _ in range(10):  # ten requests on one kept-alive connection
                conn.request("GET", "/healthz")  # not throttled; reads the database
                response = conn.getresponse()
                answered.append((response.status, json.loads(response.read())["database"]))
            conn.close()
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(30)]  # more connections than workers
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert answered == [(200, "ok")] * 300


def test_a_partner_sale_through_the_deployed_server(server):
    from jinju_portal.services import issue_api_key
    from tests.vouchers.factories import TrancheFactory

    tranche = TrancheFactory(quota=1_000_000)
    _client, key = issue_api_key(name="NH gunicorn", role="sales_agent")
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    body = json.dumps({"tranche": tranche.pk, "buyer_ci": "CI-GUNICORN", "face_value": 100_000})
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json", "Idempotency-Key": "g-1"}
    for expected in (201, 201):  # the retry with the same key replays the first answer
        conn.request("POST", "/api/v1/vouchers/purchases/", body=body, headers=headers)
        response = conn.getresponse()
        answer = json.loads(response.read())
        assert response.status == expected, answer
    assert answer["buyer_month_purchased"] == 100_000 and response.getheader("Idempotent-Replayed") == "true"
    conn.request("POST", "/api/v1/vouchers/purchases/", body=body,
                 headers={k: v for k, v in headers.items() if k != "Idempotency-Key"})
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())["code"]) == (400, "idempotency_key_required")
    tranche.refresh_from_db()
    assert tranche.sold == 100_000
