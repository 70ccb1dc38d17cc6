"""A service's refusal lands on a form where the person filling it can see it."""
from django import forms

from jinju_portal.errors import RuleViolation
from jinju_portal.forms import add_service_error


class AmountForm(forms.Form):
    amount = forms.IntegerField()


def test_refusal_naming_a_field_of_the_form_goes_under_that_field():
    form = AmountForm(data={"amount": "5"})
    assert form.is_valid()
    add_service_error(form, RuleViolation("allocation_exceeded", "배정액을 초과합니다.", {"amount": ["남은 배정액 3원"]}))
    assert form.errors == {"amount": ["남은 배정액 3원"]}


def test_refusal_naming_no_field_of_the_form_goes_above_it():
    form = AmountForm(data={"amount": "5"})
    assert form.is_valid()
    add_service_error(form, RuleViolation("sold_out", "매진되었습니다.", {"quota": ["0원 남음"]}))
    assert form.non_field_errors() == ["매진되었습니다."]
