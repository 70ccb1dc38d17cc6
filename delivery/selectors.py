"""Reads of the delivery app that need more than a one-line query."""
from django.db.models import Count, Prefetch

from delivery import rules
from delivery.choices import StoreStatus
from delivery.models import Brand, CommissionContract, Operator, Store, StoreListing
from jinju_portal import actors


def operator_of(actor) -> Operator | None:
    """The operator a delivery_operator key belongs to (ApiClient.operator_slug), or None. Every
    operator-facing read and write starts here: an operator sees only its own stores, orders and
    statements, and anything else answers 404 (API.md)."""
    client = actors.client_of(actor)
    if client is None or not client.operator_slug:
        return None
    return Operator.objects.filter(slug=client.operator_slug).first()


# --- the registry (operators, stores, the public directory) -----------------------------------------

def contract_on(operator_id: int, day):
    """The commission contract in force for an operator on `day` (Asia/Seoul date), or None."""
    return (CommissionContract.objects.filter(operator_id=operator_id, effective_from__lte=day)
            .order_by("-effective_from").first())


def operators_overview(*, day) -> list[dict]:
    """Every operator with its brands and the rate in force on `day` (GET operators/)."""
    operators = list(Operator.objects.prefetch_related("brands").order_by("name", "id"))
    rates = {}
    for contract in (CommissionContract.objects.filter(effective_from__lte=day)
                     .order_by("operator_id", "-effective_from").distinct("operator_id")):
        rates[contract.operator_id] = contract.rate
    return [{"slug": o.slug, "name": o.name, "brands": [b.name for b in o.brands.all()],
             "commission_rate": rates.get(o.pk), "status": o.status, "operator": o} for o in operators]


def _with_listings(queryset):
    return queryset.prefetch_related(
        Prefetch("listings", queryset=StoreListing.objects.select_related("operator", "brand").order_by("operator_id")))


def operator_stores(operator: Operator):
    """The stores with a listing of this operator (an operator sees only those: API.md)."""
    return _with_listings(Store.objects.filter(listings__operator=operator).order_by("id"))


def operator_store(operator: Operator, store_id: int):
    """One of the operator's stores, or None (another operator's store is not found: 404)."""
    return operator_stores(operator).filter(pk=store_id).first()


def store_with_listings(store_id: int):
    return _with_listings(Store.objects.filter(pk=store_id)).first()


def brand_names() -> list[str]:
    return list(Brand.objects.order_by("name").values_list("name", flat=True))


def directory(*, brand=None, category=None, dong=None, q=None):
    """Approved stores for the public (the API's directory/ and the /delivery/stores/ page): by
    brand (a listing under it), category (code), 동, and the name (q, partial)."""
    stores = Store.objects.filter(status=StoreStatus.APPROVED)
    if brand:
        stores = stores.filter(pk__in=StoreListing.objects.filter(brand__name=brand).values("store_id"))
    if category:
        stores = stores.filter(category=category)
    if dong:
        stores = stores.filter(dong=dong)
    if q:
        stores = stores.filter(name__icontains=q)
    return _with_listings(stores.order_by("name", "id"))


def brand_store_counts() -> dict[str, int]:
    """Approved stores listed under each brand."""
    rows = (StoreListing.objects.filter(store__status=StoreStatus.APPROVED, brand__isnull=False)
            .values_list("brand__name").annotate(n=Count("store_id", distinct=True)))
    return dict(rows)


def directory_dongs() -> list[str]:
    """The 동 that have approved stores, in the order of rules.JINJU_DONGS (then any others)."""
    present = set(Store.objects.filter(status=StoreStatus.APPROVED).exclude(dong="")
                  .values_list("dong", flat=True).distinct())
    order = {name: i for i, name in enumerate(rules.JINJU_DONGS)}
    return sorted(present, key=lambda d: (order.get(d, len(order)), d))


def owner_stores(user):
    """The stores a signed-in owner applied for, with their listings (/delivery/my/)."""
    return _with_listings(Store.objects.filter(owner=user).order_by("created_at", "id"))


def store_brands(store) -> list[str]:
    """Names of the brands a store is listed under (from prefetched listings)."""
    return sorted({listing.brand.name for listing in store.listings.all() if listing.brand_id})


def store_operators(store) -> list[str]:
    return [listing.operator.slug for listing in store.listings.all()]
