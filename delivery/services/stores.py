"""The store registry: operators' applications (API), the owner's application (web form), listings,
the link to the Jinju Love merchant, approval (one or in bulk) and status changes.

A store is one business (UNIQUE business number). An application of a business already registered
never creates a second store: another operator's application adds that operator's listing
(UNIQUE store, operator); the same operator again changes nothing. Parallel applications of one
business meet at the unique index: the loser's insert waits for the winner's commit, fails inside
a savepoint, and the loser then locks the winner's row (delivery/locks.py: operator → store).
Every change writes one DeliveryEvent; a refusal writes nothing.
"""
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from delivery import inputs, rules
from delivery.choices import EventKind, ListingSource, OperatorStatus, StoreStatus
from delivery.errors import refuse
from delivery.models import Brand, Operator, Store, StoreListing
from delivery.selectors import operator_of
from delivery.services import events
from jinju_portal import actors, clock
from vouchers import inputs as voucher_inputs
from vouchers.errors import refuse as voucher_refuse
from vouchers.models import Merchant

STATUS_FIELDS = ("status", "status_reason", "status_changed_at")
STORE_FIELDS = ("business_number", "name", "category", "address", "dong", "phone")

CREATED = "created"  # a new store (with this operator's listing)
LISTED = "listed"  # an existing store, this operator's listing added
UNCHANGED = "unchanged"  # this operator had listed it already


@dataclass
class Application:
    store: Store
    outcome: str
    listing: StoreListing | None = None

    @property
    def created(self) -> bool:
        """201 (a new store or a new listing) rather than 200 (nothing changed)."""
        return self.outcome != UNCHANGED


@dataclass
class BulkApproval:
    approved: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (store id, its status label)


def _require_staff(actor):
    if not actors.is_staff(actor):
        raise refuse("permission_denied")


def _merchant_id(business_number: str) -> int | None:
    return Merchant.objects.filter(business_number=business_number).values_list("pk", flat=True).first()


def _insert_store(fields: dict, *, owner=None, now) -> Store | None:
    """Insert a pending store in a savepoint; None when the business is already registered (a
    parallel application that committed first included: its row is locked by the caller next)."""
    store = Store(**fields, owner=owner, merchant_id=_merchant_id(fields["business_number"]),
                  status=StoreStatus.PENDING, status_changed_at=now, created_at=now)
    try:
        with transaction.atomic():
            store.save(force_insert=True)
    except IntegrityError:
        if not Store.objects.filter(business_number=fields["business_number"]).exists():
            raise
        return None
    return store


def _locked_by_number(number: str) -> Store:
    return Store.objects.select_for_update().get(business_number=number)


def _after(store, fields=STORE_FIELDS + STATUS_FIELDS) -> dict:
    return events.fields_of(store, fields)


def _record_link(store, *, actor, now):
    events.record(EventKind.STORE_LINKED, actor=actor, now=now, store=store,
                  after={"merchant": store.merchant_id, "business_number": store.business_number})


def _operator_brand(operator: Operator, name: str | None) -> Brand | None:
    if name is None:
        return None
    brands = list(operator.brands.all())
    for brand in brands:
        if brand.name == name:
            return brand
    if not brands:
        raise refuse("invalid_brand.none", on="brand")
    raise refuse("invalid_brand", on="brand", brands=", ".join(b.name for b in brands))


@transaction.atomic
def apply_for_store(*, actor, business_number, name, category, address, phone="", brand=None,
                    now=None) -> Application:
    """An operator's application (POST stores/, the operator's key as `actor`). A new business: a
    pending store and this operator's listing ("created"). A business already registered: this
    operator's listing added to it ("listed"; the store's fields never change), or nothing when
    this operator listed it already ("unchanged"). `brand` is one of the operator's brands or none."""
    now = clock.now_or(now)
    operator = operator_of(actor)
    if operator is None:
        raise refuse("permission_denied.operator_key")
    if operator.status != OperatorStatus.ACTIVE:
        raise refuse("operator_not_active.store")
    number = inputs.clean_business_number(business_number)
    fields = {"business_number": number, "category": inputs.clean_category(category),
              **inputs.clean_store_info(name=name, address=address, phone=phone)}
    brand = _operator_brand(operator, inputs.clean_brand_name(brand))
    client = actors.client_of(actor)

    store = _insert_store(fields, now=now)
    if store is not None:
        listing = StoreListing.objects.create(store=store, operator=operator, brand=brand,
                                              source=ListingSource.OPERATOR, api_client=client, created_at=now)
        events.record(EventKind.STORE_APPLIED, actor=actor, now=now, store=store, listing=listing, operator=operator,
                      after={**_after(store), "operator": operator.slug, "brand": brand.name if brand else None})
        if store.merchant_id:
            _record_link(store, actor=actor, now=now)
        return Application(store, CREATED, listing)

    store = _locked_by_number(number)
    listing = StoreListing.objects.filter(store=store, operator=operator).first()
    if listing is not None:
        return Application(store, UNCHANGED, listing)
    listing = StoreListing.objects.create(store=store, operator=operator, brand=brand, source=ListingSource.OPERATOR,
                                          api_client=client, created_at=now)
    events.record(EventKind.LISTING_ADDED, actor=actor, now=now, store=store, listing=listing, operator=operator,
                  after={"operator": operator.slug, "brand": brand.name if brand else None,
                         "source": ListingSource.OPERATOR})
    _link_if_found(store, actor=actor, now=now)
    return Application(store, LISTED, listing)


@transaction.atomic
def apply_as_owner(*, actor, business_number, name, category, address, phone, now=None) -> Application:
    """The owner's web application (/delivery/apply/, `actor` the signed-in user): a pending store
    whose owner is the user, listed with every active operator (under its brand when it runs exactly
    one). A business already registered → 409 store_already_applied, unless this user applied for it
    ("unchanged": the page shows its status)."""
    now = clock.now_or(now)
    user = actors.user_of(actor)
    if user is None:
        raise refuse("permission_denied")
    number = inputs.clean_business_number(business_number)
    fields = {"business_number": number, "category": inputs.clean_category(category),
              **inputs.clean_store_info(name=name, address=address, phone=phone)}

    store = _insert_store(fields, owner=user, now=now)
    if store is None:
        store = _locked_by_number(number)
        if store.owner_id != user.pk:
            raise refuse("store_already_applied", on="business_number")
        return Application(store, UNCHANGED)
    operators = list(Operator.objects.filter(status=OperatorStatus.ACTIVE).prefetch_related("brands").order_by("pk"))
    listings = []
    for operator in operators:
        brands = {b.name: b for b in operator.brands.all()}
        only = rules.listing_brand(sorted(brands))
        listings.append(StoreListing(store=store, operator=operator, brand=brands.get(only) if only else None,
                                     source=ListingSource.OWNER, created_at=now))
    StoreListing.objects.bulk_create(listings)
    events.record(EventKind.STORE_APPLIED, actor=actor, now=now, store=store,
                  after={**_after(store), "owner": user.get_username(),
                         "operators": [o.slug for o in operators], "source": ListingSource.OWNER})
    if store.merchant_id:
        _record_link(store, actor=actor, now=now)
    return Application(store, CREATED)


def _link_if_found(store, *, actor, now):
    """Link a locked store to the Jinju Love merchant of its business number, if one appeared since."""
    if store.merchant_id:
        return
    merchant_id = _merchant_id(store.business_number)
    if merchant_id is None:
        return
    store.merchant_id = merchant_id
    store.save(update_fields=["merchant"])
    _record_link(store, actor=actor, now=now)


def _locked(store_id) -> Store:
    if isinstance(store_id, bool) or not isinstance(store_id, int):
        raise refuse("not_found.store")
    store = Store.objects.select_for_update().filter(pk=store_id).first()
    if store is None:
        raise refuse("not_found.store")
    return store


def _move(store, target, *, reason, kind, actor, now) -> Store:
    if not rules.store_may_move(store.status, target):
        raise refuse("store_status_conflict", status=store.get_status_display())
    before = _after(store, STATUS_FIELDS)
    changed = {"status": target, "status_reason": reason, "status_changed_at": now}
    if target == StoreStatus.APPROVED and store.approved_at is None:
        changed["approved_at"] = now
    for key, value in changed.items():
        setattr(store, key, value)
    store.save(update_fields=list(changed))
    events.record(kind, actor=actor, now=now, store=store, before=before, after=_after(store, STATUS_FIELDS),
                  note=reason)
    return store


def _approve_locked(store, *, actor, now) -> Store:
    store = _move(store, StoreStatus.APPROVED, reason="", kind=EventKind.STORE_APPROVED, actor=actor, now=now)
    _link_if_found(store, actor=actor, now=now)
    return store


@transaction.atomic
def approve_store(*, store_id, actor, now=None) -> Store:
    """pending → approved (city staff: a user in the admin or a staff key); it links the Jinju Love
    merchant of its business number if one registered since the application. Any other status →
    409 store_status_conflict."""
    now = clock.now_or(now)
    _require_staff(actor)
    return _approve_locked(_locked(store_id), actor=actor, now=now)


@transaction.atomic
def approve_stores(*, store_ids, actor, now=None) -> BulkApproval:
    """The admin's bulk approve: every pending store among `store_ids` is approved (locked in id
    order); the others are skipped and reported with their status. One transaction."""
    now = clock.now_or(now)
    _require_staff(actor)
    ids = sorted({int(i) for i in store_ids})
    result = BulkApproval()
    for store in Store.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
        if store.status != StoreStatus.PENDING:
            result.skipped.append((store.pk, store.get_status_display()))
            continue
        _approve_locked(store, actor=actor, now=now)
        result.approved.append(store.pk)
    return result


@transaction.atomic
def set_store_status(*, store_id, status, reason, actor, now=None) -> Store:
    """Staff suspend (approved → suspended), reinstate (suspended → approved) or withdraw (any but
    withdrawn → withdrawn) a store, with the reason (kept on the store and in the trail). Other
    moves → 409 store_status_conflict. A pending store is approved with approve_store."""
    now = clock.now_or(now)
    _require_staff(actor)
    status = inputs.clean_store_status(status)
    reason = inputs.clean_reason(reason)
    store = _locked(store_id)
    if status == StoreStatus.APPROVED and store.status == StoreStatus.PENDING:
        raise refuse("store_status_conflict", status=store.get_status_display())
    return _move(store, status, reason=reason, kind=EventKind.STORE_STATUS_CHANGED, actor=actor, now=now)


@transaction.atomic
def sign_up_owner(*, username, password, business_number, name, category, address, phone, now=None) -> Application:
    """A store owner's sign-up on /delivery/apply/: a new Django account (username rules and the
    password validators of the site) and its application, in one transaction: an application
    refused (store_already_applied, a bad business number) leaves no account behind."""
    now = clock.now_or(now)
    username = voucher_inputs.clean_new_username(username)
    voucher_inputs.clean_new_password(password, username=username)
    number = inputs.clean_business_number(business_number)  # refused before the account is made
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=username, password=password)
    except IntegrityError:  # the same name taken a moment ago
        raise voucher_refuse("invalid_username.taken", on="username") from None
    return apply_as_owner(actor=user, business_number=number, name=name, category=category, address=address,
                          phone=phone, now=now)
