"""Looking a payment up by 승인번호: 10 digits, leading zeros optional; another shop's number is
answered exactly as a number that does not exist."""
import re

import pytest

from tests.merchant_web.conftest import pay

pytestmark = [pytest.mark.clock, pytest.mark.usefixtures("at_t0")]


@pytest.mark.django_db
def test_the_number_with_or_without_its_leading_zeros_finds_the_payment(as_cashier, merchant):
    payment = pay(merchant, 12_000)
    for typed in (payment.approval_number, str(payment.pk), f" {payment.approval_number} ",
                  f"{payment.approval_number[:5]}-{payment.approval_number[5:]}"):
        response = as_cashier.get("/merchant/payments/", {"number": typed})
        assert response.status_code == 302 and response["Location"] == f"/merchant/payments/{payment.approval_number}/"
    assert as_cashier.get(f"/merchant/payments/{payment.pk}/").status_code == 200


@pytest.mark.django_db
def test_another_shops_number_and_an_unknown_one_are_answered_alike(as_cashier, other_merchant):
    theirs = pay(other_merchant, 34_000)
    answers = []
    for number in (theirs.approval_number, f"{theirs.pk + 1000:010d}"):
        response = as_cashier.get("/merchant/payments/", {"number": number})
        text = response.content.decode()
        assert response.status_code == 404 and "찾을 수 없습니다" in text and "34,000" not in text
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)  # per response
        answers.append(text.replace(number, "N"))  # the form (and the language switch) echo what was typed
        page = as_cashier.get(f"/merchant/payments/{number}/")
        assert page.status_code == 404 and "결제 내역을 찾을 수 없습니다." in page.content.decode()
    assert answers[0] == answers[1]


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["abc", "12345678901", "0", "12.5"])
def test_a_number_that_cannot_be_one_is_told_so(as_cashier, typed):
    response = as_cashier.get("/merchant/payments/", {"number": typed})
    assert response.status_code == 400 and "승인번호는 10자리까지의 숫자입니다." in response.content.decode()


@pytest.mark.django_db
def test_an_eleven_digit_path_is_no_page(as_cashier):
    assert as_cashier.get("/merchant/payments/12345678901/").status_code == 404
