"""Reads of the vouchers app: limits in force, a buyer's month, plan progress, purchase answers."""
import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.postgres.lookups import TrigramSimilar, TrigramWordSimilar
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Greatest

from jinju_portal import actors, clock
from jinju_portal.identity import hash_identity
from jinju_portal.models import Role
from vouchers import months, rules
from vouchers.choices import EntryKind, Medium, MerchantStatus, NoteStatus, PurchaseStatus
from vouchers.models import (DEFAULT_MONTHLY_LIMIT, Citizen, Exchange, IssuancePlan, LimitPolicy, Merchant,
                             MerchantBankAccount, MerchantCategory, MerchantMember, MerchantRefund, MonthlyUsage,
                             PayCode, Payment, PaymentRefund, Purchase, Settlement, Tranche, Wallet, WalletEntry)


@dataclass(frozen=True)
class Limits:
    monthly_limit: int
    paper_monthly_limit: int | None = None
    mobile_monthly_limit: int | None = None
    yearly_limit: int | None = None


def policy_for_month(month: str) -> LimitPolicy | None:
    """The policy in force on the 1st of `month` (policies start on a 1st, so for the whole month)."""
    return (LimitPolicy.objects.filter(effective_from__lte=months.first_day(month))
            .order_by("-effective_from").first())


def limits_for_month(month: str) -> Limits:
    policy = policy_for_month(month)
    if policy is None:
        return Limits(DEFAULT_MONTHLY_LIMIT)
    return Limits(policy.monthly_limit, policy.paper_monthly_limit, policy.mobile_monthly_limit,
                  policy.yearly_limit)


def buyer_usage(*, buyer_ci: str | None = None, citizen: Citizen | None = None, month: str | None = None,
                now=None) -> dict:
    """{month, limit, purchased, remaining} of one buyer; a buyer never seen has bought nothing."""
    month = month or months.month_of(clock.now_or(now))
    if citizen is None and buyer_ci is not None:
        citizen = Citizen.objects.filter(ci_hash=hash_identity(buyer_ci)).first()
    usage = MonthlyUsage.objects.filter(citizen=citizen, month=month).first() if citizen else None
    if usage is not None:
        limit, purchased = usage.monthly_limit, usage.purchased
    else:
        limit, purchased = limits_for_month(month).monthly_limit, 0
    return {"month": month, "limit": limit, "purchased": purchased, "remaining": max(limit - purchased, 0)}


def purchase_answer(purchase: Purchase) -> dict:
    """The API's purchase body (API.md) for a stored purchase."""
    usage = MonthlyUsage.objects.filter(citizen_id=purchase.citizen_id, month=purchase.month).first()
    purchased = usage.purchased if usage else 0
    limit = usage.monthly_limit if usage else limits_for_month(purchase.month).monthly_limit
    return {
        "id": purchase.pk,
        "tranche": purchase.tranche_id,
        "medium": purchase.medium,
        "face_value": purchase.face_value,
        "price": purchase.price,
        "status": purchase.status,
        "created_at": purchase.created_at,
        "month": purchase.month,
        "buyer_month_purchased": purchased,
        "buyer_month_remaining": max(limit - purchased, 0),
        "serials": list(purchase.notes.order_by("-denomination", "id").values_list("serial", flat=True))
        if purchase.medium == "paper" else [],
    }


def plan_progress(*, year: int) -> list[dict]:
    """[{year, medium, planned, issued, sold}]: issued sums the plan's tranche quotas."""
    plans = (IssuancePlan.objects.filter(year=year)
             .annotate(issued=Sum("tranches__quota", default=0), sold_total=Sum("tranches__sold", default=0))
             .order_by("medium"))
    return [{"year": p.year, "medium": p.medium, "planned": p.planned, "issued": p.issued, "sold": p.sold_total}
            for p in plans]


def plan_monthly_layout(*, plan: IssuancePlan, current_month: str | None = None,
                        carried: dict | None = None) -> list[tuple[str, int]]:
    """How the plan spreads over its twelve months, the one copy of the monthly split (the month
    roll-over opens each month's tranche with exactly this figure):

    - a month with tranches: their quotas;
    - a schedule plan: the staff's figure for the month, plus what was carried into it;
    - an equal plan: what remains of the plan after the earlier months, split equally over the
      months left (December takes the rounding), plus what was carried in; months before
      `current_month` that have no tranche issued nothing (0).
    """
    by_month = dict(plan.tranches.values_list("month").annotate(q=Sum("quota")).order_by())
    carried = carried or {}
    layout = []
    remaining = plan.planned
    for index in range(12):
        month = f"{plan.year:04d}-{index + 1:02d}"
        carry = carried.get(month, 0)
        if month in by_month:
            amount = by_month[month]
        elif plan.layout == "schedule":
            amount = int(plan.schedule.get(month, 0)) + carry
        elif current_month is not None and month < current_month:
            amount = 0
        else:
            base = max(remaining - carry, 0)
            amount = (base // (12 - index) if index < 11 else base) + carry
        layout.append((month, amount))
        remaining -= amount
    return layout


def month_report_figures(*, month: str, medium: str) -> dict:
    tranches = Tranche.objects.filter(month=month, medium=medium)
    totals = tranches.aggregate(quota=Sum("quota", default=0), sold=Sum("sold", default=0))
    buys = Purchase.objects.filter(month=month, medium=medium, status="completed").aggregate(
        buyers=Count("citizen", distinct=True), purchases=Count("id"))
    return {**totals, **buys}


def citizen_for_user(user) -> Citizen | None:
    """The verified buyer behind a web account (linked by services.link_citizen), if any."""
    if user is None or not user.is_authenticated:
        return None
    return Citizen.objects.filter(user=user).first()


def open_tranches(*, now=None, medium: str | None = None):
    """Tranches on sale now, soonest closing first."""
    qs = Tranche.objects.open_at(clock.now_or(now)).order_by("closes_at", "id")
    return qs.filter(medium=medium) if medium else qs


# What moves a wallet's FIFO position: payments spend, refunds give back, expiry debits take, a
# balance refund takes the unspent rest of the purchase at the front of the line (a cancel removes its
# purchase's credit and is excluded together with it).
CONSUMING = (EntryKind.PAYMENT, EntryKind.REFUND, EntryKind.EXPIRY, EntryKind.BALANCE_REFUND)
_LIVE_CREDIT = Q(kind=EntryKind.PURCHASE) & ~Q(purchase__status=PurchaseStatus.CANCELLED)


@dataclass(frozen=True)
class CreditPosition:
    expired_credit: int  # live credits whose validity has passed
    consumed: int  # payments − refunds + expiry debits
    credited_before: int | None  # live credits before the entry asked about (None if not asked)


def credit_position(*, wallet_id: int, now, before_entry_id: int | None = None) -> CreditPosition:
    """Where a wallet's oldest-first spending stands (rules.credit_spent, services.wallet.expire_held_credit): one
    aggregate over its ledger. Callers that decide on it hold the wallet lock."""
    aggregates = {
        "expired": Sum("amount", filter=_LIVE_CREDIT & Q(expires_at__lte=now), default=0),
        "consumed": Sum("amount", filter=Q(kind__in=CONSUMING), default=0),
    }
    if before_entry_id is not None:
        aggregates["before"] = Sum("amount", filter=_LIVE_CREDIT & Q(id__lt=before_entry_id), default=0)
    row = WalletEntry.objects.filter(wallet_id=wallet_id).aggregate(**aggregates)
    return CreditPosition(expired_credit=row["expired"], consumed=-row["consumed"],
                          credited_before=row.get("before"))


def purchase_credit_spent(*, purchase: Purchase, now) -> bool:
    """Whether any of a mobile purchase's credit has been spent (oldest credits first)."""
    credit = purchase.wallet_entries.filter(kind=EntryKind.PURCHASE).order_by("id").first()
    if credit is None:
        return False
    position = credit_position(wallet_id=credit.wallet_id, now=now, before_entry_id=credit.pk)
    return rules.credit_spent(credited_before=position.credited_before, consumed=position.consumed)


def unspent_credits(*, wallet_id: int, now) -> list[dict]:
    """The live credits not yet spent, oldest first, with what is left of each and when it expires
    (FIFO: the consumption covers the oldest credits first)."""
    position = credit_position(wallet_id=wallet_id, now=now)
    left_to_cover, out = position.consumed, []
    credits = (WalletEntry.objects.filter(_LIVE_CREDIT, wallet_id=wallet_id).order_by("id")
               .values_list("amount", "expires_at"))
    for amount, expires_at in credits:
        covered = min(amount, max(left_to_cover, 0))
        left_to_cover -= covered
        if amount - covered > 0:
            out.append({"amount": amount - covered, "expires_at": expires_at,
                        "expired": expires_at is not None and expires_at <= now})
    return out


def wallet_statement(*, citizen: Citizen | None, limit: int = 50, now=None) -> dict:
    """A citizen's mobile wallet (zero and empty if none yet): `balance`; `spendable` (less credits
    past validity awaiting the expiry job); `expiring`: the unspent credits, soonest expiring first;
    `entries`: the latest ledger lines, newest first, with their merchant."""
    now = clock.now_or(now)
    wallet = Wallet.objects.filter(citizen=citizen).first() if citizen is not None else None
    if wallet is None:
        return {"balance": 0, "spendable": 0, "expiring": [], "entries": []}
    credits = unspent_credits(wallet_id=wallet.pk, now=now)
    held_back = sum(c["amount"] for c in credits if c["expired"])
    entries = list(wallet.entries.select_related("payment__merchant").order_by("-id")[:limit])
    return {"balance": wallet.balance, "spendable": max(0, wallet.balance - held_back),
            "expiring": [c for c in credits if not c["expired"]], "entries": entries}


def purchases_of(*, citizen: Citizen, limit: int = 50):
    return list(Purchase.objects.filter(citizen=citizen).select_related("tranche").order_by("-id")[:limit])


def cancel_refusal(*, purchase, user, now=None) -> str | None:
    """What services.cancel_purchase(purchase_id=…, actor=user, now=now) would answer, without
    writing or locking: None when it would cancel, else the refusal ("not_found",
    "already_cancelled", "cancel_window_closed", "already_used"). The rule
    itself is vouchers.rules.cancel_refusal, which the service asks under its locks."""
    if user is None or purchase.user_id != user.pk:
        return "not_found"
    notes_used = purchase.medium == Medium.PAPER and purchase.notes.exclude(status=NoteStatus.ISSUED).exists()
    balance, spent, now = None, False, clock.now_or(now)
    if purchase.medium == Medium.MOBILE:
        balance = Wallet.objects.filter(citizen_id=purchase.citizen_id).values_list("balance", flat=True).first()
        spent = purchase_credit_spent(purchase=purchase, now=now)
    refusal = rules.cancel_refusal(purchase=purchase, now=now, notes_used=notes_used,
                                   wallet_balance=balance, credit_spent=spent)
    return refusal.split(".", 1)[0] if refusal else None


# --- the merchant directory ----------------------------------------------------------------------

# How close a name must be to the typed text to be listed (besides containing it). Korean names are
# short and pg_trgm's trigrams are of syllables, so one wrong syllable of 진주식당 (진주싱당) already
# falls to a similarity of 0.25: the bars sit lower than pg_trgm's defaults (0.3 and 0.6). They are
# set for the transaction by directory_search(), so that the GIN trigram index answers the `%` and
# `%>` operators (a similarity() >= x comparison would read every approved row).
DIRECTORY_SIMILARITY = 0.2
DIRECTORY_WORD_SIMILARITY = 0.3


@contextmanager
def directory_search():
    """Evaluate merchant_directory(q=…) inside this: on PostgreSQL one transaction whose pg_trgm
    thresholds are the directory's (SET LOCAL: they end with the transaction and never leak into a
    pooled connection). Elsewhere it does nothing."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true), "
                           "set_config('pg_trgm.word_similarity_threshold', %s, true)",
                           [str(DIRECTORY_SIMILARITY), str(DIRECTORY_WORD_SIMILARITY)])
        yield


def directory_choices() -> tuple[list[tuple[str, str]], list[str]]:
    """What the directory's filters offer: [(code, name)] of the categories that have approved
    merchants, and the 읍면동 where approved merchants are, each in Korean order."""
    approved = Merchant.objects.filter(status=MerchantStatus.APPROVED)
    categories = (MerchantCategory.objects.filter(Exists(approved.filter(category=OuterRef("pk"))))
                  .order_by("name").values_list("code", "name"))
    dongs = approved.order_by("dong").values_list("dong", flat=True).distinct()
    return list(categories), list(dongs)


def _name_matches(q) -> Q:
    """Names that contain `q` or are near it (pg_trgm `%` and `%>`; bench/README.md, "The directory").

    The trigram index answers LIKE '%q%' only when `q` holds three letters or digits in a row: then one
    OR of the three tests is one bitmap scan of the index. Two syllables or fewer ("국밥") give LIKE
    no trigram to look up, and in one OR that dragged both operators (~1 µs a row) into reading every
    approved merchant (16 ms); so the three tests run apart (UNION ALL of ids), the LIKE reading the
    table alone (~1 ms) and the operators through the index. (LIKE, not Django's icontains:
    UPPER(name) LIKE … is not served by the trigram index on the name.)"""
    near, word_near = TrigramSimilar(F("name"), Value(q)), TrigramWordSimilar(F("name"), Value(q))
    if any(len(word) >= 3 for word in re.findall(r"\w+", q)):
        return Q(name__contains=q) | Q(near) | Q(word_near)
    names = Merchant.objects.order_by()
    return Q(pk__in=names.filter(name__contains=q).values("pk").union(
        names.filter(near).values("pk"), names.filter(word_near).values("pk"), all=True))


def merchant_directory(*, q=None, accepts=None, category=None, dong=None):
    """Approved merchants for the public directory, filtered (arguments as clean_directory_filters
    returns them). With `q`, names that contain it or are near it (pg_trgm `%` similarity and `%>`
    word similarity, typo-tolerant; evaluate inside directory_search()) are listed, nearest first:
    the exact name, then names starting with it, then names containing it, then by trigram
    closeness. Off PostgreSQL `q` is a plain case-insensitive containment, prefixes first."""
    merchants = Merchant.objects.filter(status=MerchantStatus.APPROVED).select_related("category")
    if accepts:
        merchants = merchants.filter(**{accepts: True})
    if category:
        merchants = merchants.filter(category__code=category)
    if dong:
        merchants = merchants.filter(dong=dong)
    if not q:
        return merchants.order_by("name", "id")
    rank = Case(When(name=q, then=Value(3)), When(name__startswith=q, then=Value(2)),
                When(name__contains=q, then=Value(1)), default=Value(0), output_field=IntegerField())
    if connection.vendor != "postgresql":
        return merchants.filter(name__icontains=q).annotate(rank=rank).order_by("-rank", "name", "id")
    merchants = merchants.filter(_name_matches(q))
    return merchants.annotate(rank=rank, closeness=Greatest(TrigramSimilarity("name", q),
                                                            TrigramWordSimilarity(q, "name"))).order_by(
        "-rank", "-closeness", "name", "id")


# --- paying merchants ------------------------------------------------------------------------

def member_of(user, *, merchant_id=None) -> MerchantMember | None:
    """The active membership of a signed-in account (in `merchant_id`, if given)."""
    user = actors.user_of(user)
    if user is None:
        return None
    members = MerchantMember.objects.filter(user=user, active=True).select_related("merchant")
    if merchant_id is not None:
        members = members.filter(merchant_id=merchant_id)
    return members.first()


def citizen_by_ci(buyer_ci: str) -> Citizen | None:
    return Citizen.objects.filter(ci_hash=hash_identity(buyer_ci)).first()


def pos_merchant(actor) -> Merchant | None:
    """The merchant a merchant_pos key belongs to (by its business number), or None."""
    client = actors.client_of(actor)
    if client is None or not client.merchant_business_number:
        return None
    return Merchant.objects.filter(business_number=client.merchant_business_number).first()


def payment_for(actor, payment_id) -> Payment | None:
    """A payment the actor may see, else None (the API answers 404): its merchant (POS key or a
    member's account), the wallet app that made it or issued its pay code, or city staff."""
    payment = Payment.objects.filter(pk=payment_id).select_related("merchant").first()
    if payment is None:
        return None
    if actors.is_staff(actor):
        return payment
    client = actors.client_of(actor)
    if client is not None:
        if client.role == Role.MERCHANT_POS:
            merchant = pos_merchant(client)
            return payment if merchant is not None and merchant.pk == payment.merchant_id else None
        return payment if client.pk in (payment.api_client_id, payment.code_issuer_id) else None
    return payment if member_of(actor, merchant_id=payment.merchant_id) is not None else None


# --- the citizen's own pages: pay codes and payments ---------------------------------------------

def latest_pay_code(*, citizen: Citizen, user) -> PayCode | None:
    """The last pay code this account was given for the citizen's wallet (a wallet app's codes for
    the same person are the app's to show)."""
    return (PayCode.objects.filter(wallet__citizen=citizen, user=actors.user_of(user))
            .select_related("payment__merchant").order_by("-id").first())


def pay_code_of(*, citizen: Citizen, code_id: int) -> PayCode | None:
    """One of the citizen's own pay codes; anyone else's is None (the page answers 404)."""
    return (PayCode.objects.filter(pk=code_id, wallet__citizen=citizen)
            .select_related("payment__merchant").first())


def citizen_payment(*, citizen: Citizen, payment_id: int) -> Payment | None:
    """A payment from the citizen's own wallet; anyone else's is None."""
    return (Payment.objects.filter(pk=payment_id, wallet__citizen=citizen)
            .select_related("merchant__category").first())


def web_payment(*, user, idempotency_key: str) -> Payment | None:
    """The payment an account's confirm form already made (UNIQUE user, idempotency_key)."""
    user = actors.user_of(user)
    if user is None or not idempotency_key:
        return None
    return Payment.objects.filter(user=user, idempotency_key=idempotency_key).first()


def balance_after_payment(payment: Payment) -> int | None:
    """The wallet's balance right after the payment (its ledger line)."""
    return (WalletEntry.objects.filter(payment=payment, kind=EntryKind.PAYMENT)
            .values_list("balance_after", flat=True).first())


# --- the merchant's own pages ---------------------------------------------------------------------

@dataclass(frozen=True)
class MerchantDay:
    """One Seoul calendar day of a merchant, as its pages show it (nothing about who paid)."""
    day: dt.date
    payments: list  # the day's payments, newest first
    count: int
    paid: int  # sum of the day's payments
    refunded: int  # sum of the refunds made that day (of the day's payments or earlier ones), as settlement counts
    net: int


def seoul_day_bounds(now) -> tuple[dt.datetime, dt.datetime]:
    """[00:00, next 00:00) of the Seoul calendar day `now` falls in (no DST in Korea: 24 hours)."""
    start = dt.datetime.combine(months.seoul(now).date(), dt.time(0, 0), tzinfo=months.SEOUL)
    return start, start + dt.timedelta(days=1)


def merchant_day(*, merchant_id, now=None) -> MerchantDay:
    """Today's (Asia/Seoul) payments and totals of one merchant, through the (merchant, created_at)
    indexes of payments and refunds."""
    start, end = seoul_day_bounds(clock.now_or(now))
    payments = Payment.objects.filter(merchant_id=merchant_id, created_at__gte=start, created_at__lt=end)
    totals = payments.aggregate(count=Count("id"), paid=Sum("amount", default=0))
    refunded = MerchantRefund.objects.filter(merchant_id=merchant_id, created_at__gte=start,
                                             created_at__lt=end).aggregate(s=Sum("amount", default=0))["s"]
    rows = list(payments.only("id", "merchant_id", "method", "amount", "refunded", "status", "created_at")
                .order_by("-created_at", "-id"))
    return MerchantDay(day=start.date(), payments=rows, count=totals["count"], paid=totals["paid"],
                       refunded=refunded, net=totals["paid"] - refunded)


def merchant_payment(*, merchant_id, payment_id) -> Payment | None:
    """A payment of this merchant by its number (승인번호), else None: another merchant's number is
    answered exactly as an unknown one."""
    return Payment.objects.filter(pk=payment_id, merchant_id=merchant_id).first()


# --- paper exchange (환전) --------------------------------------------------------------------------

def month_exchanged(*, merchant_id, month: str) -> int:
    """What a merchant exchanged in a Seoul calendar month ("YYYY-MM"), from its Exchange rows (the
    (merchant, created_at) index). The exchange service asks it under the merchant's lock."""
    start = months.month_start(month)
    end = months.month_start(months.add_months(month, 1))
    return Exchange.objects.filter(merchant_id=merchant_id, created_at__gte=start, created_at__lt=end).aggregate(
        s=Sum("amount", default=0))["s"]


@dataclass(frozen=True)
class ExchangeMonth:
    """A merchant's exchange month as staff see it: the cap in force (set, or the default), whether it
    is the default, what was exchanged and what is left."""
    month: str
    cap: int
    is_default: bool
    exchanged: int

    @property
    def remaining(self) -> int:
        return max(self.cap - self.exchanged, 0)


def exchange_month(merchant: Merchant, *, now=None) -> ExchangeMonth:
    month = months.month_of(clock.now_or(now))
    return ExchangeMonth(month=month, is_default=merchant.monthly_exchange_cap is None,
                         cap=rules.monthly_exchange_cap(monthly_exchange_cap=merchant.monthly_exchange_cap,
                                                        annual_revenue=merchant.annual_revenue),
                         exchanged=month_exchanged(merchant_id=merchant.pk, month=month))


def exchange_body(exchange: Exchange, *, accepted: list[str], refused: list[dict]) -> dict:
    """The API's exchange (API.md): `merchant` is the merchant's code; `accepted` and `refused` in the
    order the serials were handed in (the API formats `created_at`: serializers.exchange_body)."""
    return {"id": exchange.pk, "merchant": exchange.merchant.code, "accepted": accepted, "refused": refused,
            "amount": exchange.amount, "created_at": exchange.created_at}


def exchange_answer(exchange: Exchange) -> dict:
    """An exchange read back, the same body its POST answered: the serials in the order handed in,
    each accepted (a note of this exchange) or refused with the reason recorded."""
    paid = set(exchange.notes.values_list("serial", flat=True))
    reasons = dict(exchange.refusals.values_list("serial", "reason"))
    accepted = [serial for serial in exchange.serials if serial in paid]
    refused = [{"serial": serial, "reason": reasons[serial]} for serial in exchange.serials if serial in reasons]
    return exchange_body(exchange, accepted=accepted, refused=refused)


def exchange_for(actor, exchange_id) -> Exchange | None:
    """An exchange the caller may read: the bank client that sent it, or staff (a staff key or a clerk)."""
    exchanges = Exchange.objects.select_related("merchant").filter(pk=exchange_id)
    if actors.is_staff(actor):
        return exchanges.first()
    client = actors.client_of(actor)
    if client is None:
        return None
    return exchanges.filter(api_client=client).first()
# --- balance refunds (잔액 환불) ------------------------------------------------------------------------

def refund_ratio_for_month(month: str):
    """The refund ratio of the limit policy in force in `month` (0.60 without a policy). A balance
    refund asks it of the purchase's own month: the terms the voucher was sold under, fixed once that
    month began (rules.policy_is_history), so a later ordinance never changes an existing purchase."""
    policy = policy_for_month(month)
    return policy.refund_ratio if policy is not None else rules.DEFAULT_REFUND_RATIO


@dataclass(frozen=True)
class BalanceLine:
    """One purchase of a balance refund: the rule's figures and whether it was paid online (then its
    money goes back through the gateway, on its reservation's payment reference)."""
    purchase: Purchase
    figures: rules.BalanceRefundFigures
    reservation: object  # the paid Reservation of a web purchase, else None

    @property
    def web_paid(self) -> bool:
        return self.reservation is not None


def _paid_reservation(purchase: Purchase):
    reservation = getattr(purchase, "reservation", None) if purchase.channel == "web" else None
    return reservation if reservation is not None and reservation.payment_reference else None


def mobile_balance_lines(*, wallet_id: int, now) -> list[BalanceLine]:
    """Every live mobile credit of a wallet, oldest first, with what the balance-refund rule says of
    it (rules.balance_refund): its used share under FIFO (credit_position's consumption covers the
    oldest credits first), the unspent rest, expiry, whether its balance was refunded already. The
    service asks this under the wallet lock, the citizen's page without."""
    position = credit_position(wallet_id=wallet_id, now=now)
    refunded = set(WalletEntry.objects.filter(wallet_id=wallet_id, kind=EntryKind.BALANCE_REFUND)
                   .values_list("purchase_id", flat=True))
    credits = (WalletEntry.objects.filter(_LIVE_CREDIT, wallet_id=wallet_id).order_by("id")
               .select_related("purchase__tranche", "purchase__reservation"))
    ratios, left, lines = {}, position.consumed, []
    for credit in credits:
        covered = min(credit.amount, max(left, 0))
        left -= covered
        purchase = credit.purchase
        if purchase.month not in ratios:
            ratios[purchase.month] = refund_ratio_for_month(purchase.month)
        figures = rules.balance_refund(
            face_value=credit.amount, used=covered, unspent=credit.amount - covered,
            discount_rate=purchase.tranche.discount_rate, price=purchase.price, refund_ratio=ratios[purchase.month],
            expired=credit.expires_at is not None and credit.expires_at <= now,
            already_refunded=purchase.pk in refunded)
        lines.append(BalanceLine(purchase=purchase, figures=figures, reservation=_paid_reservation(purchase)))
    return lines


def balance_refund_preview(*, citizen: Citizen | None, now=None, web_only: bool = True) -> dict:
    """What the citizen's 잔액 환불 page shows, without locking or writing: `lines`, the purchases
    with something left (unspent, unexpired, not yet refunded), each with its rule figures;
    `refundable` (those that would go back now: through the web only those paid online);
    `elsewhere` (eligible, but bought at a counter or in an app: refunded there); the totals and
    `refusal`, the code the service would answer (None when it would refund). `ratio` is the share
    of the newest policy, for the page's explanation."""
    now = clock.now_or(now)
    wallet = Wallet.objects.filter(citizen=citizen).first() if citizen is not None else None
    lines = mobile_balance_lines(wallet_id=wallet.pk, now=now) if wallet is not None else []
    left = [line for line in lines if line.figures.refusal != "nothing_to_refund"]
    eligible = [line for line in left if line.figures.refusal is None]
    refundable = [line for line in eligible if line.web_paid or not web_only]
    scoped = [line for line in left if line.web_paid or not web_only]
    refusal = rules.balance_refusal([line.figures for line in scoped])
    if refusal == "nothing_to_refund" and eligible:
        refusal = "nothing_to_refund.elsewhere"
    return {"lines": left, "refundable": refundable, "elsewhere": [line for line in eligible if line not in refundable],
            "face_value_returned": sum(line.figures.face_value_returned for line in refundable),
            "amount_paid_back": sum(line.figures.amount_paid_back for line in refundable),
            "refusal": refusal, "ratio": refund_ratio_for_month(months.month_of(now))}


def web_balance_refunds(*, user, idempotency_key: str):
    """The refunds an account's confirm form already ordered (one per purchase), newest purchase last."""
    user = actors.user_of(user)
    if user is None or not idempotency_key:
        return []
    return list(PaymentRefund.objects.filter(user=user, idempotency_key=idempotency_key,
                                             reason="balance_refund").select_related("purchase").order_by("id"))
# --- daily settlement (정산) ----------------------------------------------------------------------------

def settlements_for(actor, *, date=None):
    """The settlements an actor may read, newest day first: city staff all of them, a merchant's POS
    key or a member's account its own merchant's, anyone else none. `date` narrows to one day."""
    rows = Settlement.objects.select_related("merchant").order_by("-date", "merchant__code")
    if date is not None:
        rows = rows.filter(date=date)
    if actors.is_staff(actor):
        return rows
    client = actors.client_of(actor)
    if client is not None:
        merchant = pos_merchant(client) if client.role == Role.MERCHANT_POS else None
    else:
        member = member_of(actor)
        merchant = member.merchant if member is not None else None
    return rows.filter(merchant=merchant) if merchant is not None else rows.none()


def merchant_bank_account(merchant_id) -> MerchantBankAccount | None:
    return MerchantBankAccount.objects.filter(merchant_id=merchant_id).first()
