"""The sale's rules, their order, months in Asia/Seoul, 5부제 days, cancel, ledger and notes."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, InternalError, transaction
from django.db.utils import DatabaseError

from jinju_portal import clock
from jinju_portal.errors import InvalidInput, NotFound, RuleViolation
from tests.vouchers.conftest import assert_invariants
from tests.vouchers.factories import CitizenFactory, LimitPolicyFactory, TrancheFactory, staff_actor
from vouchers import months, notes, selectors, services
from vouchers.models import (AppendOnlyError, Citizen, MonthlyUsage, PaperNote, Purchase, Tranche, Wallet,
                             WalletEntry)

pytestmark = [pytest.mark.django_db, pytest.mark.clock]
KST = ZoneInfo("Asia/Seoul")


@pytest.fixture(params=["sql", "sql_unprepared", "orm"])
def path(request, settings):
    """Every rule test runs on the one-statement SQL path (prepared and plain) and the portable ORM path."""
    settings.VOUCHERS_FAST_SQL = request.param != "orm"
    settings.VOUCHERS_PREPARED_STATEMENTS = request.param == "sql"
    return request.param


def buy(tranche, ci="CI-A", face_value=10_000, **kw):
    kw.setdefault("channel", "branch" if tranche.medium == "paper" else "zeropay_app")
    return services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci, face_value=face_value, **kw)


def counts():
    return (Citizen.objects.count(), Purchase.objects.count(), MonthlyUsage.objects.count(),
            PaperNote.objects.count(), WalletEntry.objects.count(), sum(Tranche.objects.values_list("sold", flat=True)))


def test_mobile_sale_credits_wallet_with_ledger_line_and_discounted_price(path):
    tranche = TrancheFactory(medium="mobile", discount_rate=Decimal("0.0333"))
    result = buy(tranche, face_value=5_000)
    assert result.price == 4_833  # floor(5,000 × 0.9667), API.md
    assert result.serials == []
    assert (result.buyer_month_purchased, result.buyer_month_remaining) == (5_000, 295_000)
    wallet = Wallet.objects.get()
    assert wallet.balance == 5_000
    entry = wallet.entries.get()
    assert (entry.amount, entry.balance_after, entry.kind) == (5_000, 5_000, "purchase")
    assert_invariants()


def test_paper_sale_issues_whole_notes_largest_first_with_valid_serials(path):
    tranche = TrancheFactory(medium="paper")
    result = buy(tranche, face_value=35_000)
    assert list(PaperNote.objects.filter(purchase_id=result.id).order_by("-denomination", "id")
                .values_list("denomination", flat=True)) == [10_000, 10_000, 10_000, 5_000]
    assert len(result.serials) == 4 and all(notes.is_valid_serial(s) for s in result.serials)
    assert not Wallet.objects.exists()
    assert PaperNote.objects.filter(serial__in=result.serials, expires_at__gt=result.created_at
                                    + dt.timedelta(days=5 * 365 - 1)).count() == 4


def test_serial_check_character_catches_a_mistyped_character():
    serial = notes.new_serial()
    wrong = serial[:5] + ("0" if serial[5] != "0" else "1") + serial[6:]
    assert notes.is_valid_serial(serial) and not notes.is_valid_serial(wrong)


@pytest.mark.parametrize("medium,amount", [("paper", 7_000), ("paper", 12_500), ("mobile", 1_500), ("mobile", 999)])
def test_amount_not_payable_in_units_is_invalid_face_value_and_writes_nothing(path, medium, amount):
    tranche = TrancheFactory(medium=medium)
    before = counts()
    with pytest.raises(InvalidInput) as exc:
        buy(tranche, face_value=amount)
    assert exc.value.code == "invalid_face_value"
    assert counts() == before


@pytest.mark.parametrize("value", [0, -5_000, 10.5, "10000", True, None, 10**30, 2**63])
def test_malformed_face_value_is_refused_before_anything(path, value):
    tranche = TrancheFactory()
    with pytest.raises(InvalidInput) as exc:
        buy(tranche, face_value=value)
    assert exc.value.code == "invalid_face_value"


def test_check_order_open_before_rotation_before_amount_before_limit_before_quota(path):
    now = dt.datetime(2021, 1, 4, 10, 0, tzinfo=KST)  # day 4 of a tranche opened on the 1st
    closed = TrancheFactory(medium="paper", rotation=True, opens_at=now - dt.timedelta(days=10),
                            closes_at=now - dt.timedelta(days=1))
    rotating = TrancheFactory(medium="paper", rotation=True, quota=20_000,
                              opens_at=dt.datetime(2021, 1, 1, 9, tzinfo=KST), closes_at=now + dt.timedelta(days=9))
    # closed AND wrong day AND bad amount → tranche_not_open
    with pytest.raises(RuleViolation) as exc:
        buy(closed, face_value=7_000, buyer_birth_year=1981, now=now)
    assert exc.value.code == "tranche_not_open"
    # wrong day (ends in 1; day 4 admits 4 and 9) AND bad amount → not_rotation_day
    with pytest.raises(RuleViolation) as exc:
        buy(rotating, face_value=7_000, buyer_birth_year=1981, now=now)
    assert exc.value.code == "not_rotation_day"
    # right day, bad amount AND over the limit AND over quota → invalid_face_value
    with pytest.raises(InvalidInput) as exc:
        buy(rotating, ci="CI-B", face_value=300_500, buyer_birth_year=1984, now=now)
    assert exc.value.code == "invalid_face_value"
    # right day, over the limit AND over quota → monthly_limit_exceeded
    with pytest.raises(RuleViolation) as exc:
        buy(rotating, ci="CI-B", face_value=310_000, buyer_birth_year=1984, now=now)
    assert exc.value.code == "monthly_limit_exceeded"
    # within the limit, over quota → tranche_sold_out
    with pytest.raises(RuleViolation) as exc:
        buy(rotating, ci="CI-B", face_value=30_000, buyer_birth_year=1984, now=now)
    assert exc.value.code == "tranche_sold_out"
    assert Purchase.objects.count() == 0
    assert sum(Tranche.objects.values_list("sold", flat=True)) == 0


@pytest.mark.parametrize("day,admitted", [
    (1, {1, 6}), (2, {2, 7}), (3, {3, 8}), (4, {4, 9}), (5, {5, 0}), (6, set(range(10))), (9, set(range(10)))])
def test_rotation_day_k_admits_birth_years_ending_in_k_and_k_plus_5(path, day, admitted):
    opens = dt.datetime(2021, 2, 1, 9, 0, tzinfo=KST)
    tranche = TrancheFactory(rotation=True, opens_at=opens, closes_at=opens + dt.timedelta(days=27))
    now = dt.datetime(2021, 2, day, 23, 59, 59, tzinfo=KST)
    sold = set()
    for digit in range(10):
        try:
            buy(tranche, ci=f"CI-ROT-{day}-{digit}", buyer_birth_year=1970 + digit, now=now)
            sold.add(digit)
        except RuleViolation as exc:
            assert exc.code == "not_rotation_day"
    assert sold == admitted


def test_rotation_tranche_without_a_known_birth_year_is_invalid_buyer(path):
    tranche = TrancheFactory(rotation=True)
    with pytest.raises(InvalidInput) as exc:
        buy(tranche, ci="CI-NOYEAR")
    assert exc.value.code == "invalid_buyer"
    assert Citizen.objects.count() == 0
    # given once, it is remembered
    TrancheFactory(rotation=False)
    services.purchase_vouchers(tranche_id=Tranche.objects.get(rotation=False).pk, buyer_ci="CI-NOYEAR",
                               face_value=10_000, channel="zeropay_app", buyer_birth_year=1990)
    assert Citizen.objects.get().birth_year == 1990


def test_last_millisecond_of_the_month_and_first_instant_of_the_next_are_different_months(path):
    tranche = TrancheFactory(opens_at=dt.datetime(2021, 1, 1, tzinfo=KST),
                             closes_at=dt.datetime(2021, 3, 1, tzinfo=KST))
    late = dt.datetime(2021, 1, 31, 23, 59, 59, 999000, tzinfo=KST)
    early = dt.datetime(2021, 2, 1, 0, 0, 0, tzinfo=KST)
    a = buy(tranche, face_value=300_000, now=late)
    b = buy(tranche, face_value=300_000, now=early)
    assert (a.month, b.month) == ("2021-01", "2021-02")
    assert b.buyer_month_remaining == 0
    with pytest.raises(RuleViolation) as exc:
        buy(tranche, face_value=1_000, now=early + dt.timedelta(hours=1))
    assert exc.value.code == "monthly_limit_exceeded"
    # UTC would have put both in January: 2021-01-31T15:00Z is already February in Seoul
    assert dict(MonthlyUsage.objects.values_list("month", "purchased")) == {"2021-01": 300_000, "2021-02": 300_000}


@pytest.mark.usefixtures("frozen_clock")  # three sales and the check in one Seoul month, even at its last second
def test_limit_counts_paper_and_mobile_together(path):
    paper, mobile = TrancheFactory(medium="paper"), TrancheFactory(medium="mobile")
    buy(paper, face_value=200_000)
    with pytest.raises(RuleViolation) as exc:
        buy(mobile, face_value=101_000)
    assert exc.value.code == "monthly_limit_exceeded"
    assert buy(mobile, face_value=100_000).buyer_month_remaining == 0


def test_policy_change_never_rewrites_a_past_month(path):
    LimitPolicyFactory(effective_from=dt.date(2021, 1, 1), monthly_limit=300_000)
    tranche = TrancheFactory(opens_at=dt.datetime(2021, 1, 1, tzinfo=KST),
                             closes_at=dt.datetime(2021, 4, 1, tzinfo=KST))
    buy(tranche, face_value=300_000, now=dt.datetime(2021, 1, 20, tzinfo=KST))
    services.create_limit_policy(effective_from=dt.date(2021, 2, 1), monthly_limit=200_000,
                                 now=dt.datetime(2021, 1, 25, tzinfo=KST))
    assert MonthlyUsage.objects.get(month="2021-01").monthly_limit == 300_000
    with pytest.raises(RuleViolation):
        buy(tranche, face_value=210_000, now=dt.datetime(2021, 2, 2, tzinfo=KST))
    assert buy(tranche, face_value=200_000, now=dt.datetime(2021, 2, 2, tzinfo=KST)).buyer_month_remaining == 0
    assert MonthlyUsage.objects.get(month="2021-01").monthly_limit == 300_000


def test_policy_may_not_start_mid_month_or_in_a_month_already_begun():
    now = dt.datetime(2021, 1, 25, tzinfo=KST)
    for day in (dt.date(2021, 2, 15), dt.date(2021, 1, 1)):
        with pytest.raises(InvalidInput) as exc:
            services.create_limit_policy(effective_from=day, monthly_limit=200_000, now=now)
        assert "effective_from" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        services.create_limit_policy(effective_from=dt.date(2021, 3, 1), monthly_limit=1, refund_ratio=Decimal("0.9"),
                                     now=now)
    assert "refund_ratio" in exc.value.fields
    with pytest.raises(IntegrityError), transaction.atomic():
        LimitPolicyFactory(effective_from=dt.date(2021, 3, 2))


def test_sub_limit_and_yearly_cap_when_the_city_sets_them(path):
    LimitPolicyFactory(effective_from=dt.date(2021, 1, 1), paper_monthly_limit=100_000, yearly_limit=400_000)
    opens = dt.datetime(2021, 1, 1, tzinfo=KST)
    paper = TrancheFactory(medium="paper", opens_at=opens, closes_at=opens + dt.timedelta(days=200))
    mobile = TrancheFactory(medium="mobile", opens_at=opens, closes_at=opens + dt.timedelta(days=200))
    jan, feb = dt.datetime(2021, 1, 5, tzinfo=KST), dt.datetime(2021, 2, 5, tzinfo=KST)
    buy(paper, face_value=100_000, now=jan)
    with pytest.raises(RuleViolation) as exc:
        buy(paper, face_value=5_000, now=jan)
    assert exc.value.code == "monthly_limit_exceeded"
    buy(mobile, face_value=200_000, now=jan)
    with pytest.raises(RuleViolation) as exc:
        buy(mobile, face_value=101_000, now=feb)
    assert exc.value.code == "yearly_limit_exceeded"
    assert buy(mobile, face_value=100_000, now=feb).buyer_month_purchased == 100_000


def test_unknown_tranche_is_invalid_tranche(path):
    with pytest.raises(InvalidInput) as exc:
        services.purchase_vouchers(tranche_id=987654321, buyer_ci="CI-X", face_value=10_000, channel="branch")
    assert exc.value.code == "invalid_tranche"
    assert Citizen.objects.count() == 0


@pytest.mark.parametrize("ci", ["", "x" * 201, "abc\x00def", "tab\there", 12345, None])
def test_bad_buyer_ci_is_invalid_buyer(path, ci):
    tranche = TrancheFactory()
    with pytest.raises(InvalidInput) as exc:
        buy(tranche, ci=ci)
    assert exc.value.code == "invalid_buyer"


def test_cancel_within_7_days_gives_back_quota_usage_and_wallet(path):
    tranche = TrancheFactory()
    now = tranche.opens_at + dt.timedelta(minutes=5)
    result = buy(tranche, face_value=100_000, now=now)
    purchase = services.cancel_purchase(purchase_id=result.id, actor=staff_actor(), now=now + dt.timedelta(days=7))
    assert purchase.status == "cancelled"
    tranche.refresh_from_db()
    assert tranche.sold == 0
    assert MonthlyUsage.objects.get().purchased == 0
    wallet = Wallet.objects.get()
    assert wallet.balance == 0
    assert list(wallet.entries.values_list("kind", "amount", "balance_after")) == [
        ("purchase", 100_000, 100_000), ("cancel", -100_000, 0)]
    # twice changes nothing
    services.cancel_purchase(purchase_id=result.id, actor=staff_actor(), now=now + dt.timedelta(days=7))
    assert wallet.entries.count() == 2
    assert_invariants()


def test_cancel_after_7_days_is_refused(path):
    tranche = TrancheFactory()
    now = tranche.opens_at + dt.timedelta(minutes=5)
    result = buy(tranche, face_value=100_000, now=now)
    with pytest.raises(RuleViolation) as exc:
        services.cancel_purchase(purchase_id=result.id, actor=staff_actor(), now=now + dt.timedelta(days=7, seconds=1))
    assert exc.value.code == "cancel_window_closed"
    assert Purchase.objects.get().status == "completed"


def test_cancel_refused_once_something_was_used(path):
    paper = TrancheFactory(medium="paper")
    result = buy(paper, face_value=20_000)
    PaperNote.objects.filter(serial=result.serials[0]).update(status="redeemed")
    with pytest.raises(RuleViolation) as exc:
        services.cancel_purchase(purchase_id=result.id, actor=staff_actor())
    assert exc.value.code == "already_used"
    mobile = TrancheFactory(medium="mobile")
    bought = buy(mobile, ci="CI-SPENDER", face_value=50_000)
    wallet = Wallet.objects.get(citizen_id=bought.citizen_id)
    services.move_wallet(citizen_id=wallet.citizen_id, amount=-1_000, kind="payment", now=bought.created_at)
    with pytest.raises(RuleViolation) as exc:
        services.cancel_purchase(purchase_id=bought.id, actor=staff_actor())
    assert exc.value.code == "already_used"
    assert_invariants()


def test_cancel_by_another_client_is_not_found(path, make_client):
    seller, _ = make_client("sales_agent")
    other, _ = make_client("sales_agent")
    tranche = TrancheFactory()
    result = buy(tranche, actor=seller)
    with pytest.raises(NotFound):
        services.cancel_purchase(purchase_id=result.id, actor=other)
    assert services.cancel_purchase(purchase_id=result.id, actor=seller).status == "cancelled"


def test_quota_raise_never_below_sold_and_close_early(path):
    tranche = TrancheFactory(quota=100_000)
    buy(tranche, face_value=60_000)
    with pytest.raises(RuleViolation) as exc:
        services.raise_tranche_quota(tranche_id=tranche.pk, quota=59_000)
    assert exc.value.code == "quota_below_sold"
    assert services.raise_tranche_quota(tranche_id=tranche.pk, quota=60_000).quota == 60_000
    assert services.raise_tranche_quota(tranche_id=tranche.pk, quota=500_000).quota == 500_000
    assert tranche.history.count() >= 3  # who changed the quota is kept
    services.close_tranche(tranche_id=tranche.pk)
    with pytest.raises(RuleViolation) as exc:
        buy(tranche, ci="CI-LATE", face_value=10_000)
    assert exc.value.code == "tranche_not_open"
    with pytest.raises(IntegrityError), transaction.atomic():
        Tranche.objects.filter(pk=tranche.pk).update(quota=1)


def test_usage_check_constraint_backs_up_the_limit():
    citizen = CitizenFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MonthlyUsage.objects.create(citizen=citizen, month="2021-01", monthly_limit=300_000, purchased=300_001,
                                    mobile_purchased=300_001)


def test_wallet_ledger_is_append_only_in_the_model_and_the_database(path):
    tranche = TrancheFactory()
    buy(tranche)
    entry = WalletEntry.objects.get()
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        WalletEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        WalletEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.update(balance=-1)
    assert WalletEntry.objects.get().amount == 10_000


def test_paper_note_status_only_moves_forward_in_the_database(path):
    result = buy(TrancheFactory(medium="paper"), face_value=10_000)
    note = PaperNote.objects.get(serial=result.serials[0])
    PaperNote.objects.filter(pk=note.pk).update(status="redeemed")
    with pytest.raises((InternalError, DatabaseError)), transaction.atomic():
        PaperNote.objects.filter(pk=note.pk).update(status="issued")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperNote.objects.create(serial=note.serial, denomination=10_000, purchase_id=result.id,
                                 tranche=note.tranche, expires_at=note.expires_at)


@pytest.mark.usefixtures("frozen_clock")  # "this month" read at the sale and again at the check
def test_buyer_usage_reads_the_month_and_defaults_for_strangers(path):
    tranche = TrancheFactory()
    buy(tranche, ci="CI-U", face_value=120_000)
    assert selectors.buyer_usage(buyer_ci="CI-U") == {
        "month": months.month_of(clock.now_or(None)), "limit": 300_000, "purchased": 120_000,
        "remaining": 180_000}
    assert selectors.buyer_usage(buyer_ci="CI-NOBODY", month="2021-01")["remaining"] == 300_000


def test_link_citizen_adopts_branch_purchases_and_refuses_a_second_account(path, django_user_model):
    tranche = TrancheFactory()
    buy(tranche, ci="CI-LINK", face_value=50_000)
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    citizen = services.link_citizen(actor=alice, ci="CI-LINK", name="앨리스", birth_year=1990)
    assert citizen.purchases.count() == 1 and citizen.birth_year == 1990
    assert services.link_citizen(actor=alice, ci="CI-LINK").pk == citizen.pk
    with pytest.raises(RuleViolation) as exc:
        services.link_citizen(actor=bob, ci="CI-LINK")
    assert exc.value.code == "citizen_linked_elsewhere"


def test_quota_above_a_thousand_trillion_is_refused():
    with pytest.raises(InvalidInput) as exc:
        services.raise_tranche_quota(tranche_id=TrancheFactory().pk, quota=10**15 + 1)
    assert exc.value.code == "invalid_quota"


def test_web_selectors_for_a_linked_citizen(django_user_model):
    from vouchers import selectors

    user = django_user_model.objects.create_user("carol")
    assert selectors.citizen_for_user(user) is None
    citizen = services.link_citizen(actor=user, ci="CI-CAROL")
    tranche = TrancheFactory()
    assert list(selectors.open_tranches(medium="mobile")) == [tranche]
    assert selectors.wallet_statement(citizen=citizen) == {"balance": 0, "spendable": 0, "expiring": [], "entries": []}
    services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=30_000, channel="web", actor=user)
    assert selectors.citizen_for_user(user) == citizen
    statement = selectors.wallet_statement(citizen=citizen)
    assert statement["balance"] == 30_000 and statement["entries"][0].amount == 30_000
    assert [p.face_value for p in selectors.purchases_of(citizen=citizen)] == [30_000]


@pytest.mark.parametrize("bought,expires", [
    (dt.datetime(2026, 12, 1, 16, 50, tzinfo=KST), dt.datetime(2031, 12, 1, 16, 50, tzinfo=KST)),
    (dt.datetime(2027, 3, 1, 0, 0, tzinfo=KST), dt.datetime(2032, 3, 1, 0, 0, tzinfo=KST)),  # two leap days within
    (dt.datetime(2027, 12, 31, 23, 59, 59, tzinfo=KST), dt.datetime(2032, 12, 31, 23, 59, 59, tzinfo=KST)),
    (dt.datetime(2028, 2, 29, 12, 0, tzinfo=KST), dt.datetime(2033, 2, 28, 12, 0, tzinfo=KST)),
], ids=["2026-12-01", "2027-03-01", "2027-12-31", "2028-02-29"])
def test_notes_and_credits_are_valid_five_calendar_years_from_issue(path, bought, expires):
    opens = bought - dt.timedelta(hours=1)
    paper = TrancheFactory(medium="paper", opens_at=opens)
    mobile = TrancheFactory(medium="mobile", opens_at=opens)
    buy(paper, face_value=15_000, now=bought)
    buy(mobile, face_value=10_000, now=bought)
    assert set(PaperNote.objects.values_list("expires_at", flat=True)) == {expires}
    assert set(WalletEntry.objects.filter(kind="purchase").values_list("expires_at", flat=True)) == {expires}


def test_configured_denominations_decide_what_paper_can_pay(settings):
    settings.VOUCHERS_PAPER_DENOMINATIONS = (50_000, 10_000)
    assert notes.note_breakdown(70_000) == [50_000, 10_000, 10_000]
    assert notes.note_breakdown(15_000) is None
