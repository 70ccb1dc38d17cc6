"""Industrial API views: wiring only (serializers translate, services and selectors decide)."""
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from industrial import selectors, services
from industrial.api import serializers as s
from industrial.errors import Code, documented
from jinju_portal.api.schema import error_responses
from jinju_portal.api.throttling import AnonThrottle, ApiClientThrottle, CitizenThrottle, PublicFormThrottle
from jinju_portal.errors import NotFound

PUBLIC_WRITE_THROTTLES = [AnonThrottle, CitizenThrottle, ApiClientThrottle, PublicFormThrottle]
_BAD_BODY = "invalid, malformed_request"


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """The Sangpyeong project(s): budget by source, spending, execution rate, milestones, progress."""

    serializer_class = s.ProjectSerializer

    def get_queryset(self):
        return selectors.projects_with_figures()

    def get_object(self):
        project = self.get_queryset().filter(pk=self.kwargs["pk"]).first() if str(self.kwargs["pk"]).isdigit() else None
        if project is None:
            raise NotFound(_("사업을 찾을 수 없습니다."))
        return project

    @extend_schema(summary="사업 목록", responses={200: s.ProjectSerializer(many=True), **error_responses(s429=True)})
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ProjectSerializer([selectors.project_figures(p) for p in page],
                                                               many=True).data)

    @extend_schema(summary="사업 상세", responses={200: s.ProjectSerializer, **error_responses(s404=True, s429=True)})
    def retrieve(self, request, *args, **kwargs):
        return Response(s.ProjectSerializer(selectors.project_figures(self.get_object())).data)


class SupportRequestViewSet(viewsets.GenericViewSet):
    """SME support desk (기업 애로 지원): file a request, look up its status by number and e-mail."""

    throttle_classes = PUBLIC_WRITE_THROTTLES
    serializer_class = s.SupportRequestInSerializer

    @extend_schema(
        summary="기업 애로 신청", request=s.SupportRequestInSerializer,
        responses={201: s.SupportRequestCreatedSerializer,
                   **error_responses(s400=f"{documented(Code.INVALID_BUSINESS_NUMBER)}, {_BAD_BODY}", s413=True,
                                     s415=True, s429=True)})
    def create(self, request):
        data = _valid(s.SupportRequestInSerializer, request)
        created = services.submit_support_request(**data, language=get_language())
        return Response(s.SupportRequestCreatedSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="처리 상황 조회 (접수번호 + 이메일)", request=s.SupportLookupInSerializer,
        responses={200: s.SupportLookupSerializer,
                   **error_responses(s400=_BAD_BODY, s404="not_found (unknown number or another e-mail: "
                                                          "the two are indistinguishable)",
                                     s413=True, s415=True, s429=True)})
    @action(detail=False, methods=["post"], url_path="lookup", serializer_class=s.SupportLookupInSerializer)
    def lookup(self, request):
        data = _valid(s.SupportLookupInSerializer, request)
        found = selectors.lookup_support_request(number=data["number"], email=data["email"])
        if found is None:
            raise NotFound(_("접수번호와 이메일이 일치하는 신청이 없습니다."))
        return Response(s.SupportLookupSerializer(found).data)


class EventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Culture-centre events (upcoming) and sign-up with a waiting list."""

    serializer_class = s.EventSerializer

    def get_queryset(self):
        return selectors.upcoming_events()

    def get_throttles(self):
        if self.action == "registrations":
            return [t() for t in PUBLIC_WRITE_THROTTLES]
        return super().get_throttles()

    @extend_schema(summary="다가오는 행사", responses={200: s.EventSerializer(many=True), **error_responses(s429=True)})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="행사 참가 신청", request=s.RegistrationInSerializer,
        responses={201: s.RegistrationSerializer,
                   **error_responses(s400=_BAD_BODY, s404=True,
                                     s409=documented(Code.ALREADY_REGISTERED, Code.REGISTRATION_CLOSED)
                                     + " (registration_closed: the event has started)",
                                     s413=True, s415=True, s429=True)})
    @action(detail=True, methods=["post"], url_path="registrations", serializer_class=s.RegistrationInSerializer)
    def registrations(self, request, pk=None):
        if not str(pk).isdigit():
            raise NotFound(_("행사를 찾을 수 없습니다."))
        data = _valid(s.RegistrationInSerializer, request)
        registration, _token = services.register_for_event(event_id=int(pk), **data, language=get_language())
        body = {"id": registration.pk, "status": registration.status,
                "position": selectors.waiting_position(registration)}
        return Response(s.RegistrationSerializer(body).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
