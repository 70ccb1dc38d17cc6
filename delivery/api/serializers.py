"""JSON shapes of the delivery API (API.md "Delivery"); strict about types, silent about rules: the
domain checks are the shared cleaners (delivery/inputs.py) the services run."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from delivery import inputs, selectors
from delivery.choices import OrderStatus, PaymentMethod
from delivery.errors import MESSAGES
from delivery.models import EXTERNAL_ID_MAX
from jinju_portal import bizno
from jinju_portal.errors import ServiceError


class OperatorSerializer(serializers.Serializer):
    """Reads a row of selectors.operators_overview."""

    slug = serializers.CharField()
    name = serializers.CharField()
    brands = serializers.ListField(child=serializers.CharField(), help_text="names of the brands it runs (maybe none)")
    commission_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True,
                                               help_text='the rate in force today (Asia/Seoul), e.g. "0.0200"')
    status = serializers.CharField(help_text="active, suspended or withdrawn")


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else (DRF's CharField would turn 2208162517 or true into text)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class BusinessNumberField(serializers.Field):
    """Checked by the shared cleaner, so a wrong one answers 400 invalid_business_number."""

    default_error_messages = {"required": MESSAGES["invalid_business_number"]}

    def to_internal_value(self, data):
        try:
            return inputs.clean_business_number(data)
        except ServiceError as exc:
            raise serializers.ValidationError(exc.detail, code=exc.code) from None

    def to_representation(self, value):
        return value


class StoreApplicationSerializer(serializers.Serializer):
    """The body of POST stores/: shapes here; the cleaners decide (400 with the API.md codes)."""

    business_number = BusinessNumberField(help_text="XXX-XX-XXXXX or 10 digits (check digit verified)")
    # blank or too long is the cleaners' 400 (invalid_store_info, invalid_category), not DRF's
    name = StrictCharField(max_length=1000, allow_blank=True, trim_whitespace=False, help_text="1–100 characters")
    category = StrictCharField(max_length=1000, allow_blank=True,
                               help_text="a category code (chicken) or its Korean name (치킨)")
    address = StrictCharField(max_length=1000, allow_blank=True, trim_whitespace=False,
                              help_text="road address in Jinju; its 읍/면/동 becomes `dong`")
    phone = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")
    brand = StrictCharField(max_length=100, required=False, allow_null=True, allow_blank=True, default=None,
                            help_text="one of the applying operator's brands, or none")


class StoreSerializer(serializers.Serializer):
    """A store (its id is what orders and statements refer to). `brands` are the brands it is listed
    under, `operators` the slugs of the operators that list it."""

    id = serializers.IntegerField()
    business_number = serializers.SerializerMethodField(help_text="XXX-XX-XXXXX")
    name = serializers.CharField()
    category = serializers.CharField(help_text="category code")
    dong = serializers.CharField(help_text="읍면동 (from the address; empty when it names none)")
    address = serializers.CharField()
    phone = serializers.CharField()
    status = serializers.CharField(help_text="pending, approved, suspended or withdrawn")
    brands = serializers.SerializerMethodField()
    operators = serializers.SerializerMethodField()

    def get_business_number(self, obj) -> str:
        return bizno.format_number(obj.business_number)

    def get_brands(self, obj) -> list[str]:
        return selectors.store_brands(obj)

    def get_operators(self, obj) -> list[str]:
        return selectors.store_operators(obj)


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


class StatementSerializer(serializers.Serializer):
    """One operator's month at one store (API.md); `adjustments` is commission of earlier months'
    orders changed after their close (cancels negative; late reports positive, our addition)."""
    store = serializers.IntegerField(source="store_id", help_text="the store's id")
    month = serializers.CharField(help_text="YYYY-MM (Asia/Seoul)")
    status = serializers.CharField(help_text="draft (the month is still open: figures move) | issued (final)")
    order_count = serializers.IntegerField()
    food_total = serializers.IntegerField(help_text="KRW, the delivery fee not included")
    commission = serializers.IntegerField(help_text="KRW: the sum of each order's floor(food × rate)")
    commercial_commission_low = serializers.IntegerField(help_text="floor(food_total × 6 %)")
    commercial_commission_high = serializers.IntegerField(help_text="floor(food_total × 12 %)")
    saved_low = serializers.IntegerField(help_text="commercial_commission_low − commission")
    saved_high = serializers.IntegerField(help_text="commercial_commission_high − commission")
    adjustments = serializers.IntegerField(help_text="KRW of commission: − late cancels, + late reports")
    adjustment_count = serializers.IntegerField()


class SavingsSerializer(serializers.Serializer):
    month = serializers.CharField()
    order_count = serializers.IntegerField()
    food_total = serializers.IntegerField()
    commission = serializers.IntegerField(help_text="commission the stores paid (KRW)")
    saved_low = serializers.IntegerField(help_text="what 6 % apps would have charged, less commission")
    saved_high = serializers.IntegerField(help_text="what 12 % apps would have charged, less commission")
