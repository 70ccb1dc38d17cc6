"""`Authorization: Token <key>` for partner systems, with an in-process cache of checked keys.

Checking a key against the database on every request cost 30 % of the purchase rate (bench/README.md),
so a checked key is remembered for API_CLIENT_CACHE_SECONDS. Revoking a client clears it at once in
the process that revoked it and within that many seconds everywhere else.
"""
import threading
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from jinju_portal import db_health
from jinju_portal.models import ApiClient, hash_key

_cache: dict[str, tuple[ApiClient, float]] = {}
_lock = threading.Lock()


def clear_client_cache():
    with _lock:
        _cache.clear()


@receiver(post_save, sender=ApiClient)
@receiver(post_delete, sender=ApiClient)
def _forget_client(sender, instance, **kwargs):
    with _lock:
        _cache.pop(instance.key_hash, None)


def client_for_key(key: str) -> ApiClient | None:
    digest = hash_key(key)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit and hit[1] > now:
        return hit[0]
    # Often a request's first query (7,000 merchants' POS keys, each seen now and then: bench/payments.py):
    # the connection's health check is skipped on the terms of the sale's (jinju_portal/db_health.py).
    db_health.skip_if_fresh()
    client = ApiClient.objects.active().filter(key_hash=digest).first()
    with _lock:
        if client is None:
            _cache.pop(digest, None)
        else:
            _cache[digest] = (client, now + settings.API_CLIENT_CACHE_SECONDS)
    return client


class ApiClientAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization 헤더는 'Token <키>' 형식이어야 합니다.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("API 키가 올바르지 않습니다.")
        if not 1 <= len(key) <= 200:
            raise exceptions.AuthenticationFailed("API 키가 올바르지 않습니다.")
        client = client_for_key(key)
        if client is None:
            raise exceptions.AuthenticationFailed("API 키가 올바르지 않거나 폐기되었습니다.")
        return client, client

    def authenticate_header(self, request):
        return self.keyword


class ApiClientAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiClientAuthentication
    name = "TokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>`, issued with `manage.py issue_api_key`"}
