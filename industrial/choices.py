"""Enumerations of the Sangpyeong centre: funding sources, support categories and statuses, sectors."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProjectStatus(models.TextChoices):
    PLANNING = "planning", _("계획")
    DESIGN = "design", _("설계")
    CONSTRUCTION = "construction", _("공사 중")
    COMPLETED = "completed", _("준공")
    OPERATING = "operating", _("운영 중")


class FundingSource(models.TextChoices):
    NATIONAL = "national", _("국비")
    PROVINCE = "province", _("도비")
    CITY = "city", _("시비")
    PRIVATE = "private", _("민간")


class SupportCategory(models.TextChoices):
    TECHNOLOGY = "technology", _("기술")
    FUNDING = "funding", _("자금")
    LABOUR = "labour", _("인력·노무")
    REGULATION = "regulation", _("규제·인허가")
    SALES_CHANNELS = "sales_channels", _("판로")
    OTHER = "other", _("기타")


class SupportStatus(models.TextChoices):
    RECEIVED = "received", _("접수")
    ASSIGNED = "assigned", _("담당자 배정")
    IN_PROGRESS = "in_progress", _("처리 중")
    RESOLVED = "resolved", _("해결")
    CLOSED = "closed", _("종결")


OPEN_SUPPORT_STATUSES = (SupportStatus.RECEIVED, SupportStatus.ASSIGNED, SupportStatus.IN_PROGRESS)

# received → assigned → in progress → resolved / closed. A request may be closed from any open
# state (duplicate, withdrawn), and a resolved one is closed once the company confirms.
SUPPORT_TRANSITIONS = {
    SupportStatus.RECEIVED: {SupportStatus.ASSIGNED, SupportStatus.CLOSED},
    SupportStatus.ASSIGNED: {SupportStatus.IN_PROGRESS, SupportStatus.RESOLVED, SupportStatus.CLOSED},
    SupportStatus.IN_PROGRESS: {SupportStatus.RESOLVED, SupportStatus.CLOSED},
    SupportStatus.RESOLVED: {SupportStatus.CLOSED},
    SupportStatus.CLOSED: set(),
}


class Sector(models.TextChoices):
    AEROSPACE = "aerospace", _("항공우주")
    CERAMICS = "ceramics", _("세라믹 신소재")
    MACHINERY = "machinery", _("첨단기계")
    OTHER = "other", _("기타")


class ProgrammeKind(models.TextChoices):
    PERFORMANCE = "performance", _("공연")
    LIBRARY = "library", _("작은도서관")
    CLUB = "club", _("동호회")


class RegistrationStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("확정")
    WAITLISTED = "waitlisted", _("대기")
    CANCELLED = "cancelled", _("취소")


# Django groups: members of the business support team, and its lead(s) who get every reminder.
# The names are identifiers stored in auth_group and never translated; show the *_LABEL instead.
SUPPORT_TEAM_GROUP = "기업지원팀"
SUPPORT_LEAD_GROUP = "기업지원팀장"
SUPPORT_TEAM_LABEL = _("기업지원팀")
SUPPORT_LEAD_LABEL = _("기업지원팀장")
DEFAULT_SLA_DAYS = 7
DEFAULT_LOAN_DAYS = 14
