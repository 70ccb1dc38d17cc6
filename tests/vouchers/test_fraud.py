"""Cash-out (상품권 깡) signals: each rule of the nightly scan fires on a constructed case and stays
quiet on an ordinary month; a rerun never duplicates; staff's actions (dismiss, warn, suspend,
cancel for illegal exchange, fine within the law's bounds), their trail, the admin queue and its
pages, and two clerks acting on one signal at once.

Every date is built from NOW (a fixed instant) and passed as `now`: nothing reads today's date."""
import datetime as dt
import itertools

import pytest
from django.urls import reverse

from jinju_portal.errors import ServiceError
from tests.races import outcomes, race
from tests.vouchers.factories import CitizenFactory, MerchantCategoryFactory, MerchantFactory, TrancheFactory, \
    staff_actor
from vouchers import months, rules, services
from vouchers.choices import FraudRule, FraudStatus
from vouchers.fraud_admin import mask_name
from vouchers.models import (Exchange, ExchangeRefusal, FraudAction, FraudSignal, Merchant, MonthlyUsage, PaperNote,
                             Purchase, VoucherEvent)

pytestmark = pytest.mark.django_db

SEOUL = months.SEOUL
NOW = dt.datetime(2027, 3, 28, 2, 30, tzinfo=SEOUL)  # the nightly run on the 28th scans March so far
MONTH = "2027-03"
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MARCH = dt.datetime(2027, 3, 1, 9, 0, tzinfo=SEOUL)
LONG_AGO = NOW - dt.timedelta(days=400)
_serials = itertools.count(1)


# --- building a month ------------------------------------------------------------------------------

@pytest.fixture
def paper():
    return TrancheFactory(medium="paper", quota=10**13, opens_at=LONG_AGO, closes_at=NOW + 30 * DAY)


def shop(**kw):
    kw.setdefault("created_at", LONG_AGO)
    kw.setdefault("category", MerchantCategoryFactory())
    return MerchantFactory(**kw)


def buy(tranche, citizen, face, at) -> list[PaperNote]:
    """A paper purchase at the branch of `face` won in 10,000-won notes, sold at `at`."""
    purchase = Purchase.objects.create(channel="branch", citizen=citizen, tranche=tranche, medium="paper",
                                       face_value=face, price=face * 9 // 10, month=months.month_of(at), created_at=at)
    return [PaperNote.objects.create(serial=f"JJ{next(_serials):010d}", denomination=10_000, purchase=purchase,
                                     tranche=tranche, issued_at=at, expires_at=rules.expires(at))
            for _ in range(face // 10_000)]


def exchange(merchant, notes=(), at=None, amount=None) -> Exchange:
    """An exchange at the bank: the notes redeemed with it, or (amount=) a month's figure, counted as
    that many 10,000-won notes not made here (an exchange's amount is its notes: a CHECK of 0016)."""
    notes = list(notes)
    x = Exchange.objects.create(merchant=merchant, amount=amount if amount is not None else 10_000 * len(notes),
                                accepted_count=len(notes) if amount is None else max(1, amount // 10_000),
                                created_at=at)
    PaperNote.objects.filter(pk__in=[n.pk for n in notes]).update(status="redeemed", status_changed_at=at, exchange=x)
    return x


def history(merchant, per_month, months_back=(1, 2, 3)):
    for back in months_back:
        exchange(merchant, amount=per_month, at=months.month_start(months.add_months(MONTH, -back)) + 5 * DAY)


@pytest.fixture
def ordinary(paper):
    """An ordinary month: six restaurants exchanging about 1,200,000 a month as they did before, and
    twenty buyers each spending 100,000 over several of them, exchanged days after the sale."""
    category = MerchantCategoryFactory(code="restaurant", name="일반음식점")
    shops = [shop(category=category, name=f"식당 {i}", representative=f"대표{i}") for i in range(6)]
    for m in shops:
        history(m, 1_200_000)
    for i in range(20):
        buyer = CitizenFactory(name=f"시민{i}")
        notes = buy(paper, buyer, 100_000, MARCH + i * HOUR)
        for j, chunk in enumerate((notes[:4], notes[4:7], notes[7:])):
            exchange(shops[(i + j) % 6], chunk, MARCH + (4 + j + i % 5) * DAY)
    for m in shops:  # bring each shop's month near its usual figure
        exchange(m, amount=1_000_000, at=MARCH + 20 * DAY)
    return {"shops": shops, "category": category}


def scan(**kw):
    return services.scan_cash_out(month=MONTH, now=NOW, **kw)


def signals(rule=None):
    qs = FraudSignal.objects.all()
    return list(qs.filter(rule=rule) if rule else qs)


def test_an_ordinary_month_raises_no_signal(ordinary):
    result = scan()
    assert result.created == 0 and signals() == []


# --- each rule ---------------------------------------------------------------------------------------

def test_exchange_spike_against_the_merchants_own_trailing_average(ordinary):
    spiking = shop(name="급증 상회")
    history(spiking, 1_000_000)
    exchange(spiking, amount=4_000_000, at=MARCH + 10 * DAY)
    steady = shop(name="꾸준 상회")
    history(steady, 1_000_000)
    exchange(steady, amount=1_500_000, at=MARCH + 10 * DAY)
    scan()
    [signal] = signals(FraudRule.EXCHANGE_SPIKE)
    assert signal.merchant == spiking and signal.citizen is None and signal.period == MONTH
    assert signal.evidence["amount"] == 4_000_000 and signal.evidence["trailing_average"] == 1_000_000
    assert signal.evidence["months_before"] == [1_000_000, 1_000_000, 1_000_000]
    assert signal.evidence["ratio"] == 4 and float(signal.score) == pytest.approx(4 / 3, abs=0.01)
    assert len(signal.exchange_ids) == 1
    assert {s.merchant for s in signals()} == {spiking}


def test_exchange_far_above_its_categorys_median(ordinary):
    big = shop(category=ordinary["category"], name="큰 식당")
    history(big, 7_000_000)  # always this big: no spike of its own
    exchange(big, amount=7_000_000, at=MARCH + 3 * DAY)
    scan()
    [signal] = signals(FraudRule.EXCHANGE_ABOVE_CATEGORY)
    assert signal.merchant == big
    assert signal.evidence["category_merchants"] == 7 and signal.evidence["category_median"] > 1_000_000
    assert signal.evidence["ratio"] >= 5
    assert {s.merchant for s in signals()} == {big}


def test_exchange_above_what_the_declared_revenue_allows(ordinary):
    over = shop(name="매출 적은 가게", annual_revenue=6_000_000, monthly_exchange_cap=None)  # cap 500,000 a month
    exchange(over, amount=500_000, at=MARCH + 2 * DAY)
    x = exchange(over, at=MARCH + 9 * DAY)
    spare = buy(TrancheFactory(medium="paper", opens_at=LONG_AGO, closes_at=NOW), CitizenFactory(), 30_000, MARCH)
    for note in spare:
        ExchangeRefusal.objects.create(exchange=x, merchant=over, serial=note.serial, note=note,
                                       reason="exchange_cap_exceeded", created_at=MARCH + 9 * DAY)
    lowered = shop(name="점검 중 가게", monthly_exchange_cap=300_000)
    exchange(lowered, amount=400_000, at=MARCH + 2 * DAY)
    within = shop(name="한도 안 가게", monthly_exchange_cap=1_000_000)
    exchange(within, amount=900_000, at=MARCH + 2 * DAY)
    scan()
    found = {s.merchant: s for s in signals(FraudRule.EXCHANGE_ABOVE_REVENUE)}
    assert set(found) == {over, lowered}
    assert found[over].evidence["cap"] == 500_000 and found[over].evidence["attempted"] == 530_000
    assert found[over].evidence["refused_over_cap_notes"] == 3 and found[over].severity == 3
    assert found[lowered].evidence["cap"] == 300_000


def test_quick_exchange_at_the_shop_of_a_representative_with_the_buyers_name(ordinary, paper):
    owner = shop(name="김 사장네", representative="김 진주")
    me = CitizenFactory(name="김진주")
    notes = buy(paper, me, 100_000, MARCH + 2 * DAY)
    exchange(owner, notes, MARCH + 2 * DAY + 5 * HOUR)
    # the same name, but exchanged two weeks after the sale; and a quick exchange by another name
    late_owner = shop(name="박 사장네", representative="박진주")
    exchange(late_owner, buy(paper, CitizenFactory(name="박진주"), 100_000, MARCH), MARCH + 14 * DAY)
    other = shop(name="이 사장네", representative="이진주")
    exchange(other, buy(paper, CitizenFactory(name="최진주"), 100_000, MARCH), MARCH + 3 * HOUR)
    scan()
    [signal] = signals(FraudRule.QUICK_SELF_EXCHANGE)
    assert signal.merchant == owner and signal.citizen == me
    assert signal.evidence["quick_notes"] == 10 and signal.evidence["max_hours"] == 5
    assert signal.evidence["names_match"] is True
    assert sorted(signal.note_ids) == sorted(n.pk for n in notes) and len(signal.purchase_ids) == 1
    assert signal.severity == 3
    assert signals() == [signal]


def test_quick_exchange_of_most_of_one_buyers_notes_at_one_merchant(ordinary, paper):
    taker = shop(name="몰아받는 가게")
    buyer = CitizenFactory(name="홍길동")
    notes = buy(paper, buyer, 300_000, MARCH + 5 * DAY)
    exchange(taker, notes[:28], MARCH + 5 * DAY + 6 * HOUR)
    exchange(ordinary["shops"][0], notes[28:], MARCH + 9 * DAY)
    spread = CitizenFactory(name="고르게")
    notes = buy(paper, spread, 300_000, MARCH + 5 * DAY)
    for i, m in enumerate(ordinary["shops"][:5]):
        exchange(m, notes[i * 6:(i + 1) * 6], MARCH + 5 * DAY + 6 * HOUR)
    scan()
    [signal] = signals(FraudRule.QUICK_CONCENTRATED)
    assert signal.merchant == taker and signal.citizen == buyer
    assert signal.evidence["amount"] == 280_000 and signal.evidence["buyer_amount"] == 300_000
    assert signal.evidence["share"] == pytest.approx(0.9333, abs=0.001) and signal.evidence["quick_amount"] == 280_000
    assert len(signal.note_ids) == 28


def test_many_buyers_whose_notes_all_come_back_through_one_merchant_within_days(ordinary, paper):
    ring = shop(name="모이는 가게")
    buyers = [CitizenFactory(name=f"명의{i}") for i in range(10)]
    for i, b in enumerate(buyers):
        exchange(ring, buy(paper, b, 50_000, MARCH + i * HOUR), MARCH + 2 * DAY)
    almost = shop(name="아홉 명 가게")
    for i in range(9):
        exchange(almost, buy(paper, CitizenFactory(), 50_000, MARCH), MARCH + DAY)
    scan()
    [signal] = signals(FraudRule.BUYER_RING)
    assert signal.merchant == ring and signal.citizen is None
    assert signal.evidence["buyers"] == 10 and signal.evidence["notes"] == 50
    assert sorted(signal.evidence["citizen_ids"]) == sorted(b.pk for b in buyers)
    assert len(signal.note_ids) == 50 and len(signal.purchase_ids) == 10
    assert {s.merchant for s in signals()} == {ring}


def test_buyers_at_the_monthly_limit_every_month_whose_notes_come_back_through_one_merchant(ordinary, paper):
    collector = shop(name="한도 모으는 가게")
    regular = CitizenFactory(name="매달한도")
    two_months = CitizenFactory(name="두달한도")
    for buyer, months_at_limit in ((regular, 3), (two_months, 2)):
        for back in range(3):
            month = months.add_months(MONTH, -back)
            bought = 300_000 if back < months_at_limit else 100_000
            MonthlyUsage.objects.create(citizen=buyer, month=month, monthly_limit=300_000, purchased=bought,
                                        paper_purchased=bought)
        notes = buy(paper, buyer, 300_000, MARCH + DAY)
        exchange(collector, notes[:27], MARCH + 6 * DAY)  # days later: not "quick"
        exchange(ordinary["shops"][1], notes[27:], MARCH + 7 * DAY)
    scan()
    [signal] = signals(FraudRule.LIMIT_BUYER)
    assert signal.merchant == collector and signal.citizen == regular
    assert signal.evidence["months_at_limit"] == 3 and signal.evidence["months"] == ["2027-03", "2027-02", "2027-01"]
    assert signal.evidence["share_of_bought"] == pytest.approx(0.9)
    assert signal.evidence["paper_bought_this_month"] == 300_000
    assert signals() == [signal]


def test_every_refused_exchange_of_an_already_redeemed_or_unknown_serial(ordinary, paper):
    tries = shop(name="두 번 내는 가게")
    first = shop(name="먼저 낸 가게")
    note = buy(paper, CitizenFactory(), 10_000, MARCH)[0]
    exchange(first, [note], MARCH + DAY)
    x = exchange(tries, at=MARCH + 3 * DAY)
    again = ExchangeRefusal.objects.create(exchange=x, merchant=tries, serial=note.serial, note=note,
                                           reason="already_redeemed", created_at=MARCH + 3 * DAY)
    forged = ExchangeRefusal.objects.create(exchange=x, merchant=tries, serial="JJ9999999999", reason="unknown",
                                            created_at=MARCH + 3 * DAY)
    late = shop(name="기한 지난 가게")
    y = exchange(late, at=MARCH + 3 * DAY)
    ExchangeRefusal.objects.create(exchange=y, merchant=late, serial="JJ1", reason="expired", created_at=MARCH)
    scan()
    [signal] = signals(FraudRule.REFUSED_SERIAL)
    assert signal.merchant == tries
    assert signal.evidence["refusals"] == 2 and signal.evidence["already_redeemed"] == 1
    assert signal.evidence["unknown"] == 1 and signal.evidence["serials"] == [note.serial, "JJ9999999999"]
    assert signal.refusal_ids == [again.pk, forged.pk] and signal.note_ids == [note.pk]
    assert signal.exchange_ids == [x.pk]


# --- reruns ------------------------------------------------------------------------------------------

@pytest.fixture
def spiking(ordinary):
    m = shop(name="급증 상회")
    history(m, 1_000_000)
    exchange(m, amount=4_000_000, at=MARCH + 10 * DAY)
    return m


def test_a_rerun_never_duplicates_and_refreshes_an_open_signals_figures(spiking):
    first = scan()
    assert first.created == 1
    again = scan()
    assert again.created == 0 and again.refreshed == 1 and len(signals()) == 1
    exchange(spiking, amount=2_000_000, at=MARCH + 20 * DAY)
    services.scan_cash_out(month=MONTH, now=NOW + HOUR)
    [signal] = signals()
    assert signal.evidence["amount"] == 6_000_000 and signal.scanned_at == NOW + HOUR
    assert signal.created_at == NOW and len(signal.exchange_ids) == 2


def test_a_rerun_leaves_a_decided_signal_as_staff_left_it(spiking):
    scan()
    [signal] = signals()
    services.dismiss_signal(signal_id=signal.pk, reason="명절 특수로 확인됨", actor=staff_actor(), now=NOW)
    exchange(spiking, amount=2_000_000, at=MARCH + 20 * DAY)
    result = services.scan_cash_out(month=MONTH, now=NOW + HOUR)
    assert result.created == 0 and result.refreshed == 0
    signal.refresh_from_db()
    assert signal.status == FraudStatus.DISMISSED and signal.evidence["amount"] == 4_000_000


def test_the_next_month_is_a_signal_of_its_own(spiking):
    scan()
    exchange(spiking, amount=9_000_000, at=months.month_start("2027-04") + DAY)
    services.scan_cash_out(month="2027-04", now=months.month_start("2027-04") + 10 * DAY)
    assert sorted(s.period for s in signals(FraudRule.EXCHANGE_SPIKE)) == ["2027-03", "2027-04"]


def test_the_nightly_run_scans_yesterdays_month():
    assert services.fraud.default_month(dt.datetime(2027, 4, 1, 2, 30, tzinfo=SEOUL)) == "2027-03"
    assert services.fraud.default_month(dt.datetime(2027, 4, 2, 2, 30, tzinfo=SEOUL)) == "2027-04"


def test_a_bad_month_is_refused():
    with pytest.raises(ServiceError) as exc:
        services.scan_cash_out(month="2027-13", now=NOW)
    assert exc.value.code == "invalid_period"


def test_the_celery_task_and_its_beat_entry_at_0230(spiking, settings):
    from jinju_portal.celery import BEAT_SCHEDULE
    from vouchers import tasks

    entry = BEAT_SCHEDULE["vouchers-scan-cash-out"]
    assert entry["task"] == "vouchers.tasks.scan_cash_out"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {30}
    import time_machine

    with time_machine.travel(NOW, tick=False):
        out = tasks.scan_cash_out.apply().get()
        assert out["created"] == 1 and tasks.scan_cash_out.apply().get()["created"] == 0
    assert len(signals()) == 1


def test_thresholds_are_settings(spiking, settings):
    settings.VOUCHERS_FRAUD_SPIKE_RATIO = 5.0
    scan()
    assert signals(FraudRule.EXCHANGE_SPIKE) == []


# --- actions -----------------------------------------------------------------------------------------

@pytest.fixture
def signal(spiking):
    scan()
    return signals()[0]


def test_dismiss_with_a_reason_records_the_action_and_the_event(signal):
    clerk = staff_actor()
    action = services.dismiss_signal(signal_id=signal.pk, reason="정상 거래 확인", actor=clerk, now=NOW)
    signal.refresh_from_db()
    assert signal.status == FraudStatus.DISMISSED and signal.decided_at == NOW
    assert (action.action, action.reason, action.user, action.fine_amount) == ("dismiss", "정상 거래 확인", clerk, None)
    [event] = VoucherEvent.objects.filter(signal=signal)
    assert event.kind == "fraud_dismissed" and event.before == {"status": "open"}
    assert event.after["status"] == "dismissed" and event.note == "정상 거래 확인" and event.merchant_id == signal.merchant_id


def test_a_reason_is_required(signal):
    with pytest.raises(ServiceError) as exc:
        services.dismiss_signal(signal_id=signal.pk, reason="  ", actor=staff_actor(), now=NOW)
    assert exc.value.code == "invalid_reason"
    signal.refresh_from_db()
    assert signal.status == FraudStatus.OPEN and not FraudAction.objects.exists()


def test_warn(signal):
    services.warn_signal(signal_id=signal.pk, reason="경고문 발송", actor=staff_actor(), now=NOW)
    signal.refresh_from_db()
    assert signal.status == FraudStatus.WARNED and signal.merchant.status == "approved"


def test_suspend_suspends_the_merchant_through_its_service(signal):
    services.suspend_signal(signal_id=signal.pk, reason="환전 급증 조사", actor=staff_actor(), now=NOW)
    signal.refresh_from_db()
    merchant = Merchant.objects.get(pk=signal.merchant_id)
    assert signal.status == FraudStatus.SUSPENDED and merchant.status == "suspended"
    assert merchant.status_reason == "환전 급증 조사"
    assert set(VoucherEvent.objects.filter(merchant=merchant).values_list("kind", flat=True)) >= {
        "merchant_suspended", "fraud_suspended"}


def test_suspending_a_merchant_that_is_not_approved_is_refused_and_writes_nothing(signal):
    services.suspend_merchant(merchant_id=signal.merchant_id, reason="먼저 정지", actor=staff_actor(), now=NOW)
    with pytest.raises(ServiceError) as exc:
        services.suspend_signal(signal_id=signal.pk, reason="다시", actor=staff_actor(), now=NOW)
    assert exc.value.code == "merchant_status_conflict"
    signal.refresh_from_db()
    assert signal.status == FraudStatus.OPEN and not FraudAction.objects.exists()


def test_cancel_for_illegal_exchange_starts_the_one_year_ban(signal):
    services.cancel_signal(signal_id=signal.pk, reason="상품권 깡 확인", actor=staff_actor(), now=NOW)
    merchant = Merchant.objects.get(pk=signal.merchant_id)
    assert merchant.status == "cancelled" and merchant.cancelled_for_illegal_exchange
    assert merchant.illegal_exchange_cancelled_at == NOW
    with pytest.raises(ServiceError) as exc:
        services.register_merchant(business_number=merchant.business_number, name="새 이름", category=merchant.category,
                                   address="진주시", dong="가좌동", representative="김진주", annual_revenue=1,
                                   accepts_paper=True, now=NOW + 300 * DAY)
    assert exc.value.code == "merchant_banned"


def test_a_first_fine_is_six_million_and_a_later_one_at_most_twenty(ordinary):
    m = shop(name="상습 가게")
    history(m, 1_000_000)
    exchange(m, amount=4_000_000, at=MARCH + 10 * DAY)
    exchange(m, amount=9_000_000, at=months.month_start("2027-04") + DAY)
    scan()
    services.scan_cash_out(month="2027-04", now=months.month_start("2027-04") + 10 * DAY)
    march, april = sorted(signals(FraudRule.EXCHANGE_SPIKE), key=lambda s: s.period)
    clerk = staff_actor()
    for bad in (5_000_000, 7_000_000, 20_000_000, "6000000", True):
        with pytest.raises(ServiceError) as exc:
            services.fine_signal(signal_id=march.pk, amount=bad, reason="과태료", actor=clerk, now=NOW)
        assert exc.value.code == "invalid_fine"
    with pytest.raises(ServiceError) as exc:
        services.fine_signal(signal_id=march.pk, amount=7_000_000, reason="과태료", actor=clerk, now=NOW)
    assert "6,000,000원" in exc.value.detail
    services.fine_signal(signal_id=march.pk, amount=6_000_000, reason="첫 위반", actor=clerk, now=NOW)
    for bad in (5_999_999, 20_000_001):
        with pytest.raises(ServiceError) as exc:
            services.fine_signal(signal_id=april.pk, amount=bad, reason="재위반", actor=clerk, now=NOW)
        assert exc.value.code == "invalid_fine" and "20,000,000원" in exc.value.detail
    action = services.fine_signal(signal_id=april.pk, amount=20_000_000, reason="재위반", actor=clerk, now=NOW)
    assert action.fine_amount == 20_000_000 and services.prior_fines(m.pk) == (2, 20_000_000)
    april.refresh_from_db()
    assert april.status == FraudStatus.FINED
    assert VoucherEvent.objects.get(signal=april).after["fine_amount"] == 20_000_000


def test_the_database_holds_the_fine_bounds_too(signal):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        FraudAction.objects.create(signal=signal, merchant_id=signal.merchant_id, action="fine", reason="x",
                                   fine_amount=25_000_000)


def test_a_decided_signal_takes_no_second_action(signal):
    services.warn_signal(signal_id=signal.pk, reason="경고", actor=staff_actor(), now=NOW)
    with pytest.raises(ServiceError) as exc:
        services.cancel_signal(signal_id=signal.pk, reason="해지", actor=staff_actor(), now=NOW)
    assert exc.value.code == "fraud_signal_decided" and "경고" in exc.value.detail
    assert Merchant.objects.get(pk=signal.merchant_id).status == "approved"


def test_fine_rules_are_pure():
    assert rules.fine_bounds(0) == (6_000_000, 6_000_000) and rules.fine_bounds(3) == (6_000_000, 20_000_000)
    assert rules.suggested_fine(0, None) == 6_000_000 and rules.suggested_fine(1, 6_000_000) == 12_000_000
    assert rules.suggested_fine(2, 12_000_000) == 20_000_000
    assert rules.fine_refusal(amount=6_000_000, prior_fines=0) is None
    assert rules.fine_refusal(amount=12_000_000, prior_fines=1) is None


def test_names_compare_without_spaces_and_masks_keep_first_and_last():
    assert rules.same_person_name("김 진주", "김진주") and not rules.same_person_name("", "")
    assert not rules.same_person_name("김진주", "김진수")
    assert [mask_name(n) for n in ("홍길동", "남궁민수", "이솔", "김", "")] == ["홍*동", "남**수", "이*", "*", "이름 없음"]


# --- two clerks at once --------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_clerks_acting_on_one_signal_at_once_one_wins_the_other_is_told(paper):
    from django.contrib.auth import get_user_model

    m = shop(name="경합 가게")
    history(m, 1_000_000)
    exchange(m, amount=4_000_000, at=MARCH + 10 * DAY)
    scan()
    [signal] = signals()
    users = [get_user_model().objects.create(username=f"clerk{i}", is_staff=True) for i in range(2)]

    def act(kind, user):
        if kind == "suspend":
            return services.suspend_signal(signal_id=signal.pk, reason="정지", actor=user, now=NOW).action
        return services.dismiss_signal(signal_id=signal.pk, reason="기각", actor=user, now=NOW).action

    results = race(act, [("suspend", users[0]), ("dismiss", users[1])])
    assert sorted(outcomes(results)) == ["fraud_signal_decided", "ok"], results
    signal.refresh_from_db()
    [action] = FraudAction.objects.all()
    assert signal.status == {"suspend": "suspended", "dismiss": "dismissed"}[action.action]
    assert (Merchant.objects.get(pk=m.pk).status == "suspended") == (action.action == "suspend")
    assert VoucherEvent.objects.filter(signal=signal).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_scans_at_once_write_each_signal_once(paper):
    m = shop(name="경합 가게")
    history(m, 1_000_000)
    exchange(m, amount=4_000_000, at=MARCH + 10 * DAY)
    results = race(lambda: scan().created, [(), ()])
    assert sorted(outcomes(results)) == ["ok", "ok"] and sorted(v for _, v in results) == [0, 1]
    assert len(signals()) == 1


# --- the admin queue ------------------------------------------------------------------------------------

@pytest.fixture
def queue(ordinary, paper):
    owner = shop(name="김 사장네", representative="김진주")
    me = CitizenFactory(name="김진주", birth_year=1970)
    exchange(owner, buy(paper, me, 100_000, MARCH + 2 * DAY), MARCH + 2 * DAY + 5 * HOUR)
    low = shop(name="급증 상회")
    history(low, 1_000_000)
    exchange(low, amount=3_100_000, at=MARCH + 10 * DAY)
    scan()
    decided = FraudSignal.objects.get(rule=FraudRule.QUICK_SELF_EXCHANGE)
    return {"self": decided, "spike": FraudSignal.objects.get(rule=FraudRule.EXCHANGE_SPIKE), "owner": owner}


def test_the_queue_shows_open_signals_first_by_severity(admin_client, queue):
    url = reverse("admin:vouchers_fraudsignal_changelist")
    page = admin_client.get(url)
    assert page.status_code == 200
    ids = [s.pk for s in page.context["cl"].result_list]
    assert ids == [queue["self"].pk, queue["spike"].pk]  # high before medium
    services.dismiss_signal(signal_id=queue["self"].pk, reason="확인", actor=staff_actor(), now=NOW)
    ids = [s.pk for s in admin_client.get(url).context["cl"].result_list]
    assert ids == [queue["spike"].pk, queue["self"].pk]  # open first
    assert admin_client.get(url + "?decided=no").context["cl"].result_count == 1


def test_a_signal_page_shows_its_evidence_with_the_buyer_masked(admin_client, queue):
    signal = queue["self"]
    page = admin_client.get(reverse("admin:vouchers_fraudsignal_change", args=[signal.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    note = PaperNote.objects.filter(pk__in=signal.note_ids).first()
    assert note.serial in html and "김*주 (1970)" in html and "김진주" not in html
    assert "5.0" in html  # hours between sale and exchange
    assert "2027-03-03 09:00" in html and "2027-03-03 14:00" in html  # sold at, exchanged at
    assert "김 사장네" in html and reverse("admin:vouchers_fraudsignal_act", args=[signal.pk, "cancel"]) in html


def test_dismiss_from_the_admin_with_a_reason(admin_client, queue):
    url = reverse("admin:vouchers_fraudsignal_act", args=[queue["spike"].pk, "dismiss"])
    assert admin_client.get(url).status_code == 200
    page = admin_client.post(url, {"reason": ""})
    assert page.status_code == 200 and FraudSignal.objects.get(pk=queue["spike"].pk).status == "open"
    page = admin_client.post(url, {"reason": "계절 요인"}, follow=True)
    assert "기각했습니다" in page.content.decode()
    assert FraudSignal.objects.get(pk=queue["spike"].pk).status == "dismissed"


def test_cancel_from_the_admin_asks_for_confirmation_first(admin_client, queue):
    url = reverse("admin:vouchers_fraudsignal_act", args=[queue["self"].pk, "cancel"])
    page = admin_client.post(url, {"reason": "대표자 본인 환전"})
    assert page.status_code == 200 and "정말 이 조치를 하시겠습니까?" in page.content.decode()
    assert "1년" in page.content.decode()
    assert Merchant.objects.get(pk=queue["owner"].pk).status == "approved"
    page = admin_client.post(url, {"reason": "대표자 본인 환전", "confirm": "yes"}, follow=True)
    assert "해지했습니다" in page.content.decode()
    merchant = Merchant.objects.get(pk=queue["owner"].pk)
    assert merchant.status == "cancelled" and merchant.cancelled_for_illegal_exchange


def test_suspend_and_fine_from_the_admin(admin_client, queue):
    url = reverse("admin:vouchers_fraudsignal_act", args=[queue["spike"].pk, "suspend"])
    admin_client.post(url, {"reason": "조사"})
    assert FraudSignal.objects.get(pk=queue["spike"].pk).status == "open"
    admin_client.post(url, {"reason": "조사", "confirm": "yes"})
    assert FraudSignal.objects.get(pk=queue["spike"].pk).status == "suspended"
    url = reverse("admin:vouchers_fraudsignal_act", args=[queue["self"].pk, "fine"])
    page = admin_client.get(url)
    assert page.context["form"]["amount"].value() == 6_000_000
    page = admin_client.post(url, {"reason": "첫 위반", "amount": "9000000", "confirm": "yes"})
    assert "첫 위반의 과태료는 6,000,000원입니다." in page.content.decode()
    admin_client.post(url, {"reason": "첫 위반", "amount": "6000000", "confirm": "yes"})
    assert FraudAction.objects.get(signal=queue["self"]).fine_amount == 6_000_000
    page = admin_client.get(reverse("admin:vouchers_fraudaction_changelist"))
    assert page.status_code == 200 and "6,000,000원" in page.content.decode()


def test_the_second_clerk_on_the_admin_is_told_who_was_first(admin_client, queue):
    services.warn_signal(signal_id=queue["spike"].pk, reason="경고", actor=staff_actor(), now=NOW)
    url = reverse("admin:vouchers_fraudsignal_act", args=[queue["spike"].pk, "dismiss"])
    page = admin_client.post(url, {"reason": "기각"})
    assert page.status_code == 200
    assert "이미 처리된 신호입니다 (경고, user:test-clerk" in page.content.decode()


def test_staff_without_the_permission_cannot_act(client, queue):
    from django.contrib.auth import get_user_model

    viewer = get_user_model().objects.create(username="viewer", is_staff=True)
    client.force_login(viewer)
    url = reverse("admin:vouchers_fraudsignal_act", args=[queue["spike"].pk, "dismiss"])
    client.post(url, {"reason": "기각"})
    assert FraudSignal.objects.get(pk=queue["spike"].pk).status == "open"
