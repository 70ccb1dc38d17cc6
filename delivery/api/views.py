"""Partner API views of `delivery`: they parse, call a service or selector, and answer; nothing else."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery import inputs, selectors
from delivery.api import serializers as s
from delivery.errors import Code, documented
from jinju_portal.api.permissions import HasRole, api_client
from jinju_portal.api.schema import error_responses

# statements ----------------------------------------------------------------------------------------------

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
