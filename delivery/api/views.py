"""Partner API views of `delivery`: they parse, call a service or selector, and answer; nothing else."""
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery import inputs, selectors, services
from delivery.api import serializers as s
from delivery.choices import OrderStatus
from delivery.errors import Code, documented, refuse
from jinju_portal.api.permissions import HasRole, api_client
from jinju_portal.api.schema import error_responses
from vouchers import months


Operator = HasRole("delivery_operator")
Staff = HasRole("staff")

APPLY_400 = documented(Code.INVALID_BUSINESS_NUMBER, Code.INVALID_STORE_INFO, Code.INVALID_CATEGORY,
                       Code.INVALID_BRAND) + ", invalid, malformed_request"
APPLY_409 = documented(Code.OPERATOR_NOT_ACTIVE)
APPROVE_409 = documented(Code.STORE_STATUS_CONFLICT)
DIRECTORY_400 = documented(Code.INVALID_BRAND, Code.INVALID_CATEGORY, Code.INVALID_STORE_INFO)


def _operator(request):
    operator = selectors.operator_of(api_client(request))
    if operator is None:  # a delivery_operator key whose operator is not registered
        raise Http404
    return operator


@extend_schema(tags=["delivery"], summary="The operators, their brands and the commission rate in force today",
               responses={200: s.OperatorSerializer(many=True), **error_responses(s429=True)})
class OperatorListView(APIView):
    def get(self, request):
        rows = selectors.operators_overview(day=months.seoul(timezone.now()).date())
        return Response(s.OperatorSerializer(rows, many=True).data)


class StoreListCreateView(generics.ListAPIView):
    """An operator's stores (those it lists) and its applications."""

    permission_classes = [Operator]
    serializer_class = s.StoreSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.operator_stores(_operator(self.request))

    @extend_schema(tags=["delivery"], summary="The stores this operator lists (paginated, by id)",
                   responses={200: s.StoreSerializer(many=True),
                              **error_responses(s401=True, s403=True, s404=True, s429=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["delivery"], summary="Apply for a store (or add this operator's listing to it)",
        description=("A store is one business number. A new business: 201, a pending store. A business already "
                     "registered by another operator: 201 with the same `id`, this operator's listing added (the "
                     "store's fields never change). The same operator again: 200, the store unchanged."),
        request=s.StoreApplicationSerializer,
        responses={201: s.StoreSerializer, 200: s.StoreSerializer,
                   **error_responses(s400=APPLY_400, s401=True, s403=True, s409=APPLY_409, s413=True, s415=True,
                                     s429=True)})
    def post(self, request):
        form = s.StoreApplicationSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = services.apply_for_store(actor=api_client(request), **form.validated_data)
        store = selectors.operator_store(selectors.operator_of(api_client(request)), result.store.pk)
        return Response(s.StoreSerializer(store).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


@extend_schema(tags=["delivery"], summary="One of this operator's stores (another operator's: 404)",
               responses={200: s.StoreSerializer, **error_responses(s401=True, s403=True, s404=True, s429=True)})
class StoreDetailView(APIView):
    permission_classes = [Operator]

    def get(self, request, pk):
        store = selectors.operator_store(_operator(request), int(pk))
        if store is None:
            raise Http404
        return Response(s.StoreSerializer(store).data)


@extend_schema(tags=["delivery"], summary="Approve a pending store (city staff)", request=None,
               responses={200: s.StoreSerializer,
                          **error_responses(s401=True, s403=True, s404=True, s409=APPROVE_409, s429=True)})
class StoreApproveView(APIView):
    permission_classes = [Staff]

    def post(self, request, pk):
        store = services.approve_store(store_id=int(pk), actor=api_client(request))
        store = selectors.store_with_listings(store.pk)
        return Response(s.StoreSerializer(store).data)


@extend_schema(
    tags=["delivery"], summary="Directory of approved stores (public)",
    parameters=[
        OpenApiParameter("brand", str, description="brand name, e.g. 배달의 진주"),
        OpenApiParameter("category", str, description="category code (chicken) or Korean name (치킨)"),
        OpenApiParameter("dong", str, description="읍면동, e.g. 평거동"),
        OpenApiParameter("q", str, description="name or part of it (up to 50 characters)"),
    ],
    responses={200: s.StoreSerializer(many=True), **error_responses(s400=DIRECTORY_400, s404=True, s429=True)},
)
class DirectoryView(generics.ListAPIView):
    serializer_class = s.StoreSerializer
    filter_backends = []

    def get_queryset(self):
        filters = inputs.clean_directory_filters(self.request.query_params, brands=selectors.brand_names())
        return selectors.directory(**filters)



# --- orders ------------------------------------------------------------------------------------------

ORDER_400 = documented(Code.INVALID_STORE, Code.INVALID_EXTERNAL_ID, Code.INVALID_AMOUNT, Code.INVALID_PAYMENT_METHOD,
                       Code.INVALID_PAY_CODE, Code.INVALID_ORDERED_AT, Code.INVALID_CONTRACT) + ", malformed_request"
ORDER_409 = documented(Code.DUPLICATE_EXTERNAL_ID, Code.OPERATOR_NOT_ACTIVE, Code.STORE_NOT_ACTIVE,
                       Code.STORE_NOT_VOUCHER_MERCHANT, Code.INVALID_PAY_CODE, Code.INSUFFICIENT_BALANCE, Code.BUSY)
ORDER_DESCRIPTION = (
    "Counted once per (operator, `external_id`): the same `external_id` again with the same body answers 200 with "
    "the first order and changes nothing (no Idempotency-Key: the external id is the key); with another body 409 "
    "`duplicate_external_id`. `pay_code` is not part of that comparison (it is single use). The rate of the "
    "operator's contract in force on the order's Asia/Seoul day is copied in; `commission` = floor((food_amount − "
    "commission_waived) × commission_rate), the delivery fee never in the base. `jinju_love` takes the citizen's "
    "`pay_code` and debits the wallet by food_amount + delivery_fee, paid to the store's Jinju Love merchant, in "
    "the same transaction as the order: a refusal creates no order. 400 `invalid_pay_code`: missing for "
    "jinju_love, sent for card or cash, or not shaped like a code; 409 `invalid_pay_code`: unknown, expired or "
    "used. 400 `invalid_store`: unknown, or without this operator's listing.")


def _order_answer(order, *, created=False) -> Response:
    return Response(s.order_body(order), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderListCreateView(generics.ListAPIView):
    """POST: report an order; GET: the operator's orders, paginated ({count, next, previous, results})."""

    permission_classes = [Operator]
    serializer_class = s.OrderSerializer
    filter_backends = []

    @extend_schema(tags=["delivery"], summary="Report an order the operator's app took", description=ORDER_DESCRIPTION,
                   request=s.OrderCreateSerializer,
                   responses={201: s.OrderSerializer, 200: s.OrderSerializer,
                              **error_responses(s400=ORDER_400, s401=True, s403=True, s404="not_found",
                                                s409=ORDER_409, s413=True, s415=True, s429=True)})
    def post(self, request):
        data = request.data  # the parser answers 400 for anything but a JSON object
        order, created = services.report_order(
            actor=api_client(request), store=data.get("store"), external_id=data.get("external_id"),
            food_amount=data.get("food_amount"), delivery_fee=data.get("delivery_fee"),
            payment_method=data.get("payment_method"), ordered_at=data.get("ordered_at"),
            pay_code=data.get("pay_code"))
        return _order_answer(order, created=created)

    @extend_schema(tags=["delivery"], summary="The operator's orders, newest first",
                   parameters=[OpenApiParameter("month", str, description="YYYY-MM (Asia/Seoul)"),
                               OpenApiParameter("status", str, enum=OrderStatus.values)],
                   responses={200: s.OrderSerializer(many=True),
                              **error_responses(s400=documented(Code.INVALID_MONTH, Code.INVALID), s401=True,
                                                s403=True, s404=True, s429=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        month = self.request.query_params.get("month")
        state = self.request.query_params.get("status")
        if month is not None and not months.is_month(month):
            raise refuse("invalid_month", on="month")
        if state is not None and state not in OrderStatus.values:
            raise refuse("invalid", on="status")
        return selectors.orders_of(api_client(self.request), month=month, status=state)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([s.order_body(order) for order in page])


class OrderDetailView(APIView):
    permission_classes = [Operator]

    @extend_schema(tags=["delivery"], summary="One of the operator's orders (another operator's answers 404)",
                   responses={200: s.OrderSerializer, **error_responses(s401=True, s403=True, s404=True, s429=True)})
    def get(self, request, pk):
        order = selectors.own_order(api_client(request), pk)
        if order is None:
            raise Http404
        return _order_answer(order)


class OrderCancelView(APIView):
    permission_classes = [Operator]

    @extend_schema(tags=["delivery"], summary="Cancel one of the operator's orders",
                   description="Idempotent: a second cancel answers 200 with the cancelled order. A jinju_love "
                               "order's food_amount + delivery_fee goes back to the citizen's wallet in the same "
                               "transaction. Allowed for a suspended or wound-down operator.",
                   request=s.OrderCancelSerializer,
                   responses={200: s.OrderSerializer,
                              **error_responses(s400=documented(Code.INVALID_REASON) + ", malformed_request",
                                                s401=True, s403=True, s404=True, s413=True, s415=True, s429=True)})
    def post(self, request, pk):
        order = services.cancel_order(actor=api_client(request), order_id=pk, reason=request.data.get("reason"))
        return _order_answer(order)


StatementReader = HasRole("delivery_operator", "staff")


@extend_schema(
    tags=["delivery"], summary="Monthly statements: an operator its own (staff all), newest month first",
    parameters=[OpenApiParameter("month", str, description="YYYY-MM (Asia/Seoul): one month only")],
    responses={200: s.StatementSerializer(many=True),
               **error_responses(s400=documented(Code.INVALID_MONTH), s401=True, s403=True, s404=True, s429=True)},
)
class StatementListView(generics.ListAPIView):
    permission_classes = [StatementReader]
    serializer_class = s.StatementSerializer
    filter_backends = []

    def get_queryset(self):
        raw = self.request.query_params.get("month")
        month = None if raw is None else inputs.clean_month(raw)
        return selectors.statements_for(api_client(self.request), month=month)


@extend_schema(
    tags=["delivery"], summary="What stores saved, city-wide by month, from issued statements (oldest first)",
    responses={200: s.SavingsSerializer(many=True), **error_responses(s429=True)},
)
class SavingsView(APIView):
    def get(self, request):
        return Response(s.SavingsSerializer(selectors.savings_by_month(), many=True).data)
