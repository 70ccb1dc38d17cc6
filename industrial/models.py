"""Sangpyeong centre data: project, funding and its amendments, milestones, expenditures, the SME
support desk, companies, and the culture centre (events, registrations, clubs, library)."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.models import HistoricalRecords

from industrial.choices import (
    DEFAULT_SLA_DAYS,
    FundingSource,
    ProgrammeKind,
    ProjectStatus,
    RegistrationStatus,
    Sector,
    SupportCategory,
    SupportStatus,
)
from jinju_portal.money import format_krw

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
# The language (a code of settings.LANGUAGES) a requester or registrant used on the page or API:
# their e-mails are written in it. Korean for rows filed otherwise (admin, seed, before this field).
LANGUAGE_MAX = 8


def _language_field():
    return models.CharField(_("언어"), max_length=LANGUAGE_MAX, default="ko", editable=False,
                            help_text=_("신청할 때 쓴 언어: 이메일을 이 언어로 보냅니다."))


# --- Project tracking ------------------------------------------------------------------------------

class Project(models.Model):
    name = models.CharField(_("사업명"), max_length=200, unique=True)
    kind = models.CharField(_("사업 유형"), max_length=200, blank=True)
    programme = models.CharField(_("근거 사업"), max_length=200, blank=True)
    address = models.CharField(_("소재지"), max_length=300, blank=True)
    site_area_m2 = models.DecimalField(_("대지면적(㎡)"), max_digits=12, decimal_places=2)
    gross_floor_area_m2 = models.DecimalField(_("연면적(㎡)"), max_digits=12, decimal_places=2)
    floors_below = models.PositiveSmallIntegerField(_("지하 층수"), default=0)
    floors_above = models.PositiveSmallIntegerField(_("지상 층수"), default=1)
    planned_completion = models.DateField(_("준공 예정일"))
    actual_completion = models.DateField(_("실제 준공일"), null=True, blank=True)
    status = models.CharField(_("상태"), max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.PLANNING)
    updated_at = models.DateTimeField(_("최종 갱신"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("사업")
        verbose_name_plural = _("사업")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(site_area_m2__gt=0) & Q(gross_floor_area_m2__gt=0),
                                   name="industrial_project_areas_positive"),
        ]

    def __str__(self):
        return self.name


class Funding(models.Model):
    """One source's allocation to a project. `spent` is the running total of its expenditures,
    moved only by a conditional UPDATE, so CHECK (spent <= amount) is invariant 7 in the database."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="fundings", verbose_name=_("사업"))
    source = models.CharField(_("재원"), max_length=20, choices=FundingSource.choices)
    amount = models.PositiveBigIntegerField(_("배정액(원)"))
    spent = models.PositiveBigIntegerField(_("집행액(원)"), default=0)
    updated_at = models.DateTimeField(_("최종 변경"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("재원 배정")
        verbose_name_plural = _("재원 배정")
        ordering = ["project_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "source"], name="industrial_funding_one_per_source"),
            models.CheckConstraint(condition=Q(spent__lte=F("amount")), name="industrial_funding_spent_lte_amount"),
        ]

    def __str__(self):
        return f"{self.project} · {self.get_source_display()}"

    @property
    def remaining(self):
        return self.amount - self.spent


class FundingAmendment(models.Model):
    """A dated change of an allocation (the initial one included): the budget is never overwritten
    without a row saying when, why, from what and to what."""

    funding = models.ForeignKey(Funding, on_delete=models.PROTECT, related_name="amendments", verbose_name=_("재원"))
    effective_on = models.DateField(_("변경 기준일"))
    amount_before = models.PositiveBigIntegerField(_("변경 전(원)"))
    amount_after = models.PositiveBigIntegerField(_("변경 후(원)"))
    reason = models.CharField(_("사유"), max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("등록자"))
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("예산 변경")
        verbose_name_plural = _("예산 변경")
        ordering = ["funding_id", "effective_on", "pk"]

    def __str__(self):
        return f"{self.funding} {self.effective_on}: {self.amount_before:,} → {self.amount_after:,}"

    @property
    def delta(self):
        return self.amount_after - self.amount_before


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("사업"))
    name = models.CharField(_("단계"), max_length=100)
    planned_date = models.DateField(_("계획일"))
    actual_date = models.DateField(_("실제 완료일"), null=True, blank=True)
    weight = models.PositiveSmallIntegerField(_("가중치"))
    percent_done = models.PositiveSmallIntegerField(_("진척률(%)"), default=0)
    order = models.PositiveSmallIntegerField(_("순서"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("추진 단계")
        verbose_name_plural = _("추진 단계")
        ordering = ["project_id", "order", "planned_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="industrial_milestone_unique_name"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="industrial_milestone_weight_positive"),
            models.CheckConstraint(condition=Q(percent_done__lte=100), name="industrial_milestone_percent_lte_100"),
        ]

    def __str__(self):
        return f"{self.project} · {self.name}"


class Expenditure(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="expenditures", verbose_name=_("사업"))
    funding = models.ForeignKey(Funding, on_delete=models.PROTECT, related_name="expenditures", verbose_name=_("재원"))
    spent_on = models.DateField(_("집행일"))
    amount = models.PositiveBigIntegerField(_("금액(원)"))
    payee = models.CharField(_("지급처"), max_length=200)
    description = models.CharField(_("내용"), max_length=500)
    document_ref = models.CharField(_("증빙 문서번호"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("등록자"))
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("집행 내역")
        verbose_name_plural = _("집행 내역")
        ordering = ["-spent_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="industrial_expenditure_amount_positive"),
        ]

    def __str__(self):
        return f"{self.spent_on} {self.payee} {format_krw(self.amount)}"


# --- Companies and the SME support desk -------------------------------------------------------------

class Company(models.Model):
    name = models.CharField(_("기업명"), max_length=200)
    business_number = models.CharField(_("사업자등록번호"), max_length=10, unique=True,
                                       help_text=_("숫자 10자리"))
    sector = models.CharField(_("업종"), max_length=20, choices=Sector.choices, default=Sector.OTHER)
    is_resident = models.BooleanField(_("센터 입주기업"), default=False)
    is_cluster_member = models.BooleanField(_("미니클러스터 회원사"), default=False)
    address = models.CharField(_("주소"), max_length=300, blank=True)
    contact_email = models.EmailField(_("담당자 이메일"), blank=True)
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now)

    class Meta:
        verbose_name = _("기업")
        verbose_name_plural = _("기업")
        ordering = ["name"]

    def __str__(self):
        return self.name


class SupportCategorySLA(models.Model):
    """Days the team has to answer a category; a category without a row gets DEFAULT_SLA_DAYS."""

    category = models.CharField(_("분야"), max_length=20, choices=SupportCategory.choices, unique=True)
    days = models.PositiveSmallIntegerField(_("처리 기한(일)"), default=DEFAULT_SLA_DAYS)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("분야별 처리 기한")
        verbose_name_plural = _("분야별 처리 기한")
        ordering = ["category"]
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=1) & Q(days__lte=365), name="industrial_sla_days_range"),
        ]

    def __str__(self):
        # Translators: a number of days (a category's deadline), e.g. "7일" / "7 days".
        days = ngettext("%(days)d일", "%(days)d일", self.days) % {"days": self.days}
        return f"{self.get_category_display()}: {days}"


class SupportRequest(models.Model):
    number = models.CharField(_("접수번호"), max_length=20, unique=True, editable=False)
    company = models.ForeignKey(Company, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="support_requests", verbose_name=_("기업"))
    company_name = models.CharField(_("기업명"), max_length=200)
    business_number = models.CharField(_("사업자등록번호"), max_length=10)
    category = models.CharField(_("분야"), max_length=20, choices=SupportCategory.choices)
    title = models.CharField(_("제목"), max_length=TITLE_MAX)
    description = models.TextField(_("내용"))
    contact_name = models.CharField(_("담당자"), max_length=100, blank=True)
    contact_email = models.EmailField(_("이메일"))
    contact_phone = models.CharField(_("연락처"), max_length=30, blank=True)
    status = models.CharField(_("상태"), max_length=20, choices=SupportStatus.choices, default=SupportStatus.RECEIVED)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="support_requests", verbose_name=_("담당자"))
    received_at = models.DateTimeField(_("접수일시"))
    due_at = models.DateTimeField(_("처리 기한"))
    resolved_at = models.DateTimeField(_("해결일시"), null=True, blank=True)
    closed_at = models.DateTimeField(_("종결일시"), null=True, blank=True)
    answer = models.TextField(_("답변 (신청인 공개)"), blank=True)
    last_reminded_on = models.DateField(_("마지막 독촉일"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("최종 변경"))
    language = _language_field()

    class Meta:
        verbose_name = _("기업 애로 신청")
        verbose_name_plural = _("기업 애로 신청")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["status", "due_at"], name="industrial_sr_status_due")]
        constraints = [
            models.CheckConstraint(condition=Q(due_at__gt=F("received_at")), name="industrial_sr_due_after_received"),
            models.CheckConstraint(condition=~Q(title=""), name="industrial_sr_title_not_empty"),
            models.CheckConstraint(condition=GreaterThanOrEqual(Length("description"), 1),
                                   name="industrial_sr_description_not_empty"),
            models.CheckConstraint(condition=LessThanOrEqual(Length("description"), DESCRIPTION_MAX),
                                   name="industrial_sr_description_max_length"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def is_open(self):
        return self.status in (SupportStatus.RECEIVED, SupportStatus.ASSIGNED, SupportStatus.IN_PROGRESS)


class SupportRequestEvent(models.Model):
    """One row per change of a request (status, assignee, answer) or internal note: who, when, what."""

    request = models.ForeignKey(SupportRequest, on_delete=models.CASCADE, related_name="events",
                                verbose_name=_("신청"))
    at = models.DateTimeField(_("일시"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                           related_name="+", verbose_name=_("처리자"))
    from_status = models.CharField(_("이전 상태"), max_length=20, choices=SupportStatus.choices, blank=True)
    to_status = models.CharField(_("새 상태"), max_length=20, choices=SupportStatus.choices, blank=True)
    note = models.TextField(_("메모 (내부)"), blank=True)

    class Meta:
        verbose_name = _("처리 이력")
        verbose_name_plural = _("처리 이력")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.request.number} {self.at:%Y-%m-%d %H:%M}"


# --- Culture centre -----------------------------------------------------------------------------------

class Programme(models.Model):
    name = models.CharField(_("프로그램"), max_length=200, unique=True)
    kind = models.CharField(_("종류"), max_length=20, choices=ProgrammeKind.choices)
    description = models.TextField(_("소개"), blank=True)

    class Meta:
        verbose_name = _("문화 프로그램")
        verbose_name_plural = _("문화 프로그램")
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name


class Event(models.Model):
    """A dated event with seats. `confirmed_count` is moved only while the event row is locked;
    CHECK (confirmed_count <= seats) is invariant 8 in the database."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="events",
                                  verbose_name=_("프로그램"))
    title = models.CharField(_("제목"), max_length=200)
    starts_at = models.DateTimeField(_("일시"))
    venue = models.CharField(_("장소"), max_length=200)
    seats = models.PositiveIntegerField(_("정원"))
    confirmed_count = models.PositiveIntegerField(_("확정 인원"), default=0, editable=False)
    waitlist_seq = models.PositiveIntegerField(_("대기번호 발급 수"), default=0, editable=False)
    description = models.TextField(_("소개"), blank=True)

    class Meta:
        verbose_name = _("행사")
        verbose_name_plural = _("행사")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "title", "starts_at"], name="industrial_event_unique"),
            models.CheckConstraint(condition=Q(seats__gt=0), name="industrial_event_seats_positive"),
            models.CheckConstraint(condition=Q(confirmed_count__lte=F("seats")),
                                   name="industrial_event_confirmed_lte_seats"),
        ]

    def __str__(self):
        return f"{self.title} ({timezone.localtime(self.starts_at):%Y-%m-%d %H:%M})"

    @property
    def seats_left(self):
        return max(self.seats - self.confirmed_count, 0)


class Registration(models.Model):
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("행사"))
    name = models.CharField(_("이름"), max_length=100)
    company = models.CharField(_("회사"), max_length=200)
    email = models.EmailField(_("이메일"))
    status = models.CharField(_("상태"), max_length=20, choices=RegistrationStatus.choices)
    # The number handed out when the person joined the waiting list; promotion goes by it.
    waitlist_number = models.PositiveIntegerField(_("대기번호"), null=True, blank=True)
    cancel_token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("신청일시"))
    confirmed_at = models.DateTimeField(_("확정일시"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("취소일시"), null=True, blank=True)
    language = _language_field()

    class Meta:
        verbose_name = _("참가 신청")
        verbose_name_plural = _("참가 신청")
        ordering = ["event_id", "status", "waitlist_number", "pk"]
        constraints = [
            # One live registration per e-mail per event; a cancelled one frees the address.
            models.UniqueConstraint(fields=["event", "email"], condition=~Q(status=RegistrationStatus.CANCELLED),
                                    name="industrial_registration_one_per_email"),
            models.UniqueConstraint(fields=["event", "waitlist_number"], name="industrial_registration_waitlist_unique"),
            models.CheckConstraint(
                condition=~Q(status=RegistrationStatus.WAITLISTED) | Q(waitlist_number__isnull=False),
                name="industrial_registration_waitlisted_has_number"),
        ]

    def __str__(self):
        return f"{self.name} · {self.event}"


class Club(models.Model):
    name = models.CharField(_("동호회"), max_length=100, unique=True)
    description = models.TextField(_("소개"), blank=True)
    meets = models.CharField(_("모임"), max_length=200, blank=True)
    leader_name = models.CharField(_("회장"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("동호회")
        verbose_name_plural = _("동호회")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClubMember(models.Model):
    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="members", verbose_name=_("동호회"))
    name = models.CharField(_("이름"), max_length=100)
    company = models.CharField(_("회사"), max_length=200, blank=True)
    email = models.EmailField(_("이메일"))
    joined_on = models.DateField(_("가입일"), default=timezone.localdate)

    class Meta:
        verbose_name = _("동호회원")
        verbose_name_plural = _("동호회원")
        ordering = ["club_id", "name"]
        constraints = [models.UniqueConstraint(fields=["club", "email"], name="industrial_club_member_unique")]

    def __str__(self):
        return f"{self.name} ({self.club})"


class Book(models.Model):
    title = models.CharField(_("서명"), max_length=300)
    author = models.CharField(_("저자"), max_length=200, blank=True)
    isbn = models.CharField(_("ISBN"), max_length=17, unique=True)
    copies = models.PositiveSmallIntegerField(_("보유 권수"), default=1)

    class Meta:
        verbose_name = _("도서")
        verbose_name_plural = _("도서")
        ordering = ["title"]

    def __str__(self):
        return self.title


class Loan(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="loans", verbose_name=_("도서"))
    borrower_name = models.CharField(_("대출자"), max_length=100)
    borrower_company = models.CharField(_("회사"), max_length=200, blank=True)
    borrower_email = models.EmailField(_("이메일"), blank=True)
    loaned_on = models.DateField(_("대출일"))
    due_on = models.DateField(_("반납 예정일"))
    returned_on = models.DateField(_("반납일"), null=True, blank=True)

    class Meta:
        verbose_name = _("대출")
        verbose_name_plural = _("대출")
        ordering = ["-loaned_on", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(due_on__gte=F("loaned_on")), name="industrial_loan_due_after")]

    def __str__(self):
        return f"{self.book} → {self.borrower_name}"

    @property
    def is_out(self):
        return self.returned_on is None
