"""Project money: allocations, dated amendments, spending never over a source's allocation (invariant 7),
execution rates and weighted progress."""
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from industrial import selectors, services
from industrial.choices import FundingSource
from industrial.models import Expenditure, Funding, FundingAmendment
from jinju_portal.errors import InvalidInput, RuleViolation
from tests.races import outcomes as race_outcomes
from tests.races import race
from tests.industrial.factories import FundingFactory, MilestoneFactory, ProjectFactory


def spend(funding, amount, ref="doc"):
    return services.record_expenditure(funding=funding, amount=amount, spent_on=date(2021, 6, 1), payee="㈜상평건설",
                                       description="기성금", document_ref=ref)


@pytest.mark.django_db
def test_spending_up_to_the_allocation_is_accepted_and_one_won_more_is_refused():
    funding = FundingFactory(amount=1_000_000)
    spend(funding, 600_000)
    spend(funding, 400_000)
    with pytest.raises(RuleViolation) as refused:
        spend(funding, 1)
    assert refused.value.code == "allocation_exceeded"
    funding.refresh_from_db()
    assert funding.spent == 1_000_000
    assert Expenditure.objects.filter(funding=funding).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [0, -5, True, 1.5, "100", 2**63])
def test_expenditure_amount_must_be_a_positive_whole_won(amount):
    funding = FundingFactory()
    with pytest.raises(InvalidInput):
        spend(funding, amount)
    assert Expenditure.objects.count() == 0


@pytest.mark.django_db
def test_database_check_refuses_spent_over_amount_even_bypassing_the_service():
    funding = FundingFactory(amount=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Funding.objects.filter(pk=funding.pk).update(spent=101)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_expenditures_never_exceed_the_allocation():
    funding = FundingFactory(amount=1_000_000)
    workers = 12
    outcomes = race_outcomes(race(lambda i: spend(funding, 300_000, ref=f"doc-{i}"), [(i,) for i in range(workers)]))
    funding.refresh_from_db()
    assert outcomes.count("ok") == 3
    assert outcomes.count("allocation_exceeded") == workers - 3
    assert funding.spent == 900_000
    assert Expenditure.objects.filter(funding=funding).aggregate(s=Sum("amount"))["s"] == funding.spent


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cutting_an_allocation_while_spending_races_never_leaves_spent_over_amount():
    funding = FundingFactory(amount=1_000_000)

    def cut():
        return services.amend_funding(funding=funding, new_amount=500_000, effective_on=date(2022, 1, 1),
                                      reason="감액")

    cut_outcome, pay_outcome = race_outcomes(race(lambda action: action(), [(cut,), (lambda: spend(funding, 700_000),)]))
    results = {"cut": cut_outcome, "pay": pay_outcome}
    funding.refresh_from_db()
    assert funding.spent <= funding.amount
    # Exactly one of the two wins, whichever came first.
    assert sorted(results.values()) in (["allocation_below_spent", "ok"], ["allocation_exceeded", "ok"])


@pytest.mark.django_db
def test_budget_change_is_a_dated_amendment_with_history_not_an_overwrite():
    project = ProjectFactory()
    funding = services.create_funding(project=project, source=FundingSource.CITY, amount=7_000_000_000,
                                      effective_on=date(2021, 2, 18))
    services.amend_funding(funding=funding, new_amount=8_200_000_000, effective_on=date(2022, 5, 1),
                           reason="자재비 상승에 따른 증액")
    funding.refresh_from_db()
    assert funding.amount == 8_200_000_000
    rows = list(FundingAmendment.objects.filter(funding=funding).values_list("effective_on", "amount_before",
                                                                             "amount_after"))
    assert rows == [(date(2021, 2, 18), 0, 7_000_000_000), (date(2022, 5, 1), 7_000_000_000, 8_200_000_000)]
    assert [h.amount for h in funding.history.order_by("history_date")] == [7_000_000_000, 8_200_000_000]


@pytest.mark.django_db
def test_an_allocation_cannot_be_cut_below_what_was_spent():
    funding = FundingFactory(amount=1_000)
    spend(funding, 800)
    with pytest.raises(RuleViolation) as refused:
        services.amend_funding(funding=funding, new_amount=799, effective_on=date(2022, 1, 1), reason="감액")
    assert refused.value.code == "allocation_below_spent"
    assert FundingAmendment.objects.filter(funding=funding).count() == 0
    services.amend_funding(funding=funding, new_amount=800, effective_on=date(2022, 1, 1), reason="감액")


@pytest.mark.django_db
def test_second_funding_row_for_the_same_source_is_refused():
    project = ProjectFactory()
    services.create_funding(project=project, source="national", amount=1, effective_on=date(2021, 1, 1))
    with pytest.raises(RuleViolation) as refused:
        services.create_funding(project=project, source="national", amount=2, effective_on=date(2021, 1, 1))
    assert refused.value.code == "funding_exists"


@pytest.mark.django_db
def test_execution_rates_per_source_and_total_are_four_place_decimals():
    project = ProjectFactory()
    national = FundingFactory(project=project, source="national", amount=6_600_000_000)
    city = FundingFactory(project=project, source="city", amount=7_000_000_000)
    spend(national, 1_746_720_000)  # 0.264654… → 0.2647
    spend(city, 1_000)
    figures = selectors.project_figures(selectors.projects_with_figures().get(pk=project.pk))
    assert [(f.source, f.execution_rate) for f in figures.funding] == [
        ("national", Decimal("0.2647")), ("city", Decimal("0.0000"))]
    assert figures.budget_total == 13_600_000_000
    assert figures.spent == 1_746_721_000
    assert figures.execution_rate == Decimal("0.1284")


@pytest.mark.django_db
def test_progress_is_the_weighted_mean_of_milestones():
    project = ProjectFactory()
    MilestoneFactory(project=project, weight=10, percent_done=100)
    MilestoneFactory(project=project, weight=30, percent_done=50)
    MilestoneFactory(project=project, weight=60, percent_done=0)
    figures = selectors.project_figures(project)
    assert figures.progress == Decimal("0.2500")  # (1000 + 1500) / 10000


def test_ratio_is_zero_for_an_empty_budget_and_rounds_half_up():
    assert selectors.ratio(0, 0) == Decimal("0.0000")
    assert selectors.ratio(1, 8) == Decimal("0.1250")
    assert selectors.ratio(26_475, 100_000) == Decimal("0.2648")
    assert str(selectors.ratio(1, 1)) == "1.0000"
