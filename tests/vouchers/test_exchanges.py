"""Paper exchange (환전) at the bank counter (issue #9): each refusal reason serial by serial, the
merchant's monthly cap, nothing paid twice under real concurrent transactions, the API's contract
(idempotency, every 400 code, hostile input writing nothing, roles) and the staff's trace by serial."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.urls import reverse

from jinju_portal.api.idempotency import HEADER
from jinju_portal.models import IdempotencyRecord
from tests.vouchers.conftest import assert_invariants, race
from tests.vouchers.factories import CitizenFactory, MerchantFactory, TrancheFactory, staff_actor
from vouchers import inputs, months, rules, selectors, services
from vouchers.errors import Code
from vouchers.models import Exchange, ExchangeRefusal, Merchant, PaperNote, VoucherEvent

KST = ZoneInfo("Asia/Seoul")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=KST)  # notes are sold at T0; every test runs at fixed instants
T1 = T0 + dt.timedelta(days=1)
EXCHANGES = "/api/v1/vouchers/exchanges/"
_buyers = iter(range(10**6))


def sell(*, tens=0, fives=0, at=T0, actor=None, ci=None) -> list[str]:
    """Paper notes sold at a branch at `at` (10,000s first, then 5,000s, as the sale draws them)."""
    tranche = TrancheFactory(medium="paper", opens_at=at - dt.timedelta(hours=1), quota=10**10)
    result = services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci or f"CI-X-{next(_buyers)}",
                                        face_value=10_000 * tens + 5_000 * fives, channel="branch", actor=actor,
                                        now=at)
    return result.serials


def exchange(merchant, serials, *, at=T1, actor=None, key=""):
    return services.exchange_notes(merchant_business_number=merchant.business_number, serials=serials, actor=actor,
                                   idempotency_key=key, now=at)


def reasons(result) -> list[str]:
    return [r["reason"] for r in result.refused]


def assert_exchange_invariants():
    """Invariant 4 over the whole database: every exchange's amount and counts are its notes and its
    refusals; a note paid is redeemed and paid by one exchange; no merchant's Seoul month passes its cap."""
    assert_invariants()
    months_seen = {}
    for ex in Exchange.objects.select_related("merchant"):
        notes = ex.notes.all()
        assert ex.amount == sum(n.denomination for n in notes)
        assert ex.accepted_count == len(notes) and ex.refused_count == ex.refusals.count()
        assert all(n.status == "redeemed" and n.status_changed_at == ex.created_at for n in notes)
        assert len(ex.serials) == ex.accepted_count + ex.refused_count
        key = (ex.merchant_id, months.month_of(ex.created_at))
        months_seen[key] = months_seen.get(key, 0) + ex.amount
    for (merchant_id, _month), total in months_seen.items():
        merchant = Merchant.objects.get(pk=merchant_id)
        assert total <= rules.monthly_exchange_cap(monthly_exchange_cap=merchant.monthly_exchange_cap,
                                                   annual_revenue=merchant.annual_revenue)
    assert not PaperNote.objects.filter(exchange__isnull=False).exclude(status="redeemed").exists()


# --- the rules, serial by serial -------------------------------------------------------------------

@pytest.mark.django_db
def test_valid_notes_are_redeemed_summed_and_recorded_with_one_event():
    merchant = MerchantFactory()
    serials = sell(tens=2, fives=1)
    result = exchange(merchant, serials)
    assert result.accepted == serials and result.refused == [] and result.exchange.amount == 25_000
    ex = result.exchange
    assert (ex.accepted_count, ex.refused_count, ex.merchant, ex.created_at) == (3, 0, merchant, T1)
    notes = PaperNote.objects.filter(serial__in=serials)
    assert {(n.status, n.exchange_id, n.status_changed_at) for n in notes} == {("redeemed", ex.pk, T1)}
    event = VoucherEvent.objects.get(kind="notes_exchanged")
    assert (event.exchange, event.merchant, event.after["amount"], event.after["accepted"]) == (ex, merchant, 25_000, 3)
    assert_exchange_invariants()


@pytest.mark.django_db
def test_each_refusal_reason_is_given_serial_by_serial_and_recorded():
    merchant = MerchantFactory(monthly_exchange_cap=20_000)
    good, cap_hit, also_good = sell(tens=2, fives=1)  # 10,000, 10,000 and 5,000
    redeemed = sell(fives=1)
    exchange(merchant, redeemed, at=T1 - dt.timedelta(hours=1))  # 5,000 of the cap used this month
    cancelled_purchase = services.purchase_vouchers(
        tranche_id=TrancheFactory(medium="paper", opens_at=T0 - dt.timedelta(hours=1), quota=10**9).pk,
        buyer_ci="CI-CANCEL", face_value=5_000, channel="branch", now=T0)
    services.cancel_purchase(purchase_id=cancelled_purchase.id, actor=staff_actor(), now=T0)
    cancelled = cancelled_purchase.serials[0]
    handed_in = [good, "JL0000000000000000", redeemed[0], cancelled, cap_hit, also_good]
    result = exchange(merchant, handed_in)
    # 5,000 used + 10,000 (good) = 15,000; the second 10,000 would make 25,000 > 20,000; the 5,000 fits
    assert result.accepted == [good, also_good] and result.exchange.amount == 15_000
    assert result.refused == [{"serial": "JL0000000000000000", "reason": "unknown"},
                              {"serial": redeemed[0], "reason": "already_redeemed"},
                              {"serial": cancelled, "reason": "not_issued"},
                              {"serial": cap_hit, "reason": "exchange_cap_exceeded"}]
    rows = list(ExchangeRefusal.objects.filter(exchange=result.exchange).order_by("id").values_list(
        "serial", "reason", "note__serial", "merchant"))
    assert rows == [("JL0000000000000000", "unknown", None, merchant.pk),
                    (redeemed[0], "already_redeemed", redeemed[0], merchant.pk),
                    (cancelled, "not_issued", cancelled, merchant.pk),
                    (cap_hit, "exchange_cap_exceeded", cap_hit, merchant.pk)]
    assert PaperNote.objects.get(serial=cap_hit).status == "issued"  # refused notes are untouched
    assert_exchange_invariants()


@pytest.mark.django_db
def test_a_note_whose_rest_was_refunded_to_the_citizen_is_already_redeemed_and_never_paid_again():
    from jinju_portal.services import issue_api_key

    merchant, (bank, _) = MerchantFactory(), issue_api_key(name="NH counter", role="sales_agent")
    sale = sell(tens=5, ci="CI-BALANCE")
    (kept,) = sell(tens=1)
    exchange(merchant, sale[:3], at=T1)  # 30,000 of 50,000 redeemed: the policy's 60 %
    refunded = sale[3:]
    services.refund_paper_balance(serials=refunded, buyer_ci="CI-BALANCE", actor=bank, now=T1)
    assert set(PaperNote.objects.filter(serial__in=refunded).values_list("status", flat=True)) == {"refunded"}
    result = exchange(merchant, [*refunded, kept], at=T1 + dt.timedelta(hours=1))
    assert reasons(result) == ["already_redeemed", "already_redeemed"] and result.accepted == [kept]
    assert set(PaperNote.objects.filter(serial__in=refunded).values_list("status", flat=True)) == {"refunded"}
    assert_exchange_invariants()


@pytest.mark.django_db
def test_a_note_past_its_validity_is_expired_whether_or_not_the_daily_job_marked_it():
    merchant = MerchantFactory()
    first, second = sell(tens=2)
    expires_at = PaperNote.objects.get(serial=first).expires_at
    after = expires_at + dt.timedelta(seconds=1)
    result = exchange(merchant, [first], at=after)
    assert reasons(result) == ["expired"] and result.exchange.amount == 0
    services.expire_notes_and_credits(now=after)
    assert PaperNote.objects.get(serial=second).status == "expired"
    assert reasons(exchange(merchant, [second], at=after)) == ["expired"]
    # one second before its validity ends it is still paid
    third = sell(tens=1)[0]
    last = PaperNote.objects.get(serial=third).expires_at - dt.timedelta(seconds=1)
    assert exchange(merchant, [third], at=last).accepted == [third]


@pytest.mark.django_db
@pytest.mark.parametrize("merchant_kwargs", [{"accepts_paper": False}, {"status": "suspended"},
                                             {"status": "pending"}, {"status": "cancelled"}],
                         ids=["takes_no_paper", "suspended", "pending", "cancelled"])
def test_a_merchant_that_takes_no_paper_or_is_not_approved_is_refused_every_serial_and_it_is_recorded(
        merchant_kwargs):
    merchant = MerchantFactory(**merchant_kwargs)
    serials = sell(tens=1, fives=1)
    result = exchange(merchant, [*serials, "NOT-OURS"])
    # an unknown serial is still named unknown: the fraud review must see it as such
    assert reasons(result) == ["not_accepted_by_merchant", "not_accepted_by_merchant", "unknown"]
    assert result.exchange.amount == 0 and ExchangeRefusal.objects.count() == 3
    assert not PaperNote.objects.filter(status="redeemed").exists()


@pytest.mark.django_db
def test_a_request_whose_every_serial_is_refused_still_makes_an_exchange_of_0_with_its_refusals():
    merchant = MerchantFactory()
    result = exchange(merchant, ["nope-1", "nope-2"])
    assert result.as_dict()["amount"] == 0 and result.accepted == []
    assert reasons(result) == ["unknown", "unknown"]
    assert Exchange.objects.get().refused_count == 2
    assert_exchange_invariants()


@pytest.mark.django_db
def test_serials_are_trimmed_and_upper_cased_as_the_notes_are_written():
    merchant = MerchantFactory()
    serial = sell(tens=1)[0]
    result = exchange(merchant, [f"  {serial.lower()}\t"])
    assert result.accepted == [serial] and result.exchange.serials == [serial]


@pytest.mark.django_db
@pytest.mark.parametrize("serials", [["AB", " ab "], ["JL1", "JL2", "jl1"]], ids=["case", "three"])
def test_the_same_serial_twice_in_one_request_is_400_and_writes_nothing(serials):
    merchant = MerchantFactory()
    with pytest.raises(services.InvalidInput) as refused:
        exchange(merchant, serials)
    assert refused.value.code == "invalid_serials" and "serials" in refused.value.fields
    assert not Exchange.objects.exists() and not ExchangeRefusal.objects.exists()


@pytest.mark.django_db
def test_an_unknown_or_malformed_business_number_is_invalid_merchant_and_writes_nothing():
    serial = sell(tens=1)[0]
    for number in ("220-81-62510", "123", "", None, 2208162517, "2" * 100):
        with pytest.raises(services.InvalidInput) as refused:
            services.exchange_notes(merchant_business_number=number, serials=[serial], actor=None, now=T1)
        assert refused.value.code == "invalid_merchant" and "merchant" in refused.value.fields
    from tests.vouchers.factories import valid_business_number
    unknown = valid_business_number(9_999)
    with pytest.raises(services.InvalidInput):
        services.exchange_notes(merchant_business_number=unknown, serials=[serial], actor=None, now=T1)
    assert not Exchange.objects.exists() and PaperNote.objects.get(serial=serial).status == "issued"


def test_the_serials_cleaner_takes_1_to_1000_printable_strings_up_to_40_characters():
    assert inputs.clean_serials([" a ", "B"]) == ["A", "B"]
    assert len(inputs.clean_serials([f"S{i}" for i in range(rules.MAX_EXCHANGE_SERIALS)])) == 1_000
    for bad in (None, "JL123", {}, [], [f"S{i}" for i in range(1_001)], [1], [None], [["x"]], ["x" * 41], [""],
                ["   "], ["a\x00b"], ["줄\n바꿈"]):
        with pytest.raises(services.InvalidInput) as refused:
            inputs.clean_serials(bad)
        assert refused.value.code == "invalid_serials"
    assert inputs.clean_serials(["x" * 40]) == ["X" * 40]


# --- the monthly cap --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_default_cap_is_a_month_of_declared_revenue_floored_to_the_won():
    merchant = MerchantFactory(annual_revenue=100_000_001)  # 8,333,333.4… → 8,333,333
    assert selectors.exchange_month(merchant, now=T1).cap == 8_333_333
    merchant.monthly_exchange_cap = 0
    assert selectors.exchange_month(merchant, now=T1).cap == 0


@pytest.mark.django_db
def test_the_cap_counts_the_seoul_calendar_month_only():
    merchant = MerchantFactory(monthly_exchange_cap=10_000)
    november_last = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=KST)
    november, december, also_december = (sell(tens=1, at=november_last - dt.timedelta(days=1))[0] for _ in range(3))
    assert exchange(merchant, [november], at=november_last).accepted == [november]
    # 1 December 00:00 in Seoul is still 30 November in UTC: a new month for the cap all the same
    midnight = dt.datetime(2026, 12, 1, 0, 0, tzinfo=KST)
    assert exchange(merchant, [december], at=midnight).accepted == [december]
    assert reasons(exchange(merchant, [also_december], at=midnight + dt.timedelta(hours=5))) == [
        "exchange_cap_exceeded"]
    assert selectors.month_exchanged(merchant_id=merchant.pk, month="2026-11") == 10_000
    assert selectors.month_exchanged(merchant_id=merchant.pk, month="2026-12") == 10_000


@pytest.mark.django_db
def test_staff_set_and_lower_the_cap_with_a_reason_on_the_trail_and_clear_it_back_to_the_default():
    merchant = MerchantFactory(annual_revenue=120_000_000)
    clerk = staff_actor()
    services.set_exchange_cap(merchant_id=merchant.pk, cap=30_000, reason="점검 중", actor=clerk, now=T0)
    first, second, third, fourth = sell(tens=4)
    assert exchange(merchant, [first, second]).exchange.amount == 20_000
    services.set_exchange_cap(merchant_id=merchant.pk, cap=15_000, reason="이상 징후", actor=clerk, now=T1)
    # lowered below what was already exchanged: nothing more this month, what was paid stays paid
    assert reasons(exchange(merchant, [third], at=T1 + dt.timedelta(hours=1))) == ["exchange_cap_exceeded"]
    services.set_exchange_cap(merchant_id=merchant.pk, cap=None, reason="점검 끝", actor=clerk, now=T1)
    assert exchange(merchant, [third, fourth], at=T1 + dt.timedelta(hours=2)).exchange.amount == 20_000
    events = list(VoucherEvent.objects.filter(kind="exchange_cap_changed").order_by("id"))
    assert [(e.before["monthly_exchange_cap"], e.after["monthly_exchange_cap"], e.note) for e in events] == [
        (None, 30_000, "점검 중"), (30_000, 15_000, "이상 징후"), (15_000, None, "점검 끝")]
    assert events[0].before["effective"] == "10,000,000원" and events[0].user == clerk
    # the same value again changes nothing and writes nothing
    services.set_exchange_cap(merchant_id=merchant.pk, cap=None, reason="다시", actor=clerk, now=T1)
    assert VoucherEvent.objects.filter(kind="exchange_cap_changed").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("cap, reason, code", [
    (-1, "x", "invalid_exchange_cap"), (1.5, "x", "invalid_exchange_cap"), ("1000", "x", "invalid_exchange_cap"),
    (True, "x", "invalid_exchange_cap"), (2**63, "x", "invalid_exchange_cap"), (1_000, "", "invalid_reason"),
    (1_000, "x" * 201, "invalid_reason")])
def test_a_bad_cap_or_a_missing_reason_is_refused_and_changes_nothing(cap, reason, code):
    merchant = MerchantFactory()
    with pytest.raises(services.InvalidInput) as refused:
        services.set_exchange_cap(merchant_id=merchant.pk, cap=cap, reason=reason, actor=staff_actor(), now=T0)
    assert refused.value.code == code
    merchant.refresh_from_db()
    assert merchant.monthly_exchange_cap is None and not VoucherEvent.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_an_exchanged_note_that_is_not_redeemed():
    merchant = MerchantFactory()
    serial = sell(tens=1)[0]
    ex = Exchange.objects.create(merchant=merchant, created_at=T1)
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperNote.objects.filter(serial=serial).update(exchange=ex)
    with pytest.raises(IntegrityError), transaction.atomic():
        Exchange.objects.create(merchant=merchant, amount=10_000, accepted_count=0, created_at=T1)


# --- races (real concurrent transactions) -------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_one_serial_sent_by_two_banks_for_two_merchants_at_once_is_paid_once(make_client):
    banks = [make_client("sales_agent")[0] for _ in range(2)]
    shops = [MerchantFactory(), MerchantFactory()]
    for _round in range(4):
        serial = sell(tens=1)[0]
        results = race(lambda shop, bank: exchange(shop, [serial], actor=bank).accepted,
                       [(shops[0], banks[0]), (shops[1], banks[1])])
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert sorted(len(accepted) for _, accepted in results) == [0, 1]
        refusal = ExchangeRefusal.objects.get(serial=serial)
        assert refusal.reason == "already_redeemed"
    assert Exchange.objects.aggregate(s=Sum("amount"))["s"] == 40_000
    assert_exchange_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_monthly_cap_holds_when_several_counters_exchange_for_one_merchant_at_once():
    merchant = MerchantFactory(monthly_exchange_cap=30_000)
    bundles = [sell(tens=2) for _ in range(4)]  # 80,000 handed in at four counters, 30,000 allowed
    results = race(lambda serials: exchange(merchant, serials).exchange.amount, [(b,) for b in bundles])
    assert [kind for kind, _ in results] == ["ok"] * 4, results
    assert sum(amount for _, amount in results) == 30_000
    assert sorted(amount for _, amount in results) == [0, 0, 10_000, 20_000]
    assert ExchangeRefusal.objects.filter(reason="exchange_cap_exceeded").count() == 5
    assert_exchange_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_cancel_and_an_exchange_of_one_of_its_notes_at_once_never_both_win():
    merchant = MerchantFactory()
    clerk = staff_actor()
    for _round in range(4):
        tranche = TrancheFactory(medium="paper", opens_at=T0 - dt.timedelta(hours=1), quota=10**9)
        bought = services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=f"CI-CX-{_round}", face_value=20_000,
                                            channel="branch", now=T0)
        jobs = [(lambda: services.cancel_purchase(purchase_id=bought.id, actor=clerk, now=T1).status, ()),
                (lambda: exchange(merchant, [bought.serials[0]]).accepted, ())]
        (cancel_kind, cancel_value), (ex_kind, accepted) = race(lambda fn, args: fn(*args), jobs)
        assert ex_kind == "ok", accepted
        if cancel_kind == "ok":
            assert accepted == [] and ExchangeRefusal.objects.filter(serial=bought.serials[0],
                                                                     reason="not_issued").exists()
        else:
            assert cancel_value == "already_used" and accepted == [bought.serials[0]]
    assert_exchange_invariants()


# --- the API ---------------------------------------------------------------------------------------------

@pytest.fixture
def counter(make_client):
    """A bank counter (sales_agent key) at T1, with a merchant and notes it sold at T0."""
    with time_machine.travel(T1, tick=False):
        bank, http = make_client("sales_agent", name="NH농협 진주시지부")
        merchant = MerchantFactory(name="진주냉면")
        yield bank, http, merchant


def post(http, body, key="ex-1"):
    return http.post(EXCHANGES, body, format="json", headers={HEADER: key})


@pytest.mark.django_db
def test_the_counter_exchanges_over_http_and_reads_the_same_answer_back(counter, make_client):
    bank, http, merchant = counter
    serials = sell(tens=1, fives=1)
    response = post(http, {"merchant": merchant.business_number[:3] + "-" + merchant.business_number[3:5] + "-"
                           + merchant.business_number[5:], "serials": [serials[1].lower(), "JLNOPE", serials[0]]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("merchant", "accepted", "refused", "amount")} == {
        "merchant": merchant.code, "accepted": [serials[1], serials[0]],
        "refused": [{"serial": "JLNOPE", "reason": "unknown"}], "amount": 15_000}
    ex = Exchange.objects.get()
    assert (ex.api_client, ex.idempotency_key, ex.pk) == (bank, "ex-1", body["id"])
    assert http.get(f"{EXCHANGES}{body['id']}/").json() == body
    _, city = make_client("staff")
    assert city.get(f"{EXCHANGES}{body['id']}/").json() == body
    _, other_bank = make_client("sales_agent")
    assert other_bank.get(f"{EXCHANGES}{body['id']}/").status_code == 404
    assert http.get(f"{EXCHANGES}999999999/").status_code == 404


@pytest.mark.django_db
def test_the_same_key_and_body_returns_the_first_answer_and_another_body_is_422(counter):
    _, http, merchant = counter
    first_serial, second_serial = sell(tens=2)
    body = {"merchant": merchant.business_number, "serials": [first_serial]}
    first, again = post(http, body), post(http, body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Exchange.objects.count() == 1 and not ExchangeRefusal.objects.exists()  # not "already_redeemed"
    other = post(http, {**body, "serials": [second_serial]})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    missing = http.post(EXCHANGES, body, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"
    # a new key for the same notes is a new exchange: the note is already redeemed, and that is recorded
    repeat = post(http, body, key="ex-2")
    assert repeat.status_code == 201 and repeat.json()["refused"] == [{"serial": first_serial,
                                                                       "reason": "already_redeemed"}]
    assert Exchange.objects.aggregate(s=Sum("amount"))["s"] == 10_000


@pytest.mark.django_db
def test_every_refused_request_answers_201_with_amount_0_and_is_stored_for_replay(counter):
    _, http, merchant = counter
    response = post(http, {"merchant": merchant.business_number, "serials": ["X1", "X2"]})
    assert response.status_code == 201 and response.json()["amount"] == 0
    assert IdempotencyRecord.objects.get(key="ex-1").status_code == 201


HOSTILE = [
    ({"merchant": None, "serials": ["A"]}, "invalid_merchant"),
    ({"serials": ["A"]}, "invalid_merchant"),
    ({"merchant": 2208162517, "serials": ["A"]}, "invalid_merchant"),
    ({"merchant": "220-81-62510", "serials": ["A"]}, "invalid_merchant"),  # wrong check digit
    ({"merchant": "9" * 10_000, "serials": ["A"]}, "invalid_merchant"),
    ({"merchant": ["x"], "serials": ["A"]}, "invalid_merchant"),
    ({"merchant": "@", "serials": "JL1"}, "invalid"),  # two fields wrong: the generic code with both fields
    ({"merchant": "OK", "serials": None}, "invalid_serials"),
    ({"merchant": "OK"}, "invalid_serials"),
    ({"merchant": "OK", "serials": "JL1"}, "invalid_serials"),
    ({"merchant": "OK", "serials": {"a": 1}}, "invalid_serials"),
    ({"merchant": "OK", "serials": []}, "invalid_serials"),
    ({"merchant": "OK", "serials": [1, 2]}, "invalid_serials"),
    ({"merchant": "OK", "serials": [None]}, "invalid_serials"),
    ({"merchant": "OK", "serials": [["JL1"]]}, "invalid_serials"),
    ({"merchant": "OK", "serials": ["A" * 41]}, "invalid_serials"),
    ({"merchant": "OK", "serials": ["A" * 300_000]}, "request_too_large"),
    ({"merchant": "OK", "serials": [""]}, "invalid_serials"),
    ({"merchant": "OK", "serials": ["JL\x00"]}, "invalid_serials"),
    ({"merchant": "OK", "serials": [f"S{i}" for i in range(1_001)]}, "invalid_serials"),
    ({"merchant": "OK", "serials": ["s1", "S1"]}, "invalid_serials"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body, code", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_a_4xx_with_its_code_and_writes_nothing(counter, body, code):
    _, http, merchant = counter
    serial = sell(tens=1)[0]
    body = {k: (merchant.business_number if v == "OK" else v) for k, v in body.items()}
    if code != "invalid_serials" and body.get("serials") == ["A"]:
        body["serials"] = [serial]
    response = post(http, body)
    assert 400 <= response.status_code < 500 and response.json()["code"] == code, response.json()
    if code == "invalid":
        assert set(response.json()["fields"]) == {"merchant", "serials"}
    assert not Exchange.objects.exists() and not ExchangeRefusal.objects.exists()
    assert not IdempotencyRecord.objects.exists() and PaperNote.objects.get(serial=serial).status == "issued"


@pytest.mark.django_db
def test_an_unknown_business_number_over_http_is_400_invalid_merchant(counter):
    from tests.vouchers.factories import valid_business_number

    _, http, _ = counter
    response = post(http, {"merchant": valid_business_number(9_998), "serials": ["JL1"]})
    assert response.status_code == 400 and response.json()["code"] == "invalid_merchant"
    assert "merchant" in response.json()["fields"] and not Exchange.objects.exists()


@pytest.mark.django_db
def test_non_json_bodies_are_4xx_and_write_nothing(counter):
    _, http, _ = counter
    for raw in (b'{"merchant": "\xff", "serials": []}', b"[1, 2]", b"not json", b"", b"null", b'"x"'):
        response = http.generic("POST", EXCHANGES, raw, content_type="application/json", headers={HEADER: "raw"})
        assert 400 <= response.status_code < 500, (raw, response.status_code)
    response = http.generic("POST", EXCHANGES, b"merchant=1", content_type="text/plain", headers={HEADER: "raw"})
    assert response.status_code == 415
    assert not Exchange.objects.exists()


@pytest.mark.django_db
def test_only_a_sales_agent_exchanges_a_pos_staff_key_or_anonymous_caller_is_refused(counter, make_client):
    from rest_framework.test import APIClient

    _, _, merchant = counter
    serial = sell(tens=1)[0]
    body = {"merchant": merchant.business_number, "serials": [serial]}
    _, pos = make_client("merchant_pos", merchant_business_number=merchant.business_number)
    _, city = make_client("staff")
    assert post(pos, body).status_code == 403
    assert post(city, body).status_code == 403
    assert APIClient().post(EXCHANGES, body, format="json", headers={HEADER: "k"}).status_code == 401
    assert pos.get(f"{EXCHANGES}1/").status_code == 403
    assert APIClient().get(f"{EXCHANGES}1/").status_code == 401
    assert not Exchange.objects.exists() and PaperNote.objects.get(serial=serial).status == "issued"


@pytest.mark.django_db
def test_the_schema_documents_the_exchange_and_its_codes(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    post_doc = schema["paths"]["/api/v1/vouchers/exchanges/"]["post"]
    text = str(post_doc)
    for code in (Code.INVALID_MERCHANT, Code.INVALID_SERIALS, "idempotency_key_required", "idempotency_key_reused",
                 "malformed_request", "request_too_large", "unsupported_media_type", "permission_denied"):
        assert str(code) in text, code
    for reason in ("unknown", "already_redeemed", "expired", "not_issued", "not_accepted_by_merchant",
                   "exchange_cap_exceeded"):
        assert reason in text, reason
    assert "/api/v1/vouchers/exchanges/{id}/" in schema["paths"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_twenty_replays_of_one_exchange_key_pay_once(make_client):
    with time_machine.travel(T1, tick=True):
        _, http = make_client("sales_agent")
        merchant = MerchantFactory()
        serials = sell(tens=3)

        def send():
            try:
                response = post(http, {"merchant": merchant.business_number, "serials": serials}, key="bundle-1")
                return response.status_code, response.json()
            finally:
                connection.close()

        results = race(send, [()] * 20)
    answers = [value for _, value in results]
    assert {status for status, _ in answers} == {201}, answers
    assert all(body == answers[0][1] for _, body in answers) and answers[0][1]["amount"] == 30_000
    assert Exchange.objects.count() == 1 and not ExchangeRefusal.objects.exists()
    assert_exchange_invariants()


# --- the staff admin: the trace by serial ---------------------------------------------------------------

@pytest.fixture
def traced(make_client):
    """A note sold at a bank counter to a named buyer, exchanged by a merchant through another bank,
    and then handed in again elsewhere (refused)."""
    seller, _ = make_client("sales_agent", name="NH농협 진주시지부")
    exchanger, _ = make_client("sales_agent", name="경남은행 상대동")
    CitizenFactory(ci="CI-TRACE", name="김진주", birth_year=1980)
    serial = sell(tens=1, actor=seller, ci="CI-TRACE")[0]
    shop = MerchantFactory(name="중앙시장 떡집")
    other = MerchantFactory(name="칠암동 식당")
    paid = exchange(shop, [serial], actor=exchanger)
    exchange(other, [serial], actor=exchanger, at=T1 + dt.timedelta(hours=2))
    return serial, shop, other, paid.exchange


@pytest.mark.django_db
def test_staff_trace_a_note_by_serial_sold_to_whom_when_where_and_exchanged_by_whom(admin_client, traced):
    serial, shop, other, ex = traced
    url = reverse("admin:vouchers_papernote_changelist")
    page = admin_client.get(url, {"q": f" {serial.lower()} "})
    assert page.status_code == 200 and [n.serial for n in page.context["cl"].result_list] == [serial]
    note = PaperNote.objects.get(serial=serial)
    detail = admin_client.get(reverse("admin:vouchers_papernote_change", args=[note.pk]))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "김*주 (1980)" in html and "김진주" not in html  # the buyer, masked
    assert "NH농협 진주시지부" in html and "은행 창구" in html  # where it was sold
    assert "중앙시장 떡집" in html and "경남은행 상대동" in html  # who exchanged it, through which bank
    assert "칠암동 식당" in html and "이미 환전됨" in html  # the refused second attempt
    assert "2026-12-02 10:00:00" in html  # when (Asia/Seoul)


@pytest.mark.django_db
def test_exchange_and_refusal_pages_render_read_only_with_amounts_and_filters(admin_client, traced):
    serial, shop, other, ex = traced
    page = admin_client.get(reverse("admin:vouchers_exchange_changelist"))
    assert page.status_code == 200 and "10,000원" in page.content.decode()
    by_shop = admin_client.get(reverse("admin:vouchers_exchange_changelist"), {"q": shop.business_number})
    assert list(by_shop.context["cl"].result_list) == [ex]
    detail = admin_client.get(reverse("admin:vouchers_exchange_change", args=[ex.pk])).content.decode()
    assert serial in detail and "지류 상품권 환전" in detail
    assert admin_client.get(reverse("admin:vouchers_exchange_add")).status_code == 403
    refusals = admin_client.get(reverse("admin:vouchers_exchangerefusal_changelist"), {"reason": "already_redeemed"})
    assert refusals.status_code == 200 and [r.serial for r in refusals.context["cl"].result_list] == [serial]
    assert list(admin_client.get(reverse("admin:vouchers_exchangerefusal_changelist"),
                                 {"reason": "unknown"}).context["cl"].result_list) == []
    dated = admin_client.get(reverse("admin:vouchers_exchangerefusal_changelist"),
                             {"created_at__year": "2026", "created_at__month": "12", "created_at__day": "2"})
    assert dated.status_code == 200 and len(dated.context["cl"].result_list) == 1


@pytest.mark.django_db
def test_staff_see_the_cap_on_the_merchant_and_set_it_with_a_reason_through_the_service(admin_client, traced):
    _, shop, _, _ = traced
    page = admin_client.get(reverse("admin:vouchers_merchant_change", args=[shop.pk])).content.decode()
    assert "8,333,333원" in page and "기본값" in page  # 100,000,000 a year // 12
    url = reverse("admin:vouchers_merchant_exchange_cap", args=[shop.pk])
    form = admin_client.get(url)
    assert form.status_code == 200 and "8,333,333원" in form.content.decode()
    refused = admin_client.post(url, {"monthly_exchange_cap": "500000", "reason": ""})
    assert refused.status_code == 200 and Merchant.objects.get(pk=shop.pk).monthly_exchange_cap is None
    done = admin_client.post(url, {"monthly_exchange_cap": "500000", "reason": "환전 급증 점검"})
    assert done.status_code == 302
    assert Merchant.objects.get(pk=shop.pk).monthly_exchange_cap == 500_000
    event = VoucherEvent.objects.get(kind="exchange_cap_changed")
    assert event.note == "환전 급증 점검" and event.user.is_superuser
    page = admin_client.get(reverse("admin:vouchers_merchant_change", args=[shop.pk])).content.decode()
    assert "500,000원" in page and "담당자가 정한 한도" in page


@pytest.mark.django_db
def test_a_bundle_of_1000_serials_is_decided_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    from vouchers import notes as note_serials

    merchant = MerchantFactory(annual_revenue=10**12)
    first = sell(tens=1)[0]
    model = PaperNote.objects.get(serial=first)
    PaperNote.objects.bulk_create([
        PaperNote(serial=note_serials.new_serial(), denomination=10_000, purchase_id=model.purchase_id,
                  tranche_id=model.tranche_id, issued_at=T0, expires_at=model.expires_at) for _ in range(997)])
    serials = [first, *PaperNote.objects.exclude(serial=first).values_list("serial", flat=True), "X" * 40, "JL?"]
    assert len(serials) == rules.MAX_EXCHANGE_SERIALS
    with django_assert_max_num_queries(12):
        result = exchange(merchant, serials)
    assert result.exchange.amount == 998 * 10_000 and reasons(result) == ["unknown", "unknown"]
    assert ExchangeRefusal.objects.get(serial="X" * 40).reason == "unknown"
    assert selectors.exchange_answer(Exchange.objects.select_related("merchant").get()) == result.as_dict()
    assert_exchange_invariants()
