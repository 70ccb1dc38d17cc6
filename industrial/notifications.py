"""E-mails of the Sangpyeong centre (sent by Celery tasks after the transaction committed).

Each e-mail is written in its reader's language: a requester or registrant in the language they used
on the page or API (stored on their row), the support team in Korean."""
from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from industrial import selectors
from industrial.choices import RegistrationStatus, SupportStatus
from industrial.models import Registration, SupportRequest

STAFF_LANGUAGE = "ko"


def _site_url(path):
    base = getattr(settings, "PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
    return f"{base}{path}"


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def _reader_language(row):
    return row.language or settings.LANGUAGE_CODE


def send_support_status_email(request_id, status):
    """`status` is the status this change moved to (the row may have moved on since it was queued)."""
    support_request = SupportRequest.objects.filter(pk=request_id).first()
    if support_request is None:
        return 0
    with translation.override(_reader_language(support_request)):
        label = str(SupportStatus(status).label)
        lines = [
            # Translators: the salutation of an e-mail to a company's contact person.
            _("%(company)s 담당자님,") % {"company": support_request.company_name},
            "",
            _("기업 애로 신청 [%(number)s] '%(title)s'의 상태가 '%(status)s'(으)로 바뀌었습니다.") % {
                "number": support_request.number, "title": support_request.title, "status": label},
            _("처리 기한: %(due)s") % {"due": _local(support_request.due_at)},
        ]
        if support_request.answer and status in ("resolved", "closed"):
            lines += ["", _("[답변]"), support_request.answer]
        lines += ["", _("진행 상황은 접수번호와 이메일로 조회할 수 있습니다:"),
                  _site_url(reverse("industrial:support_lookup")), "", _("상평산단 혁신지원센터 기업지원팀")]
        # Translators: e-mail subject: a request number, then its new status.
        subject = _("[상평산단 기업지원] %(number)s %(status)s") % {"number": support_request.number, "status": label}
        return send_mail(subject, "\n".join(lines), None, [support_request.contact_email])


def send_overdue_digest(request_ids):
    """One e-mail per assignee with their overdue requests, one to each team lead with all of them."""
    overdue = list(SupportRequest.objects.select_related("assignee").filter(pk__in=request_ids)
                   .order_by("due_at", "pk"))
    if not overdue:
        return 0
    with translation.override(STAFF_LANGUAGE):
        return _send_overdue_digest(overdue)


def _send_overdue_digest(overdue):
    def line(r):
        who = (r.assignee.get_full_name() or r.assignee.get_username()) if r.assignee else _("미배정")
        return _("- %(number)s [%(category)s] %(title)s · 기한 %(due)s · 담당 %(assignee)s") % {
            "number": r.number, "category": r.get_category_display(), "title": r.title, "due": _local(r.due_at),
            "assignee": who}

    messages = []
    by_assignee = {}
    for r in overdue:
        if r.assignee and r.assignee.email:
            by_assignee.setdefault(r.assignee, []).append(r)
    for user, rows in by_assignee.items():
        body = _("처리 기한이 지난 기업 애로 신청입니다.") + "\n\n" + "\n".join(line(r) for r in rows)
        subject = ngettext("[기업지원팀] 기한 경과 %(count)d건", "[기업지원팀] 기한 경과 %(count)d건",
                           len(rows)) % {"count": len(rows)}
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    lead_emails = [u.email for u in selectors.support_team_leads() if u.email]
    if lead_emails:
        body = _("팀 전체의 기한 경과 신청입니다.") + "\n\n" + "\n".join(line(r) for r in overdue)
        subject = ngettext("[기업지원팀장] 기한 경과 %(count)d건", "[기업지원팀장] 기한 경과 %(count)d건",
                           len(overdue)) % {"count": len(overdue)}
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, lead_emails))
    return send_mass_mail(messages)


def send_registration_email(registration_id, kind, token=None):
    registration = Registration.objects.select_related("event").filter(pk=registration_id).first()
    if registration is None:
        return 0
    with translation.override(_reader_language(registration)):
        return _send_registration_email(registration, kind, token)


def _send_registration_email(registration, kind, token):
    event = registration.event
    about = {"name": registration.name, "event": event.title, "when": _local(event.starts_at), "venue": event.venue}
    if kind == "promoted":
        subject = _("[상평 문화센터] 대기에서 참가 확정: %(event)s") % about
        # Translators: %(name)s the registrant, %(event)s the event's title, %(when)s "2026-12-03 19:00".
        text = _("%(name)s님, '%(event)s' (%(when)s, %(venue)s) 대기 신청이 참가 확정으로 바뀌었습니다.") % about
    elif kind == "cancelled":
        subject = _("[상평 문화센터] 신청 취소: %(event)s") % about
        text = _("%(name)s님, '%(event)s' (%(when)s, %(venue)s) 신청이 취소되었습니다.") % about
    elif registration.status == RegistrationStatus.CONFIRMED:
        subject = _("[상평 문화센터] 참가 확정: %(event)s") % about
        text = _("%(name)s님, '%(event)s' (%(when)s, %(venue)s) 참가가 확정되었습니다.") % about
    else:
        subject = _("[상평 문화센터] 대기 신청: %(event)s") % about
        position = selectors.waiting_position(registration)
        text = _("%(name)s님, '%(event)s' (%(when)s, %(venue)s) 정원이 차서 대기 %(position)s번으로 "
                 "접수되었습니다. 취소가 생기면 순서대로 확정되고 이메일로 알려 드립니다.") % {
            **about, "position": position}
    lines = [text]
    if token:
        lines += ["", _("참가를 취소하려면 아래 링크를 여세요:"),
                  _site_url(reverse("industrial:registration_cancel", args=[token]))]
    lines += ["", _("상평산단 문화센터")]
    return send_mail(subject, "\n".join(lines), None, [registration.email])
