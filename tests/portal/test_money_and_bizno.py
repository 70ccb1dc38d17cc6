"""Money is integer KRW floored to the won; business numbers carry a check digit (FACTS.md)."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinju_portal import bizno
from jinju_portal.money import apply_rate, discounted_price, floor_won, format_krw, to_rate


@pytest.mark.parametrize("face,rate,price", [
    (5000, "0.0333", 4833),      # API.md's example
    (300000, "0.10", 270000),
    (10000, "0.07", 9300),
    (1000, "0.0001", 999),       # 999.9 floors, never rounds up
    (5000, "0", 5000),
])
def test_discounted_price_floors_to_the_won(face, rate, price):
    assert discounted_price(face, rate) == price


def test_commission_floors_to_the_won():
    assert apply_rate(12345, "0.02") == 246  # 246.9
    assert apply_rate(99, Decimal("0.02")) == 1


def test_floats_never_touch_money():
    with pytest.raises(TypeError):
        to_rate(0.1)


@given(st.integers(min_value=0, max_value=10**15), st.decimals(min_value=0, max_value=1, places=4))
def test_price_is_never_more_than_face_and_never_negative(face, rate):
    price = discounted_price(face, rate)
    assert isinstance(price, int) and 0 <= price <= face
    assert price == floor_won(Decimal(face) * (1 - rate))


def test_format_krw():
    assert format_krw(300000) == "300,000원"
    assert format_krw(0) == "0원"
    assert format_krw(None) == ""


def test_krw_template_filter_is_builtin():
    from django.template import engines

    assert engines["django"].from_string("{{ v|krw }}").render({"v": 1234567}) == "1,234,567원"
    assert engines["django"].from_string("{{ v|krw }}").render({"v": "x"}) == ""


@pytest.mark.parametrize("number", ["220-81-62517", "124-81-00998", "2208162517", " 124 81 00998 "])
def test_published_example_numbers_are_valid(number):
    assert bizno.is_valid(number)


@pytest.mark.parametrize("number", ["220-81-62518", "22081625", "220-81-6251a", "", "２２０８１６２５１７",
                                    "220-81-625170", None])
def test_wrong_numbers_are_refused(number):
    assert not bizno.is_valid(number)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_fits_every_nine_digits(first_nine):
    valid = [d for d in "0123456789" if bizno.is_valid(first_nine + d)]
    assert valid == [str(bizno.check_digit(first_nine))]


def test_format_number():
    assert bizno.format_number("2208162517") == "220-81-62517"
