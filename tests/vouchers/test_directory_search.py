"""The directory's search plans (bench/directory.py measures them): pg_trgm's comparisons costed as
what they cost, short searches that never evaluate the trigram operators on every row, and the
results those plans give."""
import json

import pytest
from django.db import connection

from tests.vouchers.factories import MerchantCategoryFactory, MerchantFactory
from vouchers import selectors

pytestmark = [pytest.mark.django_db]
DIRECTORY = "/api/v1/vouchers/merchants/"


def _names(response):
    assert response.status_code == 200, response.content
    return [r["name"] for r in response.json()["results"]]


def test_the_trigram_comparisons_are_costed_100_times_an_equality():
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname, procost FROM pg_proc WHERE proname IN ('similarity_op', "
                       "'word_similarity_op', 'word_similarity_commutator_op', 'similarity', 'word_similarity')")
        costs = dict(cursor.fetchall())
    assert costs == {"similarity_op": 100, "word_similarity_op": 100, "word_similarity_commutator_op": 100,
                     "similarity": 100, "word_similarity": 100}


def test_approved_merchants_have_a_name_ordered_index_for_the_pages():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'merchant_directory_name'")
        (definition,) = cursor.fetchone()
    assert "(name, id)" in definition and "'approved'" in definition


def test_the_trigram_index_has_no_pending_list_for_searches_to_read():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'merchant_name_trgm'")
        (options,) = cursor.fetchone()
    assert options == ["fastupdate=off"]


def test_two_syllables_are_found_in_the_middle_of_a_word_and_four_with_a_typo(api):
    food = MerchantCategoryFactory(code="restaurant", name="일반음식점")
    MerchantFactory(name="중앙시장돼지국밥", category=food)
    MerchantFactory(name="할매국밥집", category=food)
    MerchantFactory(name="남강카페", category=food)
    assert sorted(_names(api.get(DIRECTORY, {"q": "국밥"}))) == ["중앙시장돼지국밥", "할매국밥집"]
    assert _names(api.get(DIRECTORY, {"q": "앙시"})) == ["중앙시장돼지국밥"]  # no trigram of its own
    assert _names(api.get(DIRECTORY, {"q": "할매국빱집"}))[0] == "할매국밥집"
    assert _names(api.get(DIRECTORY, {"q": "국밥", "dong": "없는동"})) == []


class _Quiet:
    def created(self, text):
        pass

    def step(self, text):
        pass


@pytest.fixture
def town(db):
    """The demo town (seed_demo's 8,500 approved merchants), analyzed as autovacuum would after the
    load: with a handful of rows any plan is a seq scan, at the city's size the plan matters."""
    from vouchers import seed_merchants

    seed_merchants.run(_Quiet())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE vouchers_merchant")


def _plan_nodes(q):
    """The executed plan's nodes of the directory's page query for `q` (EXPLAIN ANALYZE)."""
    with selectors.directory_search():
        sql, params = selectors.merchant_directory(q=q)[:50].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)

    def walk(node):
        yield node
        for child in node.get("Plans", []):
            yield from walk(child)

    return list(walk(plan[0]["Plan"]))


def _trigram_tests(node) -> bool:
    condition = node.get("Filter", "") + node.get("Recheck Cond", "")
    return " % " in condition or " %> " in condition


def test_no_search_evaluates_the_trigram_operators_on_every_row(town):
    """The operators cost ~1 µs a row: they run on the index's candidates, never on all 8,500 rows
    (a Seq Scan filtering by them, or a BitmapOr whose two-syllable LIKE fetched every row)."""
    for q in ("국밥", "카", "남강", "진주싱당", "행복미용실", "비봉약굮"):
        nodes = _plan_nodes(q)
        for node in filter(_trigram_tests, nodes):
            evaluated = node["Actual Rows"] + node.get("Rows Removed by Filter", 0) + node.get(
                "Rows Removed by Index Recheck", 0)
            assert evaluated < 2_000, (q, node["Node Type"], evaluated)
        assert any(node.get("Index Name") == "merchant_name_trgm" for node in nodes), q


def test_the_short_and_long_plans_list_the_merchants_nearest_first(api, town):
    from vouchers.models import Merchant

    name = Merchant.objects.filter(name__regex=r"^[가-힣]{4}$").order_by("id").values_list("name", flat=True)[0]
    slip = name[:-1] + chr(ord(name[-1]) + 1)  # another final consonant on the last syllable
    assert _names(api.get(DIRECTORY, {"q": name}))[0] == name
    assert name in _names(api.get(DIRECTORY, {"q": slip}))[:3]
    short = _names(api.get(DIRECTORY, {"q": name[:2], "page_size": 500}))
    assert short and all(found.startswith(name[:2]) for found in short[:10])  # prefixes before the rest
