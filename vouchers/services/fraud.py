"""Cash-out (상품권 깡) signals: the nightly scan that writes them and what staff do about them.

`scan_cash_out` runs the set-based SQL of vouchers/db/fraud.py over one Seoul month and writes one
FraudSignal per (rule, merchant, buyer, month) with the figures behind it. It is one transaction
under an advisory lock, so two runs (a late one and the next night's, or a clerk's and beat's)
queue instead of racing, and a rerun inserts nothing twice: it refreshes the figures of an open
signal and leaves a decided one as staff left it (UNIQUE + ON CONFLICT). The scan writes no event
per signal: the signal row is its own record (created_at, scanned_at), as a sale is.

Each action closes an open signal with one FraudAction and one VoucherEvent (`signal=`), in one
transaction that locks the signal first (then the merchant: vouchers/locks.py): of two clerks acting
at once one wins and the other is told who did what (409 fraud_signal_decided). Suspending and
cancelling go through the merchant services (their own events, the one-year ban of a cancellation
for illegal exchange); a fine is 6,000,000 KRW for a merchant's first and at most 20,000,000 after
(rules.fine_refusal), counted under the merchant's lock so two fines at once see each other.
"""
import datetime as dt
import json
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from jinju_portal import actors, clock
from jinju_portal.money import format_krw
from vouchers import inputs, locks, months, rules
from vouchers.choices import FRAUD_ACTION_STATUS, EventKind, FraudActionKind, FraudRule, FraudStatus
from vouchers.db import fraud as sql
from vouchers.errors import refuse
from vouchers.models import FraudAction, FraudSignal
from vouchers.services import events
from vouchers.services.merchants import cancel_merchant, suspend_merchant

ID_LISTS = ("purchase_ids", "note_ids", "exchange_ids", "refusal_ids")
SCORE_MAX = 9_999_999  # the column holds 12 digits with 2 decimals; a ratio over a zero average is capped here


def thresholds() -> rules.FraudThresholds:
    """The scan's thresholds as configured (the fraud settings in jinju_portal/settings.py)."""
    return rules.FraudThresholds(
        min_amount=settings.VOUCHERS_FRAUD_MIN_AMOUNT, spike_ratio=settings.VOUCHERS_FRAUD_SPIKE_RATIO,
        category_ratio=settings.VOUCHERS_FRAUD_CATEGORY_RATIO,
        category_min_merchants=settings.VOUCHERS_FRAUD_CATEGORY_MIN_MERCHANTS,
        revenue_share=settings.VOUCHERS_FRAUD_REVENUE_SHARE, quick_hours=settings.VOUCHERS_FRAUD_QUICK_HOURS,
        self_min_amount=settings.VOUCHERS_FRAUD_SELF_MIN_AMOUNT,
        concentrated_share=settings.VOUCHERS_FRAUD_CONCENTRATED_SHARE,
        concentrated_min_amount=settings.VOUCHERS_FRAUD_CONCENTRATED_MIN_AMOUNT,
        ring_days=settings.VOUCHERS_FRAUD_RING_DAYS, ring_min_buyers=settings.VOUCHERS_FRAUD_RING_MIN_BUYERS,
        ring_min_notes=settings.VOUCHERS_FRAUD_RING_MIN_NOTES, limit_months=settings.VOUCHERS_FRAUD_LIMIT_MONTHS,
        limit_share=settings.VOUCHERS_FRAUD_LIMIT_SHARE, refusal_min=settings.VOUCHERS_FRAUD_REFUSAL_MIN,
        evidence_ids=settings.VOUCHERS_FRAUD_EVIDENCE_IDS)


@dataclass
class ScanResult:
    period: str
    start: dt.datetime
    end: dt.datetime
    created: int = 0
    refreshed: int = 0
    by_rule: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"period": self.period, "created": self.created, "refreshed": self.refreshed,
                "by_rule": self.by_rule, "timings": self.timings}


def default_month(now: dt.datetime) -> str:
    """The month the nightly run scans: yesterday's (Seoul). At 02:30 on the 1st that is the whole
    previous month; on other days the month so far."""
    return months.month_of(now - dt.timedelta(days=1))


def _num(value):
    """A figure for the evidence JSON: whole won stay ints, ratios and hours get 2 decimals."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    f = float(value)
    return int(f) if f.is_integer() else round(f, 2)


def _hours(row) -> dict:
    return {"min_hours": _num(row["min_hours"]), "median_hours": _num(row.get("median_hours")),
            "max_hours": _num(row["max_hours"])}


def _pair_figures(row) -> dict:
    share = float(row["amount"]) / float(row["buyer_amount"]) if row["buyer_amount"] else 0.0
    return {"notes": row["notes"], "amount": int(row["amount"]), "quick_notes": row["quick_notes"],
            "quick_amount": int(row["quick_amount"]), **_hours(row), "buyer_notes": int(row["buyer_notes"]),
            "buyer_amount": int(row["buyer_amount"]), "buyer_merchants": row["buyer_merchants"],
            "share": round(share, 4)}


@transaction.atomic
def scan_cash_out(*, month=None, now=None, actor=None) -> ScanResult:
    """Scan one Seoul month (default: yesterday's) up to `now` and write its signals. `actor` is None
    for the nightly job (the signals are the scan's, not a person's)."""
    now = clock.now_or(now)
    month = month or default_month(now)
    if not months.is_month(month):
        raise refuse("invalid_period")
    t = thresholds()
    start = months.month_start(month)
    end = min(months.month_start(months.add_months(month, 1)), now)
    result = ScanResult(period=month, start=start, end=end)
    if end <= start:
        return result
    params = {
        "month": month, "start": start, "end": end, "t1": months.month_start(months.add_months(month, -3)),
        "t2": months.month_start(months.add_months(month, -2)), "t3": months.month_start(months.add_months(month, -1)),
        "cap_months": rules.EXCHANGE_CAP_MONTHS, "ids": t.evidence_ids,
        "min_amount": t.min_amount, "spike_ratio": t.spike_ratio, "category_ratio": t.category_ratio,
        "category_min_merchants": t.category_min_merchants, "revenue_share": t.revenue_share,
        "quick_hours": t.quick_hours, "self_min_amount": t.self_min_amount,
        "concentrated_share": t.concentrated_share, "concentrated_min_amount": t.concentrated_min_amount,
        "ring_days": t.ring_days, "ring_min_buyers": t.ring_min_buyers, "ring_min_notes": t.ring_min_notes,
        "limit_months": [months.add_months(month, -i) for i in range(t.limit_months)],
        "limit_month_count": t.limit_months, "limit_share": t.limit_share, "refusal_min": t.refusal_min,
    }
    signals = []  # (rule, merchant_id, citizen_id, figures, ids)

    def timed(name, fn):
        started = time.monotonic()
        out = fn()
        result.timings[name] = round(time.monotonic() - started, 3)
        return out

    with connection.cursor() as cur:
        cur.execute(sql.LOCK)
        timed("month_notes", lambda: cur.execute(sql.MONTH_NOTES, params))
        merchant_rows = timed("merchant_month", lambda: sql.fetch(cur, sql.MERCHANT_MONTH, params))
        flagged = [r["merchant_id"] for r in merchant_rows]
        exchange_ids = {}
        if flagged:
            found = timed("merchant_exchanges", lambda: sql.fetch(cur, sql.MERCHANT_EXCHANGES,
                                                                 {**params, "merchants": flagged}))
            exchange_ids = {r["merchant_id"]: r["exchange_ids"] for r in found}
        for r in merchant_rows:
            base = {"amount": int(r["amount"]), "exchanges": r["exchanges"]}
            ids = {"exchange_ids": exchange_ids.get(r["merchant_id"], [])}
            if r["spike"]:
                average = float(r["trailing_sum"]) / r["trailing_months"]
                signals.append((FraudRule.EXCHANGE_SPIKE, r["merchant_id"], None, {
                    **base, "trailing_months": r["trailing_months"], "trailing_average": _num(average),
                    "months_before": [int(r["m1"]), int(r["m2"]), int(r["m3"])],
                    "ratio": _num(float(r["amount"]) / average) if average else None,
                    "threshold_ratio": t.spike_ratio}, ids))
            if r["above_category"]:
                signals.append((FraudRule.EXCHANGE_ABOVE_CATEGORY, r["merchant_id"], None, {
                    **base, "category_median": _num(r["category_median"]),
                    "category_merchants": r["category_merchants"],
                    "ratio": _num(float(r["amount"]) / float(r["category_median"])) if r["category_median"] else None,
                    "threshold_ratio": t.category_ratio}, ids))
            if r["above_revenue"]:
                signals.append((FraudRule.EXCHANGE_ABOVE_REVENUE, r["merchant_id"], None, {
                    **base, "cap": int(r["cap"]), "refused_over_cap_notes": r["refused_notes"],
                    "refused_over_cap_amount": int(r["refused_amount"]),
                    "attempted": int(r["amount"] + r["refused_amount"]), "threshold_share": t.revenue_share}, ids))

        cur.execute(sql.DROP_PAIRS)
        timed("buyer_pairs", lambda: cur.execute(sql.BUYER_PAIRS, params))
        pairs = []  # (rule, merchant, citizen, figures) whose ids come from PAIR_IDS
        for r in timed("quick_self", lambda: sql.fetch(cur, sql.QUICK_SELF, params)):
            pairs.append((FraudRule.QUICK_SELF_EXCHANGE, r, {
                **_pair_figures(r), "names_match": rules.same_person_name(r["buyer_name"], r["representative"]),
                "quick_hours": t.quick_hours, "threshold_amount": t.self_min_amount}))
        for r in timed("quick_concentrated", lambda: sql.fetch(cur, sql.QUICK_CONCENTRATED, params)):
            pairs.append((FraudRule.QUICK_CONCENTRATED, r, {
                **_pair_figures(r), "quick_hours": t.quick_hours, "threshold_share": t.concentrated_share,
                "threshold_amount": t.concentrated_min_amount}))
        for r in timed("limit_buyer", lambda: sql.fetch(cur, sql.LIMIT_BUYER, params)):
            pairs.append((FraudRule.LIMIT_BUYER, r, {
                **_pair_figures(r), "months_at_limit": r["months"], "months": params["limit_months"],
                "purchased_in_those_months": int(r["purchased"]), "paper_bought_this_month": int(r["paper_this_month"]),
                "share_of_bought": round(float(r["amount"]) / float(r["paper_this_month"]), 4),
                "threshold_share": t.limit_share}))
        rings = timed("buyer_ring", lambda: sql.fetch(cur, sql.BUYER_RING, params))
        wanted = {(r["citizen_id"], r["merchant_id"]) for _, r, _ in pairs}
        for ring in rings:
            wanted.update((c, ring["merchant_id"]) for c in ring["citizens"])
        pair_ids, medians = {}, {}
        if wanted:
            citizens, merchants = zip(*sorted(wanted))
            found = timed("pair_ids", lambda: sql.fetch(cur, sql.PAIR_IDS, {
                **params, "citizens": list(citizens), "merchants": list(merchants)}))
            for r in found:
                pair_ids[(r["citizen_id"], r["merchant_id"])] = {
                    "note_ids": r["note_ids"], "purchase_ids": r["purchase_ids"], "exchange_ids": r["exchange_ids"]}
                medians[(r["citizen_id"], r["merchant_id"])] = _num(r["median_hours"])
        for rule, r, figures in pairs:
            figures["median_hours"] = medians.get((r["citizen_id"], r["merchant_id"]))
            signals.append((rule, r["merchant_id"], r["citizen_id"], figures,
                            pair_ids.get((r["citizen_id"], r["merchant_id"]), {})))
        for ring in rings:
            ids = {"note_ids": [], "purchase_ids": [], "exchange_ids": []}
            for c in ring["citizens"]:
                for key, values in pair_ids.get((c, ring["merchant_id"]), {}).items():
                    ids[key].extend(values)
            ids = {k: sorted(set(v))[:t.evidence_ids] for k, v in ids.items()}
            signals.append((FraudRule.BUYER_RING, ring["merchant_id"], None, {
                "buyers": ring["buyers"], "notes": int(ring["notes"]), "amount": int(ring["amount"]),
                "max_hours": _num(ring["max_hours"]), "median_of_longest_hours": _num(ring["median_hours"]),
                "citizen_ids": ring["citizens"][:t.evidence_ids], "ring_days": t.ring_days,
                "threshold_buyers": t.ring_min_buyers, "threshold_notes_per_buyer": t.ring_min_notes}, ids))

        for r in timed("refusals", lambda: sql.fetch(cur, sql.REFUSALS, params)):
            signals.append((FraudRule.REFUSED_SERIAL, r["merchant_id"], None, {
                "refusals": r["refusals"], "already_redeemed": r["already_redeemed"], "unknown": r["unknown"],
                "serials": r["serials"], "first_at": r["first_at"].isoformat(), "last_at": r["last_at"].isoformat(),
                "threshold_refusals": t.refusal_min},
                {"refusal_ids": r["refusal_ids"], "exchange_ids": r["exchange_ids"], "note_ids": r["note_ids"]}))

        rows = []
        for rule, merchant_id, citizen_id, figures, ids in signals:
            score = min(rules.fraud_score(rule, figures, t), SCORE_MAX)
            rows.append({"rule": str(rule), "merchant_id": merchant_id, "citizen_id": citizen_id,
                         "severity": rules.fraud_severity(rule, score), "score": round(score, 2), "evidence": figures,
                         **{name: list(ids.get(name) or []) for name in ID_LISTS}})
            result.by_rule[str(rule)] = result.by_rule.get(str(rule), 0) + 1
        if rows:
            written = timed("upsert", lambda: sql.fetch(cur, sql.UPSERT, {
                "rows": json.dumps(rows, default=str), "period": month, "now": now}))
            result.created = sum(1 for w in written if w["inserted"])
            result.refreshed = len(written) - result.created
        cur.execute("DROP TABLE IF EXISTS fraud_month_notes; " + sql.DROP_PAIRS)
    return result


# --- what staff do ---------------------------------------------------------------------------------

def _decided(signal):
    action = FraudAction.objects.filter(signal=signal).first()
    who = action.actor if action else "-"
    at = months.seoul(signal.decided_at).strftime("%Y-%m-%d %H:%M") if signal.decided_at else "-"
    return refuse("fraud_signal_decided", status=signal.get_status_display(), actor=who, at=at)


def _locked_open(signal_id) -> FraudSignal:
    signal = FraudSignal.objects.select_for_update(of=("self",)).select_related("merchant").filter(
        pk=signal_id).first()
    if signal is None:
        raise refuse("not_found.fraud_signal")
    if signal.status != FraudStatus.OPEN:
        raise _decided(signal)
    return signal


EVENT_OF = {
    FraudActionKind.DISMISS: EventKind.FRAUD_DISMISSED, FraudActionKind.WARN: EventKind.FRAUD_WARNED,
    FraudActionKind.SUSPEND: EventKind.FRAUD_SUSPENDED, FraudActionKind.CANCEL: EventKind.FRAUD_CANCELLED,
    FraudActionKind.FINE: EventKind.FRAUD_FINED,
}


def _close(signal, action, *, reason, actor, now, fine_amount=None) -> FraudAction:
    status = FRAUD_ACTION_STATUS[action]
    before = {"status": signal.status}
    signal.status, signal.decided_at = status, now
    signal.save(update_fields=["status", "decided_at"])
    record = FraudAction.objects.create(signal=signal, merchant_id=signal.merchant_id, action=action, reason=reason,
                                        fine_amount=fine_amount, user=actors.user_of(actor),
                                        actor=actors.label(actor), at=now)
    after = {"status": status, "action": action}
    if fine_amount is not None:
        after["fine_amount"] = fine_amount
    events.record(EVENT_OF[action], actor=actor, now=now, signal=signal, merchant_id=signal.merchant_id,
                  citizen_id=signal.citizen_id, before=before, after=after, note=reason)
    return record


@transaction.atomic
def dismiss_signal(*, signal_id, reason, actor, now=None) -> FraudAction:
    """open → dismissed: a false signal, with why (required)."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason)
    return _close(_locked_open(signal_id), FraudActionKind.DISMISS, reason=reason, actor=actor, now=now)


@transaction.atomic
def warn_signal(*, signal_id, reason, actor, now=None) -> FraudAction:
    """open → warned: the merchant was warned (the letter itself is sent outside the portal)."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason)
    return _close(_locked_open(signal_id), FraudActionKind.WARN, reason=reason, actor=actor, now=now)


@transaction.atomic
def suspend_signal(*, signal_id, reason, actor, now=None) -> FraudAction:
    """open → suspended, and the merchant suspended by services.suspend_merchant (it must be approved)."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason)
    signal = _locked_open(signal_id)
    suspend_merchant(merchant_id=signal.merchant_id, reason=reason, actor=actor, now=now)
    return _close(signal, FraudActionKind.SUSPEND, reason=reason, actor=actor, now=now)


@transaction.atomic
def cancel_signal(*, signal_id, reason, actor, now=None) -> FraudAction:
    """open → cancelled, and the merchant's registration cancelled for illegal exchange
    (services.cancel_merchant, illegal_exchange=True): it may not register again for a year."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason)
    signal = _locked_open(signal_id)
    cancel_merchant(merchant_id=signal.merchant_id, reason=reason, illegal_exchange=True, actor=actor, now=now)
    return _close(signal, FraudActionKind.CANCEL, reason=reason, actor=actor, now=now)


def prior_fines(merchant_id) -> tuple[int, int | None]:
    """How many fines this merchant has had and the last one's amount."""
    fines = FraudAction.objects.filter(merchant_id=merchant_id, action=FraudActionKind.FINE)
    last = fines.order_by("-at", "-id").values_list("fine_amount", flat=True).first()
    return fines.count(), last


@transaction.atomic
def fine_signal(*, signal_id, amount, reason, actor, now=None) -> FraudAction:
    """open → fined, recording the fine: 6,000,000 KRW for the merchant's first, 6,000,000–20,000,000
    for a later one (rules.fine_refusal). The merchant row is locked after the signal, so two fines of
    one merchant at once are counted one after the other."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason)
    signal = _locked_open(signal_id)
    locks.merchant(signal.merchant_id)
    count, _last = prior_fines(signal.merchant_id)
    refusal = rules.fine_refusal(amount=amount, prior_fines=count)
    if refusal is not None:
        least, most = rules.fine_bounds(count)
        raise refuse(refusal, on="amount", first=format_krw(rules.FINE_FIRST_OFFENCE), least=format_krw(least),
                     most=format_krw(most))
    return _close(signal, FraudActionKind.FINE, reason=reason, actor=actor, now=now, fine_amount=amount)


ACTIONS = {
    FraudActionKind.DISMISS: dismiss_signal, FraudActionKind.WARN: warn_signal,
    FraudActionKind.SUSPEND: suspend_signal, FraudActionKind.CANCEL: cancel_signal,
    FraudActionKind.FINE: fine_signal,
}


def newest_scan() -> dt.datetime | None:
    return FraudSignal.objects.aggregate(at=Max("scanned_at"))["at"]
