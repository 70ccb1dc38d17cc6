"""Daily settlement (정산, issue #9): the day's figures, rebuilds that change nothing, late rows into
the next settlement never the sent one, a negative day carried on, the pay-on date over weekends and
Korean holidays, the bank transfer file and its totals, paid, bank accounts, and a build racing
payments (DESIGN.md invariant 4b). Rows are made directly at fixed instants (the paper exchange and
the payments have their own tests)."""
import csv
import datetime as dt
import io
import itertools
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Sum

from jinju_portal.errors import InvalidInput, RuleViolation
from tests.races import race
from tests.vouchers.factories import MerchantFactory, staff_actor
from vouchers import rules, services
from vouchers.models import (Citizen, Exchange, MerchantRefund, Payment, Settlement, SettlementCursor, VoucherEvent,
                             Wallet)

KST = ZoneInfo("Asia/Seoul")
D = dt.date(2026, 12, 1)  # a Tuesday
NOW = dt.datetime(2026, 12, 10, 10, 0, tzinfo=KST)  # every build here runs at this instant, long after
_ci = itertools.count(1)


def at(day, hour=12, minute=0, second=0):
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=KST)


def _wallet():
    citizen = Citizen.objects.create(ci_hash=f"settle-{next(_ci):057d}")
    return Wallet.objects.create(citizen=citizen, balance=0)


def pay(merchant, amount, when, wallet=None):
    return Payment.objects.create(merchant=merchant, wallet=wallet or _wallet(), method="merchant_qr", amount=amount,
                                  created_at=when)


def refund(payment, amount, when):
    return MerchantRefund.objects.create(payment=payment, merchant=payment.merchant, amount=amount, created_at=when)


def exchange(merchant, amount, when):
    return Exchange.objects.create(merchant=merchant, amount=amount, accepted_count=max(1, amount // 10_000),
                                   created_at=when)


def build(day, now=NOW):
    return services.build_settlements(date=day, now=now)


def row(merchant, day):
    return Settlement.objects.get(merchant=merchant, date=day)


def figures(s):
    return (s.payments, s.refunds, s.exchanged, s.carried, s.amount_due, s.carry_out, s.pay_on, s.status)


def account(merchant, number="352-0123-4567-89"):
    return services.set_merchant_bank_account(merchant_id=merchant.pk, bank_code="011", bank_name="농협은행",
                                              account_number=number, holder=merchant.representative,
                                              actor=staff_actor(), now=NOW)


def assert_everything_settled_once():
    """Invariant 4b's money side: every payment, refund and exchange is in exactly one settlement
    (what has not been built yet is in none): per merchant, the settlements' figures add up to the
    rows up to the last built day, and amount_due + carry_out is their net plus carried."""
    for s in Settlement.objects.all():
        assert s.amount_due + s.carry_out == s.payments - s.refunds + s.exchanged + s.carried
    for cursor in SettlementCursor.objects.all():
        end = dt.datetime.combine(cursor.date + dt.timedelta(days=1), dt.time(), tzinfo=KST)
        mine = Settlement.objects.filter(merchant_id=cursor.merchant_id)
        got = mine.aggregate(p=Sum("payments", default=0), r=Sum("refunds", default=0), e=Sum("exchanged", default=0))
        rows = {
            "p": Payment.objects.filter(merchant_id=cursor.merchant_id, created_at__lt=end,
                                        id__lte=cursor.payment_hwm).aggregate(s=Sum("amount", default=0))["s"],
            "r": MerchantRefund.objects.filter(merchant_id=cursor.merchant_id, created_at__lt=end,
                                               id__lte=cursor.refund_hwm).aggregate(s=Sum("amount", default=0))["s"],
            "e": Exchange.objects.filter(merchant_id=cursor.merchant_id, created_at__lt=end,
                                         id__lte=cursor.exchange_hwm).aggregate(s=Sum("amount", default=0))["s"],
        }
        assert got == rows, cursor.merchant_id


# --- the figures of a day --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_constructed_day_sums_payments_less_refunds_plus_exchanges_on_the_seoul_day():
    shop, paper_only, quiet = MerchantFactory(), MerchantFactory(), MerchantFactory()
    before = pay(shop, 7_000, at(D - dt.timedelta(days=1), 23, 59, 59))  # the day before, in Seoul
    build(D - dt.timedelta(days=1))
    first = pay(shop, 10_000, at(D, 0, 0, 0))
    pay(shop, 25_000, at(D, 23, 59, 59))
    refund(first, 4_000, at(D, 15))
    refund(before, 2_000, at(D, 9))  # a refund of yesterday's payment belongs to today
    exchange(shop, 30_000, at(D, 11))
    exchange(paper_only, 50_000, at(D, 10))
    pay(shop, 99_000, at(D + dt.timedelta(days=1), 0, 0, 0))  # tomorrow, not today

    result = build(D)

    assert result.created == 2
    s = row(shop, D)
    assert figures(s) == (35_000, 6_000, 30_000, 0, 59_000, 0, dt.date(2026, 12, 2), "calculated")
    assert figures(row(paper_only, D)) == (0, 0, 50_000, 0, 50_000, 0, dt.date(2026, 12, 2), "calculated")
    assert not Settlement.objects.filter(merchant=quiet).exists()
    assert row(shop, D - dt.timedelta(days=1)).payments == 7_000
    assert not VoucherEvent.objects.filter(settlement=s).exists()  # a new row is its own record, as a sale is
    assert_everything_settled_once()


@pytest.mark.django_db
def test_a_rebuild_with_nothing_new_gives_identical_rows_and_writes_nothing():
    shop, other = MerchantFactory(), MerchantFactory()
    p = pay(shop, 12_000, at(D, 10))
    refund(p, 2_000, at(D, 11))
    exchange(other, 40_000, at(D, 12))
    build(D)
    build(D + dt.timedelta(days=1))
    seen = {s.pk: (figures(s), s.calculated_at) for s in Settlement.objects.all()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text FROM vouchers_settlement ORDER BY id")
        versions = cursor.fetchall()
        cursor.execute("SELECT merchant_id, xmin::text FROM vouchers_settlementcursor ORDER BY 1")
        cursors = cursor.fetchall()
    events = VoucherEvent.objects.count()

    again = build(D, now=NOW + dt.timedelta(hours=5))
    build(D + dt.timedelta(days=1), now=NOW + dt.timedelta(hours=5))

    assert (again.created, again.recalculated, again.unchanged) == (0, 0, 2)
    assert {s.pk: (figures(s), s.calculated_at) for s in Settlement.objects.all()} == seen
    with connection.cursor() as cursor:  # not even an UPDATE to the same values: no new row versions
        cursor.execute("SELECT id, xmin::text FROM vouchers_settlement ORDER BY id")
        assert cursor.fetchall() == versions
        cursor.execute("SELECT merchant_id, xmin::text FROM vouchers_settlementcursor ORDER BY 1")
        assert cursor.fetchall() == cursors
    assert VoucherEvent.objects.count() == events


# --- late rows ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_refund_arriving_after_the_day_was_sent_adjusts_the_next_settlement_never_the_sent_one():
    shop = MerchantFactory()
    account(shop)
    p = pay(shop, 50_000, at(D, 10))
    build(D)
    services.produce_transfer_file(pay_on=rules.next_business_day(D), actor=staff_actor(), now=NOW)
    sent = figures(row(shop, D))
    assert sent[-1] == "sent"
    # late: a refund and a payment stamped on the sent day, committed after it was sent
    refund(p, 8_000, at(D, 23, 30))
    pay(shop, 3_000, at(D, 23, 40))
    next_day = D + dt.timedelta(days=1)
    pay(shop, 20_000, at(next_day, 9))

    rebuilt = build(D)
    build(next_day)

    assert rebuilt.recalculated == 0 and figures(row(shop, D)) == sent
    assert figures(row(shop, next_day)) == (23_000, 8_000, 0, 0, 15_000, 0, dt.date(2026, 12, 3), "calculated")
    assert_everything_settled_once()


@pytest.mark.django_db
def test_a_late_row_of_a_day_not_yet_sent_goes_to_the_next_build_or_a_rebuild_and_is_counted_once():
    shop = MerchantFactory()
    pay(shop, 10_000, at(D, 10))
    build(D)
    pay(shop, 1_000, at(D, 23, 59))  # committed after D was built, D still calculated
    rebuilt = build(D)  # a rebuild of D takes it into D
    assert rebuilt.recalculated == 1 and row(shop, D).payments == 11_000
    change = VoucherEvent.objects.get(settlement=row(shop, D), kind="settlement_recalculated")
    assert (change.before["payments"], change.after["payments"], change.actor) == (10_000, 11_000, "system")
    pay(shop, 500, at(D, 23, 59, 30))  # later still; D is not rebuilt again
    build(D + dt.timedelta(days=1))
    assert row(shop, D).payments == 11_000
    assert row(shop, D + dt.timedelta(days=1)).payments == 500  # no own payments that day: only the late one
    # a rebuild of D now recomputes D and the day after it together, from D's start: D takes every
    # row of its day, the day after keeps its own (none): each payment still counted once
    pay(shop, 250, at(D, 23, 59, 45))
    build(D)
    assert row(shop, D).payments == 11_750 and row(shop, D + dt.timedelta(days=1)).payments == 0
    assert_everything_settled_once()


@pytest.mark.django_db
def test_a_day_first_built_late_takes_everything_since_the_last_settlement():
    shop = MerchantFactory()
    pay(shop, 1_000, at(D, 10))
    build(D)
    pay(shop, 2_000, at(D + dt.timedelta(days=1), 10))  # day 2 never built
    pay(shop, 4_000, at(D + dt.timedelta(days=2), 10))
    build(D + dt.timedelta(days=2))
    assert row(shop, D + dt.timedelta(days=2)).payments == 6_000
    build(D + dt.timedelta(days=1))  # built afterwards: its rows are already in day 3's settlement
    assert not Settlement.objects.filter(date=D + dt.timedelta(days=1)).exists()
    assert_everything_settled_once()


# --- a negative day ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_day_of_more_refunds_than_payments_sends_nothing_and_carries_the_rest_to_the_next_settlement():
    shop = MerchantFactory()
    account(shop)
    big = pay(shop, 30_000, at(D - dt.timedelta(days=1), 10))
    build(D - dt.timedelta(days=1))
    pay(shop, 5_000, at(D, 10))
    refund(big, 20_000, at(D, 11))
    build(D)
    negative = row(shop, D)
    assert figures(negative) == (5_000, 20_000, 0, 0, 0, -15_000, dt.date(2026, 12, 2), "calculated")
    file = services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW)
    assert negative.pk in file.sent and file.rows == 1 and file.total == 30_000  # day 0 only, no line of 0 won
    assert row(shop, D).status == "sent"
    pay(shop, 40_000, at(D + dt.timedelta(days=1), 10))
    build(D + dt.timedelta(days=1))
    assert figures(row(shop, D + dt.timedelta(days=1)))[:6] == (40_000, 0, 0, -15_000, 25_000, 0)
    assert_everything_settled_once()


@pytest.mark.django_db
def test_a_negative_balance_waits_for_the_merchants_next_settlement_and_rebuilds_carry_it_again():
    shop = MerchantFactory()
    p = pay(shop, 10_000, at(D - dt.timedelta(days=1), 10))
    build(D - dt.timedelta(days=1))
    refund(p, 10_000, at(D, 10))
    pay(shop, 1_000, at(D, 11))
    build(D)  # -9,000
    build(D + dt.timedelta(days=1))  # nothing that day: no row, the balance waits
    pay(shop, 5_000, at(D + dt.timedelta(days=2), 10))
    build(D + dt.timedelta(days=2))
    assert figures(row(shop, D + dt.timedelta(days=2)))[:6] == (5_000, 0, 0, -9_000, 0, -4_000)
    pay(shop, 9_000, at(D, 12))  # late for D, still calculated: a rebuild of D re-carries the chain
    build(D)
    assert figures(row(shop, D))[:6] == (10_000, 10_000, 0, 0, 0, 0)
    assert figures(row(shop, D + dt.timedelta(days=2)))[:6] == (5_000, 0, 0, 0, 5_000, 0)
    assert_everything_settled_once()


# --- the pay-on date ------------------------------------------------------------------------------------

@pytest.mark.parametrize("day, pay_on", [
    (dt.date(2026, 12, 1), dt.date(2026, 12, 2)),    # Tuesday → Wednesday
    (dt.date(2026, 12, 4), dt.date(2026, 12, 7)),    # Friday → Monday (Saturday, Sunday)
    (dt.date(2026, 12, 6), dt.date(2026, 12, 7)),    # a Sunday → Monday
    (dt.date(2027, 9, 13), dt.date(2027, 9, 17)),    # Monday before 추석 2027 (14–16 Sep) → Friday
    (dt.date(2027, 9, 15), dt.date(2027, 9, 17)),    # 추석 itself
    (dt.date(2026, 12, 24), dt.date(2026, 12, 28)),  # Christmas (Friday), the weekend
    (dt.date(2027, 10, 1), dt.date(2027, 10, 5)),    # Friday; 개천절 on a Sunday, its substitute Monday
])
def test_pay_on_is_the_next_business_day_skipping_weekends_and_korean_public_holidays(day, pay_on):
    assert rules.next_business_day(day) == pay_on


@pytest.mark.django_db
def test_a_holiday_moves_the_settlements_pay_on_date():
    shop = MerchantFactory()
    monday = dt.date(2027, 9, 13)
    pay(shop, 10_000, at(monday, 10))
    pay(shop, 20_000, at(dt.date(2027, 9, 19), 10))  # a Sunday
    later = dt.datetime(2027, 9, 30, tzinfo=KST)
    build(monday, now=later)
    build(dt.date(2027, 9, 19), now=later)
    assert row(shop, monday).pay_on == dt.date(2027, 9, 17)
    assert row(shop, dt.date(2027, 9, 19)).pay_on == dt.date(2027, 9, 20)


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "20261201", "", "2026-12-1", " 2026-12-01", None, 5])
def test_a_bad_date_is_refused_and_writes_nothing(bad):
    with pytest.raises(InvalidInput) as caught:
        services.build_settlements(date=bad, now=NOW)
    assert caught.value.code == "invalid_date"
    assert not SettlementCursor.objects.exists()


@pytest.mark.django_db
def test_a_day_that_has_not_ended_is_not_built():
    MerchantFactory()
    with pytest.raises(InvalidInput) as caught:
        services.build_settlements(date=D, now=at(D, 23, 59, 59))
    assert caught.value.code == "invalid_date" and not SettlementCursor.objects.exists()
    services.build_settlements(date=D, now=at(D + dt.timedelta(days=1), 0, 0, 0))
    assert SettlementCursor.objects.count() == 1


@pytest.mark.django_db
def test_the_command_builds_the_same_way_and_says_a_bad_date_clearly():
    shop = MerchantFactory()
    pay(shop, 10_000, at(D, 10))
    with pytest.raises(CommandError, match="invalid_date"):
        call_command("build_settlements", "2026-12-32")
    out = io.StringIO()
    call_command("build_settlements", "2026-12-01", stdout=out)  # a day long past whenever this runs
    assert "2026-12-01: 1 created" in out.getvalue() and "10,000원" in out.getvalue()
    out = io.StringIO()
    call_command("build_settlements", "2026-12-01", stdout=out)
    assert "0 created, 0 recalculated, 1 unchanged" in out.getvalue()


@pytest.mark.django_db
def test_the_nightly_task_builds_yesterday_in_seoul(settings, frozen_clock):
    from vouchers import tasks

    shop = MerchantFactory()
    frozen_clock.move_to(at(D + dt.timedelta(days=1), 2, 0))
    pay(shop, 10_000, at(D, 10))
    assert tasks.build_settlements() == {"date": "2026-12-01", "created": 1, "recalculated": 0}
    from jinju_portal.celery import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["vouchers-build-settlements"]
    assert entry["task"] == "vouchers.tasks.build_settlements"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {0})


# --- the bank transfer file ------------------------------------------------------------------------------

def _read(file):
    assert file.content.startswith("\ufeff".encode("utf-8"))
    lines = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"), newline="")))
    return lines[0], lines[1:-1], lines[-1]


@pytest.mark.django_db
def test_the_transfer_file_lists_each_settlement_due_and_its_totals_balance_against_the_rows():
    shops = [MerchantFactory(representative=f"대표{i}") for i in range(3)]
    no_account = MerchantFactory(name="계좌 없는 가게")
    for i, shop in enumerate(shops):
        account(shop, f"100-{i:04d}-5678-9{i}")
        pay(shop, 10_000 * (i + 1), at(D, 10))
        exchange(shop, 1_000, at(D, 11))
    pay(no_account, 70_000, at(D, 10))
    build(D)

    file = services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW)

    header, lines, trailer = _read(file)
    assert header == ["은행코드", "은행명", "계좌번호", "예금주", "이체금액", "입금통장표시", "가맹점코드", "정산일"]
    assert [line[4] for line in lines] == ["11000", "21000", "31000"] or sorted(int(x[4]) for x in lines) == [
        11_000, 21_000, 31_000]
    assert all(line[5] == "진주사랑 12/01 정산" and line[7] == "2026-12-01" for line in lines)
    assert {line[2] for line in lines} == {"100-0000-5678-90", "100-0001-5678-91", "100-0002-5678-92"}
    assert trailer[0] == "합계" and int(trailer[4]) == sum(int(line[4]) for line in lines) == file.total == 63_000
    assert trailer[5] == f"{len(lines)}건" == "3건"
    sent = Settlement.objects.filter(status="sent")
    assert sent.aggregate(s=Sum("amount_due"))["s"] == file.total and sent.count() == 3
    assert file.missing == [(no_account.code, "계좌 없는 가게")]
    assert row(no_account, D).status == "calculated"
    assert VoucherEvent.objects.filter(kind="settlement_sent").count() == 3
    event = VoucherEvent.objects.filter(kind="settlement_sent").first()
    assert event.after["account"].startswith("농협은행 ***-****-") and "5678" not in event.after["account"][:-4]
    # a second file for the same day has nothing left to send; the account added later catches up
    again = services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW)
    assert (again.rows, again.total, again.missing) == (0, 0, [(no_account.code, "계좌 없는 가게")])
    account(no_account)
    caught_up = services.produce_transfer_file(pay_on=dt.date(2026, 12, 3), actor=staff_actor(), now=NOW)
    assert (caught_up.rows, caught_up.total, caught_up.missing) == (1, 70_000, [])


@pytest.mark.django_db
def test_paid_follows_sent_and_nothing_moves_backwards_or_skips_a_step():
    shop = MerchantFactory()
    account(shop)
    pay(shop, 10_000, at(D, 10))
    pay(shop, 10_000, at(D + dt.timedelta(days=1), 10))
    build(D)
    build(D + dt.timedelta(days=1))
    first, second = row(shop, D), row(shop, D + dt.timedelta(days=1))
    with pytest.raises(RuleViolation) as caught:
        services.mark_settlements_paid(settlement_ids=[first.pk], actor=staff_actor(), now=NOW)
    assert caught.value.code == "settlement_status_conflict"
    services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW)
    with pytest.raises(RuleViolation):  # one of them still calculated: neither is marked
        services.mark_settlements_paid(settlement_ids=[first.pk, second.pk], actor=staff_actor(), now=NOW)
    assert row(shop, D).status == "sent"
    services.mark_settlements_paid(settlement_ids=[first.pk], actor=staff_actor(), now=NOW)
    first.refresh_from_db()
    assert first.status == "paid" and first.paid_at == NOW and first.sent_at == NOW
    assert VoucherEvent.objects.get(settlement=first, kind="settlement_paid").before == {"status": "sent",
                                                                                       "paid_at": None}
    with pytest.raises(RuleViolation):
        services.mark_settlements_paid(settlement_ids=[first.pk], actor=staff_actor(), now=NOW)


@pytest.mark.django_db
def test_the_database_keeps_a_sent_settlement_as_it_was_sent():
    from django.db import IntegrityError

    shop = MerchantFactory()
    account(shop)
    pay(shop, 10_000, at(D, 10))
    build(D)
    services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW)
    sent = Settlement.objects.filter(merchant=shop)
    for change in ({"payments": 1, "amount_due": 1}, {"status": "calculated", "sent_at": None}):
        with pytest.raises(IntegrityError, match="never changes again"), transaction.atomic():
            sent.update(**change)
    with pytest.raises(IntegrityError, match="never deleted"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM vouchers_settlement WHERE merchant_id = %s", [shop.pk])  # below the ORM's PROTECT
    sent.update(status="paid", paid_at=NOW)  # forward is allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        sent.update(paid_at=NOW + dt.timedelta(days=1))


# --- bank accounts ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_bank_account_is_kept_whole_shown_masked_and_changed_with_an_event():
    shop = MerchantFactory()
    acct = account(shop, "352-0123-4567-89")
    assert acct.account_number == "352-0123-4567-89" and acct.masked == "***-****-6789"
    assert str(acct) == f"농협은행 ***-****-6789 ({shop.representative})"
    services.set_merchant_bank_account(merchant_id=shop.pk, bank_code="004", bank_name="국민은행",
                                       account_number="123456789012", holder="김진주", actor=staff_actor(), now=NOW)
    trail = list(VoucherEvent.objects.filter(kind="bank_account_changed").order_by("id"))
    assert len(trail) == 2 and trail[1].before["account_number"] == "***-****-6789"
    assert trail[1].after == {"bank_code": "004", "bank_name": "국민은행", "account_number": "***-****-9012",
                              "holder": "김진주"}
    assert "4567" not in str(trail[0].after) and "12345678" not in str(trail[1].after)


@pytest.mark.django_db
@pytest.mark.parametrize("change, field", [
    ({"bank_code": "11"}, "bank_code"), ({"bank_code": "０１１"}, "bank_code"), ({"bank_name": ""}, "bank_name"),
    ({"bank_name": "농협,은행"}, "bank_name"), ({"account_number": "12-34"}, "account_number"),
    ({"account_number": "1234567890123456789012"}, "account_number"), ({"account_number": "12a4567"}, "account_number"),
    ({"account_number": "-123456789"}, "account_number"), ({"holder": " "}, "holder"),
    ({"holder": "김\x00진주"}, "holder"),
])
def test_a_bad_bank_account_is_refused_with_its_field_and_writes_nothing(change, field):
    shop = MerchantFactory()
    data = {"bank_code": "011", "bank_name": "농협은행", "account_number": "352-0123-4567-89", "holder": "김진주",
            **change}
    with pytest.raises(InvalidInput) as caught:
        services.set_merchant_bank_account(merchant_id=shop.pk, actor=staff_actor(), now=NOW, **data)
    assert caught.value.code == "invalid_bank_account" and field in caught.value.fields
    assert not VoucherEvent.objects.filter(kind="bank_account_changed").exists()


# --- concurrency ---------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_build_racing_payments_and_refunds_loses_and_double_counts_nothing():
    """Writers commit payments and refunds stamped on D (some holding their transaction open across
    a build), while builds of D and the day after run again and again: in the end every row is in
    exactly one settlement."""
    shops = [MerchantFactory() for _ in range(3)]
    wallet = _wallet()
    stop = threading.Event()

    def writer(n):
        made = 0
        for k in range(12):
            with transaction.atomic():
                p = pay(shops[(n + k) % 3], 1_000 + n, at(D, 23, 59, 59), wallet=wallet)
                if k % 4 == 0:
                    refund(p, 100, at(D, 23, 59, 59))
                time.sleep(0.01 * (k % 3))  # stamped on D, committed a little later
            made += 1
        return made

    def builder(_):
        day = 0
        while not stop.is_set() and day < 6:
            services.build_settlements(date=D + dt.timedelta(days=day % 2), now=NOW)
            day += 1
            time.sleep(0.01)
        return day

    def run(kind, n):
        try:
            return writer(n) if kind == "w" else builder(n)
        finally:
            if kind == "w" and n == 0:
                pass

    results = race(run, [("w", 0), ("w", 1), ("w", 2), ("b", 0), ("b", 1)])
    stop.set()
    assert [kind for kind, _ in results] == ["ok"] * 5, results
    build(D + dt.timedelta(days=1))
    build(D + dt.timedelta(days=2))
    total = Settlement.objects.aggregate(p=Sum("payments"), r=Sum("refunds"))
    assert total["p"] == Payment.objects.aggregate(s=Sum("amount"))["s"] == 36 * 1_000 + 12 * (0 + 1 + 2)
    assert total["r"] == MerchantRefund.objects.aggregate(s=Sum("amount"))["s"] == 9 * 100
    assert_everything_settled_once()


@pytest.mark.django_db(transaction=True)
def test_a_build_whose_marks_were_overtaken_by_another_build_never_moves_the_marks_back(monkeypatch):
    """Two builds at once take their marks in one order and get the build lock in the other: the one
    with the older marks must not write them (the cursors would go back and a settled payment would
    be settled again as a late row of the next day). This is that interleaving, made deterministic."""
    from vouchers.db import settlements as db
    from vouchers.services import settlements as service

    shop = MerchantFactory()
    pay(shop, 5_000, at(D, 10))
    with transaction.atomic():
        stale = db.marks()  # the slower build's marks, taken before the payment below committed
    pay(shop, 1_002, at(D, 23, 59, 59))
    build(D)  # the faster build: both payments in D's settlement
    monkeypatch.setattr(service, "_take_marks", lambda: dict(stale))
    services.build_settlements(date=D + dt.timedelta(days=1), now=NOW)  # the slower one, with old marks
    monkeypatch.undo()
    build(D + dt.timedelta(days=2))
    assert Settlement.objects.aggregate(p=Sum("payments"))["p"] == 6_002
    assert SettlementCursor.objects.get(merchant=shop).payment_hwm == Payment.objects.order_by("-id").first().pk
    assert_everything_settled_once()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_transfer_file_racing_a_rebuild_sends_each_settlement_once_with_what_was_built():
    shops = [MerchantFactory() for _ in range(4)]
    for shop in shops:
        account(shop)
        pay(shop, 10_000, at(D, 10))
    build(D)
    for shop in shops:
        pay(shop, 500, at(D, 23))  # late: a rebuild would take them into D

    def act(kind):
        if kind == "file":
            return services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW).total
        return services.build_settlements(date=D, now=NOW).recalculated

    results = race(act, [("file",), ("build",)])
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    file_total, recalculated = results[0][1], results[1][1]
    assert file_total == Settlement.objects.filter(status="sent").aggregate(s=Sum("amount_due"))["s"]
    assert file_total in (40_000, 42_000) and recalculated in (0, 4)
    build(D + dt.timedelta(days=1))
    assert Settlement.objects.aggregate(s=Sum("payments"))["s"] == 42_000
    assert_everything_settled_once()
