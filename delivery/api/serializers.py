"""JSON shapes of the delivery API (API.md "Delivery"): types and shapes only; the domain checks are
delivery/inputs.py's cleaners, which the services run."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from delivery.choices import OrderStatus, PaymentMethod
from delivery.models import EXTERNAL_ID_MAX

# --- orders ------------------------------------------------------------------------------------------

_DATETIME = serializers.DateTimeField()


class OrderCreateSerializer(serializers.Serializer):
    """The documented body of POST orders/ (the service's cleaners check it: delivery/inputs.py)."""

    store = serializers.IntegerField(help_text="the store's id; unknown or not listed with this operator → 400 "
                                               "`invalid_store`")
    external_id = serializers.CharField(max_length=EXTERNAL_ID_MAX,
                                        help_text="the operator's own order id, 1–100 printable characters; the key "
                                                  "of replays")
    food_amount = serializers.IntegerField(min_value=1, help_text="KRW, the commission base")
    delivery_fee = serializers.IntegerField(min_value=0, help_text="KRW, never commissionable")
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    ordered_at = serializers.DateTimeField(help_text="ISO 8601 with offset; not in the future (5 minutes' skew), "
                                                     "not older than DELIVERY_MAX_ORDER_AGE_DAYS (90)")
    pay_code = serializers.CharField(required=False, allow_null=True,
                                     help_text="jinju_love only: the citizen's one-time pay code (QR value or 6 "
                                               "digits); debits food_amount + delivery_fee")


class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


@extend_schema_field(OpenApiTypes.STR)
class _RateField(serializers.Field):
    def to_representation(self, value):
        return f"{value:.4f}"


class OrderSerializer(serializers.Serializer):
    """An order (API.md), for the schema; answers are built by `order_body`."""

    id = serializers.IntegerField()
    store = serializers.IntegerField()
    external_id = serializers.CharField()
    food_amount = serializers.IntegerField()
    delivery_fee = serializers.IntegerField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    ordered_at = serializers.DateTimeField()
    status = serializers.CharField(help_text=" | ".join(OrderStatus.values))
    commission_rate = _RateField(help_text='decimal string, e.g. "0.0200": the rate of the order\'s day, copied in')
    commission = serializers.IntegerField(help_text="floor((food_amount − commission_waived) × commission_rate)")
    commission_waived = serializers.IntegerField(help_text="food covered by a promotional waiver (no commission)")
    cancelled_at = serializers.DateTimeField(allow_null=True)


def order_body(order) -> dict:
    """The API's order as a plain dict (the report is the operators' hot path: no serializer built)."""
    return {
        "id": order.pk, "store": order.store_id, "external_id": order.external_id,
        "food_amount": order.food_amount, "delivery_fee": order.delivery_fee,
        "payment_method": order.payment_method, "ordered_at": _DATETIME.to_representation(order.ordered_at),
        "status": order.status, "commission_rate": f"{order.commission_rate:.4f}", "commission": order.commission,
        "commission_waived": order.commission_waived,
        "cancelled_at": _DATETIME.to_representation(order.cancelled_at) if order.cancelled_at else None,
    }
