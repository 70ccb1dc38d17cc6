"""API clients (partner systems with a role and a hashed key) and stored idempotent answers."""
import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    SALES_AGENT = "sales_agent", _("판매대행점 (은행·제로페이 앱)")
    DELIVERY_OPERATOR = "delivery_operator", _("배달앱 운영사")
    MERCHANT_POS = "merchant_pos", _("가맹점 POS")
    STAFF = "staff", _("시 시스템")


# Roles that sell or report for thousands of people: unthrottled unless the city sets a rate (API.md).
# A delivery operator reports every order of its app: a throttled report is an order the city does not
# count until the app retries (bench/orders.py sends hundreds a second from one key).
UNTHROTTLED_ROLES = {Role.SALES_AGENT, Role.STAFF, Role.DELIVERY_OPERATOR}
KEY_PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    """Keys are 256-bit random strings, so one SHA-256 suffices (no password-style stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiClientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiClient(models.Model):
    name = models.CharField(_("이름"), max_length=100, unique=True)
    role = models.CharField(_("역할"), max_length=32, choices=Role.choices)
    operator_slug = models.SlugField(_("배달앱 운영사"), max_length=50, blank=True,
                                     help_text=_("delivery_operator 역할일 때 운영사 식별자"))
    merchant_business_number = models.CharField(_("가맹점 사업자등록번호"), max_length=10, blank=True,
                                                help_text=_("merchant_pos 역할일 때 숫자 10자리"))
    key_prefix = models.CharField(_("키 앞자리"), max_length=KEY_PREFIX_LENGTH, editable=False)
    key_hash = models.CharField(_("키 해시"), max_length=64, unique=True, editable=False)
    throttle_rate = models.CharField(
        _("요청 한도"), max_length=20, blank=True,
        help_text=_("예: 600/min. 비우면 판매대행점·시 시스템은 무제한, 그 밖의 역할은 기본 한도"))
    created_at = models.DateTimeField(_("발급일시"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("폐기일시"), null=True, blank=True)
    history = HistoricalRecords()

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("API 클라이언트")
        verbose_name_plural = _("API 클라이언트")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"

    # DRF treats request.user as authenticated when the client authenticates.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.revoked_at is None

    @classmethod
    def new_key(cls):
        return secrets.token_urlsafe(32)

    def set_key(self, key: str):
        self.key_prefix = key[:KEY_PREFIX_LENGTH]
        self.key_hash = hash_key(key)


class IdempotencyRecord(models.Model):
    """The first successful answer to (owner, Idempotency-Key); replayed for the same body."""

    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")]
        verbose_name = _("멱등 키")
        verbose_name_plural = _("멱등 키")
