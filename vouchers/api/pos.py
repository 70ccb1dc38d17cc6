"""`POST /api/v1/vouchers/payments/` answered without Django's request machinery when it is the
ordinary case: a till's fresh payment (issue #8, bench/payments.py).

Profiled under gunicorn, a POS payment spent more of its CPU in Django's and DRF's per-request
machinery (ten middlewares, URL resolving, the request and response objects, dispatch,
authentication, negotiation, parsing, rendering) than in anything it needs. On two cores shared
with PostgreSQL that machinery set the payment rate, and with it the p99 at 64 tills.

`LeanPayments` wraps the WSGI application (jinju_portal/wsgi.py). For that one path it does only
what the endpoint needs, with the endpoint's own parts, and answers only what it is sure of: a
payment made now (201). Anything else goes to Django unchanged, body included, and Django answers
it as it always has:

- another method or path, a query string, an Accept or Content-Type other than plain JSON, no or a
  malformed `Authorization`, `Idempotency-Key` or body, a body that the serializer would refuse or
  that is not exactly `{"pay_code": str, "amount": int, ...}`;
- an unknown or revoked key, another role (401/403), the throttle's refusal (429 with
  `Retry-After`), a cache that is not Redis, the ORM twin (not PostgreSQL);
- every refusal of the payment (its statement wrote nothing, so Django's run decides afresh: a
  refusal costs two statements, a payment one), a key already answered (the replay or the 422), a
  wallet whose expired credit must be debited first, and any exception.

The same pieces as the view, so the two cannot drift: the key cache and lookup
(`client_for_key`), the role, `ApiClientThrottle.allow_client` (a request it admitted and then
handed on is marked in the environ and not counted again), the Idempotency-Key's rules and request
hash, the serializer's own cleaners, `services.pay_with_code` with the stored answer in its one
statement, `payment_body`, DRF's JSON rendering, and the response headers the middleware adds
(`tests/vouchers/test_pos_entry.py` holds status, headers and body equal byte for byte to Django's
for the same request, and every case above going to Django). Django's request_started and
request_finished signals run around the work, so the database connection is managed as for any
request. Off with `VOUCHERS_LEAN_POS=0`.
"""
import io
import json
import logging
import re

from django.conf import settings
from django.core import signals
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from jinju_portal.api.authentication import client_for_key
from jinju_portal.api.idempotency import request_hash, valid_key
from jinju_portal.api.throttling import ADMITTED_ENVIRON_KEY, ApiClientThrottle
from jinju_portal.errors import ServiceError
from jinju_portal.models import Role
from vouchers import inputs, services
from vouchers.api import serializers as s

log = logging.getLogger(__name__)

PATH = "/api/v1/vouchers/payments/"
_JSON_TYPES = ("application/json", "application/json; charset=utf-8", "application/json;charset=utf-8")
_PLAIN_ACCEPT = ("*/*", "application/json")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")  # as BoundedJSONParser refuses
MAX_KEY = 200  # ApiClientAuthentication's bound

# What Django's middleware and DRF add to this endpoint's 201 (the test compares them with Django's).
_HEADERS = [
    ("Content-Type", "application/json"),
    ("Vary", "Accept-Language"),
    ("Allow", "POST, OPTIONS"),
    ("X-Frame-Options", "DENY"),
    ("Content-Language", settings.LANGUAGE_CODE),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
_renderer = JSONRenderer()


class _NotOurs(Exception):
    """This request is not the ordinary case: Django answers it."""


def _constant(name):
    raise _NotOurs(name)  # NaN, Infinity: DRF's strict parser refuses them


class LeanPayments:
    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("SCRIPT_NAME") or not settings.VOUCHERS_LEAN_POS):
            return self.application(environ, start_response)
        body = b""
        try:
            body = _read_body(environ)
            answer = self._pay(environ, body)
        except _NotOurs:
            answer = None
        except Exception:  # noqa: BLE001 - Django's run answers it (and logs it as it would any error)
            log.exception("lean POS payment entry: handing the request to Django")
            answer = None
        if answer is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.application(environ, start_response)
        payload = _renderer.render(answer)
        start_response("201 Created", [*_HEADERS, ("Content-Length", str(len(payload)))])
        return [payload]

    def _pay(self, environ, body) -> dict | None:
        key, idempotency_key, data, cleaned = _parse(environ, body)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            client = client_for_key(key)
            if client is None or client.role != Role.MERCHANT_POS:
                return None
            backend = caches["default"]
            if not services.fast_sql() or not isinstance(backend, RedisCache):
                return None
            if not ApiClientThrottle().allow_client(client, backend=backend):
                return None
            environ[ADMITTED_ENVIRON_KEY] = client.pk  # counted: Django's run must not count it again
            now = timezone.now()
            claim = services.PaymentIdempotency(
                owner=f"client:{client.pk}", key=idempotency_key,
                request_hash=request_hash(method="POST", path=PATH, data=data), created_at_text=s.created_at_text(now))
            try:
                payment = services.pay_with_code(pay_code=cleaned["pay_code"], amount=cleaned["amount"], actor=client,
                                                 idempotency_key=idempotency_key, now=now, idempotency=claim)
            except (ServiceError, services.PaymentNotSettled, services.AlreadyAnswered):
                return None
            return s.payment_body(payment, created_at_text=claim.created_at_text)
        finally:
            signals.request_finished.send(sender=self.__class__)


def _read_body(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        raise _NotOurs("length") from None
    if not 0 < length <= settings.API_MAX_BODY_BYTES:
        raise _NotOurs("length")
    body = environ["wsgi.input"].read(length)
    if len(body) != length:
        raise _NotOurs("short body")
    return body


def _parse(environ, body) -> tuple[str, str, dict, dict]:
    """The key, the Idempotency-Key, the body as sent (the request hash is of it) and its cleaned
    fields, of an ordinary payment request; otherwise _NotOurs."""
    if (environ.get("QUERY_STRING") or environ.get("CONTENT_TYPE", "").lower() not in _JSON_TYPES
            or environ.get("HTTP_ACCEPT", "*/*") not in _PLAIN_ACCEPT or "HTTP_COOKIE" in environ):
        raise _NotOurs("negotiation")
    # LocaleMiddleware answers in the caller's first language: Korean (our Content-Language) when it
    # asks for none or for Korean first; anything else is Django's to answer.
    if not environ.get("HTTP_ACCEPT_LANGUAGE", "ko").lstrip().lower().startswith(settings.LANGUAGE_CODE):
        raise _NotOurs("language")
    scheme, _, key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "token" or not key.isascii() or not 1 <= len(key) <= MAX_KEY or " " in key:
        raise _NotOurs("authorization")
    idempotency_key = environ.get("HTTP_IDEMPOTENCY_KEY")
    if idempotency_key is None or not valid_key(idempotency_key):
        raise _NotOurs("idempotency key")
    if _SURROGATE_ESCAPE.search(body):
        raise _NotOurs("surrogate")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _NotOurs("body") from None
    if not isinstance(data, dict):
        raise _NotOurs("body")
    pay_code, amount = data.get("pay_code"), data.get("amount")
    if type(pay_code) is not str or type(amount) is not int:
        raise _NotOurs("fields")
    try:  # the serializer's own cleaners (PayCodeField, AmountField): their refusals are Django's 400
        cleaned = {"pay_code": inputs.clean_pay_code(pay_code), "amount": inputs.clean_amount(amount)}
    except ServiceError:
        raise _NotOurs("fields") from None
    return key, idempotency_key, data, cleaned
