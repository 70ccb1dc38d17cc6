"""City staff create a merchant's owner account in the admin (through the member service) and
switch accounts off there."""
import pytest

from tests.merchant_web.conftest import make_member
from tests.vouchers.factories import staff_actor
from vouchers.choices import EventKind
from vouchers.models import MerchantMember, VoucherEvent


@pytest.fixture
def as_clerk(client):
    clerk = staff_actor()
    clerk.is_superuser = True
    clerk.save(update_fields=["is_superuser"])
    client.force_login(clerk)
    return client


@pytest.mark.django_db
def test_staff_create_the_owner_from_the_merchants_admin_page(as_clerk, merchant):
    change = as_clerk.get(f"/admin/vouchers/merchant/{merchant.pk}/change/").content.decode()
    assert "대표(점주) 계정 만들기" in change and f"/admin/vouchers/merchant/{merchant.pk}/add-owner/" in change
    url = f"/admin/vouchers/merchant/{merchant.pk}/add-owner/"
    assert as_clerk.get(url).status_code == 200
    weak = as_clerk.post(url, {"username": "bibim-boss", "password": "1234"})
    assert weak.status_code == 200 and "이 비밀번호는 너무 짧습니다." in weak.content.decode()
    response = as_clerk.post(url, {"username": "bibim-boss", "password": "owner-of-bibim-2026"})
    assert response.status_code == 302
    owner = MerchantMember.objects.get(user__username="bibim-boss")
    assert (owner.merchant, owner.role, owner.active) == (merchant, "owner", True)
    event = VoucherEvent.objects.get(kind=EventKind.MEMBER_ADDED)
    assert event.actor == "user:test-clerk" and event.merchant == merchant
    change = as_clerk.get(f"/admin/vouchers/merchant/{merchant.pk}/change/").content.decode()
    assert "bibim-boss" in change and "add-owner" not in change
    again = as_clerk.post(url, {"username": "bibim-boss-2", "password": "owner-of-bibim-2026"})
    assert "이 가맹점에는 이미 대표(점주) 계정이 있습니다." in again.content.decode()
    assert MerchantMember.objects.filter(role="owner").count() == 1


@pytest.mark.django_db
def test_staff_switch_an_account_off_from_the_members_list(as_clerk, merchant):
    member = make_member(merchant, "owner")
    assert as_clerk.get("/admin/vouchers/merchantmember/").status_code == 200
    response = as_clerk.post("/admin/vouchers/merchantmember/", {"action": "deactivate",
                                                                 "_selected_action": [member.pk]})
    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.active and VoucherEvent.objects.get().kind == EventKind.MEMBER_REMOVED
