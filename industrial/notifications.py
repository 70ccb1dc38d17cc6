"""E-mails of the Sangpyeong centre (sent by Celery tasks after the transaction committed)."""
from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.urls import reverse
from django.utils import timezone

from industrial import selectors
from industrial.choices import RegistrationStatus, SupportStatus
from industrial.models import Registration, SupportRequest


def _site_url(path):
    base = getattr(settings, "PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
    return f"{base}{path}"


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def send_support_status_email(request_id, status):
    """`status` is the status this change moved to (the row may have moved on since it was queued)."""
    support_request = SupportRequest.objects.filter(pk=request_id).first()
    if support_request is None:
        return 0
    label = SupportStatus(status).label
    lines = [
        f"{support_request.company_name} 담당자님,",
        "",
        f"기업 애로 신청 [{support_request.number}] '{support_request.title}'의 상태가 "
        f"'{label}'(으)로 바뀌었습니다.",
        f"처리 기한: {_local(support_request.due_at)}",
    ]
    if support_request.answer and status in ("resolved", "closed"):
        lines += ["", "[답변]", support_request.answer]
    lines += ["", "진행 상황은 접수번호와 이메일로 조회할 수 있습니다:",
              _site_url(reverse("industrial:support_lookup")), "", "상평산단 혁신지원센터 기업지원팀"]
    subject = f"[상평산단 기업지원] {support_request.number} {label}"
    return send_mail(subject, "\n".join(lines), None, [support_request.contact_email])


def send_overdue_digest(request_ids):
    """One e-mail per assignee with their overdue requests, one to each team lead with all of them."""
    overdue = list(SupportRequest.objects.select_related("assignee").filter(pk__in=request_ids)
                   .order_by("due_at", "pk"))
    if not overdue:
        return 0

    def line(r):
        who = (r.assignee.get_full_name() or r.assignee.get_username()) if r.assignee else "미배정"
        return f"- {r.number} [{r.get_category_display()}] {r.title} · 기한 {_local(r.due_at)} · 담당 {who}"

    messages = []
    by_assignee = {}
    for r in overdue:
        if r.assignee and r.assignee.email:
            by_assignee.setdefault(r.assignee, []).append(r)
    for user, rows in by_assignee.items():
        body = "처리 기한이 지난 기업 애로 신청입니다.\n\n" + "\n".join(line(r) for r in rows)
        messages.append((f"[기업지원팀] 기한 경과 {len(rows)}건", body, settings.DEFAULT_FROM_EMAIL, [user.email]))
    lead_emails = [u.email for u in selectors.support_team_leads() if u.email]
    if lead_emails:
        body = "팀 전체의 기한 경과 신청입니다.\n\n" + "\n".join(line(r) for r in overdue)
        messages.append((f"[기업지원팀장] 기한 경과 {len(overdue)}건", body, settings.DEFAULT_FROM_EMAIL, lead_emails))
    return send_mass_mail(messages)


def send_registration_email(registration_id, kind, token=None):
    registration = Registration.objects.select_related("event").filter(pk=registration_id).first()
    if registration is None:
        return 0
    event = registration.event
    head = f"{registration.name}님, '{event.title}' ({_local(event.starts_at)}, {event.venue})"
    if kind == "promoted":
        subject = f"[상평 문화센터] 대기에서 참가 확정: {event.title}"
        text = f"{head} 대기 신청이 참가 확정으로 바뀌었습니다."
    elif kind == "cancelled":
        subject = f"[상평 문화센터] 신청 취소: {event.title}"
        text = f"{head} 신청이 취소되었습니다."
    elif registration.status == RegistrationStatus.CONFIRMED:
        subject = f"[상평 문화센터] 참가 확정: {event.title}"
        text = f"{head} 참가가 확정되었습니다."
    else:
        subject = f"[상평 문화센터] 대기 신청: {event.title}"
        text = (f"{head} 정원이 차서 대기 {selectors.waiting_position(registration)}번으로 접수되었습니다. "
                "취소가 생기면 순서대로 확정되고 이메일로 알려 드립니다.")
    lines = [text]
    if token:
        lines += ["", "참가를 취소하려면 아래 링크를 여세요:",
                  _site_url(reverse("industrial:registration_cancel", args=[token]))]
    lines += ["", "상평산단 문화센터"]
    return send_mail(subject, "\n".join(lines), None, [registration.email])
