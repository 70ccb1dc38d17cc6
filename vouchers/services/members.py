"""A merchant's own sign-ins (가맹점 계정): the owner adds and switches off cashiers; city staff (or
seed data) create the owner. One active owner per merchant (a partial unique index, migration 0011)."""
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from jinju_portal import actors, clock
from vouchers import inputs, locks, selectors
from vouchers.choices import EventKind, MemberRole
from vouchers.errors import refuse
from vouchers.models import MerchantMember
from vouchers.services import events


def _check_manager(actor, merchant_id) -> None:
    """City staff and the system (actor None: seed data) manage any merchant's accounts; otherwise
    only the merchant's active owner. Its cashier is told 403, anyone else 404 (as for a refund: the
    shop is never revealed to a stranger)."""
    if actor is None or actors.is_staff(actor):
        return
    member = selectors.member_of(actor, merchant_id=merchant_id)
    if member is None:
        raise refuse("not_found.merchant")
    if member.role != MemberRole.OWNER:
        raise refuse("not_merchant_owner")


@transaction.atomic
def add_member(*, merchant_id, username, password, role=MemberRole.CASHIER, actor, now=None) -> MerchantMember:
    """A new account that signs in to the merchant's pages with `username` and the initial
    `password` its creator chose (Django's password validators apply). The owner adds cashiers; a
    merchant's owner is created by city staff, and a merchant has one."""
    now = clock.now_or(now)
    if role not in MemberRole.values:
        raise refuse("invalid_role", on="role")
    _check_manager(actor, merchant_id)
    merchant = locks.merchant(merchant_id)  # owners of one merchant are added one at a time
    if merchant is None:
        raise refuse("not_found.merchant")
    username = inputs.clean_new_username(username)
    inputs.clean_new_password(password, username=username)
    if role == MemberRole.OWNER and merchant.members.filter(role=MemberRole.OWNER, active=True).exists():
        raise refuse("merchant_has_owner")
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=username, password=password)
    except IntegrityError:  # the same name taken by another shop's owner a moment ago
        raise refuse("invalid_username.taken", on="username") from None
    member = MerchantMember.objects.create(merchant=merchant, user=user, role=role, created_at=now)
    events.record(EventKind.MEMBER_ADDED, actor=actor, now=now, merchant=merchant,
                  after={"member": member.pk, "username": username, "role": role, "active": True})
    return member


@transaction.atomic
def deactivate_member(*, member_id, actor, now=None) -> MerchantMember:
    """Switch a merchant account off: it no longer signs in (the user is made inactive, which also
    ends its sessions on their next request) and no longer reaches the shop's pages. The owner
    switches off cashiers; only city staff switch off an owner. Already off: unchanged, no event."""
    now = clock.now_or(now)
    found = MerchantMember.objects.filter(pk=member_id).values_list("merchant_id", flat=True).first()
    if found is None:
        raise refuse("not_found.member")
    _check_manager(actor, found)
    locks.merchant(found)
    member = MerchantMember.objects.select_for_update().select_related("user", "merchant").get(pk=member_id)
    if not member.active:
        return member
    if member.role == MemberRole.OWNER and not (actor is None or actors.is_staff(actor)):
        raise refuse("member_is_owner")
    member.active = False
    member.save(update_fields=["active"])
    member.user.is_active = False
    member.user.save(update_fields=["is_active"])
    events.record(EventKind.MEMBER_REMOVED, actor=actor, now=now, merchant=member.merchant,
                  before={"member": member.pk, "username": member.user.get_username(), "role": member.role,
                          "active": True},
                  after={"active": False})
    return member
