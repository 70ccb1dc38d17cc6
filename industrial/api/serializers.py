"""JSON shapes of the industrial API (API.md "Industrial"); they translate, the services decide."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from industrial.choices import ProgrammeKind, SupportCategory, SupportStatus
from industrial.models import DESCRIPTION_MAX, TITLE_MAX
from jinju_portal.bizno import validate_business_number


class FundingFiguresSerializer(serializers.Serializer):
    source = serializers.CharField()
    label = serializers.CharField()
    amount = serializers.IntegerField(help_text="배정액 (KRW)")
    spent = serializers.IntegerField(help_text="집행액 (KRW)")
    execution_rate = serializers.DecimalField(max_digits=5, decimal_places=4, help_text='spent / amount, e.g. "0.2647"')


class MilestoneSerializer(serializers.Serializer):
    name = serializers.CharField()
    planned_date = serializers.DateField()
    actual_date = serializers.DateField(allow_null=True)
    weight = serializers.IntegerField()
    percent_done = serializers.IntegerField()


@extend_schema_field(OpenApiTypes.NUMBER)
class AreaField(serializers.Field):
    """Square metres as a JSON number (3674, or 3674.5 when it has a fraction)."""

    def to_representation(self, value):
        return int(value) if value == value.to_integral_value() else float(value)


class ProjectSerializer(serializers.Serializer):
    """Reads a selectors.ProjectFigures."""

    id = serializers.IntegerField(source="project.pk")
    name = serializers.CharField(source="project.name")
    kind = serializers.CharField(source="project.kind")
    status = serializers.CharField(source="project.status")
    address = serializers.CharField(source="project.address")
    budget_total = serializers.IntegerField(help_text="sum of the sources' current allocations (KRW)")
    funding = FundingFiguresSerializer(many=True)
    spent = serializers.IntegerField()
    execution_rate = serializers.DecimalField(max_digits=5, decimal_places=4, help_text='0–1, 4 places: "0.2647"')
    site_area_m2 = AreaField(source="project.site_area_m2")
    gross_floor_area_m2 = AreaField(source="project.gross_floor_area_m2")
    floors_below = serializers.IntegerField(source="project.floors_below")
    floors_above = serializers.IntegerField(source="project.floors_above")
    planned_completion = serializers.DateField(source="project.planned_completion")
    actual_completion = serializers.DateField(source="project.actual_completion", allow_null=True)
    progress = serializers.DecimalField(max_digits=5, decimal_places=4,
                                        help_text='weighted milestones, 0–1, 4 places: "0.4500"')
    milestones = MilestoneSerializer(many=True)
    updated_at = serializers.DateTimeField(source="last_update")


class SupportRequestInSerializer(serializers.Serializer):
    company_name = serializers.CharField(max_length=200)
    business_number = serializers.CharField(max_length=20, validators=[validate_business_number],
                                            help_text="XXX-XX-XXXXX or 10 digits, check digit verified")
    category = serializers.ChoiceField(choices=SupportCategory.choices)
    title = serializers.CharField(max_length=TITLE_MAX)
    description = serializers.CharField(max_length=DESCRIPTION_MAX)
    contact_email = serializers.EmailField(max_length=254)
    contact_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class SupportRequestCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=SupportStatus.choices)
    due_at = serializers.DateTimeField()


class SupportLookupInSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=20)
    email = serializers.EmailField(max_length=254)


class SupportLookupSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=SupportStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    due_at = serializers.DateTimeField()
    answer = serializers.CharField(help_text="the team's requester-visible answer (empty until written)")


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    programme = serializers.CharField(source="programme.name")
    programme_kind = serializers.ChoiceField(source="programme.kind", choices=ProgrammeKind.choices)
    starts_at = serializers.DateTimeField()
    venue = serializers.CharField()
    seats = serializers.IntegerField()
    seats_left = serializers.IntegerField()


class RegistrationInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    company = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)


class RegistrationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    # A plain string (not an enum component) so it does not collide with the support-request status enum.
    status = serializers.CharField(help_text='"confirmed" (a seat) or "waitlisted" (see position)')
    position = serializers.IntegerField(allow_null=True,
                                        help_text="place on the waiting list (1 = next); null when confirmed")
