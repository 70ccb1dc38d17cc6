"""Real concurrent transactions (threads, own connections, a barrier) against invariants 1–3."""
import datetime as dt
import itertools
import random
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from jinju_portal.api.idempotency import HEADER
from jinju_portal.identity import hash_identity
from tests.races import outcomes
from tests.vouchers.conftest import assert_invariants, race
from tests.vouchers.factories import CitizenFactory, LimitPolicyFactory, TrancheFactory, staff_actor
from vouchers import months, services
from vouchers.models import Citizen, MonthlyUsage, PaperNote, Purchase, Tranche, WalletEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.clock]
KST = ZoneInfo("Asia/Seoul")


def _buy(tranche_id, ci, face_value, channel="zeropay_app"):
    return services.purchase_vouchers(tranche_id=tranche_id, buyer_ci=ci, face_value=face_value, channel=channel)


@pytest.mark.usefixtures("frozen_clock")  # one month's limit: a rush straddling a month end would reach two
def test_50_buyers_x_10_purchases_never_oversell_nor_pass_the_limit():
    paper = TrancheFactory(medium="paper", quota=5_000_000)
    mobile = TrancheFactory(medium="mobile", quota=6_000_000)
    # 50 buyers, each 10 purchases of 50,000 alternating paper and mobile: demand 25,000,000
    # (15,000,000 within the limits) against 11,000,000 of quota.
    jobs = [[(paper.pk if i % 2 else mobile.pk, f"CI-RUSH-{b:03d}", 50_000, "branch" if i % 2 else "zeropay_app")
             for i in range(10)] for b in range(50)]
    queue = list(itertools.chain.from_iterable(jobs))
    random.Random(3).shuffle(queue)  # some buyers run into their limit before the quota runs out
    lock = threading.Lock()
    outcomes = []

    def worker():
        while True:
            with lock:
                if not queue:
                    return "done"
                job = queue.pop()
            try:
                outcomes.append(("ok", _buy(*job)))
            except services.RuleViolation as exc:
                outcomes.append(("err", exc.code))

    results = race(worker, [()] * 16)
    assert all(r == ("ok", "done") for r in results), results
    assert len(outcomes) == 500
    successes = [r for kind, r in outcomes if kind == "ok"]
    codes = {r for kind, r in outcomes if kind == "err"}
    assert codes == {"tranche_sold_out", "monthly_limit_exceeded"}
    for tranche in (paper, mobile):
        tranche.refresh_from_db()
        sold_by_successes = sum(r.face_value for r in successes if r.tranche == tranche.pk)
        assert tranche.sold == sold_by_successes <= tranche.quota
    assert Purchase.objects.count() == len(successes)
    assert all(u.purchased <= 300_000 for u in MonthlyUsage.objects.all())
    assert PaperNote.objects.count() == sum(len(r.serials) for r in successes)
    assert_invariants()


@pytest.mark.usefixtures("frozen_clock")  # all 20 in one month, or 6 would succeed
def test_one_buyer_20_parallel_purchases_of_100000_exactly_3_succeed():
    tranche = TrancheFactory(quota=100_000_000)
    results = race(_buy, [(tranche.pk, "CI-GREEDY", 100_000)] * 20)
    assert sum(1 for kind, _ in results if kind == "ok") == 3
    assert [r for r in results if r[0] != "ok"] == [("err", "monthly_limit_exceeded")] * 17
    tranche.refresh_from_db()
    assert tranche.sold == 300_000
    assert MonthlyUsage.objects.get().purchased == 300_000
    assert_invariants()


def test_last_10000_won_of_quota_sells_once_under_race():
    tranche = TrancheFactory(quota=1_000_000, sold=990_000)
    results = race(_buy, [(tranche.pk, f"CI-LAST-{i}", 10_000) for i in range(20)])
    assert sum(1 for kind, _ in results if kind == "ok") == 1
    assert sorted(r for r in results if r[0] != "ok") == [("err", "tranche_sold_out")] * 19
    tranche.refresh_from_db()
    assert tranche.sold == tranche.quota == 1_000_000
    assert Purchase.objects.count() == 1


@pytest.mark.usefixtures("frozen_clock")  # one MonthlyUsage row
def test_brand_new_buyer_racing_with_itself_is_created_once():
    tranche = TrancheFactory()
    results = race(_buy, [(tranche.pk, "CI-NEWCOMER", 10_000)] * 10)
    assert all(kind == "ok" for kind, _ in results), results
    assert len({r.citizen_id for _, r in results}) == 1
    assert MonthlyUsage.objects.get().purchased == 100_000
    assert_invariants()


def test_quota_raise_racing_with_sales_never_goes_below_sold():
    tranche = TrancheFactory(quota=500_000)

    def raise_to(quota):
        return services.raise_tranche_quota(tranche_id=tranche.pk, quota=quota).quota

    jobs = [(_buy, (tranche.pk, f"CI-Q-{i}", 50_000)) for i in range(12)] + [(raise_to, (450_000,))] * 2
    results = race(lambda fn, args: fn(*args), jobs)
    tranche.refresh_from_db()
    assert tranche.sold <= tranche.quota
    raise_results = results[-2:]
    for kind, value in raise_results:
        assert (kind, value) in {("ok", 450_000), ("err", "quota_below_sold")}
    assert_invariants()


def test_cancel_racing_with_sales_keeps_counters_exact():
    tranche = TrancheFactory(quota=300_000)
    first = _buy(tranche.pk, "CI-CANCELLER", 100_000)
    # the cancel path (staff may cancel any purchase) races itself and four sales
    clerk = staff_actor()
    jobs = [(lambda: services.cancel_purchase(purchase_id=first.id, actor=clerk).status, ())] * 3 + \
        [(_buy, (tranche.pk, f"CI-C-{i}", 100_000)) for i in range(4)]
    results = race(lambda fn, args: fn(*args), jobs)
    assert [r for r in results[:3]] == [("ok", "cancelled")] * 3
    tranche.refresh_from_db()
    assert tranche.sold <= 300_000
    assert WalletEntry.objects.filter(kind="cancel").count() == 1
    assert_invariants()


def test_20_parallel_replays_of_one_idempotency_key_make_one_purchase(make_client):
    tranche = TrancheFactory(quota=10_000_000)
    _client, http = make_client("sales_agent")
    body = {"tranche": tranche.pk, "buyer_ci": "CI-REPLAY", "face_value": 50_000}

    def post():
        try:
            response = http.post("/api/v1/vouchers/purchases/", body, format="json",
                                 headers={HEADER: "replay-key-1"})
            return response.status_code, response.json()
        finally:
            connection.close()

    results = race(post, [()] * 20)
    assert all(kind == "ok" for kind, _ in results), results
    answers = [value for _, value in results]
    assert {status for status, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body in answers)
    assert Purchase.objects.count() == 1
    assert Tranche.objects.get().sold == 50_000
    assert_invariants()


def test_a_sale_is_one_sql_statement_once_the_tranche_medium_is_known(django_assert_num_queries):
    mobile = TrancheFactory(medium="mobile")
    paper = TrancheFactory(medium="paper")
    _buy(mobile.pk, "CI-WARM", 10_000)  # warms the per-process medium cache
    _buy(paper.pk, "CI-WARM", 10_000, "branch")
    with django_assert_num_queries(1):
        _buy(mobile.pk, "CI-WARM", 10_000)
    with django_assert_num_queries(1):
        _buy(paper.pk, "CI-WARM", 50_000, "branch")  # five notes, still one statement
    with django_assert_num_queries(1):
        _buy(mobile.pk, "CI-WARM-NEW", 10_000)  # a brand-new buyer too
    assert_invariants()


def test_refusals_of_the_autocommit_statement_undo_its_own_claims():
    tiny = TrancheFactory(quota=15_000)
    roomy = TrancheFactory(quota=1_000_000)
    _buy(roomy.pk, "CI-REGULAR", 100_000)
    usage_before = list(MonthlyUsage.objects.values_list("citizen_id", "purchased"))
    # a brand-new buyer refused at the tranche: no citizen row, no usage row stays behind
    with pytest.raises(services.RuleViolation) as exc:
        _buy(tiny.pk, "CI-NEW-REFUSED", 20_000)
    assert exc.value.code == "tranche_sold_out"
    # a known buyer refused at the tranche after the usage claim: the claim is undone
    with pytest.raises(services.RuleViolation) as exc:
        _buy(tiny.pk, "CI-REGULAR", 20_000)
    assert exc.value.code == "tranche_sold_out"
    services.close_tranche(tranche_id=roomy.pk)
    with pytest.raises(services.RuleViolation) as exc:
        _buy(roomy.pk, "CI-REGULAR", 10_000)
    assert exc.value.code == "tranche_not_open"
    assert list(MonthlyUsage.objects.values_list("citizen_id", "purchased")) == usage_before
    assert not Citizen.objects.filter(ci_hash=hash_identity("CI-NEW-REFUSED")).exists()
    assert Tranche.objects.get(pk=tiny.pk).sold == 0
    assert Purchase.objects.count() == 1
    assert_invariants()


def test_pgbench_script_runs_the_sale_statement_and_keeps_invariants(tmp_path):
    import shutil
    import subprocess

    from django.core.management import call_command

    if shutil.which("pgbench") is None:
        pytest.skip("pgbench not installed")
    from io import StringIO

    mobile = TrancheFactory(medium="mobile", quota=30_000_000)
    paper = TrancheFactory(medium="paper", quota=30_000_000)
    settings_db = connection.settings_dict
    env = {"PGPASSWORD": settings_db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"}
    for tranche in (mobile, paper):
        out = StringIO()
        call_command("vouchers_pgbench_script", tranche=tranche.pk, face_value=30_000, stdout=out)
        script = tmp_path / f"sale-{tranche.medium}.sql"
        script.write_text(out.getvalue())
        run = subprocess.run(
            ["pgbench", "-n", "-c", "4", "-t", "50", "-f", str(script), "-h", settings_db["HOST"] or "127.0.0.1",
             "-p", str(settings_db["PORT"] or 5432), "-U", settings_db["USER"], settings_db["NAME"]],
            capture_output=True, text=True, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "number of failed transactions: 0" in run.stdout
    mobile.refresh_from_db()
    paper.refresh_from_db()
    assert Purchase.objects.filter(tranche=mobile).count() == mobile.sold // 30_000 == 200
    assert paper.sold == 200 * 30_000 and PaperNote.objects.filter(tranche=paper).count() == 200 * 3
    assert_invariants()


def test_a_keyed_sale_over_http_is_one_statement_and_replays_after_sell_out(make_client, django_assert_num_queries):
    tranche = TrancheFactory(quota=70_000)
    _client, http = make_client("sales_agent")
    body = {"tranche": tranche.pk, "buyer_ci": "CI-KEYED", "face_value": 50_000}
    # warms the API-key cache, the tranche medium and this connection's prepared statement
    warm = http.post("/api/v1/vouchers/purchases/", {**body, "buyer_ci": "CI-WARMUP", "face_value": 10_000},
                     format="json", headers={HEADER: "keyed-0"})
    assert warm.status_code == 201
    with django_assert_num_queries(1):
        first = http.post("/api/v1/vouchers/purchases/", body, format="json", headers={HEADER: "keyed-1"})
    assert first.status_code == 201
    other = http.post("/api/v1/vouchers/purchases/", {**body, "buyer_ci": "CI-OTHER", "face_value": 10_000},
                      format="json", headers={HEADER: "keyed-2"})
    assert other.status_code == 201  # the tranche is now sold out
    replay = http.post("/api/v1/vouchers/purchases/", body, format="json", headers={HEADER: "keyed-1"})
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers.get("Idempotent-Replayed") == "true"
    reused = http.post("/api/v1/vouchers/purchases/", {**body, "face_value": 10_000}, format="json",
                       headers={HEADER: "keyed-1"})
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert Purchase.objects.count() == 3 and Tranche.objects.get().sold == 70_000
    assert_invariants()


@pytest.fixture(params=["sql", "orm"])
def sale_path(request, settings):
    """The one-statement sale (PostgreSQL) or its ORM twin (row lock, re-check, move): both must hold."""
    settings.VOUCHERS_FAST_SQL = request.param == "sql"
    return request.param


def test_one_buyer_12_parallel_purchases_on_the_orm_path_meet_the_monthly_limit(settings):
    # the ORM twin re-checks the limit after locking the usage row; without that re-check every
    # thread passes the first (unlocked) check and the CHECK constraint answers 500s instead
    settings.VOUCHERS_FAST_SQL = False
    tranche = TrancheFactory(quota=100_000_000)
    CitizenFactory(ci="CI-ORM-GREEDY")  # a known buyer: the race is on the usage row, not on the citizen
    results = race(_buy, [(tranche.pk, "CI-ORM-GREEDY", 100_000)] * 12)
    assert sorted(outcomes(results)) == ["monthly_limit_exceeded"] * 9 + ["ok"] * 3, results
    tranche.refresh_from_db()
    assert tranche.sold == 300_000 == MonthlyUsage.objects.get().purchased
    assert Purchase.objects.count() == 3
    assert_invariants()


def test_yearly_cap_holds_under_race_on_both_paths(sale_path):
    # 100,000 bought earlier this year + 12 parallel sales of 50,000 against a 250,000 yearly cap (the
    # monthly limit, 300,000, would admit six): exactly three sell. The cap has no CHECK constraint,
    # so only the locked re-check keeps it.
    LimitPolicyFactory(effective_from=dt.date(2000, 1, 1), monthly_limit=300_000, yearly_limit=250_000)
    # fixed instants, so the earlier month is in the same year whatever day the suite runs on
    earlier, now = dt.datetime(2031, 1, 15, 12, tzinfo=KST), dt.datetime(2031, 3, 10, 12, tzinfo=KST)
    month = months.month_of(now)
    tranche = TrancheFactory(quota=100_000_000, opens_at=dt.datetime(2031, 1, 1, 9, tzinfo=KST),
                             closes_at=dt.datetime(2031, 12, 1, tzinfo=KST))
    CitizenFactory(ci="CI-YEARLY")
    services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="CI-YEARLY", face_value=100_000,
                               channel="zeropay_app", now=earlier)

    def buy_in_march(_):
        return services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="CI-YEARLY", face_value=50_000,
                                          channel="zeropay_app", now=now).id

    results = race(buy_in_march, [(i,) for i in range(12)])
    assert sorted(outcomes(results)) == ["ok"] * 3 + ["yearly_limit_exceeded"] * 9, results
    year_total = MonthlyUsage.objects.filter(month__startswith=month[:4]).aggregate(s=Sum("purchased"))["s"]
    assert year_total == 250_000
    tranche.refresh_from_db()
    assert tranche.sold == 250_000 == sum(Purchase.objects.values_list("face_value", flat=True))
    assert_invariants()
