"""Linking a verified identity to a web account."""
from django.db import transaction

from jinju_portal import actors, clock
from jinju_portal.identity import hash_identity
from vouchers import months
from vouchers.choices import EventKind
from vouchers.errors import refuse
from vouchers.models import Citizen
from vouchers.services import events
from vouchers.inputs import clean_birth_year, clean_buyer_ci, clean_buyer_name
from vouchers.services.sales import claim_citizen


@transaction.atomic
def link_citizen(*, actor, ci: str, name: str = "", birth_year: int | None = None, now=None) -> Citizen:
    """After identity verification on the web: the citizen known by this CI (created if new, so
    purchases made at a branch before sign-up are theirs too), linked to the signed-in user `actor`.
    A CI already linked to another account is refused (409 `citizen_linked_elsewhere`)."""
    now = clock.now_or(now)
    user = actors.user_of(actor)
    if user is None:
        raise refuse("not_found")
    ci_hash = hash_identity(clean_buyer_ci(ci))
    name = clean_buyer_name(name)
    birth_year = clean_birth_year(birth_year, now)
    claim_citizen(ci_hash=ci_hash, name=name, birth_year=birth_year, now=now)
    citizen = Citizen.objects.select_for_update().get(ci_hash=ci_hash)
    if citizen.user_id == user.pk:
        return citizen
    if citizen.user_id is not None or Citizen.objects.filter(user=user).exists():
        raise refuse("citizen_linked_elsewhere")
    citizen.user = user
    citizen.save(update_fields=["user"])
    events.record(EventKind.CITIZEN_LINKED, actor=actor, now=now, citizen=citizen,
                  before={"user": None}, after={"user": user.pk})
    return citizen
