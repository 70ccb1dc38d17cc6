"""Reads of the Sangpyeong centre: project figures and ratios, the support desk's queues and figures,
upcoming events, overdue loans."""
import hashlib
import statistics
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from industrial.choices import (
    DEFAULT_SLA_DAYS,
    OPEN_SUPPORT_STATUSES,
    SUPPORT_LEAD_GROUP,
    SUPPORT_TEAM_GROUP,
    FundingSource,
    RegistrationStatus,
    SupportCategory,
)
from industrial.models import (
    Book,
    Event,
    Funding,
    Loan,
    Milestone,
    Project,
    Registration,
    SupportCategorySLA,
    SupportRequest,
)

FOUR_PLACES = Decimal("0.0001")


def ratio(part, whole) -> Decimal:
    """part / whole as a Decimal with 4 places between 0 and 1 (API.md: "0.2647"); 0 when whole is 0."""
    if not whole:
        return Decimal("0.0000")
    value = (Decimal(part) / Decimal(whole)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
    return min(max(value, Decimal("0.0000")), Decimal("1.0000"))


# --- Project figures -----------------------------------------------------------------------------------

@dataclass
class SourceFigures:
    source: str
    label: str
    amount: int
    spent: int
    execution_rate: Decimal

    @property
    def remaining(self):
        return self.amount - self.spent

    @property
    def percent(self):
        return (self.execution_rate * 100).quantize(Decimal("0.1"))


@dataclass
class ProjectFigures:
    project: Project
    funding: list = field(default_factory=list)
    milestones: list = field(default_factory=list)
    budget_total: int = 0
    spent: int = 0
    execution_rate: Decimal = Decimal("0.0000")
    progress: Decimal = Decimal("0.0000")
    last_update: object = None

    @property
    def execution_percent(self):
        return (self.execution_rate * 100).quantize(Decimal("0.1"))

    @property
    def progress_percent(self):
        return (self.progress * 100).quantize(Decimal("0.1"))


def projects_with_figures():
    return Project.objects.prefetch_related(
        Prefetch("fundings", queryset=Funding.objects.order_by("pk")),
        Prefetch("milestones", queryset=Milestone.objects.order_by("order", "planned_date", "pk")),
    ).order_by("pk")


def progress_of(milestones) -> Decimal:
    """Weighted progress: sum(weight × percent done) / (100 × sum(weight))."""
    total_weight = sum(m.weight for m in milestones)
    return ratio(sum(m.weight * m.percent_done for m in milestones), 100 * total_weight)


def project_figures(project) -> ProjectFigures:
    """Figures of one project; pass a project from projects_with_figures() to avoid extra queries."""
    order = {value: i for i, value in enumerate(FundingSource.values)}
    fundings = sorted(project.fundings.all(), key=lambda f: (order.get(f.source, 99), f.pk))
    milestones = list(project.milestones.all())
    sources = [SourceFigures(f.source, f.get_source_display(), f.amount, f.spent, ratio(f.spent, f.amount))
               for f in fundings]
    budget = sum(s.amount for s in sources)
    spent = sum(s.spent for s in sources)
    updates = [project.updated_at] + [f.updated_at for f in fundings]
    return ProjectFigures(project=project, funding=sources, milestones=milestones, budget_total=budget,
                          spent=spent, execution_rate=ratio(spent, budget), progress=progress_of(milestones),
                          last_update=max(u for u in updates if u is not None))


def featured_project():
    """The project the public dashboard shows: the first one (the centre)."""
    return projects_with_figures().first()


# --- Support desk -----------------------------------------------------------------------------------------

def sla_days(category) -> int:
    days = SupportCategorySLA.objects.filter(category=category).values_list("days", flat=True).first()
    return days or DEFAULT_SLA_DAYS


def sla_table():
    configured = dict(SupportCategorySLA.objects.values_list("category", "days"))
    return [(c.value, c.label, configured.get(c.value, DEFAULT_SLA_DAYS)) for c in SupportCategory]


def overdue_support_requests(*, now=None):
    now = now or timezone.now()
    return SupportRequest.objects.filter(status__in=OPEN_SUPPORT_STATUSES, due_at__lt=now)


def lookup_support_request(*, number, email):
    """The request with this number, only if `email` is the one it was filed with (case-insensitive);
    None otherwise, so a wrong address and an unknown number look exactly the same."""
    if not isinstance(number, str) or not isinstance(email, str):
        return None
    candidate = SupportRequest.objects.filter(number=number.strip().upper()).first()
    if candidate is None or candidate.contact_email.lower() != email.strip().lower():
        return None
    return candidate


def support_team_members():
    return get_user_model().objects.filter(is_active=True, groups__name=SUPPORT_TEAM_GROUP).order_by("username")


def support_team_leads():
    return get_user_model().objects.filter(is_active=True, groups__name=SUPPORT_LEAD_GROUP).order_by("username")


@dataclass
class CategoryFigures:
    category: str
    label: str
    open: int
    overdue: int
    resolved: int
    median_days_to_resolve: Decimal | None


def support_team_figures(*, now=None):
    """Per category and in total: open, overdue, resolved, median days from receipt to resolution."""
    now = now or timezone.now()
    rows = list(SupportRequest.objects.values("category", "status", "due_at", "received_at", "resolved_at"))
    out = []
    for value, label in list(SupportCategory.choices) + [("", _("전체"))]:
        mine = [r for r in rows if not value or r["category"] == value]
        open_rows = [r for r in mine if r["status"] in OPEN_SUPPORT_STATUSES]
        durations = [(r["resolved_at"] - r["received_at"]).total_seconds() / 86400
                     for r in mine if r["resolved_at"] is not None]
        median = (Decimal(str(statistics.median(durations))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                  if durations else None)
        out.append(CategoryFigures(value, str(label), len(open_rows),
                                   sum(1 for r in open_rows if r["due_at"] < now),
                                   len(durations), median))
    return out


# --- Culture centre -----------------------------------------------------------------------------------------

def upcoming_events(*, now=None):
    now = now or timezone.now()
    return Event.objects.select_related("programme").filter(starts_at__gt=now).order_by("starts_at", "pk")


def waiting_position(registration) -> int | None:
    """1 for the next person to be promoted; None unless waitlisted."""
    if registration.status != RegistrationStatus.WAITLISTED:
        return None
    return Registration.objects.filter(event_id=registration.event_id, status=RegistrationStatus.WAITLISTED,
                                       waitlist_number__lte=registration.waitlist_number).count()


def token_hash(token: str) -> str:
    """Only a hash of a cancellation token is stored; the link in the e-mail carries the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def registration_by_token(token):
    return Registration.objects.select_related("event").filter(cancel_token_hash=token_hash(token)).first()


def overdue_loans(*, today=None):
    today = today or timezone.localdate()
    return Loan.objects.select_related("book").filter(returned_on__isnull=True, due_on__lt=today).order_by("due_on")


def books_with_availability():
    return Book.objects.annotate(out=Count("loans", filter=Q(loans__returned_on__isnull=True))).annotate(
        available=F("copies") - F("out")).order_by("title")

