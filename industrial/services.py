"""Writes of the Sangpyeong centre that carry a rule: one keyword-only function, one transaction each."""
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from industrial import selectors
from industrial.choices import (
    DEFAULT_LOAN_DAYS,
    OPEN_SUPPORT_STATUSES,
    SUPPORT_TEAM_GROUP,
    SUPPORT_TEAM_LABEL,
    SUPPORT_TRANSITIONS,
    FundingSource,
    RegistrationStatus,
    SupportCategory,
    SupportStatus,
)
from industrial.errors import Code
from industrial.models import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    Book,
    ClubMember,
    Company,
    Event,
    Expenditure,
    Funding,
    FundingAmendment,
    Loan,
    Project,
    Registration,
    SupportRequest,
    SupportRequestEvent,
)
from jinju_portal import actors, bizno, clock
from jinju_portal.errors import InvalidInput, NotFound, RuleViolation
from jinju_portal.money import MAX_KRW, format_krw
from jinju_portal.tasks import enqueue_on_commit

NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone


DEFAULT_LANGUAGE = "ko"  # e-mails to a requester or registrant who filed without a language (admin, seed)


def _language(code):
    """The site language closest to `code` ('en-us' -> 'en'), or Korean: what e-mails are written in."""
    try:
        return get_supported_language_variant(code) if code else DEFAULT_LANGUAGE
    except LookupError:
        return DEFAULT_LANGUAGE


# Messages are translated when raised, in the language of the request that called the service.
def _text(value, *, field, max_length, required=True, label):
    """Shared text check for every caller (API, page, admin): type, NUL bytes, length."""
    if isinstance(value, Promise):  # a lazily translated default (create_funding's reason)
        value = str(value)
    if not isinstance(value, str):
        # Translators: %(label)s is a field name (기업명, 이메일 …).
        message = _("%(label)s: 문자열이어야 합니다.") % {"label": label}
        raise InvalidInput(Code.INVALID, message, {field: [message]})
    value = value.strip()
    if "\x00" in value:
        raise InvalidInput(Code.INVALID, _("%(label)s: 허용되지 않는 문자가 있습니다.") % {"label": label},
                           {field: [_("허용되지 않는 문자가 있습니다.")]})
    if required and not value:
        raise InvalidInput(Code.INVALID, _("%(label)s을(를) 입력해 주세요.") % {"label": label},
                           {field: [_("필수 항목입니다.")]})
    if len(value) > max_length:
        limit = {"label": label, "max": f"{max_length:,}"}
        raise InvalidInput(Code.INVALID,
                           ngettext("%(label)s은(는) %(max)s자 이하여야 합니다.",
                                    "%(label)s은(는) %(max)s자 이하여야 합니다.", max_length) % limit,
                           {field: [ngettext("%(max)s자 이하여야 합니다.", "%(max)s자 이하여야 합니다.",
                                             max_length) % limit]})
    return value


def _email(value, *, field="email"):
    value = _text(value, field=field, max_length=254, label=_("이메일"))
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidInput(Code.INVALID, _("올바른 이메일 주소가 아닙니다."), {field: [_("올바른 이메일 주소가 아닙니다.")]})
    return value.lower()


def _amount(value, *, field="amount", allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(Code.INVALID_AMOUNT, _("금액은 원 단위 정수여야 합니다."), {field: [_("원 단위 정수여야 합니다.")]})
    if value < 0 or (value == 0 and not allow_zero) or value > MAX_KRW:
        raise InvalidInput(Code.INVALID_AMOUNT, _("금액이 허용 범위를 벗어났습니다."), {field: [_("허용 범위를 벗어났습니다.")]})
    return value


# --- Project: funding, amendments, expenditures --------------------------------------------------------

@transaction.atomic
def create_funding(*, project, source, amount, effective_on, reason=gettext_lazy("최초 배정"), actor=None, now=None):
    """A new source for a project, with its first amendment row (from 0) so the history starts at 0."""
    now = clock.now_or(now)
    if source not in FundingSource.values:
        raise InvalidInput(Code.INVALID, _("알 수 없는 재원입니다."), {"source": [_("알 수 없는 재원입니다.")]})
    amount = _amount(amount, allow_zero=True)
    reason = _text(reason, field="reason", max_length=300, label=_("사유"))
    try:
        with transaction.atomic():
            funding = Funding.objects.create(project=project, source=source, amount=amount, updated_at=now)
    except IntegrityError:
        raise RuleViolation(Code.FUNDING_EXISTS, _("이 사업에는 해당 재원이 이미 있습니다. 예산 변경으로 조정해 주세요."))
    FundingAmendment.objects.create(funding=funding, effective_on=effective_on, amount_before=0,
                                    amount_after=amount, reason=reason, created_by=actors.user_of(actor),
                                    created_at=now)
    Project.objects.filter(pk=project.pk).update(updated_at=now)
    return funding


@transaction.atomic
def amend_funding(*, funding, new_amount, effective_on, reason, actor=None, now=None):
    """Change an allocation by a dated amendment. Never below what has already been spent."""
    now = clock.now_or(now)
    new_amount = _amount(new_amount, field="amount_after", allow_zero=True)
    reason = _text(reason, field="reason", max_length=300, label=_("사유"))
    locked = Funding.objects.select_for_update().get(pk=funding.pk)
    if new_amount < locked.spent:
        spent = {"spent": format_krw(locked.spent)}
        # Translators: %(spent)s is an amount with its currency (format_krw: "600원" / "₩600").
        raise RuleViolation(Code.ALLOCATION_BELOW_SPENT, _("이미 집행한 %(spent)s보다 적게 줄일 수 없습니다.") % spent,
                            {"amount_after": [_("집행액 %(spent)s 이상이어야 합니다.") % spent]})
    amendment = FundingAmendment.objects.create(
        funding=locked, effective_on=effective_on, amount_before=locked.amount, amount_after=new_amount,
        reason=reason, created_by=actors.user_of(actor), created_at=now)
    locked.amount = new_amount
    locked.updated_at = now
    locked.save(update_fields=["amount", "updated_at"])
    Project.objects.filter(pk=locked.project_id).update(updated_at=now)
    return amendment


@transaction.atomic
def record_expenditure(*, funding, amount, spent_on, payee, description, document_ref="", actor=None, now=None):
    """Spend from one source. The allocation is checked and moved in ONE conditional UPDATE, so two
    clerks entering invoices at the same moment can never together exceed it (invariant 7)."""
    now = clock.now_or(now)
    amount = _amount(amount)
    payee = _text(payee, field="payee", max_length=200, label=_("지급처"))
    description = _text(description, field="description", max_length=500, label=_("내용"))
    document_ref = _text(document_ref, field="document_ref", max_length=100, required=False,
                         label=_("증빙 문서번호"))
    moved = Funding.objects.filter(pk=funding.pk, spent__lte=F("amount") - amount).update(
        spent=F("spent") + amount, updated_at=now)
    if not moved:
        current = Funding.objects.filter(pk=funding.pk).values("amount", "spent").first()
        if current is None:
            raise NotFound(_("재원을 찾을 수 없습니다."))
        figures = {"remaining": format_krw(current["amount"] - current["spent"]), "amount": format_krw(amount)}
        # Translators: %(remaining)s and %(amount)s are amounts with their currency ("300,000원" / "₩300,000").
        raise RuleViolation(Code.ALLOCATION_EXCEEDED,
                            _("배정액을 초과합니다: 남은 배정액 %(remaining)s, 요청 %(amount)s.") % figures,
                            {"amount": [_("남은 배정액 %(remaining)s을 넘을 수 없습니다.") % figures]})
    return Expenditure.objects.create(
        project_id=funding.project_id, funding_id=funding.pk, spent_on=spent_on, amount=amount, payee=payee,
        description=description, document_ref=document_ref, created_by=actors.user_of(actor), created_at=now)


# --- SME support desk --------------------------------------------------------------------------------

def _new_request_number(now):
    local = timezone.localtime(now)
    return f"SP-{local:%y%m%d}-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(5))


def _log(support_request, *, at, by, from_status="", to_status="", note=""):
    SupportRequestEvent.objects.create(request=support_request, at=at, by=by, from_status=from_status,
                                       to_status=to_status, note=note)


def _notify_status(support_request):
    from industrial import tasks

    enqueue_on_commit(tasks.send_support_status_email, support_request.pk, support_request.status)


@transaction.atomic
def submit_support_request(*, company_name, business_number, category, title, description, contact_email,
                           contact_name="", contact_phone="", language=None, now=None):
    """File an SME's problem: due date from the category's SLA; a receipt e-mail after commit.
    `language` (the page's or API request's get_language(); Korean if not given) is the language the
    requester's e-mails are written in."""
    now = clock.now_or(now)
    company_name = _text(company_name, field="company_name", max_length=200, label=_("기업명"))
    if not isinstance(business_number, str) or not bizno.is_valid(business_number):
        raise InvalidInput(Code.INVALID_BUSINESS_NUMBER,
                           _("사업자등록번호가 올바르지 않습니다 (XXX-XX-XXXXX, 검증번호 확인)."),
                           {"business_number": [_("사업자등록번호가 올바르지 않습니다.")]})
    if category not in SupportCategory.values:
        raise InvalidInput(Code.INVALID, _("알 수 없는 분야입니다."), {"category": [_("알 수 없는 분야입니다.")]})
    title = _text(title, field="title", max_length=TITLE_MAX, label=_("제목"))
    description = _text(description, field="description", max_length=DESCRIPTION_MAX, label=_("내용"))
    contact_email = _email(contact_email, field="contact_email")
    contact_name = _text(contact_name, field="contact_name", max_length=100, required=False, label=_("담당자"))
    contact_phone = _text(contact_phone, field="contact_phone", max_length=30, required=False, label=_("연락처"))
    number = bizno.normalize(business_number)
    company = Company.objects.filter(business_number=number).first()
    due_at = now + timedelta(days=selectors.sla_days(category))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                support_request = SupportRequest.objects.create(
                    number=_new_request_number(now), company=company, company_name=company_name,
                    business_number=number, category=category, title=title, description=description,
                    contact_name=contact_name, contact_email=contact_email, contact_phone=contact_phone,
                    status=SupportStatus.RECEIVED, received_at=now, due_at=due_at, updated_at=now,
                    language=_language(language))
            break
        except IntegrityError:  # a request number drawn twice (1 in 33 million a day): draw again
            continue
    else:
        raise RuleViolation(Code.NUMBER_UNAVAILABLE, _("접수번호를 만들지 못했습니다. 다시 시도해 주세요."))
    _log(support_request, at=now, by=None, to_status=SupportStatus.RECEIVED)
    _notify_status(support_request)
    return support_request


def _is_team_member(user):
    return user is not None and user.is_active and user.groups.filter(name=SUPPORT_TEAM_GROUP).exists()


def _locked_request(support_request):
    return SupportRequest.objects.select_for_update().get(pk=support_request.pk)


def check_transition(current, target):
    """Raise RuleViolation unless `current -> target` is an allowed move (also used by admin forms)."""
    if target not in SupportStatus.values:
        raise InvalidInput(Code.INVALID, _("알 수 없는 상태입니다."), {"status": [_("알 수 없는 상태입니다.")]})
    if target not in SUPPORT_TRANSITIONS[SupportStatus(current)]:
        # Translators: %(current)s and %(target)s are status names (접수, 해결 …).
        raise RuleViolation(Code.INVALID_TRANSITION, _("'%(current)s'에서 '%(target)s'(으)로 바꿀 수 없습니다.") % {
            "current": SupportStatus(current).label, "target": SupportStatus(target).label})


@transaction.atomic
def assign_support_request(*, support_request, assignee, actor=None, note="", now=None):
    """Give a request to a member of the business support team (received → assigned; reassigning keeps
    the status)."""
    now = clock.now_or(now)
    if not _is_team_member(assignee):
        group = {"group": SUPPORT_TEAM_LABEL}
        # Translators: %(group)s is the team's name (기업지원팀, "Business Support Team").
        raise RuleViolation(Code.NOT_SUPPORT_TEAM_MEMBER, _("담당자는 '%(group)s' 구성원이어야 합니다.") % group,
                            {"assignee": [_("'%(group)s' 구성원이 아닙니다.") % group]})
    locked = _locked_request(support_request)
    if locked.status not in OPEN_SUPPORT_STATUSES:
        raise RuleViolation(Code.REQUEST_NOT_OPEN, _("이미 해결되었거나 종결된 신청입니다."))
    before = locked.status
    locked.assignee = assignee
    if locked.status == SupportStatus.RECEIVED:
        locked.status = SupportStatus.ASSIGNED
    locked.updated_at = now
    locked.save(update_fields=["assignee", "status", "updated_at"])
    # History note, in the language of the staff member who assigned.
    text = _("담당자 배정: %(name)s") % {"name": assignee.get_full_name() or assignee.get_username()}
    _log(locked, at=now, by=actors.user_of(actor), from_status=before, to_status=locked.status,
         note=f"{text}\n{note}".strip())
    if before != locked.status:
        _notify_status(locked)
    return locked


@transaction.atomic
def change_support_status(*, support_request, status, actor=None, note="", answer=None, now=None):
    """Move a request along received → assigned → in progress → resolved / closed. Resolving needs a
    requester-visible answer. The requester is e-mailed after commit."""
    now = clock.now_or(now)
    locked = _locked_request(support_request)
    check_transition(locked.status, status)
    if answer is not None:
        locked.answer = _text(answer, field="answer", max_length=DESCRIPTION_MAX, required=False, label=_("답변"))
    if status == SupportStatus.ASSIGNED and locked.assignee_id is None:
        raise RuleViolation(Code.ASSIGNEE_REQUIRED, _("담당자를 먼저 지정해 주세요."),
                            {"assignee": [_("담당자를 지정해 주세요.")]})
    if status == SupportStatus.RESOLVED and not locked.answer.strip():
        raise InvalidInput(Code.ANSWER_REQUIRED, _("해결 처리에는 신청인에게 보일 답변이 필요합니다."),
                           {"answer": [_("답변을 입력해 주세요.")]})
    note = _text(note or "", field="note", max_length=DESCRIPTION_MAX, required=False, label=_("메모"))
    before = locked.status
    locked.status = status
    if status == SupportStatus.RESOLVED:
        locked.resolved_at = now
    if status == SupportStatus.CLOSED:
        locked.closed_at = now
    locked.updated_at = now
    locked.save(update_fields=["status", "answer", "resolved_at", "closed_at", "updated_at"])
    _log(locked, at=now, by=actors.user_of(actor), from_status=before, to_status=status, note=note)
    _notify_status(locked)
    return locked


@transaction.atomic
def answer_support_request(*, support_request, answer, actor=None, now=None):
    """Write or correct the requester-visible answer without moving the status."""
    now = clock.now_or(now)
    locked = _locked_request(support_request)
    locked.answer = _text(answer, field="answer", max_length=DESCRIPTION_MAX, required=False, label=_("답변"))
    locked.updated_at = now
    locked.save(update_fields=["answer", "updated_at"])
    _log(locked, at=now, by=actors.user_of(actor), note=_("답변 수정"))
    return locked


@transaction.atomic
def add_support_note(*, support_request, note, actor=None, now=None):
    now = clock.now_or(now)
    note = _text(note, field="note", max_length=DESCRIPTION_MAX, label=_("메모"))
    _log(support_request, at=now, by=actors.user_of(actor), note=note)


@transaction.atomic
def send_overdue_reminders(*, now=None):
    """Daily: e-mail each assignee their overdue requests and the team lead all of them. A request is
    reminded at most once per Seoul day (claimed with a conditional UPDATE), so a late or repeated run
    sends nothing twice. Returns the number of requests reminded."""
    now = clock.now_or(now)
    today = timezone.localdate(now)
    overdue_ids = list(selectors.overdue_support_requests(now=now).values_list("pk", flat=True))
    claimed = []
    for pk in overdue_ids:
        if SupportRequest.objects.filter(pk=pk).exclude(last_reminded_on=today).update(last_reminded_on=today):
            claimed.append(pk)
    if claimed:
        from industrial import tasks

        enqueue_on_commit(tasks.send_overdue_digest, claimed)
    return len(claimed)


# --- Culture centre: registrations with a waiting list ---------------------------------------------------

def _notify_registration(registration, kind, token=None):
    from industrial import tasks

    enqueue_on_commit(tasks.send_registration_email, registration.pk, kind, token)


@transaction.atomic
def register_for_event(*, event_id, name, company, email, language=None, now=None):
    """Sign a worker up: confirmed while seats last, otherwise the next number on the waiting list.
    The event row is locked for the decision, and confirmed_count moves under CHECK (<= seats), so
    simultaneous sign-ups never overbook (invariant 8). `language` (the page's or API request's
    get_language(); Korean if not given) is the language of the registrant's e-mails.
    Returns (registration, cancel_token)."""
    now = clock.now_or(now)
    name = _text(name, field="name", max_length=100, label=_("이름"))
    company = _text(company, field="company", max_length=200, label=_("회사"))
    email = _email(email)
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("행사를 찾을 수 없습니다."))
    if event.starts_at <= now:
        raise RuleViolation(Code.REGISTRATION_CLOSED, _("이미 시작했거나 지난 행사입니다."))
    if Registration.objects.filter(event=event, email=email).exclude(status=RegistrationStatus.CANCELLED).exists():
        raise RuleViolation(Code.ALREADY_REGISTERED, _("이 이메일로 이미 신청했습니다."))
    token = secrets.token_urlsafe(32)
    registration = Registration(event=event, name=name, company=company, email=email,
                                cancel_token_hash=selectors.token_hash(token), created_at=now,
                                language=_language(language))
    if event.confirmed_count < event.seats:
        Event.objects.filter(pk=event.pk).update(confirmed_count=F("confirmed_count") + 1)
        registration.status = RegistrationStatus.CONFIRMED
        registration.confirmed_at = now
    else:
        Event.objects.filter(pk=event.pk).update(waitlist_seq=F("waitlist_seq") + 1)
        registration.status = RegistrationStatus.WAITLISTED
        registration.waitlist_number = event.waitlist_seq + 1
    try:
        with transaction.atomic():
            registration.save()
    except IntegrityError:  # the partial unique index: same e-mail, same event (backstop to the check)
        raise RuleViolation(Code.ALREADY_REGISTERED, _("이 이메일로 이미 신청했습니다."))
    _notify_registration(registration, "created", token)
    return registration, token


def _promote_next(event, now):
    """Give a freed seat to the lowest waiting-list number. The caller holds the event lock."""
    nxt = (Registration.objects.select_for_update()
           .filter(event=event, status=RegistrationStatus.WAITLISTED).order_by("waitlist_number", "pk").first())
    if nxt is None:
        return None
    nxt.status = RegistrationStatus.CONFIRMED
    nxt.confirmed_at = now
    nxt.save(update_fields=["status", "confirmed_at"])
    Event.objects.filter(pk=event.pk).update(confirmed_count=F("confirmed_count") + 1)
    _notify_registration(nxt, "promoted")
    return nxt


@transaction.atomic
def cancel_registration(*, registration_id=None, token=None, now=None):
    """Cancel by id (admin) or by the e-mailed token (the registrant); a confirmed seat passes to the
    first on the waiting list. Cancelling twice is harmless. Returns (registration, promoted or None)."""
    now = clock.now_or(now)
    lookup = {"pk": registration_id} if registration_id is not None else {"cancel_token_hash": selectors.token_hash(token or "")}
    event_id = Registration.objects.filter(**lookup).values_list("event_id", flat=True).first()
    if event_id is None:
        raise NotFound(_("신청을 찾을 수 없습니다."))
    # Lock order everywhere: event, then its registrations.
    event = Event.objects.select_for_update().get(pk=event_id)
    registration = Registration.objects.select_for_update().get(**lookup)
    if registration.status == RegistrationStatus.CANCELLED:
        return registration, None
    was_confirmed = registration.status == RegistrationStatus.CONFIRMED
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    registration.save(update_fields=["status", "cancelled_at"])
    promoted = None
    if was_confirmed:
        Event.objects.filter(pk=event.pk).update(confirmed_count=F("confirmed_count") - 1)
        if event.starts_at > now:
            promoted = _promote_next(event, now)
    _notify_registration(registration, "cancelled")
    return registration, promoted


EVENT_FIELDS = ("programme", "title", "starts_at", "venue", "seats", "description")


@transaction.atomic
def create_event(*, programme, title, starts_at, venue, seats, description="", actor=None, now=None):
    """A new culture-centre event with its seats (the admin's add form)."""
    if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
        raise InvalidInput(Code.INVALID, _("정원은 1 이상의 정수여야 합니다."), {"seats": [_("1 이상이어야 합니다.")]})
    return Event.objects.create(programme=programme, title=title, starts_at=starts_at, venue=venue, seats=seats,
                                description=description)


@transaction.atomic
def update_event(*, event, changes: dict, actor=None, now=None):
    """Change an event: the description fields as given, the seats through change_event_seats
    (never below the confirmed count; new seats go to the waiting list in order)."""
    locked = Event.objects.select_for_update().get(pk=event.pk)
    plain = {k: v for k, v in changes.items() if k in EVENT_FIELDS and k != "seats" and getattr(locked, k) != v}
    if plain:
        for name, value in plain.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(plain))
    if "seats" in changes and changes["seats"] != locked.seats:
        change_event_seats(event=locked, seats=changes["seats"], now=now)
    return Event.objects.get(pk=locked.pk)


@transaction.atomic
def change_event_seats(*, event, seats, now=None):
    """Change the capacity; never below the confirmed count; new seats go to the waiting list in order."""
    now = clock.now_or(now)
    locked = Event.objects.select_for_update().get(pk=event.pk)
    if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
        raise InvalidInput(Code.INVALID, _("정원은 1 이상의 정수여야 합니다."), {"seats": [_("1 이상이어야 합니다.")]})
    if seats < locked.confirmed_count:
        confirmed = locked.confirmed_count
        raise RuleViolation(Code.SEATS_BELOW_CONFIRMED,
                            ngettext("이미 확정된 %(count)d명보다 줄일 수 없습니다.",
                                     "이미 확정된 %(count)d명보다 줄일 수 없습니다.", confirmed) % {"count": confirmed},
                            {"seats": [ngettext("확정 인원 %(count)d명 이상이어야 합니다.",
                                                "확정 인원 %(count)d명 이상이어야 합니다.", confirmed) % {"count": confirmed}]})
    Event.objects.filter(pk=locked.pk).update(seats=seats)
    locked.refresh_from_db()
    promoted = []
    if locked.starts_at > now:
        while locked.confirmed_count < locked.seats:
            nxt = _promote_next(locked, now)
            if nxt is None:
                break
            promoted.append(nxt)
            locked.refresh_from_db()
    return promoted


# --- Clubs and the small library --------------------------------------------------------------------

@transaction.atomic
def join_club(*, club, name, email, company=""):
    name = _text(name, field="name", max_length=100, label=_("이름"))
    company = _text(company, field="company", max_length=200, required=False, label=_("회사"))
    email = _email(email)
    try:
        with transaction.atomic():
            return ClubMember.objects.create(club=club, name=name, company=company, email=email)
    except IntegrityError:
        raise RuleViolation(Code.ALREADY_MEMBER, _("이미 가입한 이메일입니다."))


@transaction.atomic
def lend_book(*, book, borrower_name, borrower_company="", borrower_email="", days=DEFAULT_LOAN_DAYS, now=None):
    """Lend a copy if one is on the shelf; the book row is locked so two loans never share the last copy."""
    today = timezone.localdate(clock.now_or(now))
    borrower_name = _text(borrower_name, field="borrower_name", max_length=100, label=_("대출자"))
    locked = Book.objects.select_for_update().get(pk=book.pk)
    if Loan.objects.filter(book=locked, returned_on__isnull=True).count() >= locked.copies:
        raise RuleViolation(Code.NO_COPY_AVAILABLE, _("'%(title)s'은(는) 모두 대출 중입니다.") % {"title": locked.title})
    return Loan.objects.create(book=locked, borrower_name=borrower_name, borrower_company=borrower_company,
                               borrower_email=borrower_email, loaned_on=today, due_on=today + timedelta(days=days))


@transaction.atomic
def return_loan(*, loan, now=None):
    today = timezone.localdate(clock.now_or(now))
    Loan.objects.filter(pk=loan.pk, returned_on__isnull=True).update(returned_on=today)
    loan.refresh_from_db()
    return loan

