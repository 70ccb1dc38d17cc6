"""factory_boy factories for the industrial app's tests."""
from datetime import date, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from industrial.choices import (
    SUPPORT_LEAD_GROUP,
    SUPPORT_TEAM_GROUP,
    FundingSource,
    ProgrammeKind,
    Sector,
    SupportCategory,
)
from industrial.models import Book, Club, Company, Event, Funding, Milestone, Programme, Project, SupportRequest

VALID_BIZNO = "220-81-62517"
VALID_BIZNO_2 = "124-81-00998"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.jinju.kr")
    first_name = "담당"
    last_name = "김"
    is_staff = True


def team_member(username="member", lead=False):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get_or_create(name=SUPPORT_TEAM_GROUP)[0])
    if lead:
        user.groups.add(Group.objects.get_or_create(name=SUPPORT_LEAD_GROUP)[0])
    return user


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"상평 센터 건립 {n}")
    kind = "복합센터 건립"
    site_area_m2 = 3674
    gross_floor_area_m2 = 5986
    floors_below = 1
    floors_above = 4
    planned_completion = date(2022, 12, 31)


class FundingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Funding

    project = factory.SubFactory(ProjectFactory)
    source = FundingSource.NATIONAL
    amount = 1_000_000


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"단계 {n}")
    planned_date = date(2022, 1, 1)
    weight = 10
    percent_done = 0


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"상평기업 {n}")
    business_number = "2208162517"
    sector = Sector.AEROSPACE
    is_resident = True


class SupportRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportRequest

    number = factory.Sequence(lambda n: f"SP-TEST-{n:05d}")
    company_name = "㈜상평테스트"
    business_number = "2208162517"
    category = SupportCategory.TECHNOLOGY
    title = "시험 장비 문의"
    description = "시험 장비를 빌릴 수 있을까요?"
    contact_email = "owner@example.com"
    received_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda o: o.received_at + timedelta(days=7))
    updated_at = factory.LazyAttribute(lambda o: o.received_at)


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme
        django_get_or_create = ("name",)

    name = "상평 정기공연"
    kind = ProgrammeKind.PERFORMANCE


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    programme = factory.SubFactory(ProgrammeFactory)
    title = factory.Sequence(lambda n: f"점심 음악회 {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    venue = "문화센터 공연장"
    seats = 10


class ClubFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Club

    name = factory.Sequence(lambda n: f"동호회 {n}")


class BookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Book

    title = factory.Sequence(lambda n: f"책 {n}")
    isbn = factory.Sequence(lambda n: f"97900000{n:05d}")
    copies = 1
