"""Reads of the vouchers app: limits in force, a buyer's month, plan progress, purchase answers."""
import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.postgres.lookups import TrigramSimilar, TrigramWordSimilar
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Greatest

from jinju_portal import clock
from jinju_portal.identity import hash_identity
from vouchers import months, rules
from vouchers.choices import Medium, MerchantStatus, NoteStatus
from vouchers.models import (DEFAULT_MONTHLY_LIMIT, Citizen, IssuancePlan, LimitPolicy, Merchant, MerchantCategory,
                             MonthlyUsage, Purchase, Tranche, Wallet)


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


def wallet_statement(*, citizen: Citizen, limit: int = 50) -> dict:
    """{balance, entries: newest first} of a citizen's mobile wallet (zero and empty if none yet)."""
    wallet = Wallet.objects.filter(citizen=citizen).first()
    if wallet is None:
        return {"balance": 0, "entries": []}
    return {"balance": wallet.balance, "entries": list(wallet.entries.order_by("-id")[:limit])}


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
    balance = None
    if purchase.medium == Medium.MOBILE:
        balance = Wallet.objects.filter(citizen_id=purchase.citizen_id).values_list("balance", flat=True).first()
    refusal = rules.cancel_refusal(purchase=purchase, now=clock.now_or(now), notes_used=notes_used,
                                   wallet_balance=balance)
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
