"""Staff's queue of cash-out (상품권 깡) signals: open ones first, by severity and score; each with its
evidence (the figures, the notes with their sale and exchange times and the hours between, the
purchases, the exchanges, the refused serials), the buyer masked, the merchant; and the actions —
dismiss, warn, suspend, cancel for illegal exchange, record a fine — each through its service
(services/fraud.py) with a reason. Suspend, cancel and fine ask for confirmation on a second page.
Registered from vouchers/admin.py."""
from django import forms
from django.contrib import admin, messages
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error
from jinju_portal.money import format_krw
from vouchers import inputs, rules, services
from vouchers.admin_base import ReadOnlyAdmin
from vouchers.choices import FraudActionKind, FraudStatus
from vouchers.models import Exchange, ExchangeRefusal, FraudAction, FraudSignal, PaperNote, Purchase

DANGEROUS = {FraudActionKind.SUSPEND, FraudActionKind.CANCEL, FraudActionKind.FINE}
EVIDENCE_ROWS = 200  # rows shown per evidence table; the signal keeps up to VOUCHERS_FRAUD_EVIDENCE_IDS ids


def mask_name(name: str) -> str:
    """A person's name as the queue shows it: first and last letter, the middle starred (홍*동,
    남궁**수, 이*); the full name is on the citizen's own page for staff allowed to see it."""
    name = (name or "").strip()
    if not name:
        return str(_("이름 없음"))
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _hours(sold_at, exchanged_at):
    if not sold_at or not exchanged_at:
        return ""
    return f"{(exchanged_at - sold_at).total_seconds() / 3600:,.1f}"


def _table(head, rows):
    if not rows:
        return _("없음")
    header = format_html_join("", "<th>{}</th>", ((h,) for h in head))
    body = format_html_join("", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),)
                                                 for row in rows))
    return format_html("<table><tr>{}</tr>{}</table>", header, body)


def _figure(value):
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value[:30]) + (" …" if len(value) > 30 else "")
    return str(value)


FIGURE_LABELS = {
    "amount": _("금액(원)"), "exchanges": _("환전 건수"), "trailing_average": _("최근 3개월 평균(원)"),
    "trailing_months": _("평균에 든 달 수"), "months_before": _("3·2·1개월 전 환전액(원)"), "ratio": _("배율"),
    "threshold_ratio": _("기준 배율"), "category_median": _("업종 중앙값(원)"), "category_merchants": _("업종 가맹점 수"),
    "cap": _("월 환전 한도(원)"), "attempted": _("환전 + 한도 초과 거절액(원)"),
    "refused_over_cap_notes": _("한도 초과로 거절된 매수"), "refused_over_cap_amount": _("한도 초과로 거절된 금액(원)"),
    "threshold_share": _("기준 비율"), "notes": _("매수"), "quick_notes": _("판매 직후 환전 매수"),
    "quick_amount": _("판매 직후 환전액(원)"), "quick_hours": _("'직후' 기준(시간)"), "min_hours": _("최단 시간"),
    "median_hours": _("중앙 시간"), "max_hours": _("최장 시간"), "buyer_notes": _("구매자의 이달 환전 매수"),
    "buyer_amount": _("구매자의 이달 환전액(원)"), "buyer_merchants": _("구매자 상품권이 간 가맹점 수"),
    "share": _("이 가맹점 비율"), "threshold_amount": _("기준 금액(원)"),
    "names_match": _("구매자 이름 = 대표자 이름 (공백 무시)"), "buyers": _("구매자 수"), "ring_days": _("기준 일수"),
    "median_of_longest_hours": _("구매자별 최장 시간의 중앙값"), "citizen_ids": _("구매자 번호"),
    "threshold_buyers": _("기준 구매자 수"), "threshold_notes_per_buyer": _("구매자당 기준 매수"),
    "months_at_limit": _("한도까지 산 달 수"), "months": _("대상 달"),
    "purchased_in_those_months": _("그 달들의 구매액(원)"), "paper_bought_this_month": _("이달 지류 구매액(원)"),
    "share_of_bought": _("이달 산 지류 중 이 가맹점 비율"), "refusals": _("거절 건수"),
    "already_redeemed": _("이미 환전됨"), "unknown": _("없는 일련번호"), "serials": _("일련번호(앞 20개)"),
    "first_at": _("처음"), "last_at": _("마지막"), "threshold_refusals": _("기준 건수"),
}


class OpenFirstFilter(admin.SimpleListFilter):
    title = _("처리 여부")
    parameter_name = "decided"

    def lookups(self, request, model_admin):
        return (("no", _("검토 대기")), ("yes", _("처리됨")))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(status=FraudStatus.OPEN)
        if self.value() == "yes":
            return queryset.exclude(status=FraudStatus.OPEN)
        return queryset


class FraudSignalAdmin(ReadOnlyAdmin):
    """Read-only rows written by the scan; staff change them only through the action pages."""

    list_display = ("id", "severity_display", "rule", "merchant", "buyer", "period", "score", "status",
                    "created_at", "scanned_at")
    list_display_links = ("id", "rule")
    list_filter = (OpenFirstFilter, "status", "rule", "severity", "period")
    list_select_related = ("merchant", "citizen")
    search_fields = ("=merchant__code", "=merchant__business_number", "merchant__name")
    search_help_text = _("가맹점 코드, 사업자등록번호 또는 상호")
    show_full_result_count = False
    list_per_page = 100
    fields = ("rule", "merchant_link", "buyer", "period", "severity", "score", "status", "created_at",
              "scanned_at", "decided_at", "decision", "action_buttons", "figures", "notes_table",
              "purchases_table", "exchanges_table", "refusals_table", "trail")
    readonly_fields = fields

    def has_act_permission(self, request):
        return request.user.has_perm("vouchers.change_fraudsignal")

    def get_ordering(self, request):
        """Open signals first, then the most severe, the highest score, the newest."""
        open_first = Case(When(status=FraudStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
        return (open_first.asc(), "-severity", "-score", "-id")

    @admin.display(description=_("심각도"), ordering="-severity")
    def severity_display(self, obj):
        colour = {3: "#ba2121", 2: "#c77700", 1: "#666"}.get(obj.severity, "#666")
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_severity_display())

    @admin.display(description=_("구매자"))
    def buyer(self, obj):
        if obj.citizen_id is None:
            return "-"
        year = f" ({obj.citizen.birth_year})" if obj.citizen.birth_year else ""
        url = reverse("admin:vouchers_citizen_change", args=[obj.citizen_id])
        return format_html('<a href="{}">{}{}</a> #{}', url, mask_name(obj.citizen.name), year, obj.citizen_id)

    @admin.display(description=_("가맹점"))
    def merchant_link(self, obj):
        m = obj.merchant
        url = reverse("admin:vouchers_merchant_change", args=[m.pk])
        return format_html('<a href="{}">{} ({})</a> · {} · {} · {} {} · {} {}', url, m.name, m.code,
                           m.get_status_display(), m.category, _("대표자"), mask_name(m.representative),
                           _("연 매출"), format_krw(m.annual_revenue))

    @admin.display(description=_("조치"))
    def decision(self, obj):
        action = FraudAction.objects.filter(signal=obj).first()
        if action is None:
            return _("아직 없음")
        fine = format_html(" · {}", format_krw(action.fine_amount)) if action.fine_amount else ""
        return format_html("{}{} · {} · {} · {}", action.get_action_display(), fine, action.actor, _local(action.at),
                           action.reason)

    @admin.display(description=_("처리"))
    def action_buttons(self, obj):
        if obj.status != FraudStatus.OPEN:
            return _("처리된 신호입니다.")
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', (
            (reverse("admin:vouchers_fraudsignal_act", args=[obj.pk, kind.value]), kind.label)
            for kind in FraudActionKind))

    @admin.display(description=_("근거 수치"))
    def figures(self, obj):
        return _table((_("항목"), _("값")), [(FIGURE_LABELS.get(k, k), _figure(v)) for k, v in obj.evidence.items()])

    @admin.display(description=_("관련 지류 (판매·환전 시각)"))
    def notes_table(self, obj):
        notes = (PaperNote.objects.filter(pk__in=obj.note_ids[:EVIDENCE_ROWS])
                 .select_related("purchase__citizen", "exchange__merchant").order_by("status_changed_at", "id"))
        rows = [(n.serial, format_krw(n.denomination), _local(n.purchase.created_at), _local(n.status_changed_at),
                 _hours(n.purchase.created_at, n.status_changed_at), f"#{n.purchase_id}",
                 mask_name(n.purchase.citizen.name), n.exchange.merchant.name if n.exchange else "")
                for n in notes]
        return _table((_("일련번호"), _("권종"), _("판매"), _("환전"), _("걸린 시간(시간)"), _("구매"), _("구매자"),
                       _("환전 가맹점")), rows)

    @admin.display(description=_("관련 구매"))
    def purchases_table(self, obj):
        purchases = Purchase.objects.filter(pk__in=obj.purchase_ids[:EVIDENCE_ROWS]).select_related(
            "citizen", "api_client").order_by("created_at", "id")
        rows = [(format_html('<a href="{}">#{}</a>', reverse("admin:vouchers_purchase_change", args=[p.pk]), p.pk),
                 _local(p.created_at), p.get_channel_display(), p.api_client.name if p.api_client else "",
                 mask_name(p.citizen.name), format_krw(p.face_value), p.get_status_display()) for p in purchases]
        return _table((_("구매"), _("일시"), _("판매 경로"), _("판매대행"), _("구매자"), _("액면가"), _("상태")), rows)

    @admin.display(description=_("관련 환전"))
    def exchanges_table(self, obj):
        exchanges = Exchange.objects.filter(pk__in=obj.exchange_ids[:EVIDENCE_ROWS]).select_related(
            "api_client").order_by("created_at", "id")
        rows = [(f"#{x.pk}", _local(x.created_at), format_krw(x.amount), x.accepted_count, x.refused_count,
                 x.api_client.name if x.api_client else "") for x in exchanges]
        return _table((_("환전"), _("일시"), _("금액"), _("환전 매수"), _("거절 매수"), _("은행")), rows)

    @admin.display(description=_("거절된 일련번호"))
    def refusals_table(self, obj):
        refusals = ExchangeRefusal.objects.filter(pk__in=obj.refusal_ids[:EVIDENCE_ROWS]).select_related(
            "note__exchange__merchant").order_by("created_at", "id")
        rows = [(r.serial, r.get_reason_display(), _local(r.created_at), f"#{r.exchange_id}",
                 format_html("{} ({})", r.note.exchange.merchant.name, _local(r.note.status_changed_at))
                 if r.note and r.note.exchange else "") for r in refusals]
        return _table((_("일련번호"), _("사유"), _("일시"), _("환전"), _("먼저 환전한 가맹점 (일시)")), rows)

    @admin.display(description=_("처리 기록"))
    def trail(self, obj):
        rows = obj.events.order_by("-at", "-id")[:50]
        return _table((_("일시"), _("종류"), _("처리자"), _("메모")),
                      [(_local(e.at), e.get_kind_display(), e.actor, e.note) for e in rows])

    def get_urls(self):
        return [path("<int:pk>/act/<str:action>/", self.admin_site.admin_view(self.act_view),
                     name="vouchers_fraudsignal_act"), *super().get_urls()]

    def act_view(self, request, pk, action):
        """One action on one signal: the form (reason, and the amount of a fine), then — for suspend,
        cancel and fine — a confirmation page, then the service. A refusal (another clerk was first,
        a fine outside the bounds, a merchant not approved) comes back as a message on the form."""
        signal = get_object_or_404(FraudSignal.objects.select_related("merchant", "citizen"), pk=pk)
        if not self.has_act_permission(request) or action not in FraudActionKind.values:
            return redirect("admin:index")
        kind = FraudActionKind(action)
        count, last = services.prior_fines(signal.merchant_id)
        form = FraudActionForm(request.POST or None, kind=kind,
                               initial={"amount": rules.suggested_fine(count, last)})
        change_url = reverse("admin:vouchers_fraudsignal_change", args=[signal.pk])
        confirming = False
        if request.method == "POST" and form.is_valid():
            if kind in DANGEROUS and request.POST.get("confirm") != "yes":
                confirming = True
            else:
                try:
                    self._run(kind, signal, form.cleaned_data, request.user)
                except ServiceError as exc:
                    add_service_error(form, exc)
                else:
                    self.message_user(request, DONE[kind] % {"merchant": signal.merchant.name}, messages.SUCCESS)
                    return redirect(change_url)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": signal,
                   "form": form, "kind": kind, "confirming": confirming, "dangerous": kind in DANGEROUS,
                   "prior_fines": count, "last_fine": last, "change_url": change_url,
                   "consequence": CONSEQUENCE[kind],
                   "title": _("%(action)s: %(signal)s · %(merchant)s") % {
                       "action": kind.label, "signal": signal, "merchant": signal.merchant.name}}
        return TemplateResponse(request, "admin/vouchers/fraudsignal/act.html", context)

    @staticmethod
    def _run(kind, signal, data, user):
        common = {"signal_id": signal.pk, "reason": data["reason"], "actor": user}
        if kind == FraudActionKind.FINE:
            return services.fine_signal(amount=data["amount"], **common)
        return {FraudActionKind.DISMISS: services.dismiss_signal, FraudActionKind.WARN: services.warn_signal,
                FraudActionKind.SUSPEND: services.suspend_signal,
                FraudActionKind.CANCEL: services.cancel_signal}[kind](**common)


DONE = {
    FraudActionKind.DISMISS: _("%(merchant)s의 신호를 기각했습니다."),
    FraudActionKind.WARN: _("%(merchant)s에 경고한 것으로 기록했습니다."),
    FraudActionKind.SUSPEND: _("%(merchant)s을(를) 정지했습니다."),
    FraudActionKind.CANCEL: _("%(merchant)s을(를) 불법 환전으로 해지했습니다. 1년 동안 다시 등록할 수 없습니다."),
    FraudActionKind.FINE: _("%(merchant)s의 과태료를 기록했습니다."),
}

CONSEQUENCE = {
    FraudActionKind.DISMISS: _("신호를 기각합니다. 가맹점에는 아무 조치도 하지 않습니다."),
    FraudActionKind.WARN: _("가맹점에 경고한 것으로 기록합니다. 경고문은 따로 보내 주세요."),
    FraudActionKind.SUSPEND: _("가맹점을 정지합니다. 다시 승인할 때까지 상품권 결제와 환전을 받을 수 없습니다."),
    FraudActionKind.CANCEL: _("가맹점 등록을 불법 환전으로 해지합니다. 되돌릴 수 없고, 해지일부터 1년 동안 "
                              "같은 사업자등록번호로 다시 등록할 수 없습니다."),
    FraudActionKind.FINE: _("과태료를 기록합니다. 첫 위반은 6,000,000원, 그 뒤에는 20,000,000원까지입니다."),
}


class FraudActionForm(forms.Form):
    reason = forms.CharField(label=_("사유"), max_length=inputs.MAX_REASON,
                             widget=forms.TextInput(attrs={"size": 80}))
    amount = forms.IntegerField(label=_("과태료(원)"), required=False, min_value=0)

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        if kind != FraudActionKind.FINE:
            del self.fields["amount"]
        else:
            self.fields["amount"].required = True

    def clean_reason(self):
        try:
            return inputs.clean_reason(self.cleaned_data["reason"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.detail) from None


class FraudActionAdmin(ReadOnlyAdmin):
    """What staff decided, newest first: the register of warnings, suspensions, cancellations and fines
    (read-only: an action is taken on its signal's page, through its service)."""

    list_display = ("at", "merchant", "action", "fine_display", "actor", "signal", "reason")
    list_filter = ("action",)
    list_select_related = ("merchant", "signal")
    search_fields = ("=merchant__code", "=merchant__business_number", "merchant__name")
    fields = ("signal", "merchant", "action", "fine_amount", "reason", "actor", "user", "at")
    readonly_fields = fields

    @admin.display(description=_("과태료"), ordering="fine_amount")
    def fine_display(self, obj):
        return format_krw(obj.fine_amount) if obj.fine_amount else ""
