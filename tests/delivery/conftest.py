"""Fixtures of the delivery tests: operators with their API keys (each with a 2 % contract)."""
import pytest
from tests.races import race  # noqa: F401  (re-exported for the delivery tests)

from tests.delivery.factories import CommissionContractFactory, OperatorFactory


@pytest.fixture
def make_operator(make_client):
    """make_operator("smartro") -> (Operator, APIClient with a delivery_operator key of it)."""

    def _make(slug=None, **fields):
        operator = OperatorFactory(**({"slug": slug} if slug else {}), **fields)
        if not operator.contracts.exists():
            CommissionContractFactory(operator=operator)
        _client, http = make_client("delivery_operator", operator_slug=operator.slug)
        return operator, http

    return _make


@pytest.fixture
def staff_http(make_client):
    _client, http = make_client("staff")
    return http


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A Korean browser: the pages are Korean first."""
    return {**browser_context_args, "locale": "ko-KR"}
