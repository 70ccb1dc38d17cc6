"""The API root: where each app's endpoints and the docs live."""
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse


@extend_schema(
    summary="API root",
    responses={200: inline_serializer("ApiRoot", {name: serializers.URLField() for name in
                                                  ("vouchers", "delivery", "industrial", "schema", "docs")})},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request):
    base = request.build_absolute_uri("/api/v1/")
    return Response({
        "vouchers": base + "vouchers/",
        "delivery": base + "delivery/",
        "industrial": base + "industrial/",
        "schema": reverse("api-schema", request=request),
        "docs": reverse("api-docs", request=request),
    })
