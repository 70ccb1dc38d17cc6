"""Paper exchange (환전) at the bank counter, and the merchant's monthly exchange cap staff set.

A merchant hands its paper notes in at a bank; the bank's `sales_agent` key sends the merchant's
business number and the serials (`POST /api/v1/vouchers/exchanges/`). Each serial is accepted (the
note becomes redeemed, pointing at this exchange) or refused with its reason
(choices.ExchangeRefusalReason), and every refusal is an ExchangeRefusal row for the fraud review,
even when all are refused (the answer is still 201, amount 0). The city pays `amount` with the
merchant's settlement.

Nothing is paid twice (DESIGN.md invariant 4): the notes that may be paid are locked in primary-key
order (vouchers/locks.py) and re-read under the lock, so one serial sent by two banks at once is
paid by the first and refused `already_redeemed` to the second; the forward-only trigger of
migration 0002 and CHECK papernote_exchanged_is_redeemed back it in the schema. The monthly cap
holds under a race because an exchange locks its merchant first and sums its month under that lock.
"""
from dataclasses import dataclass, field

from django.db import transaction

from jinju_portal import actors, clock
from jinju_portal.money import format_krw
from vouchers import inputs, locks, months, rules, selectors
from vouchers.choices import EventKind, ExchangeRefusalReason, NoteStatus, PurchaseStatus
from vouchers.errors import refuse
from vouchers.models import Exchange, ExchangeRefusal, Merchant, PaperNote
from vouchers.services import events


@dataclass
class ExchangeResult:
    """What an exchange decided: the API's answer (API.md) is `as_dict()`; the same as
    selectors.exchange_answer(exchange) reads back later."""
    exchange: Exchange
    accepted: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return selectors.exchange_body(self.exchange, accepted=self.accepted, refused=self.refused)


def _figures(row: dict, note: PaperNote | None) -> rules.NoteFigures:
    """The note as the rule sees it: the locked row's status where we locked it (fresh, after any
    concurrent exchange or cancel), else the plain read (a note no longer issued never changes again)."""
    status = note.status if note is not None else row["status"]
    return rules.NoteFigures(status=status, expires_at=row["expires_at"],
                             purchase_cancelled=row["purchase__status"] == PurchaseStatus.CANCELLED)


@transaction.atomic
def exchange_notes(*, merchant_business_number, serials, actor, idempotency_key="", now=None) -> ExchangeResult:
    """Exchange the notes a merchant handed in at a bank counter.

    Input: the merchant's business number (unknown or malformed → 400 `invalid_merchant`) and 1–1,000
    serials, each trimmed and upper-cased (inputs.clean_serials; the same serial twice → 400
    `invalid_serials`, nothing written). Each serial, in the order given, is refused for the first of:
    unknown, not_issued (cancelled purchase), already_redeemed, expired (rules.note_exchange_refusal),
    then not_accepted_by_merchant (takes no paper, or not approved now: rules.merchant_exchange_refusal),
    then exchange_cap_exceeded (the merchant's cap for the Seoul calendar month would be passed by this
    note: notes are taken in the order given while each still fits). The rest is paid."""
    now = clock.now_or(now)
    business_number = inputs.clean_exchange_merchant(merchant_business_number)
    handed_in = inputs.clean_serials(serials)
    merchant = locks.merchant_for_exchange(business_number)
    if merchant is None:
        raise refuse("invalid_merchant.business_number", on="merchant")
    rows = {row["serial"]: row for row in PaperNote.objects.filter(serial__in=handed_in).values(
        "id", "serial", "status", "expires_at", "denomination", "purchase__status")}
    # lock only the notes that may still be paid (issued, within validity): the others never change again
    payable = [row["id"] for row in rows.values() if rules.note_exchange_refusal(_figures(row, None), now=now) is None]
    locked = locks.notes(payable)

    merchant_refusal = rules.merchant_exchange_refusal(merchant_status=merchant.status,
                                                       accepts_paper=merchant.accepts_paper)
    cap = rules.monthly_exchange_cap(monthly_exchange_cap=merchant.monthly_exchange_cap,
                                     annual_revenue=merchant.annual_revenue)
    month = months.month_of(now)
    exchanged = selectors.month_exchanged(merchant_id=merchant.pk, month=month)

    result_accepted, refusals, paid_ids, amount = [], [], [], 0
    for serial in handed_in:
        row = rows.get(serial)
        note = locked.get(row["id"]) if row is not None else None
        reason = rules.note_exchange_refusal(_figures(row, note) if row is not None else None, now=now)
        if reason is None:
            reason = merchant_refusal
        if reason is None and not rules.fits_exchange_cap(cap=cap, exchanged=exchanged + amount, x=note.denomination):
            reason = ExchangeRefusalReason.EXCHANGE_CAP_EXCEEDED
        if reason is None:
            amount += note.denomination
            paid_ids.append(note.pk)
            result_accepted.append(serial)
        else:
            refusals.append((serial, row["id"] if row is not None else None, reason))

    exchange = Exchange.objects.create(
        merchant=merchant, api_client=actors.client_of(actor), user=actors.user_of(actor), amount=amount,
        accepted_count=len(paid_ids), refused_count=len(refusals), idempotency_key=idempotency_key,
        serials=handed_in, created_at=now)
    if paid_ids:
        moved = PaperNote.objects.filter(pk__in=paid_ids, status=NoteStatus.ISSUED).update(
            status=NoteStatus.REDEEMED, status_changed_at=now, exchange=exchange)
        if moved != len(paid_ids):  # cannot happen under the note locks; never pay on a doubt
            raise RuntimeError(f"exchange {exchange.pk}: {moved} of {len(paid_ids)} notes redeemed")
    ExchangeRefusal.objects.bulk_create([
        ExchangeRefusal(exchange=exchange, merchant=merchant, serial=serial, note_id=note_id, reason=reason,
                        created_at=now) for serial, note_id, reason in refusals])
    by_reason = {}
    for _, _, reason in refusals:
        by_reason[str(reason)] = by_reason.get(str(reason), 0) + 1
    events.record(EventKind.NOTES_EXCHANGED, actor=actor, now=now, merchant=merchant, exchange=exchange,
                  before={"month": month, "exchanged": exchanged},
                  after={"month": month, "exchanged": exchanged + amount, "cap": cap, "amount": amount,
                         "accepted": len(paid_ids), "refused": len(refusals), **by_reason})
    return ExchangeResult(exchange=exchange, accepted=result_accepted,
                          refused=[{"serial": serial, "reason": str(reason)} for serial, _, reason in refusals])


@transaction.atomic
def set_exchange_cap(*, merchant_id, cap, reason, actor, now=None) -> Merchant:
    """Set (raise or lower) a merchant's monthly exchange cap, or clear it (None) for the default of a
    month of its declared revenue (rules.monthly_exchange_cap). The reason is required and kept on the
    trail. Takes effect for the next exchange, this month included: what was exchanged stays paid, and
    a cap below it refuses every further note until the month turns."""
    now = clock.now_or(now)
    cap = inputs.clean_exchange_cap(cap)
    reason = inputs.clean_reason(reason)
    merchant = locks.merchant(merchant_id)
    if merchant is None:
        raise refuse("not_found.merchant")
    old = merchant.monthly_exchange_cap
    if old == cap:
        return merchant

    def effective(value):
        return format_krw(rules.monthly_exchange_cap(monthly_exchange_cap=value,
                                                     annual_revenue=merchant.annual_revenue))

    merchant.monthly_exchange_cap = cap
    merchant.save(update_fields=["monthly_exchange_cap"])
    events.record(EventKind.EXCHANGE_CAP_CHANGED, actor=actor, now=now, merchant=merchant, note=reason,
                  before={"monthly_exchange_cap": old, "effective": effective(old)},
                  after={"monthly_exchange_cap": cap, "effective": effective(cap)})
    return merchant
