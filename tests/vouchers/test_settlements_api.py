"""GET /api/v1/vouchers/settlements/: a merchant's POS reads its own, staff all, paginated, and a bad
date is a 400 with its code (API.md)."""
import datetime as dt

import pytest

from tests.vouchers.factories import MerchantFactory
from tests.vouchers.test_settlements import D, NOW, at, build, exchange, pay, refund

URL = "/api/v1/vouchers/settlements/"


@pytest.fixture
def two_days(db):
    shop, other = MerchantFactory(), MerchantFactory()
    p = pay(shop, 30_000, at(D, 10))
    refund(p, 5_000, at(D, 11))
    exchange(shop, 20_000, at(D, 12))
    pay(other, 7_000, at(D, 13))
    pay(shop, 1_000, at(D + dt.timedelta(days=1), 10))
    build(D)
    build(D + dt.timedelta(days=1))
    return shop, other


def test_a_pos_key_reads_its_own_settlements_with_the_documented_fields(two_days, make_client):
    shop, other = two_days
    _, http = make_client("merchant_pos", merchant_business_number=shop.business_number)
    body = http.get(URL).json()
    assert body["count"] == 2 and body["previous"] is None
    assert [r["date"] for r in body["results"]] == ["2026-12-02", "2026-12-01"]
    assert body["results"][1] == {"merchant": shop.code, "date": "2026-12-01", "payments": 30_000, "refunds": 5_000,
                                  "exchanged": 20_000, "carried": 0, "amount_due": 45_000, "carry_out": 0,
                                  "pay_on": "2026-12-02", "status": "calculated"}
    one_day = http.get(URL, {"date": "2026-12-01"}).json()
    assert one_day["count"] == 1 and one_day["results"][0]["merchant"] == shop.code
    assert http.get(URL, {"date": "2026-11-30"}).json()["count"] == 0


def test_staff_read_every_merchants_settlements_page_by_page(two_days, make_client):
    shop, other = two_days
    _, http = make_client("staff")
    body = http.get(URL, {"date": "2026-12-01"}).json()
    assert sorted(r["merchant"] for r in body["results"]) == sorted([shop.code, other.code])
    page = http.get(URL, {"page_size": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "yesterday", "2026-12-1", "", "2026-12-01'--"])
def test_a_bad_date_is_400_invalid_date(two_days, make_client, bad):
    _, http = make_client("staff")
    response = http.get(URL, {"date": bad})
    assert response.status_code == 400 and response.json()["code"] == "invalid_date"


def test_a_sales_agent_key_is_403_and_no_key_is_401(two_days, make_client, api):
    _, http = make_client("sales_agent")
    assert http.get(URL).status_code == 403
    assert api.get(URL).status_code == 401


def test_a_pos_key_of_an_unknown_merchant_reads_nothing(two_days, make_client):
    _, http = make_client("merchant_pos", merchant_business_number="2208162517")
    assert http.get(URL).json()["count"] == 0


def test_the_schema_documents_the_list_and_its_codes(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/vouchers/settlements/"]["get"]
    assert "invalid_date" in operation["responses"]["400"]["description"]
    assert any(p["name"] == "date" for p in operation["parameters"])
