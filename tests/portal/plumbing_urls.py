"""A URLconf for testing the shared API plumbing with small views (real DB writes, real auth)."""
from django.contrib.auth.models import Group
from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from jinju_portal.api.idempotency import idempotent
from jinju_portal.api.permissions import HasRole
from jinju_portal.errors import RuleViolation


class GroupIn(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    size = serializers.IntegerField(min_value=1, max_value=10)


class CreateGroup(APIView):
    """Writes a row (an auth Group) so idempotency can be checked against a real side effect."""

    permission_classes = [HasRole("sales_agent", "staff")]

    @idempotent
    def post(self, request):
        data = GroupIn(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["name"] == "refuse":
            raise RuleViolation("refused_on_purpose", "거절합니다.")
        group = Group.objects.create(name=data.validated_data["name"])
        return Response({"id": group.pk, "name": group.name}, status=201)


class RenameGroup(APIView):
    """Idempotent by nature (like a cancel): the key is optional, and still replays when sent."""

    permission_classes = [HasRole("sales_agent", "staff")]

    @idempotent(required=False)
    def post(self, request, pk):
        Group.objects.filter(pk=pk).update(name="renamed")
        return Response({"id": pk, "name": "renamed"})


class StaffOnly(APIView):
    permission_classes = [HasRole("staff")]

    def get(self, request):
        return Response({"ok": True})


class Ping(APIView):
    def get(self, request):
        return Response({"ok": True})


class Crash(APIView):
    def get(self, request):
        raise RuntimeError("boom")


urlpatterns = [
    path("api/v1/test/groups/", CreateGroup.as_view()),
    path("api/v1/test/groups/<int:pk>/rename/", RenameGroup.as_view()),
    path("api/v1/test/staff/", StaffOnly.as_view()),
    path("api/v1/test/crash/", Crash.as_view()),
    path("api/v1/test/ping/", Ping.as_view()),
    path("", include("jinju_portal.urls")),
]

handler404 = "jinju_portal.api.errors.handler404"
handler500 = "jinju_portal.api.errors.handler500"
