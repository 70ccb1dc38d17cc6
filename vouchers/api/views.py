"""Partner API views of `vouchers`: they parse, call a service or selector, and answer; nothing else."""
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from jinju_portal.api import idempotency
from jinju_portal.api.idempotency import HEADER, idempotent
from jinju_portal.api.permissions import HasRole, api_client
from jinju_portal.api.schema import error_responses
from jinju_portal.errors import ServiceError
from jinju_portal.models import IdempotencyRecord
from vouchers import inputs, selectors, services
from vouchers.api import serializers as s
from vouchers.choices import Channel, Medium
from vouchers.errors import Code, documented
from vouchers.models import Purchase, Tranche

SalesAgent = HasRole("sales_agent")
Staff = HasRole("staff")

# The codes each operation documents come from vouchers.errors.Code, the enum the services raise; the
# Idempotency-Key's own codes are added by the schema from @idempotent (jinju_portal/api/schema.py).
PURCHASE_400 = documented(Code.INVALID_FACE_VALUE, Code.INVALID_BUYER, Code.INVALID_TRANCHE) + (
    ", invalid, malformed_request")
PURCHASE_409 = documented(Code.TRANCHE_NOT_OPEN, Code.NOT_ROTATION_DAY, Code.MONTHLY_LIMIT_EXCEEDED,
                          Code.YEARLY_LIMIT_EXCEEDED, Code.TRANCHE_SOLD_OUT, Code.BUSY)
CANCEL_409 = documented(Code.CANCEL_WINDOW_CLOSED, Code.ALREADY_USED)
DIRECTORY_400 = documented(Code.INVALID_FILTER)
TRANCHE_400 = documented(Code.INVALID_QUOTA, Code.INVALID_PERIOD, Code.INVALID_MEDIUM, Code.INVALID_DISCOUNT_RATE)


def _purchase_body(data) -> dict:
    return s.purchase_body(data)


@extend_schema(
    tags=["vouchers"], summary="Issuance plan of a year by medium",
    parameters=[OpenApiParameter("year", int, description="YYYY (default: this year in Asia/Seoul)")],
    responses={200: s.PlanSerializer(many=True), **error_responses(s400="invalid", s405=True, s429=True)},
)
class PlanListView(APIView):
    def get(self, request):
        raw = request.query_params.get("year")
        if raw is None:
            year = timezone.localdate().year
        elif raw.isascii() and raw.isdigit() and len(raw) == 4 and 2000 <= int(raw) <= 2100:
            year = int(raw)
        else:
            raise ValidationError({"year": ["2000–2100 사이의 네 자리 연도여야 합니다."]})
        return Response(s.PlanSerializer(selectors.plan_progress(year=year), many=True).data)


class TrancheViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    queryset = Tranche.objects.order_by("-opens_at", "-id")
    serializer_class = s.TrancheSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def get_permissions(self):
        return [Staff()] if self.action == "create" else super().get_permissions()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(tags=["vouchers"], summary="List tranches (newest first)",
                   responses={200: s.TrancheSerializer(many=True), **error_responses(s404=True, s429=True)})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(tags=["vouchers"], summary="One tranche with remaining quota and whether it is open now",
                   responses={200: s.TrancheSerializer, **error_responses(s404=True, s429=True)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(tags=["vouchers"], summary="Create a tranche (staff)", request=s.TrancheCreateSerializer,
                   responses={201: s.TrancheSerializer,
                              **error_responses(s400="invalid, malformed_request, " + TRANCHE_400,
                                                s401=True, s403=True, s413=True, s415=True, s429=True)})
    def create(self, request, *args, **kwargs):
        form = s.TrancheCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        tranche = services.create_tranche(**form.validated_data, actor=api_client(request))
        body = s.TrancheSerializer(tranche, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)


class PurchaseCreateView(APIView):
    """A sale by a bank counter (paper → channel `branch`) or a Zeropay app (mobile → `zeropay_app`)."""

    permission_classes = [SalesAgent]

    @extend_schema(
        tags=["vouchers"], summary="Sell vouchers to a buyer", request=s.PurchaseCreateSerializer,
        responses={201: s.PurchaseSerializer,
                   **error_responses(s400=PURCHASE_400, s401=True, s403=True, s409=PURCHASE_409, s413=True,
                                     s415=True, s422=True, s429=True)},
    )
    @idempotent(settle="_sell_keyed")
    def post(self, request):
        return self._sell(request, now=None, claim=None)

    def _sell_keyed(self, request, *, owner, key, request_hash):
        """Same contract as @idempotent, same records, but settled inside the sale statement itself: one
        round trip while the tranche row is locked. Off PostgreSQL: None, the decorator's generic path."""
        if not services.fast_sql():
            return None
        now = timezone.now()
        claim = services.SaleIdempotency(owner=owner, key=key, request_hash=request_hash,
                                         created_at_text=s.created_at_text(now))
        try:
            return self._sell(request, now=now, claim=claim)
        except (ServiceError, ValidationError):
            return _replay_if_answered(owner=owner, key=key, request_hash=request_hash)

    def _sell(self, request, *, now, claim):
        data = s.parse_purchase(request.data)
        medium = services.tranche_medium(data["tranche"])
        result = services.purchase_vouchers(
            tranche_id=data["tranche"], buyer_ci=data["buyer_ci"], face_value=data["face_value"],
            channel=Channel.BRANCH if medium == Medium.PAPER else Channel.ZEROPAY_APP,
            actor=api_client(request), buyer_name=data.get("buyer_name"),
            buyer_birth_year=data.get("buyer_birth_year"), idempotency_key=request.headers.get(HEADER, ""),
            idempotency=claim, now=now)
        body = _purchase_body(result.as_dict()) if claim is None else {
            **result.as_dict(), "created_at": claim.created_at_text}  # the same text, formatted once
        return Response(body, status=status.HTTP_201_CREATED)


def _replay_if_answered(*, owner, key, request_hash):
    """A keyed statement refused (or met its key already answered): when the key has a stored answer
    (a retry, or the same key raced by a twin request), replay it; otherwise re-raise the refusal.
    Call it from an `except` block."""
    record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if record is None or record.status_code is None:
        raise
    return idempotency.replay(owner=owner, key=key, request_hash=request_hash, record=record)


def _own_purchase(request, pk) -> Purchase:
    purchase = Purchase.objects.filter(pk=pk, api_client=api_client(request)).first()
    if purchase is None:
        raise Http404
    return purchase


class PurchaseDetailView(APIView):
    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"], summary="One of this client's purchases (another client's answers 404)",
                   responses={200: s.PurchaseSerializer,
                              **error_responses(s401=True, s403=True, s404=True, s429=True)})
    def get(self, request, pk):
        return Response(_purchase_body(selectors.purchase_answer(_own_purchase(request, pk))))


class PurchaseCancelView(APIView):
    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"], summary="Cancel a purchase within 7 days if unused",
                   request=None,
                   responses={200: s.PurchaseSerializer,
                              **error_responses(s400="malformed_request", s401=True,
                                                s403=True, s404=True, s409=CANCEL_409,
                                                s413=True, s415=True, s422=True, s429=True)})
    @idempotent(required=False)  # a second cancel answers 200 with the cancelled purchase anyway (API.md)
    def post(self, request, pk):
        purchase = services.cancel_purchase(purchase_id=pk, actor=api_client(request))
        return Response(_purchase_body(selectors.purchase_answer(purchase)))


class BuyerUsageView(APIView):
    """POST, not GET: the CI never travels in a URL (API.md)."""

    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"], summary="A buyer's month: limit, purchased, remaining",
                   request=s.UsageRequestSerializer,
                   responses={200: s.UsageSerializer,
                              **error_responses(s400="invalid_buyer, invalid, malformed_request", s401=True,
                                                s403=True, s413=True, s415=True, s429=True)})
    def post(self, request):
        form = s.UsageRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        usage = selectors.buyer_usage(buyer_ci=form.validated_data["buyer_ci"],
                                      month=form.validated_data.get("month"))
        return Response(s.UsageSerializer(usage).data)


@extend_schema(
    tags=["vouchers"], summary="Directory of approved merchants (가맹점 찾기)",
    description=("Approved merchants only. `q` searches the name: Korean, partial and typo-tolerant (PostgreSQL "
                 "pg_trgm); results nearest the typed name come first (the exact name, then names starting "
                 "with it, then names containing it, then by trigram similarity). Without `q`, by name. "
                 "`category` is a category code as the answers carry it."),
    parameters=[
        OpenApiParameter("q", str, description="name or part of it (up to 50 characters)"),
        OpenApiParameter("accepts", str, enum=["paper", "mobile"], description="takes paper or mobile vouchers"),
        OpenApiParameter("category", str, description="category code, e.g. restaurant"),
        OpenApiParameter("dong", str, description="읍면동, e.g. 평거동"),
    ],
    responses={200: s.MerchantDirectorySerializer(many=True),
               **error_responses(s400=DIRECTORY_400, s404=True, s429=True)},
)
class MerchantDirectoryView(generics.ListAPIView):
    serializer_class = s.MerchantDirectorySerializer
    filter_backends = []

    def get_queryset(self):
        filters = inputs.clean_directory_filters(self.request.query_params)
        return selectors.merchant_directory(**filters)

    def list(self, request, *args, **kwargs):
        with selectors.directory_search():  # the count and the page under the directory's pg_trgm thresholds
            return super().list(request, *args, **kwargs)


# --- wallet, pay codes, payments ------------------------------------------------------------------

MerchantPos = HasRole("merchant_pos")
PaymentReader = HasRole("merchant_pos", "sales_agent", "staff")

PAYMENT_400 = documented(Code.INVALID_AMOUNT, Code.INVALID_PAY_CODE) + ", invalid, malformed_request"
PAYMENT_409 = documented(Code.INVALID_PAY_CODE, Code.INSUFFICIENT_BALANCE, Code.MERCHANT_NOT_ACTIVE,
                         Code.MERCHANT_NOT_MOBILE)
WALLET_PAYMENT_400 = documented(Code.INVALID_AMOUNT, Code.INVALID_MERCHANT, Code.INVALID_BUYER) + (
    ", invalid, malformed_request")
WALLET_PAYMENT_409 = documented(Code.INSUFFICIENT_BALANCE, Code.MERCHANT_NOT_ACTIVE, Code.MERCHANT_NOT_MOBILE)
REFUND_409 = documented(Code.REFUND_EXCEEDS_PAYMENT, Code.REFUND_WINDOW_CLOSED)


def _validated(serializer_class, data) -> dict:
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


def _payment_body(payment):
    return s.PaymentSerializer(payment).data


class WalletView(APIView):
    """POST, not GET: the CI never travels in a URL (API.md)."""

    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"], summary="A buyer's mobile wallet: balance, expiring credits, latest entries",
                   request=s.BuyerRequestSerializer,
                   responses={200: s.WalletSerializer,
                              **error_responses(s400="invalid_buyer, invalid, malformed_request", s401=True,
                                                s403=True, s413=True, s415=True, s429=True)})
    def post(self, request):
        data = _validated(s.BuyerRequestSerializer, request.data)
        citizen = selectors.citizen_by_ci(data["buyer_ci"])
        return Response(s.WalletSerializer(selectors.wallet_statement(citizen=citizen)).data)


class PayCodeCreateView(APIView):
    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"], summary="A one-time pay code for the app's signed-in user (CPM)",
                   description="Valid 3 minutes, single use, bound to the buyer's wallet; a new code voids the "
                               "previous one. The app draws `pay_code` as a QR; `short_code` is the 6-digit form.",
                   request=s.BuyerRequestSerializer,
                   responses={201: s.PayCodeSerializer,
                              **error_responses(s400="invalid_buyer, invalid, malformed_request", s401=True,
                                                s403=True, s409="busy", s413=True, s415=True, s429=True)})
    def post(self, request):
        data = _validated(s.BuyerRequestSerializer, request.data)
        code = services.issue_pay_code(buyer_ci=data["buyer_ci"], actor=api_client(request))
        return Response(s.PayCodeSerializer(code).data, status=status.HTTP_201_CREATED)


class PaymentCreateView(APIView):
    permission_classes = [MerchantPos]

    @extend_schema(tags=["vouchers"], summary="Take a payment with the pay code the citizen shows (CPM)",
                   request=s.PaymentCreateSerializer,
                   responses={201: s.PaymentSerializer,
                              **error_responses(s400=PAYMENT_400, s401=True, s403=True, s409=PAYMENT_409, s413=True,
                                                s415=True, s422=True, s429=True)})
    @idempotent(settle="_pay_keyed")
    def post(self, request):
        return self._pay(request, now=None, claim=None)

    def _pay_keyed(self, request, *, owner, key, request_hash):
        """Same contract as @idempotent, same records, settled inside the payment statement itself (one
        round trip, the sale's way). Off PostgreSQL, or for a wallet whose expired credit the ORM twin
        must expire first: None, the decorator's generic path."""
        if not services.fast_sql():
            return None
        now = timezone.now()
        claim = services.PaymentIdempotency(owner=owner, key=key, request_hash=request_hash,
                                            created_at_text=s.created_at_text(now))
        try:
            return self._pay(request, now=now, claim=claim)
        except services.PaymentNotSettled:
            return None
        except (ServiceError, ValidationError):
            return _replay_if_answered(owner=owner, key=key, request_hash=request_hash)

    def _pay(self, request, *, now, claim):
        data = s.parse_payment(request.data)  # the POS hot path: no serializer built per request
        payment = services.pay_with_code(pay_code=data["pay_code"], amount=data["amount"], actor=api_client(request),
                                         idempotency_key=request.headers.get(HEADER, ""), now=now,
                                         idempotency=claim)
        body = s.payment_body(payment, created_at_text=claim and claim.created_at_text)  # the stored text
        return Response(body, status=status.HTTP_201_CREATED)


class WalletPaymentCreateView(APIView):
    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"], summary="Pay a merchant whose QR the citizen scanned (MPM)",
                   request=s.WalletPaymentCreateSerializer,
                   responses={201: s.PaymentSerializer,
                              **error_responses(s400=WALLET_PAYMENT_400, s401=True, s403=True, s409=WALLET_PAYMENT_409,
                                                s413=True, s415=True, s422=True, s429=True)})
    @idempotent
    def post(self, request):
        data = _validated(s.WalletPaymentCreateSerializer, request.data)
        payment = services.pay_merchant(merchant_code=data["merchant_code"], amount=data["amount"],
                                        buyer_ci=data["buyer_ci"], actor=api_client(request),
                                        idempotency_key=request.headers.get(HEADER, ""))
        return Response(_payment_body(payment), status=status.HTTP_201_CREATED)


class PaymentDetailView(APIView):
    permission_classes = [PaymentReader]

    @extend_schema(tags=["vouchers"], summary="One payment (its merchant's POS, the wallet app that made it or "
                                              "issued its pay code; anyone else: 404)",
                   responses={200: s.PaymentSerializer, **error_responses(s401=True, s403=True, s404=True, s429=True)})
    def get(self, request, pk):
        payment = selectors.payment_for(api_client(request), pk)
        if payment is None:
            raise Http404
        return Response(_payment_body(payment))


class PaymentRefundView(APIView):
    permission_classes = [MerchantPos]

    @extend_schema(tags=["vouchers"], summary="Refund part or all of a payment within 30 days",
                   request=s.RefundRequestSerializer,
                   responses={200: s.PaymentSerializer,
                              **error_responses(s400=documented(Code.INVALID_AMOUNT) + ", invalid, malformed_request",
                                                s401=True, s403=True, s404=True, s409=REFUND_409, s413=True, s415=True,
                                                s422=True, s429=True)})
    @idempotent
    def post(self, request, pk):
        data = _validated(s.RefundRequestSerializer, request.data)
        payment = services.refund_merchant_payment(payment_id=pk, amount=data["amount"], actor=api_client(request),
                                                   idempotency_key=request.headers.get(HEADER, ""))
        return Response(_payment_body(payment))


# --- paper exchange (환전) at the bank counter ----------------------------------------------------------

ExchangeReader = HasRole("sales_agent", "staff")
EXCHANGE_400 = documented(Code.INVALID_MERCHANT, Code.INVALID_SERIALS) + ", invalid, malformed_request"
EXCHANGE_DESCRIPTION = (
    "The bank's counter sends the merchant (by business number) and the serials it handed in. Each serial is "
    "accepted (the note is redeemed and paid with the merchant's settlement) or refused, in the order given, for "
    "the first of: `unknown`, `not_issued` (a note of a cancelled purchase), `already_redeemed`, `expired`, "
    "`not_accepted_by_merchant` (the merchant takes no paper, or is not approved now: pending, suspended or "
    "cancelled), `exchange_cap_exceeded` (the note would take the merchant past its monthly exchange cap for the "
    "calendar month in Asia/Seoul; notes are taken in the order given while each still fits). Every refusal is "
    "recorded for the fraud review; a request whose every serial is refused still answers 201 with `amount: 0`. "
    "A serial is paid at most once, whichever bank sends it and however many at once. Serials are trimmed and "
    "upper-cased; the same serial twice in one request is 400 `invalid_serials` and writes nothing.")


class ExchangeCreateView(APIView):
    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"], summary="Exchange the paper notes a merchant handed in (환전)",
                   description=EXCHANGE_DESCRIPTION, request=s.ExchangeCreateSerializer,
                   responses={201: s.ExchangeSerializer,
                              **error_responses(s400=EXCHANGE_400, s401=True, s403=True, s413=True, s415=True,
                                                s422=True, s429=True)})
    @idempotent
    def post(self, request):
        data = s.parse_exchange(request.data)
        result = services.exchange_notes(merchant_business_number=data["merchant"], serials=data["serials"],
                                         actor=api_client(request), idempotency_key=request.headers.get(HEADER, ""))
        return Response(s.exchange_body(result.as_dict()), status=status.HTTP_201_CREATED)


class ExchangeDetailView(APIView):
    permission_classes = [ExchangeReader]

    @extend_schema(tags=["vouchers"], summary="One exchange, as its POST answered (the bank that sent it, or staff; "
                                              "anyone else: 404)",
                   responses={200: s.ExchangeSerializer, **error_responses(s401=True, s403=True, s404=True,
                                                                           s429=True)})
    def get(self, request, pk):
        exchange = selectors.exchange_for(api_client(request), pk)
        if exchange is None:
            raise Http404
        return Response(s.exchange_body(selectors.exchange_answer(exchange)))
BALANCE_REFUND_400 = documented(Code.INVALID_BUYER, Code.INVALID_SERIALS) + ", invalid, malformed_request"
BALANCE_REFUND_409 = documented(Code.REFUND_THRESHOLD_NOT_MET, Code.NOTHING_TO_REFUND)


class BalanceRefundView(APIView):
    """잔액 환불: the unspent rest of the buyer's mostly used purchases (API.md "balance refund")."""

    permission_classes = [SalesAgent]

    @extend_schema(tags=["vouchers"],
                   summary="Refund the unspent rest of a buyer's purchases once the policy's share is used",
                   description="Without `serials`: the buyer's mobile wallet, every purchase whose spent share of "
                               "face value reached the refund ratio of the policy of its month (0.60 by default); "
                               "credits are spent oldest first. With `serials`: those paper notes, handed in at the "
                               "counter. `amount_paid_back` = floor(rest × (1 − the purchase's discount rate)); "
                               "purchases paid on the web go back to their card (`payout: gateway`), the others are "
                               "paid out by the caller now (`payout: agent`, `paid_by_agent`). Quota and month usage "
                               "are never given back.",
                   request=s.BalanceRefundRequestSerializer,
                   responses={201: s.BalanceRefundSerializer,
                              **error_responses(s400=BALANCE_REFUND_400, s401=True, s403=True, s409=BALANCE_REFUND_409,
                                                s413=True, s415=True, s422=True, s429=True)})
    @idempotent
    def post(self, request):
        data = _validated(s.BalanceRefundRequestSerializer, request.data)
        key = request.headers.get(HEADER, "")
        if "serials" in data:
            result = services.refund_paper_balance(serials=data["serials"], buyer_ci=data["buyer_ci"],
                                                   actor=api_client(request), idempotency_key=key)
        else:
            result = services.refund_balance(buyer_ci=data["buyer_ci"], actor=api_client(request), idempotency_key=key)
        return Response(s.BalanceRefundSerializer(result).data, status=status.HTTP_201_CREATED)
# --- daily settlements (정산) -------------------------------------------------------------------------

SettlementReader = HasRole("merchant_pos", "staff")


@extend_schema(
    tags=["vouchers"], summary="Daily merchant settlements: a merchant's POS its own, staff all (newest day first)",
    parameters=[OpenApiParameter("date", str, description="YYYY-MM-DD (Asia/Seoul): one day only")],
    responses={200: s.SettlementSerializer(many=True),
               **error_responses(s400=documented(Code.INVALID_DATE), s401=True, s403=True, s404=True, s429=True)},
)
class SettlementListView(generics.ListAPIView):
    permission_classes = [SettlementReader]
    serializer_class = s.SettlementSerializer
    filter_backends = []

    def get_queryset(self):
        raw = self.request.query_params.get("date")
        day = None if raw is None else inputs.clean_settlement_date(raw)
        return selectors.settlements_for(api_client(self.request), date=day)
