"""Writes of the shared package: issuing and revoking partner API keys."""
from django.db import transaction
from django.utils import timezone

from jinju_portal import bizno
from jinju_portal.errors import InvalidInput
from jinju_portal.models import ApiClient, Role


@transaction.atomic
def issue_api_key(*, name: str, role: str, operator_slug: str = "", merchant_business_number: str = "",
                  throttle_rate: str = "") -> tuple[ApiClient, str]:
    """Create an API client and return it with its key; the key itself is never stored."""
    if role not in Role.values:
        raise InvalidInput("invalid_role", f"역할은 {', '.join(Role.values)} 중 하나여야 합니다.")
    if role == Role.DELIVERY_OPERATOR and not operator_slug:
        raise InvalidInput("operator_required", "delivery_operator 역할에는 --operator 가 필요합니다.")
    if role == Role.MERCHANT_POS:
        if not merchant_business_number or not bizno.is_valid(merchant_business_number):
            raise InvalidInput("invalid_business_number", "merchant_pos 역할에는 올바른 --merchant 사업자등록번호가 필요합니다.")
        merchant_business_number = bizno.normalize(merchant_business_number)
    if ApiClient.objects.filter(name=name).exists():
        raise InvalidInput("name_taken", f"이미 있는 이름입니다: {name}")
    key = ApiClient.new_key()
    client = ApiClient(name=name, role=role, operator_slug=operator_slug,
                       merchant_business_number=merchant_business_number, throttle_rate=throttle_rate)
    client.set_key(key)
    client.save()
    return client, key


def revoke_api_client(*, client: ApiClient) -> ApiClient:
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
    return client
