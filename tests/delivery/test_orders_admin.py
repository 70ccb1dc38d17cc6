"""The orders in the admin: read-only, filtered by operator, status, payment method, month and store."""
import pytest

from delivery import selectors
from tests.delivery.factories import OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/delivery/order/"


@pytest.fixture(autouse=True)
def _fresh_lookups():
    selectors.forget_order_lookups()
    yield
    selectors.forget_order_lookups()


def test_the_order_list_shows_amounts_in_won_filters_and_is_read_only(admin_client, make_operator):
    operator, _http = make_operator("smartro")
    other, _ = make_operator("aramsol")
    chicken, pizza = StoreFactory(name="진주통닭"), StoreFactory(name="진주피자")
    mine = OrderFactory(operator=operator, store=chicken, food_amount=1_234_567, external_id="EXT-CHICKEN")
    OrderFactory(operator=other, store=pizza, payment_method="cash", external_id="EXT-PIZZA")
    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "1,234,567원" in text and "24,691원" in text and "EXT-PIZZA" in text
    for query, shown, hidden in ((f"operator__id__exact={operator.pk}", "EXT-CHICKEN", "EXT-PIZZA"),
                                 ("payment_method__exact=cash", "EXT-PIZZA", "EXT-CHICKEN"),
                                 ("status__exact=cancelled", None, "EXT-CHICKEN"),
                                 (f"month={mine.month}", "EXT-CHICKEN", None),
                                 ("q=통닭", "EXT-CHICKEN", "EXT-PIZZA"),
                                 (f"q={pizza.business_number}", "EXT-PIZZA", "EXT-CHICKEN")):
        body = admin_client.get(f"{CHANGELIST}?{query}").content.decode()
        assert shown is None or shown in body, query
        assert hidden is None or hidden not in body, query
    detail = admin_client.get(f"{CHANGELIST}{mine.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{mine.pk}/delete/", {"post": "yes"}).status_code == 403
