"""JSON shapes of the vouchers API (API.md "Vouchers"); strict about types, silent about rules."""
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jinju_portal import bizno
from jinju_portal.errors import ServiceError
from vouchers import inputs, months
from vouchers.choices import ExchangeRefusalReason, Medium
from vouchers.models import Tranche
from vouchers.rules import MAX_BUYER_CI, MAX_EXCHANGE_SERIALS, MAX_NAME, MAX_SERIAL_INPUT


class _Strict(serializers.Field):
    """A field whose every failure (missing, null, wrong type, out of range) carries one domain
    code, so the API answers e.g. 400 `invalid_face_value` rather than a generic `invalid`."""

    code = "invalid"
    message = "올바르지 않습니다."

    def fail_domain(self):
        raise serializers.ValidationError(self.message, code=self.code)

    def validate_empty_values(self, data):
        if data is serializers.empty:
            if self.required:
                self.fail_domain()
            raise serializers.SkipField()
        if data is None:
            if self.allow_null:
                return True, None
            self.fail_domain()
        return False, data

    def to_representation(self, value):
        return value


class _Cleaned(_Strict):
    """A field checked by the shared input cleaner (vouchers/inputs.py), the one copy of the check
    that the services run too; its refusal becomes this field's error with the cleaner's code."""

    cleaner = None

    def to_internal_value(self, data):
        try:
            return type(self).cleaner(data)
        except ServiceError as exc:
            raise serializers.ValidationError(exc.detail, code=exc.code) from None


def _cleaned(name, cleaner, *, code, message, schema_type):
    """A `_Cleaned` field class for one shared cleaner; `message` is for a missing or null value."""
    return extend_schema_field(schema_type)(type(name, (_Cleaned,), {
        "code": code, "message": message, "cleaner": staticmethod(cleaner)}))


BuyerCiField = _cleaned("BuyerCiField", inputs.clean_buyer_ci, code="invalid_buyer", schema_type=OpenApiTypes.STR,
                        message=f"buyer_ci는 1–{MAX_BUYER_CI}자의 인쇄 가능한 문자여야 합니다.")
BuyerNameField = _cleaned("BuyerNameField", inputs.clean_buyer_name, code="invalid_buyer",
                          schema_type=OpenApiTypes.STR, message=f"buyer_name은 {MAX_NAME}자 이하의 인쇄 가능한 문자여야 합니다.")
FaceValueField = _cleaned("FaceValueField", inputs.clean_face_value, code="invalid_face_value",
                          schema_type=OpenApiTypes.INT64, message="face_value는 1원 이상의 정수(원)여야 합니다.")
TrancheIdField = _cleaned("TrancheIdField", inputs.clean_tranche_id, code="invalid_tranche",
                          schema_type=OpenApiTypes.INT64, message="tranche는 있는 발행 회차의 id(정수)여야 합니다.")
QuotaField = _cleaned("QuotaField", inputs.clean_quota, code="invalid_quota", schema_type=OpenApiTypes.INT64,
                      message="quota는 1원 이상 10^15원 이하의 정수여야 합니다.")
BirthYearField = _cleaned("BirthYearField", lambda value: inputs.clean_birth_year(value, timezone.now()),
                          code="invalid_buyer", schema_type=OpenApiTypes.INT,
                          message="buyer_birth_year는 1900년부터 올해 사이의 연도여야 합니다.")


class PurchaseCreateSerializer(serializers.Serializer):
    tranche = TrancheIdField(help_text="tranche id; unknown or non-integer → 400 `invalid_tranche`")
    buyer_ci = BuyerCiField(help_text="identity-verification CI as received, 1–200 printable characters")
    face_value = FaceValueField(help_text="KRW; paper: whole notes (5,000/10,000), mobile: units of 1,000")
    buyer_name = BuyerNameField(required=False, allow_null=True)
    buyer_birth_year = BirthYearField(required=False, allow_null=True,
                                      help_text="needed once per buyer before a 5부제 tranche sells to them")


# The sale and the POS payment are the endpoints that meet a rush: building a Serializer deep-copies
# its fields on every request (0.4 ms each way, measured), so their hot paths validate with
# module-level field instances (same rules, same error shape) and build the answer as a plain dict.
def _body_parser(serializer_class):
    """A function validating a request body like `serializer_class(data=…).is_valid()` would, with the
    serializer's declared fields bound once; it raises the same ValidationError."""
    fields = dict(serializer_class._declared_fields)
    for name, field in fields.items():
        field.bind(name, None)

    def parse(data) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["JSON 객체여야 합니다."]}, code="invalid")
        values, errors = {}, {}
        for name, field in fields.items():
            try:
                values[name] = field.run_validation(data.get(name, serializers.empty))
            except serializers.SkipField:
                continue
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return values

    parse.__doc__ = f"Validate a body like {serializer_class.__name__} would; raise its ValidationError."
    return parse


parse_purchase = _body_parser(PurchaseCreateSerializer)
_CREATED_AT = serializers.DateTimeField()


def created_at_text(value) -> str:
    """`created_at` as every answer shows it (also stored by the keyed sale statement)."""
    return _CREATED_AT.to_representation(value)


def purchase_body(result: dict) -> dict:
    """The API's purchase (API.md) from a PurchaseResult.as_dict() or selectors.purchase_answer()."""
    return {**result, "created_at": _CREATED_AT.to_representation(result["created_at"])}


class PurchaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tranche = serializers.IntegerField()
    medium = serializers.ChoiceField(choices=Medium.choices)
    face_value = serializers.IntegerField()
    price = serializers.IntegerField(help_text="floor(face_value × (1 − discount_rate))")
    status = serializers.CharField(help_text="completed | cancelled")
    created_at = serializers.DateTimeField()
    month = serializers.CharField(help_text="YYYY-MM in Asia/Seoul")
    buyer_month_purchased = serializers.IntegerField()
    buyer_month_remaining = serializers.IntegerField()
    serials = serializers.ListField(child=serializers.CharField(), help_text="paper notes issued; empty for mobile")


class UsageRequestSerializer(serializers.Serializer):
    buyer_ci = BuyerCiField()
    month = serializers.RegexField(months.MONTH_RE.pattern, required=False, help_text="YYYY-MM (default: this month)",
                                   error_messages={"invalid": "YYYY-MM 형식이어야 합니다."})


class UsageSerializer(serializers.Serializer):
    month = serializers.CharField()
    limit = serializers.IntegerField()
    purchased = serializers.IntegerField()
    remaining = serializers.IntegerField()


class PlanSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    medium = serializers.ChoiceField(choices=Medium.choices)
    planned = serializers.IntegerField()
    issued = serializers.IntegerField(help_text="sum of the plan's tranche quotas")
    sold = serializers.IntegerField()


class TrancheSerializer(serializers.ModelSerializer):
    remaining = serializers.IntegerField(read_only=True)
    is_open = serializers.SerializerMethodField()
    discount_rate = serializers.DecimalField(max_digits=5, decimal_places=4, coerce_to_string=True)

    class Meta:
        model = Tranche
        fields = ["id", "name", "medium", "quota", "sold", "remaining", "discount_rate", "opens_at", "closes_at",
                  "is_open", "rotation", "month"]
        read_only_fields = fields

    def get_is_open(self, obj) -> bool:
        return obj.is_open(self.context.get("now"))


class TrancheCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    medium = serializers.ChoiceField(choices=Medium.choices)
    quota = QuotaField(help_text="KRW, 1 to 10^15")
    discount_rate = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal("0"),
                                             max_value=Decimal("0.9999"), default=Decimal("0.1000"))
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    rotation = serializers.BooleanField(default=False, help_text="5부제 for the first five days")


class MerchantDirectorySerializer(serializers.Serializer):
    """One approved merchant in the public directory (API.md). `category` is the category's code
    (filter with ?category=<code>); `category_name` is its Korean name, for display."""

    code = serializers.CharField(help_text="public merchant code, printed on the QR poster (merchant_code)")
    business_number = serializers.SerializerMethodField(help_text="XXX-XX-XXXXX")
    name = serializers.CharField()
    category = serializers.CharField(source="category.code", help_text="category code (the `category` filter)")
    category_name = serializers.CharField(source="category.name", help_text="category name (Korean)")
    dong = serializers.CharField(help_text="읍면동")
    address = serializers.CharField()
    accepts_paper = serializers.BooleanField()
    accepts_mobile = serializers.BooleanField()

    def get_business_number(self, obj) -> str:
        return bizno.format_number(obj.business_number)


# --- wallet, pay codes, payments (API.md "Vouchers") ------------------------------------------------

AmountField = _cleaned("AmountField", inputs.clean_amount, code="invalid_amount", schema_type=OpenApiTypes.INT64,
                       message="amount는 1원 이상의 정수(원)여야 합니다.")
PayCodeField = _cleaned("PayCodeField", inputs.clean_pay_code, code="invalid_pay_code", schema_type=OpenApiTypes.STR,
                        message="pay_code(QR 값 또는 6자리 숫자)가 필요합니다.")
MerchantCodeField = _cleaned("MerchantCodeField", inputs.clean_merchant_code, code="invalid_merchant",
                             schema_type=OpenApiTypes.STR, message="merchant_code(QR 포스터의 가맹점 코드)가 필요합니다.")


class BuyerRequestSerializer(serializers.Serializer):
    buyer_ci = BuyerCiField(help_text="the wallet app's signed-in user, as identity verification gave the CI")


class PayCodeSerializer(serializers.Serializer):
    pay_code = serializers.CharField(source="token", help_text="what the QR encodes (32 characters)")
    short_code = serializers.CharField(help_text="the 6-digit form, typed when a scanner fails")
    expires_at = serializers.DateTimeField(help_text="3 minutes after issue")


class PaymentCreateSerializer(serializers.Serializer):
    pay_code = PayCodeField(help_text="the scanned QR value, or the 6-digit short code")
    amount = AmountField(help_text="KRW, a whole positive number")


class WalletPaymentCreateSerializer(serializers.Serializer):
    buyer_ci = BuyerCiField()
    merchant_code = MerchantCodeField(help_text="the code the merchant's poster QR carries")
    amount = AmountField(help_text="KRW, a whole positive number")


class RefundRequestSerializer(serializers.Serializer):
    amount = AmountField(help_text="KRW to give back, at most what is left of the payment")


parse_payment = _body_parser(PaymentCreateSerializer)


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    approval_number = serializers.CharField(help_text="승인번호 on the receipt (the id, 10 digits)")
    merchant = serializers.CharField(source="merchant.code", help_text="the merchant's code")
    merchant_name = serializers.CharField(source="merchant.name")
    method = serializers.CharField(help_text="pay_code (CPM) | merchant_qr (MPM)")
    amount = serializers.IntegerField()
    refunded = serializers.IntegerField()
    status = serializers.CharField(help_text="paid | partially_refunded | refunded")
    created_at = serializers.DateTimeField()


def payment_body(payment, *, created_at_text: str | None = None) -> dict:
    """PaymentSerializer(payment).data as a plain dict, without building the serializer (the POS hot
    path; a test holds the two equal, and vouchers/db/payments.KEYED_ANSWER stores the same).
    `created_at_text`: the payment's created_at already formatted (created_at_text())."""
    return {"id": payment.pk, "approval_number": payment.approval_number, "merchant": payment.merchant.code,
            "merchant_name": payment.merchant.name, "method": payment.method, "amount": payment.amount,
            "refunded": payment.refunded, "status": payment.status,
            "created_at": created_at_text or _CREATED_AT.to_representation(payment.created_at)}


class ExpiringSerializer(serializers.Serializer):
    amount = serializers.IntegerField(help_text="what is left of one credit")
    expires_at = serializers.DateTimeField()


class WalletEntrySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="purchase | cancel | payment | refund | expiry | adjustment | "
                                                 "balance_refund")
    amount = serializers.IntegerField(help_text="signed KRW")
    balance_after = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    merchant = serializers.SerializerMethodField(help_text="merchant code, for payments and their refunds")

    def get_merchant(self, obj) -> str | None:
        return obj.payment.merchant.code if obj.payment_id else None


class WalletSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    spendable = serializers.IntegerField(help_text="balance less credits past validity not yet debited by the "
                                                   "daily expiry")
    expiring = ExpiringSerializer(many=True, help_text="unspent credits, oldest (soonest expiring) first")
    entries = WalletEntrySerializer(many=True, help_text="the latest 50 ledger lines, newest first")


# --- paper exchange (환전) at the bank counter (API.md "Vouchers") ------------------------------------

ExchangeMerchantField = _cleaned(
    "ExchangeMerchantField", inputs.clean_exchange_merchant, code="invalid_merchant", schema_type=OpenApiTypes.STR,
    message="merchant(가맹점의 사업자등록번호, XXX-XX-XXXXX)가 필요합니다.")
SerialsField = _cleaned(
    "SerialsField", inputs.clean_serials, code="invalid_serials",
    schema_type={"type": "array", "items": {"type": "string", "maxLength": MAX_SERIAL_INPUT},
                 "minItems": 1, "maxItems": MAX_EXCHANGE_SERIALS},
    message=f"serials(일련번호 1–{MAX_EXCHANGE_SERIALS:,}개의 목록)가 필요합니다.")


class ExchangeCreateSerializer(serializers.Serializer):
    merchant = ExchangeMerchantField(help_text="the merchant's business number (XXX-XX-XXXXX or 10 digits); unknown "
                                               "or malformed → 400 `invalid_merchant`")
    serials = SerialsField(help_text=f"the serials handed in, 1–{MAX_EXCHANGE_SERIALS:,}, each trimmed and "
                                     "upper-cased; the same serial twice → 400 `invalid_serials`")


parse_exchange = _body_parser(ExchangeCreateSerializer)


class ExchangeRefusalSerializer(serializers.Serializer):
    serial = serializers.CharField(help_text="as handed in, trimmed and upper-cased")
    reason = serializers.ChoiceField(choices=ExchangeRefusalReason.choices)


class ExchangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    merchant = serializers.CharField(help_text="the merchant's code")
    accepted = serializers.ListField(child=serializers.CharField(), help_text="serials paid, in the order handed in")
    refused = ExchangeRefusalSerializer(many=True, help_text="serials not paid, in the order handed in, each with "
                                                            "its reason; every one is recorded for the fraud review")
    amount = serializers.IntegerField(help_text="KRW: the face values accepted (0 when every serial is refused)")
    created_at = serializers.DateTimeField()


def exchange_body(result: dict) -> dict:
    """The API's exchange from ExchangeResult.as_dict() or selectors.exchange_answer()."""
    return {**result, "created_at": _CREATED_AT.to_representation(result["created_at"])}


# --- balance refunds (잔액 환불) -------------------------------------------------------------------------

def _refund_serials(value):
    return inputs.clean_serials(value, limit=inputs.MAX_REFUND_SERIALS)


RefundSerialsField = _cleaned(
    "RefundSerialsField", _refund_serials, code="invalid_serials",
    schema_type={"type": "array", "items": {"type": "string", "maxLength": MAX_SERIAL_INPUT},
                 "minItems": 1, "maxItems": inputs.MAX_REFUND_SERIALS},
    message=f"serials(일련번호 1–{inputs.MAX_REFUND_SERIALS}개의 목록)가 필요합니다.")


class BalanceRefundRequestSerializer(serializers.Serializer):
    buyer_ci = BuyerCiField(help_text="the citizen asking, as identity verification gave the CI")
    serials = RefundSerialsField(required=False, help_text="paper only: the notes handed in at the counter (1–500 "
                                                     "serials); without it the buyer's mobile wallet is refunded")


class BalanceRefundLineSerializer(serializers.Serializer):
    purchase = serializers.IntegerField(source="purchase_id")
    medium = serializers.CharField(help_text="mobile | paper")
    face_value = serializers.IntegerField(help_text="the purchase's face value")
    used = serializers.IntegerField(help_text="won of it spent (mobile, oldest credits first) or redeemed (paper)")
    face_value_returned = serializers.IntegerField()
    amount_paid_back = serializers.IntegerField(help_text="floor(face_value_returned × (1 − discount rate))")
    payout = serializers.CharField(help_text="gateway: back to the card of the web payment (by the refund task); "
                                             "agent: paid out by the calling sales agent now, owed to it by the city")


class BalanceRefundSerializer(serializers.Serializer):
    face_value_returned = serializers.IntegerField(help_text="face value taken from the wallet or handed in")
    amount_paid_back = serializers.IntegerField(help_text="KRW paid back, summed over the purchases")
    paid_by_agent = serializers.IntegerField(help_text="the part of amount_paid_back the caller pays out now")
    purchases = BalanceRefundLineSerializer(many=True, help_text="one line per purchase refunded")
class SettlementSerializer(serializers.Serializer):
    """A merchant's daily settlement (API.md): amount_due = payments − refunds + exchanged + carried,
    never negative; a negative rest is carry_out, taken into the next settlement's carried."""
    merchant = serializers.CharField(source="merchant.code", help_text="the merchant's code")
    date = serializers.DateField(help_text="the day settled (Asia/Seoul)")
    payments = serializers.IntegerField(help_text="mobile payments received (KRW)")
    refunds = serializers.IntegerField(help_text="refunds given back (positive, KRW)")
    exchanged = serializers.IntegerField(help_text="paper vouchers exchanged (KRW)")
    carried = serializers.IntegerField(help_text="negative balance brought from the settlement before (<= 0)")
    amount_due = serializers.IntegerField(help_text="transferred to the merchant's bank account (>= 0)")
    carry_out = serializers.IntegerField(help_text="negative rest taken to the next settlement (<= 0)")
    pay_on = serializers.DateField(help_text="the next business day (weekends and Korean public holidays skipped)")
    status = serializers.CharField(help_text="calculated | sent | paid")
