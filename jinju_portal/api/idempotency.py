"""`Idempotency-Key` for POSTs that move money (API.md): required (400 `idempotency_key_required`
without one, so a retry can never sell or pay twice); same key and body -> the first answer again;
same key, other body -> 422 `idempotency_key_reused`.

The key is claimed with INSERT … ON CONFLICT DO NOTHING inside the view's transaction, so a second
request with the same key waits on the unique index until the first commits, then replays its
answer: twenty parallel replays make one purchase. Only successful answers are stored; a refusal
rolls the claim back with everything else, so it leaves no trace and may be retried.
"""
import hashlib
import json
from dataclasses import dataclass
from functools import wraps

from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from jinju_portal.errors import InvalidInput, ServiceError
from jinju_portal.models import ApiClient, IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# The error codes of the key itself; the OpenAPI schema lists them from here (schema.PortalAutoSchema).
KEY_REQUIRED = "idempotency_key_required"
INVALID_KEY = "invalid_idempotency_key"
KEY_REUSED = "idempotency_key_reused"

_DESCRIPTION = (f"1–{MAX_KEY_LENGTH} printable characters. The same key with the same body returns the first answer "
                "(same status and body) and changes nothing; with another body: 422 `idempotency_key_reused`. "
                "Kept at least 24 hours.")


@dataclass(frozen=True)
class Idempotency:
    """What `@idempotent` declares on the view method it wraps; the schema documents it from here."""
    required: bool

    @property
    def parameter(self) -> OpenApiParameter:
        description = _DESCRIPTION + (f" Required: without it 400 `{KEY_REQUIRED}` (a retry could sell or pay twice)."
                                      if self.required else " Optional here: this request is idempotent by nature.")
        return OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, required=self.required, description=description)

    @property
    def error_codes(self) -> dict[int, list[str]]:
        return {400: [KEY_REQUIRED, INVALID_KEY] if self.required else [INVALID_KEY], 422: [KEY_REUSED]}


# For an explicit `parameters=[...]`; @idempotent views get theirs from the schema class anyway.
IDEMPOTENCY_PARAMETER = Idempotency(required=True).parameter


class IdempotencyKeyRequired(InvalidInput):
    def __init__(self):
        super().__init__(KEY_REQUIRED, f"돈이 오가는 요청에는 Idempotency-Key 헤더(1–{MAX_KEY_LENGTH}자)가 필요합니다. "
                                       "재시도할 때는 같은 키를 보내 주세요.")


class InvalidIdempotencyKey(InvalidInput):
    def __init__(self):
        super().__init__(INVALID_KEY, f"Idempotency-Key는 1–{MAX_KEY_LENGTH}자의 인쇄 가능한 문자여야 합니다.")


class IdempotencyKeyReused(ServiceError):
    status = 422

    def __init__(self):
        super().__init__(KEY_REUSED,
                         "같은 Idempotency-Key가 다른 요청 본문과 함께 이미 사용되었습니다.")


def _owner(request) -> str | None:
    if isinstance(request.auth, ApiClient):
        return f"client:{request.auth.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _request_hash(request) -> str:
    return request_hash(method=request.method, path=request.path, data=request.data)


def request_hash(*, method: str, path: str, data) -> str:
    """What a key's first request is recognised by: its method, path and parsed body (key order aside)."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= MAX_KEY_LENGTH and key.isprintable()


def _claim(owner, key, request_hash) -> bool:
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} (owner, "key", request_hash, created_at) VALUES (%s, %s, %s, %s) '
            f'ON CONFLICT (owner, "key") DO NOTHING RETURNING id',
            [owner, key, request_hash, timezone.now()],
        )
        return cursor.fetchone() is not None


def idempotent(view_method=None, *, required: bool = True, settle: str | None = None):
    """Decorate a DRF view method (`def post(self, request, ...)`) or viewset action.

    `required` (default True: every POST that moves money): no key answers 400 `idempotency_key_required`
    before the body is read. `@idempotent(required=False)` for requests idempotent by nature (a cancel).
    `settle`: the name of a view method `(request, *, owner, key, request_hash)` that settles the key
    itself (the sale stores its answer inside its one statement); it returns None to use the generic path.
    """
    spec = Idempotency(required=required)

    def decorate(method):
        @wraps(method)
        def wrapper(self, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                if spec.required:
                    raise IdempotencyKeyRequired()
                return method(self, request, *args, **kwargs)
            if not valid_key(key):
                raise InvalidIdempotencyKey()
            owner = _owner(request)
            if owner is None:
                return method(self, request, *args, **kwargs)
            request_hash = _request_hash(request)
            if settle is not None:
                response = getattr(self, settle)(request, owner=owner, key=key, request_hash=request_hash)
                if response is not None:
                    return response
            with transaction.atomic():
                if not _claim(owner, key, request_hash):
                    return replay(owner=owner, key=key, request_hash=request_hash)
                response = method(self, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    transaction.set_rollback(True)
                    return response
                stored = json.loads(JSONRenderer().render(response.data))
                IdempotencyRecord.objects.filter(owner=owner, key=key).update(
                    status_code=response.status_code, response_body=stored)
                return response

        wrapper.idempotency = spec
        return wrapper

    return decorate(view_method) if view_method is not None else decorate


def replay(*, owner, key, request_hash, record=None) -> Response:
    """The stored answer of a key already used with this body; 422 when it came with another body."""
    record = record or IdempotencyRecord.objects.get(owner=owner, key=key)
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return Response(record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"})


def purge_idempotency_records(*, older_than_hours: int) -> int:
    cutoff = timezone.now() - timezone.timedelta(hours=older_than_hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
