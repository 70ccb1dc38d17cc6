"""The store registry through its services: one store per business, one listing per operator, the
owner's application, the link to the Jinju Love merchant, approval and status changes."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, F

from delivery import inputs, rules, services
from delivery.models import CommissionContract, DeliveryEvent, Store, StoreListing
from jinju_portal.errors import ServiceError
from tests.delivery.factories import (BrandFactory, OperatorFactory, StoreFactory, StoreListingFactory,
                                      store_business_number)
from tests.races import race
from tests.vouchers.factories import MerchantFactory, staff_actor

pytestmark = pytest.mark.django_db
KST = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=KST)


@pytest.fixture
def operator_key(make_client):
    """operator_key("smartro") -> (Operator, its delivery_operator ApiClient, the actor of a service call)."""

    def _make(slug, brands=()):
        operator = OperatorFactory(slug=slug)
        for name in brands:
            BrandFactory(name=name, operator=operator)
        client, _http = make_client("delivery_operator", operator_slug=slug)
        return operator, client

    return _make


def application(number=None, **changes):
    return {"business_number": number or store_business_number(9001), "name": "남강치킨", "category": "chicken",
            "address": "경상남도 진주시 평거로 12 (평거동)", "phone": "055-741-1234", **changes}


def assert_registry():
    """The registry's invariants over the whole database: one store per business number, each listed at
    least once and at most once per operator, its voucher merchant of the same business number, an
    approved store dated, one application event per store."""
    numbers = list(Store.objects.values_list("business_number", flat=True))
    assert len(numbers) == len(set(numbers))
    assert not Store.objects.annotate(n=Count("listings")).filter(n=0).exists()
    assert not StoreListing.objects.values("store", "operator").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not Store.objects.filter(merchant__isnull=False).exclude(
        merchant__business_number=F("business_number")).exists()
    assert not Store.objects.filter(status="approved", approved_at__isnull=True).exists()
    applied = DeliveryEvent.objects.filter(kind="store_applied").values("store").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in applied)


def refused(fn, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(**kwargs)
    return info.value


def test_dong_comes_from_the_address():
    assert rules.dong_of("경상남도 진주시 평거로 12 (평거동)") == "평거동"
    assert rules.dong_of("경상남도 진주시 문산읍 월아산로 1") == "문산읍"
    assert rules.dong_of("경상남도 진주시 진주대로 501, 가좌동") == "가좌동"
    assert rules.dong_of("서울특별시 중구 세종대로 110") == ""


def test_category_is_taken_as_its_code_or_korean_label():
    assert inputs.clean_category("chicken") == "chicken"
    assert inputs.clean_category("족발·보쌈") == "jokbal"
    exc = refused(inputs.clean_category, value="sushi")
    assert exc.code == "invalid_category" and "chicken (치킨)" in exc.detail


def test_a_new_business_is_one_pending_store_with_the_operators_listing(operator_key):
    operator, client = operator_key("smartro", brands=["배달의 진주"])
    result = services.apply_for_store(actor=client, brand="배달의 진주", now=NOW, **application())
    assert (result.outcome, result.created) == ("created", True)
    store = Store.objects.get()
    assert (store.status, store.dong, store.name, store.phone) == ("pending", "평거동", "남강치킨", "055-741-1234")
    listing = StoreListing.objects.get()
    assert (listing.store, listing.operator, listing.brand.name, listing.api_client) == (store, operator,
                                                                                         "배달의 진주", client)
    assert list(DeliveryEvent.objects.values_list("kind", flat=True)) == ["store_applied"]


def test_the_same_business_from_two_operators_is_one_store_with_two_listings(operator_key):
    first, first_key = operator_key("smartro", brands=["배달의 진주"])
    second, second_key = operator_key("honeybees", brands=["띵동"])
    one = services.apply_for_store(actor=first_key, now=NOW, **application())
    two = services.apply_for_store(actor=second_key, brand="띵동", now=NOW,
                                   **application(name="다른 이름", address="경상남도 진주시 문산읍 1", category="pizza"))
    assert two.outcome == "listed" and two.created and two.store.pk == one.store.pk
    assert Store.objects.count() == 1
    store = Store.objects.get()
    assert (store.name, store.dong, store.category) == ("남강치킨", "평거동", "chicken")  # never changed
    assert sorted(store.listings.values_list("operator__slug", flat=True)) == ["honeybees", "smartro"]
    assert DeliveryEvent.objects.filter(kind="listing_added", operator=second, store=store).count() == 1


def test_the_same_operator_again_changes_nothing(operator_key):
    _operator, client = operator_key("smartro")
    services.apply_for_store(actor=client, now=NOW, **application())
    again = services.apply_for_store(actor=client, now=NOW, **application(name="새 이름"))
    assert (again.outcome, again.created) == ("unchanged", False)
    assert Store.objects.get().name == "남강치킨"
    assert StoreListing.objects.count() == 1
    assert DeliveryEvent.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parallel_applications_of_one_business_by_two_operators_make_one_store_two_listings(operator_key):
    keys = [operator_key(slug)[1] for slug in ("smartro", "honeybees", "aramsolution")]
    jobs = [(key,) for key in keys for _ in range(3)]  # each operator three times at once

    def apply(key):
        return services.apply_for_store(actor=key, **application()).outcome

    results = race(apply, jobs)
    assert all(kind == "ok" for kind, _ in results), results
    made = sorted(value for _kind, value in results)
    assert made.count("created") == 1 and made.count("listed") == 2 and made.count("unchanged") == 6
    assert Store.objects.count() == 1
    assert StoreListing.objects.count() == 3
    assert DeliveryEvent.objects.filter(kind="store_applied").count() == 1
    assert DeliveryEvent.objects.filter(kind="listing_added").count() == 2
    assert_registry()


def test_a_brand_must_be_one_of_the_applying_operators(operator_key):
    _smartro, smartro_key = operator_key("smartro", brands=["배달의 진주"])
    operator_key("honeybees", brands=["띵동"])
    _aram, aram_key = operator_key("aramsolution")
    exc = refused(services.apply_for_store, actor=smartro_key, brand="띵동", **application())
    assert (exc.code, exc.status) == ("invalid_brand", 400) and "배달의 진주" in exc.detail
    assert exc.fields == {"brand": [exc.detail]}
    exc = refused(services.apply_for_store, actor=aram_key, brand="배달의 진주", **application())
    assert exc.code == "invalid_brand"
    assert not Store.objects.exists() and not DeliveryEvent.objects.exists()
    assert services.apply_for_store(actor=aram_key, brand="", **application()).listing.brand is None


@pytest.mark.parametrize("changes, code, field", [
    ({"business_number": "220-81-62518"}, "invalid_business_number", "business_number"),
    ({"business_number": "12345"}, "invalid_business_number", "business_number"),
    ({"business_number": 2208162517}, "invalid_business_number", "business_number"),
    ({"name": ""}, "invalid_store_info", "name"),
    ({"name": "가" * 101}, "invalid_store_info", "name"),
    ({"address": "  "}, "invalid_store_info", "address"),
    ({"phone": "전화 없음"}, "invalid_store_info", "phone"),
    ({"category": "sushi"}, "invalid_category", "category"),
])
def test_bad_applications_are_refused_and_write_nothing(operator_key, changes, code, field):
    _operator, client = operator_key("smartro")
    exc = refused(services.apply_for_store, actor=client, **application(**changes))
    assert exc.code == code and exc.status == 400
    assert field in exc.fields
    assert not Store.objects.exists() and not DeliveryEvent.objects.exists()


def test_every_wrong_store_field_is_listed_at_once(operator_key):
    _operator, client = operator_key("smartro")
    exc = refused(services.apply_for_store, actor=client, **application(name="", address="", phone="x"))
    assert exc.code == "invalid_store_info" and set(exc.fields) == {"name", "address", "phone"}


def test_only_an_operators_key_applies(make_client):
    sales, _http = make_client("sales_agent")
    exc = refused(services.apply_for_store, actor=sales, **application())
    assert (exc.code, exc.status) == ("permission_denied", 403)


def test_a_suspended_operator_cannot_apply(operator_key):
    operator, client = operator_key("smartro")
    services.set_operator_status(operator_id=operator.pk, status="suspended", reason="협약 위반 조사",
                                 actor=staff_actor(), now=NOW)
    assert refused(services.apply_for_store, actor=client, **application()).code == "operator_not_active"


def test_a_store_is_linked_to_the_jinju_love_merchant_of_its_business_number(operator_key):
    number = store_business_number(9100)
    merchant = MerchantFactory(business_number=number)
    _operator, client = operator_key("smartro")
    store = services.apply_for_store(actor=client, now=NOW, **application(number)).store
    assert store.merchant == merchant
    assert DeliveryEvent.objects.filter(kind="store_linked", store=store).count() == 1


def test_a_merchant_registered_after_the_application_is_linked_on_approval(operator_key):
    number = store_business_number(9200)
    _operator, client = operator_key("smartro")
    store = services.apply_for_store(actor=client, now=NOW, **application(number)).store
    assert store.merchant is None
    merchant = MerchantFactory(business_number=number)
    store = services.approve_store(store_id=store.pk, actor=staff_actor(), now=NOW)
    assert (store.status, store.approved_at, store.merchant) == ("approved", NOW, merchant)
    assert list(DeliveryEvent.objects.filter(store=store).order_by("id").values_list("kind", flat=True)) == [
        "store_applied", "store_approved", "store_linked"]


def test_approval_is_for_city_staff_only(operator_key, make_client):
    _operator, client = operator_key("smartro")
    store = services.apply_for_store(actor=client, now=NOW, **application()).store
    assert refused(services.approve_store, store_id=store.pk, actor=client).status == 403
    clerk = get_user_model().objects.create_user("not-staff", password="x-123456789")
    assert refused(services.approve_store, store_id=store.pk, actor=clerk).code == "permission_denied"
    staff_key, _http = make_client("staff")
    assert services.approve_store(store_id=store.pk, actor=staff_key, now=NOW).status == "approved"
    exc = refused(services.approve_store, store_id=store.pk, actor=staff_key)
    assert (exc.code, exc.status) == ("store_status_conflict", 409)
    assert refused(services.approve_store, store_id=10**12, actor=staff_key).status == 404


def test_bulk_approval_approves_the_pending_and_reports_the_rest():
    pending = [StoreFactory(status="pending", approved_at=None) for _ in range(3)]
    approved = StoreFactory()
    result = services.approve_stores(store_ids=[s.pk for s in pending] + [approved.pk], actor=staff_actor(), now=NOW)
    assert result.approved == sorted(s.pk for s in pending)
    assert result.skipped == [(approved.pk, "승인")]
    assert Store.objects.filter(status="approved").count() == 4
    assert DeliveryEvent.objects.filter(kind="store_approved").count() == 3


def test_status_changes_follow_the_transitions_with_a_reason():
    store = StoreFactory()
    clerk = staff_actor()
    services.set_store_status(store_id=store.pk, status="suspended", reason="위생 점검", actor=clerk, now=NOW)
    store.refresh_from_db()
    assert (store.status, store.status_reason) == ("suspended", "위생 점검")
    assert refused(services.set_store_status, store_id=store.pk, status="suspended", reason="x",
                   actor=clerk).code == "store_status_conflict"
    assert refused(services.set_store_status, store_id=store.pk, status="approved", reason="",
                   actor=clerk).code == "invalid_reason"
    services.set_store_status(store_id=store.pk, status="approved", reason="점검 완료", actor=clerk, now=NOW)
    services.set_store_status(store_id=store.pk, status="withdrawn", reason="폐업", actor=clerk, now=NOW)
    assert refused(services.set_store_status, store_id=store.pk, status="approved", reason="재개",
                   actor=clerk).code == "store_status_conflict"
    pending = StoreFactory(status="pending", approved_at=None)
    assert refused(services.set_store_status, store_id=pending.pk, status="approved", reason="승인",
                   actor=clerk).code == "store_status_conflict"
    kinds = list(DeliveryEvent.objects.filter(store=store).values_list("kind", flat=True))
    assert kinds == ["store_status_changed"] * 3


# --- the owner's application -----------------------------------------------------------------------

@pytest.fixture
def owner():
    return get_user_model().objects.create_user("owner1", password="jinju-owner-2026")


def test_an_owners_application_is_listed_with_every_active_operator(owner):
    smartro = OperatorFactory(slug="smartro")
    BrandFactory(name="배달의 진주", operator=smartro)
    honeybees = OperatorFactory(slug="honeybees")
    BrandFactory(name="띵동", operator=honeybees)
    BrandFactory(name="띵동 플러스", operator=honeybees)
    OperatorFactory(slug="aramsolution")
    OperatorFactory(slug="gone", status="withdrawn")
    result = services.apply_as_owner(actor=owner, now=NOW, **application())
    store = result.store
    assert (result.outcome, store.owner, store.status) == ("created", owner, "pending")
    listings = {li.operator.slug: li for li in store.listings.select_related("operator", "brand")}
    assert sorted(listings) == ["aramsolution", "honeybees", "smartro"]
    assert listings["smartro"].brand.name == "배달의 진주"
    assert listings["honeybees"].brand is None and listings["aramsolution"].brand is None  # two brands / none
    assert {li.source for li in listings.values()} == {"owner"}


def test_an_owner_cannot_apply_for_a_business_already_registered(owner, operator_key):
    _operator, client = operator_key("smartro")
    services.apply_for_store(actor=client, **application())
    exc = refused(services.apply_as_owner, actor=owner, **application())
    assert (exc.code, exc.status) == ("store_already_applied", 409)
    assert Store.objects.get().owner is None


def test_the_same_owner_again_sees_the_store_unchanged(owner):
    OperatorFactory(slug="smartro")
    first = services.apply_as_owner(actor=owner, **application())
    again = services.apply_as_owner(actor=owner, **application(name="바뀐 이름"))
    assert again.outcome == "unchanged" and again.store.pk == first.store.pk
    assert Store.objects.get().name == "남강치킨"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_owner_and_an_operator_applying_at_once_make_one_store(make_client):
    OperatorFactory(slug="smartro")
    client, _http = make_client("delivery_operator", operator_slug="smartro")
    user = get_user_model().objects.create_user("owner-race", password="jinju-owner-2026")

    def apply(who):
        if who == "owner":
            return services.apply_as_owner(actor=user, **application()).outcome
        return services.apply_for_store(actor=client, **application()).outcome

    results = [value for _kind, value in race(apply, [("owner",), ("operator",)])]
    assert Store.objects.count() == 1
    assert sorted(results) in (["created", "store_already_applied"], ["created", "unchanged"])
    store = Store.objects.get()
    assert store.listings.filter(operator__slug="smartro").count() == 1
    assert_registry()


# --- operators and contracts ---------------------------------------------------------------------

def test_register_an_operator_with_its_brands():
    operator = services.register_operator(slug="smartro", name="㈜스마트로", business_number="220-81-62517",
                                          selected_on=dt.date(2020, 11, 20), brands=["배달의 진주"], now=NOW)
    assert list(operator.brands.values_list("name", flat=True)) == ["배달의 진주"]
    exc = refused(services.register_operator, slug="smartro", name="x", business_number="124-81-00998",
                  selected_on=dt.date(2020, 11, 20))
    assert exc.code == "invalid" and "slug" in exc.fields


def test_operator_suspension_and_reinstatement_but_never_withdrawal_here():
    operator = OperatorFactory()
    clerk = staff_actor()
    services.set_operator_status(operator_id=operator.pk, status="suspended", reason="점검", actor=clerk, now=NOW)
    services.set_operator_status(operator_id=operator.pk, status="active", reason="재개", actor=clerk, now=NOW)
    assert refused(services.set_operator_status, operator_id=operator.pk, status="active", reason="x",
                   actor=clerk).code == "operator_status_conflict"
    assert refused(services.set_operator_status, operator_id=operator.pk, status="withdrawn", reason="x",
                   actor=clerk).code == "operator_status_conflict"
    assert DeliveryEvent.objects.filter(kind="operator_status_changed").count() == 2


def test_a_contract_starts_today_or_later_and_once_per_day():
    operator = OperatorFactory()
    clerk = staff_actor()
    today = NOW.date()
    contract = services.add_contract(operator_id=operator.pk, rate="0.0150", effective_from=today,
                                     waiver_monthly_food=500_000, note="프로모션", actor=clerk, now=NOW)
    assert (contract.rate, contract.created_by) == (Decimal("0.0150"), clerk)
    exc = refused(services.add_contract, operator_id=operator.pk, rate="0.0200",
                  effective_from=today - dt.timedelta(days=1), actor=clerk, now=NOW)
    assert (exc.code, exc.status) == ("contract_in_force", 409)
    exc = refused(services.add_contract, operator_id=operator.pk, rate="0.0200", effective_from=today, actor=clerk,
                  now=NOW)
    assert exc.code == "invalid_contract"
    for rate in ("1", "-0.01", "0.02001", "abc", 0.02, None):
        assert refused(services.add_contract, operator_id=operator.pk, rate=rate, effective_from=today, actor=clerk,
                       now=NOW).code == "invalid_rate"
    assert CommissionContract.objects.filter(operator=operator).count() == 1
    assert DeliveryEvent.objects.filter(kind="contract_added").count() == 1


def test_the_contract_day_is_the_seoul_day():
    operator = OperatorFactory()
    late_evening_utc = dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)  # 1 Dec 01:00 in Seoul
    services.add_contract(operator_id=operator.pk, rate="0.0200", effective_from=dt.date(2026, 12, 1),
                          actor=staff_actor(), now=late_evening_utc)
    exc = refused(services.add_contract, operator_id=operator.pk, rate="0.0200", effective_from=dt.date(2026, 11, 30),
                  actor=staff_actor(), now=late_evening_utc)
    assert exc.code == "contract_in_force"



@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parallel_approvals_approve_once_with_one_event(make_client):
    store = StoreListingFactory(store__status="pending", store__approved_at=None).store
    staff_key, _http = make_client("staff")

    def approve():
        return services.approve_store(store_id=store.pk, actor=staff_key).status

    results = race(approve, [()] * 6)
    assert sorted(results) == [("err", "store_status_conflict")] * 5 + [("ok", "approved")]
    store.refresh_from_db()
    assert store.status == "approved"
    assert DeliveryEvent.objects.filter(kind="store_approved", store=store).count() == 1
    assert_registry()
