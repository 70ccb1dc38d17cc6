"""Merchants (가맹점): eligibility, the re-registration ban, transitions and their refusals, one event
per change, the public directory (pg_trgm search, ranking, filters), a race of two clerks, the
admin through the services, and the seed's 4,500 paper and 7,000 mobile merchants."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from jinju_portal import bizno
from tests.races import race
from tests.seed_support import SeedOut
from tests.vouchers.factories import (MerchantCategoryFactory, MerchantFactory, staff_actor,
                                      valid_business_number)
from vouchers import merchant_codes, rules, services
from vouchers.models import Merchant, MerchantCategory, VoucherEvent

pytestmark = [pytest.mark.django_db]
KST = ZoneInfo("Asia/Seoul")
T0 = dt.datetime(2031, 3, 10, 14, 0, tzinfo=KST)  # a fixed instant: every date below is built from it
DIRECTORY = "/api/v1/vouchers/merchants/"


_DEFAULT = object()


def _register(number=_DEFAULT, *, actor=None, now=T0, **overrides):
    fields = {"business_number": valid_business_number(1) if number is _DEFAULT else number, "name": "진주식당",
              "category": overrides.pop("category", None) or MerchantCategoryFactory(code="restaurant",
                                                                                    name="일반음식점"),
              "address": "경상남도 진주시 진주대로 501", "dong": "가좌동", "representative": "김진주",
              "annual_revenue": 500_000_000, "accepts_paper": True, "accepts_mobile": True, "phone": "055-000-0000"}
    fields.update(overrides)
    return services.register_merchant(**fields, actor=actor, now=now)


def _kinds(merchant):
    return list(VoucherEvent.objects.filter(merchant=merchant).order_by("id").values_list("kind", flat=True))


# --- the rules (pure) ----------------------------------------------------------------------------

def test_revenue_of_exactly_3_bn_is_eligible_and_one_won_more_is_not():
    ok = rules.merchant_refusal(annual_revenue=3_000_000_000, category_excluded=False,
                                illegal_exchange_cancelled_at=None, now=T0)
    over = rules.merchant_refusal(annual_revenue=3_000_000_001, category_excluded=False,
                                  illegal_exchange_cancelled_at=None, now=T0)
    assert (ok, over) == (None, "merchant_revenue_over_limit")


def test_an_excluded_category_is_refused_whatever_the_revenue():
    assert rules.merchant_refusal(annual_revenue=1, category_excluded=True, illegal_exchange_cancelled_at=None,
                                  now=T0) == "merchant_category_excluded"


def test_the_illegal_exchange_ban_lasts_one_seoul_calendar_year_to_the_second():
    cancelled = T0
    ends = dt.datetime(2032, 3, 10, 14, 0, tzinfo=KST)
    assert rules.merchant_ban_ends(cancelled) == ends
    assert rules.merchant_banned(illegal_exchange_cancelled_at=cancelled, now=ends - dt.timedelta(seconds=1))
    assert not rules.merchant_banned(illegal_exchange_cancelled_at=cancelled, now=ends)
    assert rules.merchant_refusal(annual_revenue=1, category_excluded=True, illegal_exchange_cancelled_at=cancelled,
                                  now=T0 + dt.timedelta(days=200)) == "merchant_banned"


def test_a_ban_from_29_february_ends_on_28_february():
    leap = dt.datetime(2032, 2, 29, 9, 0, tzinfo=KST)
    assert rules.merchant_ban_ends(leap) == dt.datetime(2033, 2, 28, 9, 0, tzinfo=KST)


def test_the_transition_table():
    assert rules.merchant_may_move("pending", "approved")
    assert rules.merchant_may_move("approved", "suspended")
    assert rules.merchant_may_move("suspended", "approved")
    assert not rules.merchant_may_move("pending", "suspended")
    assert not any(rules.merchant_may_move("cancelled", s) for s in ("pending", "approved", "suspended"))


def test_merchant_codes_are_8_crockford_characters_with_a_check_character():
    code = merchant_codes.new_code()
    assert len(code) == 8 and merchant_codes.is_valid_code(code)
    wrong = ("0" if code[0] != "0" else "1") + code[1:]
    assert not merchant_codes.is_valid_code(wrong)
    assert len({merchant_codes.new_code() for _ in range(1000)}) == 1000


# --- registration --------------------------------------------------------------------------------

def test_registration_is_pending_normalized_coded_and_on_the_trail_with_its_actor():
    clerk = staff_actor()
    number = valid_business_number(7)
    merchant = _register(bizno.format_number(number), actor=clerk)
    assert merchant.status == "pending" and merchant.business_number == number
    assert merchant_codes.is_valid_code(merchant.code)
    event = VoucherEvent.objects.get(merchant=merchant)
    assert (event.kind, event.user, event.actor, event.at) == ("merchant_registered", clerk, "user:test-clerk", T0)
    assert event.after["business_number"] == number and event.after["status"] == "pending"


@pytest.mark.parametrize("number", ["220-81-62518", "12345", "abcdefghij", "２２０８１６２５１７", "", None, 2208162517])
def test_an_invalid_business_number_is_400_and_writes_nothing(number):
    with pytest.raises(services.InvalidInput) as exc:
        _register(number)
    assert (exc.value.status, exc.value.code) == (400, "invalid_business_number")
    assert not Merchant.objects.exists() and not VoucherEvent.objects.exists()


def test_a_duplicate_business_number_is_refused_with_a_409():
    _register(valid_business_number(2))
    with pytest.raises(services.RuleViolation) as exc:
        _register(bizno.format_number(valid_business_number(2)), name="다른 가게")
    assert exc.value.code == "merchant_already_registered"
    assert Merchant.objects.count() == 1 and VoucherEvent.objects.count() == 1


@pytest.mark.parametrize("overrides, code", [
    ({"name": ""}, "invalid_merchant"), ({"name": "가" * 101}, "invalid_merchant"),
    ({"dong": None}, "invalid_merchant"), ({"annual_revenue": -1}, "invalid_merchant"),
    ({"annual_revenue": 1.5}, "invalid_merchant"), ({"accepts_paper": False, "accepts_mobile": False},
                                                    "invalid_merchant"),
    ({"category": "no_such"}, "invalid_category"),
])
def test_bad_descriptive_fields_are_400_and_write_nothing(overrides, code):
    if overrides.get("category") == "no_such":
        MerchantCategoryFactory(code="restaurant")
    with pytest.raises(services.InvalidInput) as exc:
        _register(**overrides)
    assert exc.value.code == code
    assert not Merchant.objects.exists()


@pytest.mark.clock
def test_cancelled_for_illegal_exchange_cannot_register_again_within_a_year_and_can_after():
    clerk = staff_actor()
    merchant = _register(valid_business_number(3))
    services.approve_merchant(merchant_id=merchant.pk, actor=clerk, now=T0)
    services.cancel_merchant(merchant_id=merchant.pk, reason="상품권 깡 적발", illegal_exchange=True, actor=clerk,
                             now=T0 + dt.timedelta(days=1))
    year_later = dt.datetime(2032, 3, 11, 14, 0, tzinfo=KST)
    with pytest.raises(services.RuleViolation) as exc:
        _register(valid_business_number(3), now=year_later - dt.timedelta(seconds=1))
    assert exc.value.code == "merchant_banned" and "2032-03-11" in exc.value.detail
    again = _register(valid_business_number(3), name="새 진주식당", now=year_later)
    assert (again.pk, again.status, again.name) == (merchant.pk, "pending", "새 진주식당")
    assert again.cancelled_for_illegal_exchange  # the record of the old cancellation stays
    services.approve_merchant(merchant_id=again.pk, actor=clerk, now=year_later)
    assert _kinds(merchant) == ["merchant_registered", "merchant_approved", "merchant_cancelled",
                                "merchant_reregistered", "merchant_approved"]


def test_an_ordinarily_cancelled_merchant_may_register_again_at_once():
    merchant = _register(valid_business_number(4))
    services.cancel_merchant(merchant_id=merchant.pk, reason="폐업", actor=None, now=T0)
    assert _register(valid_business_number(4), now=T0 + dt.timedelta(minutes=1)).status == "pending"


# --- approval and transitions --------------------------------------------------------------------

def test_approval_refuses_revenue_over_3_bn_and_writes_nothing():
    merchant = _register(annual_revenue=3_000_000_001)
    with pytest.raises(services.RuleViolation) as exc:
        services.approve_merchant(merchant_id=merchant.pk, actor=staff_actor(), now=T0)
    assert exc.value.code == "merchant_revenue_over_limit" and "3,000,000,000원" in exc.value.detail
    merchant.refresh_from_db()
    assert merchant.status == "pending" and _kinds(merchant) == ["merchant_registered"]


def test_approval_refuses_an_excluded_category_edited_by_staff():
    clerk = staff_actor()
    category = services.create_merchant_category(code="large_mart", name="대형마트", actor=clerk, now=T0)
    merchant = _register(category=category)
    services.update_merchant_category(category_id=category.pk, actor=clerk, now=T0,
                                      changes={"excluded": True, "excluded_reason": "대규모점포"})
    with pytest.raises(services.RuleViolation) as exc:
        services.approve_merchant(merchant_id=merchant.pk, actor=clerk, now=T0)
    assert exc.value.code == "merchant_category_excluded" and "대규모점포" in exc.value.detail
    assert list(category.events.values_list("kind", flat=True).order_by("id")) == ["category_created",
                                                                                  "category_changed"]


def test_an_excluded_category_needs_its_reason():
    with pytest.raises(services.InvalidInput) as exc:
        services.create_merchant_category(code="casino", name="카지노", excluded=True, actor=None, now=T0)
    assert exc.value.code == "invalid_category"


@pytest.mark.clock
def test_approve_suspend_approve_cancel_each_write_one_event_with_actor_reason_before_and_after():
    clerk = staff_actor()
    merchant = _register()
    services.approve_merchant(merchant_id=merchant.pk, actor=clerk, now=T0)
    services.suspend_merchant(merchant_id=merchant.pk, reason="민원 조사", actor=clerk, now=T0 + dt.timedelta(hours=1))
    services.approve_merchant(merchant_id=merchant.pk, actor=clerk, now=T0 + dt.timedelta(hours=2), reason="해소")
    services.cancel_merchant(merchant_id=merchant.pk, reason="폐업", actor=clerk, now=T0 + dt.timedelta(hours=3))
    merchant.refresh_from_db()
    assert (merchant.status, merchant.status_reason, merchant.status_changed_at) == (
        "cancelled", "폐업", T0 + dt.timedelta(hours=3))
    assert not merchant.cancelled_for_illegal_exchange
    trail = list(VoucherEvent.objects.filter(merchant=merchant).order_by("id"))
    assert [e.kind for e in trail] == ["merchant_registered", "merchant_approved", "merchant_suspended",
                                       "merchant_approved", "merchant_cancelled"]
    assert all(e.user == clerk for e in trail[1:])
    suspended = trail[2]
    assert (suspended.before["status"], suspended.after["status"], suspended.note) == ("approved", "suspended",
                                                                                        "민원 조사")


@pytest.mark.parametrize("first, action, code", [
    (None, "suspend", "merchant_status_conflict"),                # pending cannot be suspended
    ("approve", "approve", "merchant_status_conflict"),           # already approved
    ("cancel", "approve", "merchant_status_conflict"),            # cancelled is final
    ("cancel", "cancel", "merchant_status_conflict"),
])
def test_transitions_outside_the_table_are_refused_and_write_nothing(first, action, code):
    merchant = _register()
    calls = {
        "approve": lambda: services.approve_merchant(merchant_id=merchant.pk, actor=None, now=T0),
        "suspend": lambda: services.suspend_merchant(merchant_id=merchant.pk, reason="조사", actor=None, now=T0),
        "cancel": lambda: services.cancel_merchant(merchant_id=merchant.pk, reason="폐업", actor=None, now=T0),
    }
    if first:
        calls[first]()
    events = VoucherEvent.objects.count()
    with pytest.raises(services.RuleViolation) as exc:
        calls[action]()
    assert exc.value.code == code
    assert VoucherEvent.objects.count() == events


@pytest.mark.parametrize("reason", ["", "   ", "가" * 201])
def test_suspend_and_cancel_need_a_reason(reason):
    merchant = _register()
    services.approve_merchant(merchant_id=merchant.pk, actor=None, now=T0)
    for call in (services.suspend_merchant, services.cancel_merchant):
        with pytest.raises(services.InvalidInput) as exc:
            call(merchant_id=merchant.pk, reason=reason, actor=None, now=T0)
        assert exc.value.code == "invalid_reason"
    assert _kinds(merchant) == ["merchant_registered", "merchant_approved"]


def test_an_unknown_merchant_is_404():
    with pytest.raises(services.NotFound):
        services.approve_merchant(merchant_id=999_999, actor=None, now=T0)


def test_update_records_the_changed_fields_only_and_nothing_when_nothing_changed():
    clerk = staff_actor()
    merchant = _register()
    cafe = MerchantCategoryFactory(code="cafe", name="카페")
    services.update_merchant(merchant_id=merchant.pk, actor=clerk, now=T0,
                             changes={"name": "진주식당 본점", "category": cafe, "dong": "가좌동"})
    event = VoucherEvent.objects.get(merchant=merchant, kind="merchant_changed")
    assert event.before == {"name": "진주식당", "category": "restaurant"}
    assert event.after == {"name": "진주식당 본점", "category": "cafe"}
    services.update_merchant(merchant_id=merchant.pk, actor=clerk, now=T0, changes={"name": "진주식당 본점"})
    assert VoucherEvent.objects.filter(merchant=merchant, kind="merchant_changed").count() == 1
    with pytest.raises(services.InvalidInput):
        services.update_merchant(merchant_id=merchant.pk, actor=clerk, now=T0,
                                 changes={"accepts_paper": False, "accepts_mobile": False})


# --- the race ------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_clerks_approving_and_cancelling_at_once_end_consistent_with_exactly_the_right_events():
    for n in range(5):  # five pending merchants, each raced once
        merchant = _register(valid_business_number(100 + n))
        before = VoucherEvent.objects.count()
        results = race(lambda action: action(), [
            (lambda: services.approve_merchant(merchant_id=merchant.pk, actor=None),),
            (lambda: services.cancel_merchant(merchant_id=merchant.pk, reason="서류 미비", actor=None),),
        ])
        merchant.refresh_from_db()
        kinds = _kinds(merchant)[-2:]
        assert all(kind in ("ok", "err") for kind, _ in results), results
        assert merchant.status == "cancelled"  # approved then cancelled, or cancelled and the approval refused
        if results[0][0] == "ok":
            assert results[1][0] == "ok" and kinds == ["merchant_approved", "merchant_cancelled"]
            assert VoucherEvent.objects.count() == before + 2
        else:
            assert results[0] == ("err", "merchant_status_conflict") and results[1][0] == "ok"
            assert VoucherEvent.objects.count() == before + 1
            assert VoucherEvent.objects.order_by("-id").first().kind == "merchant_cancelled"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_clerks_approving_the_same_merchant_approve_it_once():
    merchant = _register()
    results = race(lambda: services.approve_merchant(merchant_id=merchant.pk, actor=None), [()] * 2)
    assert sorted(kind for kind, _ in results) == ["err", "ok"]
    assert ("err", "merchant_status_conflict") in results
    assert _kinds(merchant) == ["merchant_registered", "merchant_approved"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_category_excluded_while_a_clerk_approves_is_seen_by_one_or_the_other():
    for n in range(5):
        category = MerchantCategoryFactory(code=f"race_{n}")
        merchant = _register(valid_business_number(200 + n), category=category)
        results = race(lambda action: action(), [
            (lambda: services.approve_merchant(merchant_id=merchant.pk, actor=None),),
            (lambda: services.update_merchant_category(category_id=category.pk, actor=None,
                                                       changes={"excluded": True, "excluded_reason": "사행성"}),),
        ])
        merchant.refresh_from_db()
        assert results[1][0] == "ok", results
        if results[0][0] == "ok":  # approved first; the exclusion came after (staff then act on it)
            assert merchant.status == "approved"
        else:
            assert results[0] == ("err", "merchant_category_excluded") and merchant.status == "pending"
            assert _kinds(merchant) == ["merchant_registered"]


# --- the directory -------------------------------------------------------------------------------

@pytest.fixture
def shops():
    food = MerchantCategoryFactory(code="restaurant", name="일반음식점")
    cafe = MerchantCategoryFactory(code="cafe", name="카페·제과점")
    made = {
        "식당": MerchantFactory(name="진주식당", category=food, dong="가좌동"),
        "본점": MerchantFactory(name="진주식당 본점", category=food, dong="평거동", accepts_paper=False),
        "냉면": MerchantFactory(name="하연옥 진주냉면", category=food, dong="이현동", accepts_mobile=False),
        "카페": MerchantFactory(name="남강카페", category=cafe, dong="평거동"),
        "국밥": MerchantFactory(name="중앙시장 돼지국밥", category=food, dong="중앙동"),
        "대기": MerchantFactory(name="진주식당 대기점", category=food, status="pending"),
        "정지": MerchantFactory(name="진주식당 정지점", category=food, status="suspended"),
    }
    return made


def _names(response):
    assert response.status_code == 200, response.content
    return [r["name"] for r in response.json()["results"]]


def test_the_directory_lists_approved_merchants_only_with_the_api_fields(api, shops):
    body = api.get(DIRECTORY).json()
    assert body["count"] == 5 and {"next", "previous"} <= set(body)
    row = next(r for r in body["results"] if r["name"] == "진주식당")
    shop = shops["식당"]
    assert row == {"code": shop.code, "business_number": bizno.format_number(shop.business_number),
                   "name": "진주식당", "category": "restaurant", "category_name": "일반음식점", "dong": "가좌동",
                   "address": shop.address, "accepts_paper": True, "accepts_mobile": True}


def test_search_finds_korean_partial_names_nearest_first(api, shops):
    names = _names(api.get(DIRECTORY, {"q": "진주식당"}))
    assert names[:2] == ["진주식당", "진주식당 본점"]  # the exact name, then the one starting with it
    assert "진주식당 대기점" not in names and "진주식당 정지점" not in names
    assert _names(api.get(DIRECTORY, {"q": "국밥"}))[0] == "중앙시장 돼지국밥"  # the middle of a name
    assert _names(api.get(DIRECTORY, {"q": "냉면"})) == ["하연옥 진주냉면"]


def test_search_tolerates_a_typo(api, shops):
    assert _names(api.get(DIRECTORY, {"q": "진주싱당"}))[0] == "진주식당"  # one wrong syllable
    assert _names(api.get(DIRECTORY, {"q": "남강까페"}))[0] == "남강카페"
    assert "남강카페" not in _names(api.get(DIRECTORY, {"q": "돼지국밥"}))


def test_filters_by_medium_category_and_dong(api, shops):
    assert "진주식당 본점" not in _names(api.get(DIRECTORY, {"accepts": "paper"}))
    assert "하연옥 진주냉면" not in _names(api.get(DIRECTORY, {"accepts": "mobile"}))
    assert _names(api.get(DIRECTORY, {"category": "cafe"})) == ["남강카페"]
    assert sorted(_names(api.get(DIRECTORY, {"dong": "평거동"}))) == ["남강카페", "진주식당 본점"]
    assert _names(api.get(DIRECTORY, {"dong": "평거동", "category": "restaurant", "q": "진주"})) == ["진주식당 본점"]


def test_the_directory_is_paginated(api, shops):
    first = api.get(DIRECTORY, {"page_size": 2}).json()
    second = api.get(DIRECTORY, {"page_size": 2, "page": 2}).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    assert not {r["code"] for r in first["results"]} & {r["code"] for r in second["results"]}


@pytest.mark.parametrize("params, field", [
    ({"accepts": "cash"}, "accepts"), ({"category": "no_such"}, "category"), ({"category": "드롭"}, "category"),
    ({"q": "가" * 51}, "q"), ({"dong": "동" * 21}, "dong"), ({"q": "a\x00b"}, "q"),
])
def test_bad_filters_are_400_invalid_filter(api, shops, params, field):
    response = api.get(DIRECTORY, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_filter" and field in body["fields"]


@pytest.mark.django_db(transaction=True)
def test_the_search_thresholds_end_with_the_request_and_never_leak_into_the_connection(api):
    from django.db import connection

    MerchantFactory(name="진주식당")
    assert _names(api.get(DIRECTORY, {"q": "진주싱당"})) == ["진주식당"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pg_trgm.similarity_threshold', true)")
        (value,) = cursor.fetchone()
    assert value in (None, "", "0.3")  # pg_trgm's default, or not loaded in this session at all


def test_the_directory_uses_the_trigram_index_for_the_name():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'merchant_name_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin" in definition and "gin_trgm_ops" in definition


# --- the admin -----------------------------------------------------------------------------------

def test_admin_lists_filters_and_searches_merchants(admin_client, shops):
    url = reverse("admin:vouchers_merchant_changelist")
    for query in ("status=approved", "dong=평거동", "accepts_paper__exact=1", f"category__id__exact="
                  f"{shops['식당'].category_id}", "q=진주", f"q={shops['카페'].code}",
                  f"q={bizno.format_number(shops['카페'].business_number)}"):
        assert admin_client.get(f"{url}?{query}").status_code == 200, query
    found = admin_client.get(url, {"q": bizno.format_number(shops["카페"].business_number)})
    assert list(found.context["cl"].result_list) == [shops["카페"]]
    detail = admin_client.get(reverse("admin:vouchers_merchant_change", args=[shops["카페"].pk]))
    assert detail.status_code == 200 and "처리 기록" in detail.content.decode()
    assert admin_client.get(reverse("admin:vouchers_merchantcategory_changelist")).status_code == 200


def test_admin_add_form_registers_through_the_service(admin_client):
    category = MerchantCategoryFactory(code="restaurant")
    url = reverse("admin:vouchers_merchant_add")
    data = {"business_number": bizno.format_number(valid_business_number(40)), "name": "새가게",
            "category": category.pk, "address": "진주시 어딘가 1", "dong": "상대동", "phone": "",
            "representative": "박대표", "annual_revenue": 10_000_000, "accepts_paper": "on"}
    assert admin_client.post(url, data).status_code == 302
    merchant = Merchant.objects.get()
    assert merchant.status == "pending" and merchant.business_number == valid_business_number(40)
    assert VoucherEvent.objects.get(merchant=merchant).actor == "user:admin"
    again = admin_client.post(url, data)
    assert again.status_code == 200 and "이미 등록된" in again.content.decode()
    bad = admin_client.post(url, {**data, "business_number": "220-81-62518"})
    assert bad.status_code == 200 and "사업자등록번호" in bad.content.decode()
    assert Merchant.objects.count() == 1


def test_admin_actions_go_through_the_services_and_show_refusals(admin_client):
    big = _register(valid_business_number(50), annual_revenue=4_000_000_000)
    small = _register(valid_business_number(51), name="작은가게")
    url = reverse("admin:vouchers_merchant_changelist")
    page = admin_client.post(url, {"action": "approve", "_selected_action": [big.pk, small.pk], "reason": ""},
                             follow=True)
    text = page.content.decode()
    assert "1곳을 승인했습니다" in text and "승인할 수 없습니다" in text
    big.refresh_from_db(), small.refresh_from_db()
    assert (big.status, small.status) == ("pending", "approved")
    refused = admin_client.post(url, {"action": "suspend", "_selected_action": [small.pk], "reason": ""}, follow=True)
    assert "사유" in refused.content.decode()
    small.refresh_from_db()
    assert small.status == "approved"
    admin_client.post(url, {"action": "cancel_illegal_exchange", "_selected_action": [small.pk],
                            "reason": "깡 적발"})
    small.refresh_from_db()
    assert (small.status, small.cancelled_for_illegal_exchange, small.status_reason) == ("cancelled", True, "깡 적발")
    assert _kinds(small)[-1] == "merchant_cancelled"
    assert VoucherEvent.objects.filter(merchant=small, kind="merchant_cancelled").get().actor == "user:admin"


def test_admin_change_form_and_category_edit_go_through_the_services(admin_client):
    merchant = _register()
    url = reverse("admin:vouchers_merchant_change", args=[merchant.pk])
    data = {"name": "진주식당 2호점", "category": merchant.category_id, "address": merchant.address,
            "dong": merchant.dong, "phone": merchant.phone, "representative": merchant.representative,
            "annual_revenue": merchant.annual_revenue, "accepts_paper": "on", "accepts_mobile": "on"}
    assert admin_client.post(url, data).status_code == 302
    assert VoucherEvent.objects.get(merchant=merchant, kind="merchant_changed").after == {"name": "진주식당 2호점"}
    category = merchant.category
    curl = reverse("admin:vouchers_merchantcategory_change", args=[category.pk])
    refused = admin_client.post(curl, {"name": category.name, "excluded": "on", "excluded_reason": ""})
    assert refused.status_code == 200
    assert admin_client.post(curl, {"name": category.name, "excluded": "on",
                                    "excluded_reason": "사행성"}).status_code == 302
    category.refresh_from_db()
    assert category.excluded and category.events.filter(kind="category_changed").exists()
    assert admin_client.get(reverse("admin:vouchers_merchant_delete", args=[merchant.pk])).status_code == 403


# --- the seed ------------------------------------------------------------------------------------



def test_the_seed_gives_exactly_4500_paper_and_7000_mobile_approved_merchants_with_valid_numbers_once():
    from vouchers import seed_merchants

    seed_merchants.run(SeedOut(), now=T0)
    approved = Merchant.objects.filter(status="approved")
    assert approved.filter(accepts_paper=True).count() == 4_500
    assert approved.filter(accepts_mobile=True).count() == 7_000
    assert approved.filter(accepts_paper=True, accepts_mobile=True).count() == 3_000
    assert Merchant.objects.count() == 8_500
    assert all(bizno.is_valid(n) for n in Merchant.objects.values_list("business_number", flat=True))
    assert all(merchant_codes.is_valid_code(c) for c in Merchant.objects.values_list("code", flat=True))
    assert not Merchant.objects.filter(category__excluded=True).exists()
    assert MerchantCategory.objects.filter(excluded=True).count() >= 5
    assert {"충무공동", "평거동", "문산읍", "집현면"} <= set(Merchant.objects.values_list("dong", flat=True))
    assert VoucherEvent.objects.filter(kind="merchant_approved").count() == 8_500
    second = SeedOut()
    seed_merchants.run(second, now=T0)
    assert second.created_count == 0 and Merchant.objects.count() == 8_500
