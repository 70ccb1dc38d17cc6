"""Staff accounts: the owner adds cashiers (Django's password rules, Korean errors) and switches
them off; the member services refuse cashiers (403) and strangers (404) and write one event each."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.merchant_web.conftest import PASSWORD, make_member
from tests.vouchers.factories import staff_actor
from vouchers import services
from vouchers.choices import EventKind
from vouchers.models import MerchantMember, VoucherEvent

NEW_PASSWORD = "counter-2026-jinju"


def _add(client, username="bibim-cashier-2", password=NEW_PASSWORD, again=None):
    return client.post("/merchant/staff/", {"username": username, "password": password,
                                            "password_again": password if again is None else again})


@pytest.mark.django_db
def test_the_owner_adds_a_cashier_who_then_signs_in_and_takes_payments(as_owner, owner, merchant):
    response = _add(as_owner)
    assert response.status_code == 302 and response["Location"] == "/merchant/staff/"
    member = MerchantMember.objects.get(user__username="bibim-cashier-2")
    assert (member.merchant, member.role, member.active) == (merchant, "cashier", True)
    event = VoucherEvent.objects.get(kind=EventKind.MEMBER_ADDED)
    assert (event.merchant, event.user, event.after["username"], event.after["role"]) == (
        merchant, owner, "bibim-cashier-2", "cashier")
    page = as_owner.get("/merchant/staff/").content.decode()
    assert "직원 계정 bibim-cashier-2을(를) 만들었습니다." in page and f'id="member-{member.pk}"' in page
    staff = Client()
    login = staff.post("/accounts/login/", {"username": "bibim-cashier-2", "password": NEW_PASSWORD,
                                            "next": "/merchant/"})
    assert login.status_code == 302 and login["Location"] == "/merchant/"
    assert staff.get("/merchant/").status_code == 200 and staff.get("/merchant/staff/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("username, password, again, field, sentence", [
    ("kim", "1234", None, "password", "이 비밀번호는 너무 짧습니다."),
    ("kim", "password", None, "password", "너무 흔히 사용되는 비밀번호입니다."),
    ("kim", "83920174651", None, "password", "비밀번호가 전부 숫자로 되어 있습니다."),
    ("kim", NEW_PASSWORD, "something-else-1", "password_again", "두 비밀번호가 같지 않습니다."),
    ("bibim-owner", NEW_PASSWORD, None, "username", "이미 쓰이는 아이디입니다."),
    ("BIBIM-OWNER", NEW_PASSWORD, None, "username", "이미 쓰이는 아이디입니다."),
    ("김 직원!", NEW_PASSWORD, None, "username", "아이디는 1–150자의"),
    ("", NEW_PASSWORD, None, "username", "아이디를 정해 주세요."),
])
def test_bad_usernames_and_passwords_are_korean_errors_under_the_field(as_owner, username, password, again, field,
                                                                       sentence):
    response = _add(as_owner, username, password, again)
    assert response.status_code == 400
    errors = response.content.decode().split(f'id="id_{field}-errors"')[1].split("</ul>")[0]
    assert sentence in errors
    assert MerchantMember.objects.count() == 1 and not VoucherEvent.objects.exists()


@pytest.mark.django_db
def test_the_owner_switches_a_cashier_off_and_the_cashier_is_signed_out(client, as_owner, owner, merchant):
    cashier = make_member(merchant, "cashier")
    their = Client()
    their.force_login(cashier.user)
    assert their.get("/merchant/").status_code == 200
    response = as_owner.post(f"/merchant/staff/{cashier.pk}/deactivate/")
    assert response.status_code == 302
    cashier.refresh_from_db()
    cashier.user.refresh_from_db()
    assert not cashier.active and not cashier.user.is_active
    assert their.get("/merchant/").status_code == 302  # the session no longer signs anyone in
    assert not Client().login(username=cashier.user.username, password=PASSWORD)
    event = VoucherEvent.objects.get(kind=EventKind.MEMBER_REMOVED)
    assert (event.merchant, event.user, event.before["active"], event.after) == (merchant, owner, True,
                                                                                 {"active": False})
    # again: nothing changes, no second event
    as_owner.post(f"/merchant/staff/{cashier.pk}/deactivate/")
    assert VoucherEvent.objects.filter(kind=EventKind.MEMBER_REMOVED).count() == 1


@pytest.mark.django_db
def test_the_owner_cannot_switch_off_another_shops_account_or_their_own(as_owner, owner, other_merchant):
    theirs = make_member(other_merchant, "cashier")
    assert as_owner.post(f"/merchant/staff/{theirs.pk}/deactivate/").status_code == 404
    mine = owner.merchant_member
    response = as_owner.post(f"/merchant/staff/{mine.pk}/deactivate/", follow=True)
    assert "대표(점주) 계정은 여기서 사용 중지할 수 없습니다." in response.content.decode()
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.active and mine.active and not VoucherEvent.objects.exists()


@pytest.mark.django_db
def test_a_cashier_can_neither_add_nor_switch_off_accounts(as_cashier, merchant):
    other = make_member(merchant, "cashier")
    assert _add(as_cashier).status_code == 403
    assert as_cashier.post(f"/merchant/staff/{other.pk}/deactivate/").status_code == 403
    other.refresh_from_db()
    assert other.active and not get_user_model().objects.filter(username="bibim-cashier-2").exists()


# --- the member services -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_services_refuse_a_cashier_403_and_a_stranger_404(merchant, cashier, stranger):
    target = make_member(merchant, "cashier")
    for actor, status, code in ((cashier, 403, "not_merchant_owner"), (stranger, 404, "not_found")):
        with pytest.raises(services.ServiceError) as refused:
            services.add_member(merchant_id=merchant.pk, username="x-new", password=NEW_PASSWORD, actor=actor)
        assert (refused.value.status, refused.value.code) == (status, code)
        with pytest.raises(services.ServiceError) as refused:
            services.deactivate_member(member_id=target.pk, actor=actor)
        assert (refused.value.status, refused.value.code) == (status, code)
    assert not VoucherEvent.objects.exists() and not get_user_model().objects.filter(username="x-new").exists()


@pytest.mark.django_db
def test_staff_create_the_one_owner_and_a_second_is_refused(merchant):
    clerk = staff_actor()
    owner = services.add_member(merchant_id=merchant.pk, username="first-owner", password=NEW_PASSWORD,
                                role="owner", actor=clerk)
    assert owner.role == "owner" and owner.user.check_password(NEW_PASSWORD)
    with pytest.raises(services.ServiceError) as refused:
        services.add_member(merchant_id=merchant.pk, username="second-owner", password=NEW_PASSWORD, role="owner",
                            actor=clerk)
    assert (refused.value.status, refused.value.code) == (409, "merchant_has_owner")
    with pytest.raises(services.ServiceError) as refused:  # the owner adding an owner: the same answer
        services.add_member(merchant_id=merchant.pk, username="third-owner", password=NEW_PASSWORD, role="owner",
                            actor=owner.user)
    assert refused.value.code == "merchant_has_owner"
    with pytest.raises(services.ServiceError) as refused:
        services.add_member(merchant_id=merchant.pk, username="odd", password=NEW_PASSWORD, role="boss", actor=clerk)
    assert refused.value.code == "invalid_role"
    # staff may switch the owner off, and then create the next one
    services.deactivate_member(member_id=owner.pk, actor=clerk)
    services.add_member(merchant_id=merchant.pk, username="next-owner", password=NEW_PASSWORD, role="owner",
                        actor=clerk)
    kinds = list(VoucherEvent.objects.filter(merchant=merchant).order_by("id").values_list("kind", "actor"))
    assert kinds == [("member_added", "user:test-clerk"), ("member_removed", "user:test-clerk"),
                     ("member_added", "user:test-clerk")]


@pytest.mark.django_db
def test_an_account_works_for_one_shop_only(merchant, other_merchant, owner):
    with pytest.raises(services.ServiceError) as refused:
        services.add_member(merchant_id=other_merchant.pk, username="bibim-owner", password=NEW_PASSWORD,
                            actor=None)
    assert refused.value.code == "invalid_username"
