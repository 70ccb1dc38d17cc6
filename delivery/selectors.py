"""Reads of the delivery app that need more than a one-line query."""
from delivery.models import Operator
from jinju_portal import actors


def operator_of(actor) -> Operator | None:
    """The operator a delivery_operator key belongs to (ApiClient.operator_slug), or None. Every
    operator-facing read and write starts here: an operator sees only its own stores, orders and
    statements, and anything else answers 404 (API.md)."""
    client = actors.client_of(actor)
    if client is None or not client.operator_slug:
        return None
    return Operator.objects.filter(slug=client.operator_slug).first()
