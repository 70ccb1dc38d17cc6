"""Balance refunds to citizens (잔액 환불, issue #9): once the spent share of a purchase's face value
reaches the refund ratio of the policy it was sold under, its unspent rest goes back and the citizen
gets what they paid for that rest, floor(rest × (1 − discount)) won (vouchers.rules.balance_refund).

- Mobile (`refund_balance` for a sales agent, `refund_web_balance` for the signed-in citizen): one
  transaction under the wallet lock (lock 3, vouchers/locks.py), so a payment from the same wallet
  queues behind it or before it and never spends what is being refunded, and two refunds pay once.
  Credits past validity are first expired (services/wallet.expire_held_credit), as a payment does.
  Each eligible purchase gets its ledger line (`balance_refund`, tied to the purchase, counted as
  consumption so FIFO stays right) and one PaymentRefund.
- Paper (`refund_paper_balance`): the notes handed in at a counter, each still `issued` and valid,
  of purchases whose redeemed notes reach the ratio; they become `refunded` (forward-only).

Where the money goes (PaymentRefund.payout): a purchase paid online goes back through the gateway
on its reservation's payment reference (the existing refund task; a partial refund of that payment,
which a cancel can never also refund: a cancel needs it unused, a balance refund 60 % used). Every
other purchase (sold at a bank counter or in a partner app, and paper) is paid out at once by the
sales agent that asks, cash at the counter or to its app's linked account; its row is `done` when
written and is what the city owes that agent. The citizen's web page therefore refunds only
purchases paid online, and says where the others are refunded.

A balance refund never gives back quota or month usage: the tranche's `sold` and MonthlyUsage stay.
"""
from dataclasses import dataclass, field

from django.db import transaction

from jinju_portal import actors, clock
from jinju_portal.money import format_krw
from vouchers import inputs, locks, rules, selectors
from vouchers.choices import EntryKind, EventKind, Medium, NoteStatus, RefundPayout, RefundReason
from vouchers.errors import refuse
from vouchers.models import Citizen, PaperNote, PaymentRefund
from vouchers.services import events
from vouchers.services.refunds import order_refund
from vouchers.services.wallet import append, expire_held_credit


@dataclass(frozen=True)
class RefundedPurchase:
    purchase_id: int
    medium: str
    face_value: int  # the purchase's
    used: int  # spent (mobile) or redeemed (paper) of it, won
    face_value_returned: int
    amount_paid_back: int
    payout: str  # gateway | agent
    refund: PaymentRefund


@dataclass(frozen=True)
class BalanceRefund:
    purchases: list = field(default_factory=list)

    @property
    def face_value_returned(self) -> int:
        return sum(p.face_value_returned for p in self.purchases)

    @property
    def amount_paid_back(self) -> int:
        return sum(p.amount_paid_back for p in self.purchases)

    @property
    def paid_by_agent(self) -> int:
        """What the asking sales agent hands the citizen now (the rest goes back to the card)."""
        return sum(p.amount_paid_back for p in self.purchases if p.payout == RefundPayout.AGENT)


def _percent(figures) -> str:
    return f"{figures.used_percent:f}".rstrip("0").rstrip(".")


def _ratio_percent(ratio) -> str:
    return f"{ratio * 100:f}".rstrip("0").rstrip(".")


def _refuse_lines(lines, *, elsewhere=False):
    """The request's refusal from its purchases' figures (rules.balance_refusal), with its figures."""
    refusal = rules.balance_refusal([line.figures for line in lines])
    if refusal == "refund_threshold_not_met":
        short = [line for line in lines if line.figures.refusal == refusal]
        top = max(short, key=lambda line: line.figures.used_percent)
        raise refuse(refusal, used=_percent(top.figures),
                     ratio=_ratio_percent(selectors.refund_ratio_for_month(top.purchase.month)))
    raise refuse("nothing_to_refund.elsewhere" if elsewhere else "nothing_to_refund")


def _citizen_by_ci(buyer_ci) -> Citizen | None:
    return selectors.citizen_by_ci(inputs.clean_buyer_ci(buyer_ci))


def refund_balance(*, buyer_ci, actor, idempotency_key="", now=None) -> BalanceRefund:
    """A sales agent's balance refund of a buyer's mobile wallet: every eligible purchase at once.
    Refusals: invalid_buyer (400), refund_threshold_not_met, nothing_to_refund (409)."""
    citizen = _citizen_by_ci(buyer_ci)
    if citizen is None:
        raise refuse("nothing_to_refund")  # a buyer never seen has a balance of 0 (API.md)
    return _refund_mobile(citizen_id=citizen.pk, actor=actor, web_only=False, idempotency_key=idempotency_key,
                          now=now)


def refund_web_balance(*, citizen_id, actor, idempotency_key="", now=None) -> BalanceRefund:
    """The signed-in citizen's balance refund on the portal (`actor` their account): the purchases
    paid online, back to the card; `nothing_to_refund.elsewhere` when only counter or app purchases
    are eligible (refunded there)."""
    return _refund_mobile(citizen_id=citizen_id, actor=actor, web_only=True, idempotency_key=idempotency_key,
                          now=now)


@transaction.atomic
def _refund_mobile(*, citizen_id, actor, web_only, idempotency_key, now) -> BalanceRefund:
    now = clock.now_or(now)
    client = actors.client_of(actor)
    wallet = locks.wallet(citizen_id=citizen_id)
    if wallet is None:
        raise refuse("nothing_to_refund")
    if wallet.entries.filter(kind=EntryKind.PURCHASE, expires_at__lte=now).exists():
        expire_held_credit(wallet, now=now)  # credit past validity is not refundable: it expires first
    lines = selectors.mobile_balance_lines(wallet_id=wallet.pk, now=now)
    # a purchase not paid online is paid out by the agent asking: the web (or staff) cannot
    scoped = [line for line in lines if line.web_paid or (client is not None and not web_only)]
    eligible = [line for line in scoped if line.figures.refusal is None]
    if not eligible:
        elsewhere = any(line.figures.refusal is None for line in lines)
        _refuse_lines(scoped, elsewhere=elsewhere)
    done = []
    for line in eligible:
        purchase, figures = line.purchase, line.figures
        before = wallet.balance
        append(wallet, amount=-figures.face_value_returned, kind=EntryKind.BALANCE_REFUND, purchase=purchase,
               reference=f"balance-refund:{purchase.pk}", now=now)
        payout = RefundPayout.GATEWAY if line.web_paid else RefundPayout.AGENT
        refund = order_refund(
            reservation=line.reservation, purchase=purchase, amount=figures.amount_paid_back,
            reference=line.reservation.payment_reference if line.web_paid else f"balance:{purchase.pk}",
            reason=RefundReason.BALANCE_REFUND, actor=actor, now=now, payout=payout,
            face_value=figures.face_value_returned, idempotency_key=idempotency_key)
        if refund.reason != RefundReason.BALANCE_REFUND or refund.purchase_id != purchase.pk:
            # that payment was refunded already for another reason: never debit the wallet without paying
            raise RuntimeError(f"payment {refund.payment_reference} already has refund #{refund.pk}")
        events.record(EventKind.BALANCE_REFUNDED, actor=actor, now=now, purchase=purchase, refund=refund,
                      citizen_id=citizen_id, before={"balance": before, "used": figures.used},
                      after={"balance": wallet.balance, "face_value_returned": figures.face_value_returned,
                             "amount_paid_back": figures.amount_paid_back, "payout": payout})
        done.append(RefundedPurchase(purchase_id=purchase.pk, medium=Medium.MOBILE, face_value=figures.face_value,
                                     used=figures.used, face_value_returned=figures.face_value_returned,
                                     amount_paid_back=figures.amount_paid_back, payout=payout, refund=refund))
    return BalanceRefund(purchases=done)


@transaction.atomic
def refund_paper_balance(*, serials, buyer_ci, actor, idempotency_key="", now=None) -> BalanceRefund:
    """Paper notes handed in at a sales agent's counter (`actor`, its ApiClient): each must be one of
    the buyer's, still issued and within validity, and every purchase they belong to must have had
    at least the refund ratio of its face value redeemed (exchanged by merchants). The notes become
    `refunded`, and each purchase's notes are paid back at floor(face × (1 − discount)) by the
    counter, one PaymentRefund per purchase (payout `agent`). All or nothing.

    Refusals: invalid_buyer, invalid_serials (400: malformed, not the buyer's, not a sales agent);
    nothing_to_refund (a note refunded, redeemed, cancelled or expired), refund_threshold_not_met (409)."""
    now = clock.now_or(now)
    serials = inputs.clean_serials(serials, limit=inputs.MAX_REFUND_SERIALS)
    citizen = _citizen_by_ci(buyer_ci)
    if actors.client_of(actor) is None:
        raise refuse("invalid_serials.counter_only", on="serials")
    notes = locks.notes_by_serial(serials)
    foreign = [s for s in serials if s not in notes or citizen is None or notes[s].purchase.citizen_id != citizen.pk]
    if foreign:
        raise refuse("invalid_serials.unknown", on="serials", serials=", ".join(foreign[:10]))
    for serial in serials:
        note = notes[serial]
        if note.status != NoteStatus.ISSUED:
            raise refuse("nothing_to_refund.note", serial=serial, status=note.get_status_display())
        if note.expires_at <= now:
            raise refuse("nothing_to_refund.note_expired", serial=serial)
    by_purchase: dict[int, list[PaperNote]] = {}
    for note in sorted(notes.values(), key=lambda n: n.pk):
        by_purchase.setdefault(note.purchase_id, []).append(note)
    figures_of = {}
    for purchase_id, handed in by_purchase.items():
        purchase = handed[0].purchase
        redeemed = sum(purchase.notes.filter(status=NoteStatus.REDEEMED).values_list("denomination", flat=True))
        ratio = selectors.refund_ratio_for_month(purchase.month)
        figures = rules.balance_refund(face_value=purchase.face_value, used=redeemed,
                                       unspent=sum(n.denomination for n in handed),
                                       discount_rate=purchase.tranche.discount_rate, price=purchase.price,
                                       refund_ratio=ratio)
        if figures.refusal == "refund_threshold_not_met":
            raise refuse("refund_threshold_not_met.paper", purchase=purchase.pk, used=_percent(figures),
                         ratio=_ratio_percent(ratio))
        if figures.refusal is not None:
            raise refuse(figures.refusal)
        figures_of[purchase_id] = figures
    done = []
    for purchase_id, handed in by_purchase.items():
        purchase, figures = handed[0].purchase, figures_of[purchase_id]
        refund = order_refund(
            reservation=None, purchase=purchase, amount=figures.amount_paid_back,
            reference=f"balance:paper:{handed[0].pk}", reason=RefundReason.BALANCE_REFUND, actor=actor, now=now,
            payout=RefundPayout.AGENT, face_value=figures.face_value_returned, idempotency_key=idempotency_key)
        PaperNote.objects.filter(pk__in=[n.pk for n in handed]).update(status=NoteStatus.REFUNDED,
                                                                      status_changed_at=now, balance_refund=refund)
        events.record(EventKind.BALANCE_REFUNDED, actor=actor, now=now, purchase=purchase, refund=refund,
                      citizen_id=purchase.citizen_id, before={"redeemed": figures.used},
                      after={"serials": [n.serial for n in handed], "face_value_returned": figures.face_value_returned,
                             "amount_paid_back": figures.amount_paid_back, "payout": RefundPayout.AGENT},
                      note=format_krw(figures.amount_paid_back))
        done.append(RefundedPurchase(purchase_id=purchase.pk, medium=Medium.PAPER, face_value=purchase.face_value,
                                     used=figures.used, face_value_returned=figures.face_value_returned,
                                     amount_paid_back=figures.amount_paid_back, payout=RefundPayout.AGENT,
                                     refund=refund))
    return BalanceRefund(purchases=done)
