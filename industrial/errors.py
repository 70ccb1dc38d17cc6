"""Every error code the industrial app answers: the services raise these, the API docs list them."""
from enum import StrEnum

from jinju_portal.errors import documented  # noqa: F401  (re-exported for the API views)


class Code(StrEnum):
    ALLOCATION_BELOW_SPENT = "allocation_below_spent"
    ALLOCATION_EXCEEDED = "allocation_exceeded"
    ALREADY_MEMBER = "already_member"
    ALREADY_REGISTERED = "already_registered"
    ANSWER_REQUIRED = "answer_required"
    ASSIGNEE_REQUIRED = "assignee_required"
    FUNDING_EXISTS = "funding_exists"
    INVALID = "invalid"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_BUSINESS_NUMBER = "invalid_business_number"
    INVALID_TRANSITION = "invalid_transition"
    NO_COPY_AVAILABLE = "no_copy_available"
    NOT_SUPPORT_TEAM_MEMBER = "not_support_team_member"
    NUMBER_UNAVAILABLE = "number_unavailable"
    REGISTRATION_CLOSED = "registration_closed"
    REQUEST_NOT_OPEN = "request_not_open"
    SEATS_BELOW_CONFIRMED = "seats_below_confirmed"
    NOT_FOUND = "not_found"
