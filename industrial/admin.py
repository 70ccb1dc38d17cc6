"""Staff admin of the Sangpyeong centre: project money (through services, with history), the support
inbox (filters, assignment, bulk status changes, team figures), events, clubs and library loans."""
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from industrial import selectors, services
from industrial.choices import OPEN_SUPPORT_STATUSES, SUPPORT_TEAM_LABEL, RegistrationStatus, SupportStatus
from industrial.models import (
    Book,
    Club,
    ClubMember,
    Company,
    Event,
    Expenditure,
    Funding,
    FundingAmendment,
    Loan,
    Milestone,
    Programme,
    Project,
    Registration,
    SupportCategorySLA,
    SupportRequest,
    SupportRequestEvent,
)
from jinju_portal.service_admin import ServiceForm, ServiceFormAdmin
from jinju_portal.bizno import normalize, validate_business_number
from jinju_portal.errors import ServiceError


# --- Project tracking ---------------------------------------------------------------------------------

class ReadOnlyInline(admin.TabularInline):
    """A record shown beside its parent and changed only through services (never added or deleted here)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ("order", "name", "planned_date", "actual_date", "weight", "percent_done")


class FundingInline(ReadOnlyInline):
    model = Funding
    fields = ("source", "amount", "spent", "remaining_display", "rate_display", "updated_at")
    show_change_link = True

    @admin.display(description=_("잔액(원)"))
    def remaining_display(self, obj):
        return f"{obj.remaining:,}"

    @admin.display(description=_("집행률"))
    def rate_display(self, obj):
        return str(selectors.ratio(obj.spent, obj.amount))


@admin.register(Project)
class ProjectAdmin(SimpleHistoryAdmin):
    list_display = ("name", "status", "budget_display", "spent_display", "rate_display", "progress_display",
                    "planned_completion")
    inlines = [FundingInline, MilestoneInline]
    readonly_fields = ("updated_at",)

    def _figures(self, obj):
        return selectors.project_figures(obj)

    @admin.display(description=_("총사업비(원)"))
    def budget_display(self, obj):
        return f"{self._figures(obj).budget_total:,}"

    @admin.display(description=_("집행액(원)"))
    def spent_display(self, obj):
        return f"{self._figures(obj).spent:,}"

    @admin.display(description=_("집행률"))
    def rate_display(self, obj):
        return str(self._figures(obj).execution_rate)

    @admin.display(description=_("공정률"))
    def progress_display(self, obj):
        return str(self._figures(obj).progress)

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        Project.objects.filter(pk=form.instance.pk).update(updated_at=timezone.now())


class FundingAddForm(ServiceForm):
    effective_on = forms.DateField(label=_("배정 기준일"), initial=timezone.localdate)
    reason = forms.CharField(label=_("사유"), max_length=300, initial=_("최초 배정"))

    class Meta:
        model = Funding
        fields = ("project", "source", "amount")

    def run_service(self, data):
        return services.create_funding(project=data["project"], source=data["source"], amount=data["amount"],
                                       effective_on=data["effective_on"], reason=data["reason"], actor=self.user)


class AmendmentInline(ReadOnlyInline):
    model = FundingAmendment
    fields = ("effective_on", "amount_before", "amount_after", "reason", "created_by", "created_at")


@admin.register(Funding)
class FundingAdmin(ServiceFormAdmin, SimpleHistoryAdmin):
    list_display = ("project", "source", "amount", "spent", "updated_at")
    list_filter = ("source", "project")
    inlines = [AmendmentInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = FundingAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # An allocation changes only by a dated amendment (예산 변경), never by editing the figure.
        return ("project", "source", "amount", "spent", "updated_at") if obj else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("project", "source", "amount", "effective_on", "reason")
        return ("project", "source", "amount", "spent", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False


class AmendmentForm(ServiceForm):
    class Meta:
        model = FundingAmendment
        fields = ("funding", "amount_after", "effective_on", "reason")

    def run_service(self, data):
        return services.amend_funding(funding=data["funding"], new_amount=data["amount_after"],
                                      effective_on=data["effective_on"], reason=data["reason"], actor=self.user)


@admin.register(FundingAmendment)
class FundingAmendmentAdmin(ServiceFormAdmin, SimpleHistoryAdmin):
    form = AmendmentForm
    list_display = ("funding", "effective_on", "amount_before", "amount_after", "reason", "created_by", "created_at")
    list_filter = ("funding__source",)
    date_hierarchy = "effective_on"

    def get_readonly_fields(self, request, obj=None):
        if obj:
            return ("funding", "effective_on", "amount_before", "amount_after", "reason", "created_by", "created_at")
        return ()

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or ("funding", "amount_after", "effective_on", "reason")

    def has_delete_permission(self, request, obj=None):
        return False


class ExpenditureForm(ServiceForm):
    class Meta:
        model = Expenditure
        fields = ("funding", "spent_on", "amount", "payee", "description", "document_ref")

    def run_service(self, data):
        return services.record_expenditure(
            funding=data["funding"], amount=data["amount"], spent_on=data["spent_on"], payee=data["payee"],
            description=data["description"], document_ref=data.get("document_ref", ""), actor=self.user)


@admin.register(Expenditure)
class ExpenditureAdmin(ExportMixin, ServiceFormAdmin, SimpleHistoryAdmin):
    form = ExpenditureForm
    list_display = ("spent_on", "funding", "amount", "payee", "description", "document_ref", "created_by")
    list_filter = ("funding__source", "project")
    search_fields = ("payee", "description", "document_ref")
    date_hierarchy = "spent_on"

    def get_readonly_fields(self, request, obj=None):
        # Recorded spending is not edited in place: the running total would no longer match.
        if obj:
            return ("project", "funding", "spent_on", "amount", "payee", "description", "document_ref",
                    "created_by", "created_at")
        return ()

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or ExpenditureForm.Meta.fields

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Milestone)
class MilestoneAdmin(SimpleHistoryAdmin):
    list_display = ("project", "order", "name", "planned_date", "actual_date", "weight", "percent_done")
    list_editable = ("actual_date", "percent_done")
    list_filter = ("project",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The public dashboard's "last update" covers progress as well as money.
        Project.objects.filter(pk=obj.project_id).update(updated_at=timezone.now())


# --- Companies and the support desk ----------------------------------------------------------------------

class CompanyRequestInline(ReadOnlyInline):
    model = SupportRequest
    fields = ("number", "category", "title", "status", "received_at", "due_at")
    show_change_link = True


class CompanyForm(forms.ModelForm):
    business_number = forms.CharField(label=_("사업자등록번호"), max_length=20, validators=[validate_business_number],
                                      help_text=_("예: 220-81-62517"))

    class Meta:
        model = Company
        fields = "__all__"

    def clean_business_number(self):
        return normalize(self.cleaned_data["business_number"])


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    form = CompanyForm
    list_display = ("name", "business_number", "sector", "is_resident", "is_cluster_member", "request_count")
    list_filter = ("sector", "is_resident", "is_cluster_member")
    search_fields = ("name", "business_number")
    inlines = [CompanyRequestInline]

    @admin.display(description=_("애로 신청"))
    def request_count(self, obj):
        return obj.support_requests.count()


@admin.register(SupportCategorySLA)
class SupportCategorySLAAdmin(SimpleHistoryAdmin):
    list_display = ("category", "days")
    list_editable = ("days",)


class OverdueFilter(admin.SimpleListFilter):
    title = _("기한")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", _("기한 경과")), ("open", _("미해결"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(status__in=OPEN_SUPPORT_STATUSES, due_at__lt=timezone.now())
        if self.value() == "open":
            return queryset.filter(status__in=OPEN_SUPPORT_STATUSES)
        return queryset


class SupportActionForm(ActionForm):
    assignee = forms.ModelChoiceField(label=_("담당자"), required=False, queryset=selectors.support_team_members())
    note = forms.CharField(label=_("메모"), required=False, max_length=1000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.support_team_members()


class SupportRequestEventInline(ReadOnlyInline):
    model = SupportRequestEvent
    fields = ("at", "by", "from_status", "to_status", "note")


class SupportRequestForm(ServiceForm):
    new_status = forms.ChoiceField(label=_("상태 변경"), required=False,
                                   choices=[("", "—")] + list(SupportStatus.choices))
    new_assignee = forms.ModelChoiceField(label=_("담당자 배정"), required=False,
                                          queryset=selectors.support_team_members())
    note = forms.CharField(label=_("처리 메모 (내부)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = SupportRequest
        fields = ("answer",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_assignee"].queryset = selectors.support_team_members()
        self._answer_before = self.instance.answer if self.instance.pk else ""

    def run_service(self, data):
        sr = self.instance
        answer = data.get("answer", "")
        note = data.get("note", "")
        if data.get("new_assignee") and data["new_assignee"].pk != sr.assignee_id:
            sr = services.assign_support_request(support_request=sr, assignee=data["new_assignee"], actor=self.user,
                                                 note=note)
            note = ""
        if data.get("new_status") and data["new_status"] != sr.status:
            sr = services.change_support_status(support_request=sr, status=data["new_status"], actor=self.user,
                                                note=note, answer=answer)
            note = ""
        elif answer != self._answer_before:
            sr = services.answer_support_request(support_request=sr, answer=answer, actor=self.user)
        if note:
            services.add_support_note(support_request=sr, note=note, actor=self.user)
        sr.refresh_from_db()
        return sr


@admin.register(SupportRequest)
class SupportRequestAdmin(ExportMixin, ServiceFormAdmin):
    form = SupportRequestForm
    action_form = SupportActionForm
    change_list_template = "industrial/admin/supportrequest_change_list.html"
    list_display = ("number", "company_name", "category", "title", "status", "assignee", "received_at", "due_at",
                    "overdue_flag")
    list_filter = ("status", "category", OverdueFilter, "assignee")
    search_fields = ("number", "company_name", "business_number", "title", "contact_email")
    date_hierarchy = "received_at"
    list_select_related = ("assignee",)
    readonly_fields = ("number", "company", "company_name", "business_number", "category", "title", "description",
                       "contact_name", "contact_email", "contact_phone", "language", "status", "assignee",
                       "received_at", "due_at", "resolved_at", "closed_at", "updated_at")
    fieldsets = (
        (_("신청"), {"fields": ("number", "company", "company_name", "business_number", "category", "title",
                              "description", "contact_name", "contact_email", "contact_phone", "language")}),
        (_("처리"), {"fields": ("status", "assignee", "received_at", "due_at", "resolved_at", "closed_at",
                              "updated_at", "new_assignee", "new_status", "answer", "note")}),
    )
    inlines = [SupportRequestEventInline]
    actions = ["assign_selected", "mark_in_progress", "mark_resolved", "mark_closed"]

    def has_add_permission(self, request):
        return False  # requests come from companies (page or API)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("기한 경과"), boolean=True)
    def overdue_flag(self, obj):
        return obj.is_open and obj.due_at < timezone.now()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "team_figures": selectors.support_team_figures()}
        return super().changelist_view(request, extra_context=extra_context)

    def _bulk(self, request, queryset, call, done_message):
        """`done_message(n)`: the success line for n requests, one whole sentence per action."""
        done, failed = 0, []
        for sr in queryset.order_by("pk"):
            try:
                call(sr)
                done += 1
            except ServiceError as exc:
                # Translators: a request number, then why it was refused.
                failed.append(gettext("%(number)s: %(reason)s") % {"number": sr.number, "reason": exc.detail})
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("선택한 신청을 담당자에게 배정"))
    def assign_selected(self, request, queryset):
        assignee = selectors.support_team_members().filter(pk=request.POST.get("assignee") or 0).first()
        if assignee is None:
            self.message_user(request, gettext("아래쪽 '담당자'에서 %(group)s 구성원을 고르세요.") % {
                "group": SUPPORT_TEAM_LABEL}, messages.ERROR)
            return
        note = request.POST.get("note", "")
        self._bulk(request, queryset, lambda sr: services.assign_support_request(
            support_request=sr, assignee=assignee, actor=request.user, note=note),
            lambda n: ngettext("%(count)d건을 배정 처리했습니다.", "%(count)d건을 배정 처리했습니다.", n) % {"count": n})

    def _status_action(self, request, queryset, status, done_message):
        note = request.POST.get("note", "")
        self._bulk(request, queryset, lambda sr: services.change_support_status(
            support_request=sr, status=status, actor=request.user, note=note), done_message)

    @admin.action(description=_("선택한 신청을 '처리 중'으로"))
    def mark_in_progress(self, request, queryset):
        self._status_action(request, queryset, SupportStatus.IN_PROGRESS, lambda n: ngettext(
            "%(count)d건을 처리 중 처리했습니다.", "%(count)d건을 처리 중 처리했습니다.", n) % {"count": n})

    @admin.action(description=_("선택한 신청을 '해결'로 (답변이 있어야 함)"))
    def mark_resolved(self, request, queryset):
        self._status_action(request, queryset, SupportStatus.RESOLVED, lambda n: ngettext(
            "%(count)d건을 해결 처리했습니다.", "%(count)d건을 해결 처리했습니다.", n) % {"count": n})

    @admin.action(description=_("선택한 신청을 '종결'로"))
    def mark_closed(self, request, queryset):
        self._status_action(request, queryset, SupportStatus.CLOSED, lambda n: ngettext(
            "%(count)d건을 종결 처리했습니다.", "%(count)d건을 종결 처리했습니다.", n) % {"count": n})


# --- Culture centre -----------------------------------------------------------------------------------------

@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)


class RegistrationInline(ReadOnlyInline):
    model = Registration
    fields = ("status", "waitlist_number", "name", "company", "email", "created_at", "confirmed_at", "cancelled_at")
    show_change_link = True
    ordering = ("status", "waitlist_number", "pk")


class EventForm(ServiceForm):
    class Meta:
        model = Event
        fields = ("programme", "title", "starts_at", "venue", "seats", "description")

    def run_service(self, data):
        if self.instance.pk is None:
            return services.create_event(**{k: data[k] for k in services.EVENT_FIELDS}, actor=self.user)
        return services.update_event(event=self.instance, changes=self.changed(services.EVENT_FIELDS), actor=self.user)


@admin.register(Event)
class EventAdmin(ServiceFormAdmin):
    form = EventForm
    list_display = ("title", "programme", "starts_at", "venue", "seats", "confirmed_count", "waiting")
    list_filter = ("programme__kind", "programme")
    date_hierarchy = "starts_at"
    readonly_fields = ("confirmed_count",)
    inlines = [RegistrationInline]

    @admin.display(description=_("대기"))
    def waiting(self, obj):
        return obj.registrations.filter(status=RegistrationStatus.WAITLISTED).count()


class RegistrationAddForm(ServiceForm):
    class Meta:
        model = Registration
        fields = ("event", "name", "company", "email")

    def run_service(self, data):
        registration, _token = services.register_for_event(event_id=data["event"].pk, name=data["name"],
                                                           company=data["company"], email=data["email"])
        return registration


@admin.register(Registration)
class RegistrationAdmin(ExportMixin, ServiceFormAdmin):
    form = RegistrationAddForm
    list_display = ("event", "name", "company", "email", "status", "waitlist_number", "created_at")
    list_filter = ("status", "event")
    search_fields = ("name", "company", "email")
    actions = ["cancel_selected"]

    def get_readonly_fields(self, request, obj=None):
        if obj:
            return ("event", "name", "company", "email", "language", "status", "waitlist_number", "created_at",
                    "confirmed_at", "cancelled_at")
        return ()

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or RegistrationAddForm.Meta.fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("선택한 신청 취소 (대기자 자동 확정)"))
    def cancel_selected(self, request, queryset):
        promoted = 0
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            _registration, nxt = services.cancel_registration(registration_id=pk)
            promoted += nxt is not None
        self.message_user(request, ngettext("취소했습니다. 대기자 %(count)d명이 확정되었습니다.",
                                            "취소했습니다. 대기자 %(count)d명이 확정되었습니다.", promoted)
                          % {"count": promoted}, messages.SUCCESS)


class ClubMemberInline(admin.TabularInline):
    model = ClubMember
    extra = 1


@admin.register(Club)
class ClubAdmin(admin.ModelAdmin):
    list_display = ("name", "meets", "leader_name", "member_count")
    inlines = [ClubMemberInline]

    @admin.display(description=_("회원 수"))
    def member_count(self, obj):
        return obj.members.count()


class LoanStateFilter(admin.SimpleListFilter):
    title = _("대출 상태")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("out", _("대출 중")), ("overdue", _("연체")), ("returned", _("반납"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "out":
            return queryset.filter(returned_on__isnull=True)
        if self.value() == "overdue":
            return queryset.filter(returned_on__isnull=True, due_on__lt=today)
        if self.value() == "returned":
            return queryset.filter(returned_on__isnull=False)
        return queryset


class LoanForm(ServiceForm):
    class Meta:
        model = Loan
        fields = ("book", "borrower_name", "borrower_company", "borrower_email")

    def run_service(self, data):
        return services.lend_book(book=data["book"], borrower_name=data["borrower_name"],
                                  borrower_company=data.get("borrower_company", ""),
                                  borrower_email=data.get("borrower_email", ""))


@admin.register(Loan)
class LoanAdmin(ServiceFormAdmin):
    form = LoanForm
    list_display = ("book", "borrower_name", "borrower_company", "loaned_on", "due_on", "returned_on", "overdue_flag")
    list_filter = (LoanStateFilter,)
    search_fields = ("book__title", "borrower_name")
    actions = ["mark_returned"]

    def get_readonly_fields(self, request, obj=None):
        if obj:
            return ("book", "borrower_name", "borrower_company", "borrower_email", "loaned_on", "due_on", "returned_on")
        return ()

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or LoanForm.Meta.fields

    @admin.display(description=_("연체"), boolean=True)
    def overdue_flag(self, obj):
        return obj.returned_on is None and obj.due_on < timezone.localdate()

    @admin.action(description=_("선택한 대출 반납 처리"))
    def mark_returned(self, request, queryset):
        for loan in queryset:
            services.return_loan(loan=loan)
        self.message_user(request, gettext("반납 처리했습니다."), messages.SUCCESS)


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "isbn", "copies", "on_loan")
    search_fields = ("title", "author", "isbn")

    @admin.display(description=_("대출 중"))
    def on_loan(self, obj):
        return format_html("{}", obj.loans.filter(returned_on__isnull=True).count())
