"""Fixtures of the industrial tests."""
import pytest


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A Korean browser: the pages are Korean first, and Chromium would otherwise ask for English."""
    return {**browser_context_args, "locale": "ko-KR"}
