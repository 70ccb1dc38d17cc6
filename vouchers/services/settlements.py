"""Daily settlement (정산): what the city owes each merchant for a day, the bank transfer file, and
the merchant's bank account (DESIGN.md invariant 4b).

What a settlement covers
------------------------
A merchant's settlements form a chain in date order. Each covers a *rectangle* of the merchant's
rows (payments, merchant refunds, paper exchanges): those whose Seoul day is up to its `date` and
whose id is up to its marks (`payment_hwm`, `refund_hwm`, `exchange_hwm`), less the rectangle of
the settlement before it (`base_date`, `base_*`). The rectangles are nested (dates and marks never
decrease along the chain), so every row is in exactly one settlement: the first whose rectangle
holds it. `SettlementCursor` is the end of the chain (the outer rectangle, reached even on a day
the merchant had nothing), and the next settlement starts from it.

Why the marks are sound under concurrency: a payment's `created_at` is stamped before it commits,
so "the rows of a day" read at 02:00 can still miss a payment made at 23:59:59 that commits at
02:00:01. Ids alone are no better (a lower id can commit after a higher one). So the build first
takes `LOCK TABLE … IN SHARE MODE` on the three tables for a moment (db/settlements.marks): it
waits out every transaction writing to them and reads the highest ids. Every row with an id up to
the marks is then final, every row still to come gets a higher id. A row that commits late is
outside the rectangle of the settlement that missed it (its id is above that settlement's mark),
and inside the next one's — as its "late" part (day <= base_date, id above the base mark).

So, for a build of day E (marks h), merchant by merchant:
- cursor before E (the nightly case, and new merchants): a new settlement of E covering the cursor's
  rectangle to (E, h): the days since the cursor and whatever arrived late for earlier days
  (a payment that committed after the last build, a refund of a day already sent). It is inserted
  only if it has a row; the cursor moves to (E, h) either way. One statement (db.build_new). A new
  row is its own record (calculated_at, its base and marks), as a Purchase is; every later change
  to it (recalculated, sent, paid) is a VoucherEvent.
- cursor at or after E and E's settlement still `calculated`: it and the later settlements of the
  merchant (all `calculated`: sent ones are a prefix, see below) are recomputed with marks h, in
  date order, each from the one before. Only rows whose figures differ are written (no churn: a
  rebuild with nothing new writes nothing, not even an UPDATE).
- E's settlement `sent` or `paid`, or no settlement of E while the cursor is past it: nothing. What
  arrives late for that day goes into the merchant's next settlement that is built, never into the
  sent one.

Sent settlements are a prefix of each chain: the transfer file for a pay-on date takes every
`calculated` settlement paid on or before it (pay_on is monotone in the date), and a merchant without
a bank account keeps all of its own. Builds and transfer files take one advisory lock, so a build
never computes from a settlement that a file is sending.

A day whose refunds exceed its payments (plus exchanges) is not a negative transfer: its
`amount_due` is 0 and `carry_out` takes the negative rest into the next settlement's `carried`.

Cost: the nightly build reads the day's rows once (a range of created_at) and the rows committed
since the last build whose day is earlier (a range of ids); bench/settlement.py measures it.
"""
import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import OperationalError, connection, transaction

from jinju_portal import clock
from vouchers import inputs, rules
from vouchers.choices import EventKind, SettlementStatus
from vouchers.db import settlements as db
from vouchers.errors import refuse
from vouchers.models import Merchant, MerchantBankAccount, Settlement, SettlementCursor, VoucherEvent
from vouchers.services import events

SEOUL = ZoneInfo("Asia/Seoul")
BUILD_LOCK = 7_417_001  # pg_advisory_xact_lock key: builds and transfer files, one at a time
FIGURES = ("payments", "refunds", "exchanged", "carried", "amount_due", "carry_out", "pay_on")


@dataclass
class BuildResult:
    date: dt.date
    created: int = 0
    recalculated: int = 0
    unchanged: int = 0
    marks: dict = field(default_factory=dict)


def _day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=SEOUL)


def _take_marks() -> dict:
    try:
        with transaction.atomic():
            return db.marks()
    except OperationalError as exc:  # lock_timeout: a writer held a transaction open for 10 s
        raise refuse("busy") from exc


def build_settlements(*, date, actor=None, now=None) -> BuildResult:
    """Build (or rebuild) the settlements of `date` (a date or "YYYY-MM-DD"), a day that has ended.

    Two transactions, not one: the marks are taken in a moment's table lock of their own (held for the
    whole build it would stop payments for seconds), then the settlements are written in one
    transaction under the build lock. Idempotent: run twice, the second writes nothing."""
    now = clock.now_or(now)
    day = inputs.clean_settlement_date(date)
    if _day_end(day) > now:
        raise refuse("invalid_date.future", day=day.isoformat())
    marks = _take_marks()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_LOCK])
        # The marks were taken before the build lock: another build may have taken later ones and
        # written with them while this one waited. Writing with the older marks would move cursors
        # back, and the rows between the two marks, already settled, would come again as late rows
        # of the next settlement (the build race test caught 1,002원 settled twice in CI). So the marks
        # never go back: every mark ever written is on a cursor (each write of marks moves the cursors
        # of what it wrote), and the rows up to a mark an earlier build took are final.
        marks = db.at_least_recorded(marks)
        result = BuildResult(date=day, marks=marks)
        pay_on = rules.next_business_day(day)
        # first the merchants whose settlement of the day exists (their cursor is at or past it, and
        # stays so), then the others: two disjoint sets, and what is created now is never recomputed
        _rebuild_calculated(day=day, marks=marks, actor=actor, now=now, result=result)
        made = db.build_new(day=day, pay_on=pay_on, marks=marks, now=now)
        result.created = made["created"]
    return result


def _rebuild_calculated(*, day, marks, actor, now, result):
    """Recompute the merchants whose settlement of `day` is still calculated, with every later one."""
    rows = list(Settlement.objects.raw(db.CHAINS_FROM, [day]))
    if not rows:
        return
    carried_before = db.carried_before(sorted({r.merchant_id for r in rows}), day)
    targets, previous = [], None
    for row in rows:
        if previous is not None and previous.merchant_id == row.merchant_id:
            base = {"base_date": previous.date, "bp": marks["hp"], "br": marks["hr"], "be": marks["he"]}
        else:
            base = {"base_date": row.base_date, "bp": row.base_payment_id, "br": row.base_refund_id,
                    "be": row.base_exchange_id}
        targets.append({"i": row.pk, "merchant_id": row.merchant_id, "date": row.date, **base})
        previous = row
    sums = db.sums_for(targets, marks, day=day)
    changed_merchants, carry = set(), None
    for i, (row, target) in enumerate(zip(rows, targets)):
        if i == 0 or rows[i - 1].merchant_id != row.merchant_id:
            carry = carried_before.get(row.merchant_id, 0)
        figures = sums[row.pk]
        due, carry_out = rules.settlement_split(payments=figures["p"], refunds=figures["r"], exchanged=figures["e"],
                                                carried=carry)
        new = {"payments": figures["p"], "refunds": figures["r"], "exchanged": figures["e"], "carried": carry,
               "amount_due": due, "carry_out": carry_out, "pay_on": rules.next_business_day(row.date)}
        carry = carry_out
        if all(getattr(row, name) == value for name, value in new.items()):
            result.unchanged += 1
            continue
        before = events.fields_of(row, FIGURES)
        new.update(base_date=target["base_date"], base_payment_id=target["bp"], base_refund_id=target["br"],
                   base_exchange_id=target["be"], payment_hwm=marks["hp"], refund_hwm=marks["hr"],
                   exchange_hwm=marks["he"], calculated_at=now)
        updated = Settlement.objects.filter(pk=row.pk, status=SettlementStatus.CALCULATED).update(**new)
        if not updated:  # cannot happen under the build lock; never write over a sent settlement
            raise RuntimeError(f"settlement {row.pk} left 'calculated' during a build")
        for name, value in new.items():
            setattr(row, name, value)
        events.record(EventKind.SETTLEMENT_RECALCULATED, actor=actor, now=now, merchant_id=row.merchant_id,
                      settlement=row, before=before, after=events.fields_of(row, FIGURES))
        changed_merchants.add(row.merchant_id)
        result.recalculated += 1
    # the chain's end is now its last settlement, with the new marks (a cursor past it had nothing)
    last = {}
    for row in rows:
        last[row.merchant_id] = row.date
    for merchant_id in sorted(changed_merchants):
        SettlementCursor.objects.update_or_create(
            merchant_id=merchant_id, defaults={"date": last[merchant_id], "payment_hwm": marks["hp"],
                                               "refund_hwm": marks["hr"], "exchange_hwm": marks["he"]})


# --- the bank transfer file --------------------------------------------------------------------------

TRANSFER_HEADER = ("은행코드", "은행명", "계좌번호", "예금주", "이체금액", "입금통장표시", "가맹점코드", "정산일")


@dataclass
class TransferFile:
    pay_on: dt.date
    content: bytes
    rows: int
    total: int
    sent: list = field(default_factory=list)        # settlement ids marked sent (with a line or of 0 won)
    missing: list = field(default_factory=list)     # merchants (code, name) with no bank account: not sent

    @property
    def filename(self) -> str:
        return f"jinju-settlement-{self.pay_on:%Y%m%d}.csv"


@transaction.atomic
def produce_transfer_file(*, pay_on, actor=None, now=None) -> TransferFile:
    """The bank transfer file for `pay_on`: every `calculated` settlement paid on or before that date
    (a file missed on an earlier day is caught up), one line per settlement with money to send;
    those rows become `sent` (one event each). Settlements of 0 won (a negative day carried on) are
    marked sent without a line. A merchant without a bank account is listed in `missing`, and its
    settlements stay `calculated` for the next file.

    Layout (CSV, UTF-8 with BOM so that Korean Excel opens it, CRLF):
      header  은행코드,은행명,계좌번호,예금주,이체금액,입금통장표시,가맹점코드,정산일
      lines   011,농협은행,352-0123-4567-89,김진주,125000,진주사랑 12/01 정산,AB12CD34,2026-12-01
      trailer 합계,,,,<sum of 이체금액>,<number of lines>건,,
    The trailer's total and count balance against the lines (tests/vouchers/test_settlements.py)."""
    now = clock.now_or(now)
    pay_on = inputs.clean_settlement_date(pay_on, field="pay_on")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_LOCK])
    rows = list(Settlement.objects.select_for_update(of=("self",)).select_related("merchant", "merchant__bank_account")
                .filter(status=SettlementStatus.CALCULATED, pay_on__lte=pay_on).order_by("merchant__code", "date"))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TRANSFER_HEADER)
    out = TransferFile(pay_on=pay_on, content=b"", rows=0, total=0)
    missing = {}
    to_send = []
    for row in rows:
        account = getattr(row.merchant, "bank_account", None)
        if account is None:
            missing[row.merchant.code] = row.merchant.name
            continue
        if row.amount_due > 0:
            writer.writerow((account.bank_code, account.bank_name, account.account_number, account.holder,
                             row.amount_due, rules.transfer_memo(row.date), row.merchant.code, row.date.isoformat()))
            out.rows += 1
            out.total += row.amount_due
        to_send.append(row)
    writer.writerow(("합계", "", "", "", out.total, f"{out.rows}건", "", ""))
    ids = [row.pk for row in to_send]
    Settlement.objects.filter(pk__in=ids).update(status=SettlementStatus.SENT, sent_at=now)
    VoucherEvent.objects.bulk_create([
        events.build(EventKind.SETTLEMENT_SENT, actor=actor, now=now, merchant_id=row.merchant_id, settlement=row,
                     before={"status": SettlementStatus.CALCULATED},
                     after={"status": SettlementStatus.SENT, "amount_due": row.amount_due,
                            "account": account_label(row.merchant.bank_account), "pay_on": pay_on})
        for row in to_send], batch_size=1000)
    out.sent = ids
    out.missing = sorted(missing.items())
    out.content = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return out


def account_label(account) -> str:
    return f"{account.bank_name} {account.masked}" if account is not None else ""


@transaction.atomic
def mark_settlements_paid(*, settlement_ids, actor=None, now=None) -> list[Settlement]:
    """The bank confirmed the transfers: `sent` → `paid`, one event each. Anything not `sent` is
    refused (settlement_status_conflict) and nothing is written."""
    now = clock.now_or(now)
    rows = list(Settlement.objects.select_for_update().filter(pk__in=list(settlement_ids)).order_by("pk"))
    if len(rows) != len(set(settlement_ids)):
        raise refuse("not_found.settlement")
    for row in rows:
        if rules.SETTLEMENT_STATUS_FORWARD.get(row.status) != SettlementStatus.PAID:
            raise refuse("settlement_status_conflict", status=row.get_status_display())
    for row in rows:
        events.apply_changes(row, {"status": SettlementStatus.PAID, "paid_at": now}, EventKind.SETTLEMENT_PAID,
                             actor=actor, now=now, merchant_id=row.merchant_id, settlement=row)
    return rows


# --- the merchant's bank account ---------------------------------------------------------------------

BANK_ACCOUNT_FIELDS = ("bank_code", "bank_name", "account_number", "holder")


def _shown(account: MerchantBankAccount | None) -> dict:
    if account is None:
        return {}
    return {"bank_code": account.bank_code, "bank_name": account.bank_name, "account_number": account.masked,
            "holder": account.holder}


@transaction.atomic
def set_merchant_bank_account(*, merchant_id, bank_code, bank_name, account_number, holder, actor=None,
                              now=None) -> MerchantBankAccount:
    """Create or change where a merchant is paid; the event keeps the masked number only. Settlements
    already sent keep what the file said (the event holds it)."""
    now = clock.now_or(now)
    clean = inputs.clean_bank_account(bank_code=bank_code, bank_name=bank_name, account_number=account_number,
                                      holder=holder)
    merchant = Merchant.objects.select_for_update().filter(pk=merchant_id).first()
    if merchant is None:
        raise refuse("not_found.merchant")
    account = MerchantBankAccount.objects.select_for_update().filter(merchant=merchant).first()
    before = _shown(account)
    if account is not None and all(getattr(account, k) == v for k, v in clean.items()):
        return account
    if account is None:
        account = MerchantBankAccount(merchant=merchant, updated_at=now, **clean)
        account.save(force_insert=True)
    else:
        for name, value in clean.items():
            setattr(account, name, value)
        account.updated_at = now
        account.save(update_fields=[*BANK_ACCOUNT_FIELDS, "updated_at"])
    events.record(EventKind.BANK_ACCOUNT_CHANGED, actor=actor, now=now, merchant=merchant, before=before,
                  after=_shown(account))
    return account
