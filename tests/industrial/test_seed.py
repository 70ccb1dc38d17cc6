"""seed_demo for the Sangpyeong centre: the briefing's figures exactly (FACTS.md), idempotent."""
import io
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from industrial import selectors
from industrial.models import Company, Event, Project
from jinju_portal import bizno

pytestmark = pytest.mark.clock  # events and loans relative to today


def industrial_counts():
    return {m._meta.label: m._default_manager.count() for m in apps.get_app_config("industrial").get_models()}


@pytest.mark.django_db
def test_seed_reproduces_the_briefing_figures_exactly(client):
    call_command("seed_demo", stdout=io.StringIO())
    project = selectors.projects_with_figures().get()
    figures = selectors.project_figures(project)
    assert figures.budget_total == 13_600_000_000
    assert {f.source: f.amount for f in figures.funding} == {"national": 6_600_000_000, "city": 7_000_000_000}
    assert project.site_area_m2 == Decimal("3674") and project.gross_floor_area_m2 == Decimal("5986")
    assert (project.floors_below, project.floors_above) == (1, 4)
    assert project.planned_completion.year == 2022
    assert [m.name for m in figures.milestones] == ["설계", "인허가", "착공", "골조 완료(상량)", "준공", "개관"]
    assert 0 < figures.spent < figures.budget_total and figures.progress > 0
    body = client.get(f"/api/v1/industrial/projects/{project.pk}/").json()
    assert body["budget_total"] == 13_600_000_000
    assert body["site_area_m2"] == 3674 and body["gross_floor_area_m2"] == 5986
    assert body["planned_completion"].startswith("2022")
    page = client.get("/industrial/").content.decode()
    for text in ("13,600,000,000원", "6,600,000,000원", "7,000,000,000원", "3,674㎡", "5,986㎡", "2022년"):
        assert text in page
    assert Event.objects.filter(starts_at__gt=timezone.now()).count() >= 3
    assert all(bizno.is_valid(n) for n in Company.objects.values_list("business_number", flat=True))
    assert {f.funding.source for f in project.expenditures.select_related("funding")} == {"national", "city"}
    assert project.fundings.get(source="city").amendments.get().effective_on == date(2021, 2, 18)


@pytest.mark.django_db
def test_seed_twice_changes_nothing_in_industrial():
    call_command("seed_demo", stdout=io.StringIO())
    counts = industrial_counts()
    spent = list(Project.objects.values_list("fundings__spent", flat=True))
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert industrial_counts() == counts
    assert list(Project.objects.values_list("fundings__spent", flat=True)) == spent
    section = out.getvalue().split("industrial.seed:\n", 1)[1]
    own_lines = []
    for line in section.splitlines():
        if not line.startswith("  "):
            break
        own_lines.append(line)
    assert own_lines and not any(line.lstrip().startswith("+") for line in own_lines)
