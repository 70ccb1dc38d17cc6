"""The admin's import of the city's merchant list (django-import-export): the resource with the
sheet's Korean columns, whose rows services.import_merchants writes (services.preview_merchant_import
in the dry run); the forms that carry the clerk's note and the progress token; the progress the
page polls; and what the preview shows of each row.

import-export reads the file, drives the dry run and the confirm step and reports each row; the
service decides and writes. Bad rows are row validation errors (their reasons in Korean, by
column) and are skipped, the good ones imported: the admin offers the confirm step even when some
rows are bad (MerchantAdmin.import_action)."""
import re
from urllib.parse import quote

import tablib
from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy as _
from import_export import fields, resources, widgets
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm
from import_export.results import RowResult

from jinju_portal.errors import ServiceError
from vouchers import inputs, merchant_list, services
from vouchers.errors import refuse
from vouchers.models import Merchant

# --- progress: the server's own count, polled by the page while the import request runs ----------

PROGRESS_SECONDS = 3600
PROGRESS_TOKEN = re.compile(r"[0-9a-f]{32}")
PROGRESS_EVERY = 500  # rows between two reports while import-export goes through the rows
STAGES = {
    "read": _("파일을 읽었습니다: %(total)s행"),
    "check": _("확인 중: %(done)s / %(total)s행"),
    "write": _("저장 중: %(done)s / %(total)s곳"),
    "rows": _("결과 정리 중: %(done)s / %(total)s행"),
    "done": _("끝났습니다. 화면을 준비하고 있습니다."),
}


def _progress_key(token: str) -> str:
    return f"vouchers:merchant-import:{token}"


def report_progress(token, stage: str, done: int, total: int) -> None:
    """Record where an import stands, for the page that polls it (the cache is Redis in production,
    shared by every web process; the token is the page's own random 32 hex digits)."""
    if token and PROGRESS_TOKEN.fullmatch(token):
        cache.set(_progress_key(token), {"stage": stage, "done": done, "total": total}, PROGRESS_SECONDS)


def read_progress(token) -> dict | None:
    """{stage, done, total, label} of an import under way, or None."""
    if not token or not PROGRESS_TOKEN.fullmatch(token):
        return None
    state = cache.get(_progress_key(token))
    if state is None:
        return None
    return {**state, "label": gettext(STAGES[state["stage"]]) % {"done": f"{state['done']:,}",
                                                                  "total": f"{state['total']:,}"}}


# --- the sheet's columns -------------------------------------------------------------------------

class ShownWidget(widgets.Widget):
    """Exports a value as the sheet writes it (220-81-62517, 일반음식점, 350,000,000, O/X); imports are
    read by services.import_merchants, not by the widgets."""

    def __init__(self, field_name, **kwargs):
        super().__init__(**kwargs)
        self.field_name = field_name

    def render(self, value, obj=None, **kwargs):
        return merchant_list.shown(self.field_name, value)


class SpreadsheetCSV(base_formats.CSV):
    """CSV as Excel saves it here: UTF-8 (with or without the BOM) or, from Korean Excel's
    "CSV (쉼표로 분리)", CP949."""

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes):
            try:
                in_stream = in_stream.decode("utf-8-sig")
            except UnicodeDecodeError:
                in_stream = in_stream.decode("cp949", errors="replace")
        return super().create_dataset(in_stream, **kwargs)


FORMATS = [SpreadsheetCSV, base_formats.XLSX]


def _column(name):
    column = merchant_list.BY_FIELD[name]
    return fields.Field(attribute=name, column_name=column.header, widget=ShownWidget(name))


class MerchantListResource(resources.ModelResource):
    """가맹점 명단: one row per merchant, by business number (a number already registered updates
    that merchant, never a second one). Every write is services.import_merchants'."""

    business_number = _column("business_number")
    name = _column("name")
    category = _column("category")
    address = _column("address")
    dong = _column("dong")
    phone = _column("phone")
    representative = _column("representative")
    annual_revenue = _column("annual_revenue")
    accepts_paper = _column("accepts_paper")
    accepts_mobile = _column("accepts_mobile")

    class Meta:
        model = Merchant
        name = _("가맹점 명단")
        fields = tuple(c.field for c in merchant_list.COLUMNS)
        import_id_fields = ("business_number",)
        use_transactions = True  # the whole sheet in one transaction (the service's, nested)
        use_bulk = True  # no savepoint per row: the service writes in batches
        skip_unchanged = True  # a row equal to the merchant is skipped (skip_row asks the service's verdict)
        report_skipped = True  # … and listed in the preview, as is a blank row
        skip_diff = True  # the preview shows the cleaned values and the changed ones (row_result.plan)
        clean_model_instances = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.plans = None
        self._plan = None
        self._options = {}

    def get_export_queryset(self, request=None):
        return super().get_export_queryset(request).select_related("category").order_by("name", "id")

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):
        self._options = {"dry_run": dry_run, "user": kwargs.get("user"), "note": kwargs.get("note", ""),
                         "file_name": kwargs.get("file_name") or "", "token": kwargs.get("progress_token")}
        return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors,
                                   use_transactions=use_transactions, collect_failed_rows=collect_failed_rows,
                                   rollback_on_validation_errors=rollback_on_validation_errors, **kwargs)

    def _progress(self, stage, done, total):
        report_progress(self._options.get("token"), stage, done, total)

    def before_import(self, dataset, **kwargs):
        """Read the headers (their other spellings become the canonical ones), then let the service
        check every row (dry run) or check and write them (import)."""
        self.plans = None
        try:
            columns = merchant_list.read_headers(dataset.headers)
        except ServiceError as exc:
            raise ValueError(str(exc.detail)) from None
        if not len(dataset):
            raise ValueError(str(refuse("invalid_merchant.empty_file").detail))
        dataset.headers = [merchant_list.BY_FIELD[f].header if f else (h or "") for f, h in
                           zip(columns, dataset.headers)]
        rows = [{f: cell for f, cell in zip(columns, row) if f} for row in dataset]
        self._progress("read", 0, len(rows))
        if self._options["dry_run"]:
            self.plans = services.preview_merchant_import(rows=rows)
        else:
            self.plans = services.import_merchants(rows=rows, actor=self._options["user"], note=self.event_note(),
                                                   progress=self._progress)

    def event_note(self) -> str:
        """Why the trail says a merchant changed: the list's file and the clerk's note."""
        note = gettext("가맹점 명단 가져오기")
        if self._options["file_name"]:
            note += f" ({self._options['file_name']})"
        return note + (f": {self._options['note']}" if self._options["note"] else "")

    def import_row(self, row, instance_loader, **kwargs):
        if self.plans is None:  # the sheet itself was refused (its headers): the error says why
            result = self.get_row_result_class()()
            result.import_type = RowResult.IMPORT_TYPE_SKIP
            return result
        result = super().import_row(row, instance_loader, **kwargs)
        # every row, refused ones included (import-export skips after_import_row for those)
        result.plan = self._plan
        result.cells = [row.get(c.header) for c in merchant_list.COLUMNS]  # as the sheet had them
        number = kwargs["row_number"]
        if number % PROGRESS_EVERY == 0:
            self._progress("rows", number, len(self.plans))
        return result

    def before_import_row(self, row, **kwargs):
        self._plan = self.plans[kwargs["row_number"] - 1]

    def get_or_init_instance(self, instance_loader, row):
        plan = self._plan
        if plan.action in ("update", "reregister", "unchanged"):
            return plan.merchant, False
        return plan.merchant or Merchant(), True

    def import_instance(self, instance, row, **kwargs):
        if self._plan.errors:
            raise ValidationError({merchant_list.BY_FIELD[f].header: messages
                                   for f, messages in self._plan.errors.items()})

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return self._plan.action in ("unchanged", "blank")

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:  # the service checked every cell with the shared cleaners
            raise ValidationError(import_validation_errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        pass  # services.import_merchants wrote it (before_import)

    def after_import(self, dataset, result, **kwargs):
        # Not ModelResource's sequence reset: the ids come from the sequence, and a setval to max(id)
        # could move it back under another transaction's uncommitted inserts.
        self._progress("done", len(self.plans or ()), len(self.plans or ()))


# --- forms ----------------------------------------------------------------------------------------

class MerchantImportForm(ImportForm):
    note = forms.CharField(label=_("메모"), required=False, max_length=inputs.MAX_REASON,
                           help_text=_("가져오는 까닭을 적으면 가맹점마다 처리 기록에 남습니다. 예: 2031년 3월 시 가맹점 명단"))
    progress_token = forms.CharField(required=False, widget=forms.HiddenInput, max_length=32)

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["import_file"].label = _("가맹점 명단 파일 (CSV 또는 XLSX)")


class MerchantConfirmImportForm(ConfirmImportForm):
    note = forms.CharField(required=False, widget=forms.HiddenInput, max_length=inputs.MAX_REASON)
    progress_token = forms.CharField(required=False, widget=forms.HiddenInput, max_length=32)


# --- what the page shows ----------------------------------------------------------------------------

ACTIONS = {
    "create": _("새로 등록 (승인 대기)"),
    "update": _("정보 변경"),
    "reregister": _("해지 가맹점 재등록 (승인 대기)"),
    "unchanged": _("변경 없음"),
    "blank": _("빈 행"),
    "refused": _("가져오지 않음"),
}


def summary(result) -> dict:
    """How many rows each outcome has, and whether anything is left to write."""
    counts = {action: 0 for action in ACTIONS}
    for row in result.rows:
        plan = getattr(row, "plan", None)
        if plan is not None:
            counts[plan.action] += 1
    counts["writable"] = counts["create"] + counts["update"] + counts["reregister"]
    counts["rows"] = result.total_rows
    return counts


def preview_rows(result) -> list[dict]:
    """Every row in the sheet's order, as the page shows it: its line, outcome, the values (changed
    ones with what they were) or, for a refused row, what the sheet had and why each cell is wrong."""
    out = []
    for row in result.rows:
        plan = getattr(row, "plan", None)
        if plan is None:
            continue
        if plan.action in ("refused", "blank"):
            cells = [{"text": merchant_list.text(cell), "errors": plan.errors.get(c.field, [])}
                     for c, cell in zip(merchant_list.COLUMNS, row.cells)]
        else:
            cells = [{"text": merchant_list.shown(c.field, plan.fields[c.field]),
                      "before": plan.before.get(c.field) if plan.action == "update" else None}
                     for c in merchant_list.COLUMNS]
        out.append({"line": plan.line, "action": plan.action, "label": ACTIONS[plan.action], "cells": cells,
                    "html": _cells_html(cells)})
    return out


def _cells_html(cells) -> str:
    """A row's cells as HTML, built here rather than in the template: 7,000 rows × 10 cells through
    template variable lookups took ~2 s of the preview page, this takes a tenth of that."""
    parts = []
    for cell in cells:
        before, errors = cell.get("before"), cell.get("errors") or ()
        extra = format_html_join("", '<span class="ml-error">{}</span>', ((e,) for e in errors))
        if before is not None:
            parts.append(format_html('<td class="changed">{}<span class="ml-was">{}</span>{}</td>', cell["text"],
                                     before, extra))
        else:
            parts.append(format_html("<td>{}{}</td>", cell["text"], extra))
    return mark_safe("".join(parts))  # every part escaped by format_html


def sample_dataset() -> tablib.Dataset:
    """The template the import page offers: the headers and two made-up rows."""
    return tablib.Dataset(*merchant_list.SAMPLE_ROWS, headers=merchant_list.HEADERS)


# --- the admin ----------------------------------------------------------------------------------------

class MerchantListAdminMixin(ImportExportMixin):
    """Import (dry run → confirm) and export of the merchant list on MerchantAdmin, the template to
    download, and the progress the import page polls.

    In the request, with its progress shown, rather than a background task: 7,000 rows take 1.4–2.0 s
    (CSV) to 3.0–3.8 s (XLSX) from upload to the preview page of every row, and 1.9–4.4 s to import
    (bench/merchant_import.py), far inside the 30-s request timeout, and the clerk needs the dry
    run's answer on the page anyway; a task would need the file shared with a worker and a page to
    come back to. The request reports each stage to the cache under a token the page drew; the page
    polls import/progress/<token>/ while its request runs and shows the count."""

    resource_classes = [MerchantListResource]
    import_form_class = MerchantImportForm
    confirm_form_class = MerchantConfirmImportForm
    import_template_name = "admin/vouchers/merchant/import.html"
    import_formats = FORMATS
    export_formats = FORMATS
    to_encoding = "utf-8-sig"  # Excel reads a CSV with the BOM as UTF-8: Korean intact
    # The uploaded file waits for the confirm step in the cache (Redis in production) rather than in
    # one machine's /tmp: the confirm may reach another web server. CacheStorage also hands the file
    # back as bytes, so SpreadsheetCSV can tell UTF-8 from CP949.
    tmp_storage_class = "import_export.tmp_storages.CacheStorage"

    def has_import_permission(self, request):
        return request.user.has_perm("vouchers.add_merchant") and request.user.has_perm("vouchers.change_merchant")

    def has_export_permission(self, request):
        return request.user.has_perm("vouchers.view_merchant")

    def get_urls(self):
        info = self.get_model_info()
        return [
            path("import/progress/<str:token>/", self.admin_site.admin_view(self.import_progress_view),
                 name="%s_%s_import_progress" % info),
            path("import/sample.<str:extension>", self.admin_site.admin_view(self.import_sample_view),
                 name="%s_%s_import_sample" % info),
            *super().get_urls(),
        ]

    def get_import_data_kwargs(self, **kwargs):
        form = kwargs.get("form")
        data = super().get_import_data_kwargs(**kwargs)
        cleaned = getattr(form, "cleaned_data", None) or {}
        data.update(note=cleaned.get("note", ""), progress_token=cleaned.get("progress_token", ""))
        return data

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["note"] = import_form.cleaned_data.get("note", "")
        return initial

    def import_action(self, request, **kwargs):
        """import-export's dry run, and then: the preview of every row with its outcome, and the
        confirm step offered when some rows are bad, as long as something is left to write (the bad
        rows are skipped by the import, the good ones written)."""
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if context is None:
            return response
        context.update(title=gettext("가맹점 명단 가져오기"), columns=merchant_list.COLUMNS,
                       progress_url=reverse("admin:vouchers_merchant_import_progress", args=["0" * 32]))
        result = context.get("result")
        if result is not None and not result.has_errors():
            context["summary"] = counts = summary(result)
            context["preview"] = rows = preview_rows(result)
            context["refused_rows"] = [row for row in rows if row["action"] == "refused"]  # shown first, too
            if not counts["writable"]:
                context.pop("confirm_form", None)
            elif "confirm_form" not in context:
                context["confirm_form"] = self.create_confirm_form(request, import_form=context["form"])
        return response

    def add_success_message(self, result, request):
        counts = summary(result)
        messages.success(request, gettext(
            "가맹점 명단을 가져왔습니다: 새로 등록 %(create)s곳, 정보 변경 %(update)s곳, 재등록 %(reregister)s곳, "
            "변경 없음 %(unchanged)s행, 가져오지 않은 행 %(refused)s행. 새로 등록·재등록한 가맹점은 승인 대기이며, "
            "승인은 목록에서 따로 합니다.") % {k: f"{v:,}" for k, v in counts.items()})
        refused = [row for row in preview_rows(result) if row["action"] == "refused"]
        for row in refused[:20]:
            reasons = "; ".join(e for cell in row["cells"] for e in cell.get("errors", []))
            messages.warning(request, gettext("%(line)s행을 가져오지 않았습니다: %(reasons)s") % {
                "line": row["line"], "reasons": reasons})
        if len(refused) > 20:
            messages.warning(request, gettext("그 밖에 %(n)s행을 가져오지 않았습니다.") % {"n": f"{len(refused) - 20:,}"})

    def process_result(self, result, request):
        response = super().process_result(result, request)
        counts = summary(result)
        if counts["create"] or counts["reregister"]:  # straight to the list of merchants awaiting approval
            response["Location"] = reverse("admin:vouchers_merchant_changelist") + "?status__exact=pending"
        return response

    def import_progress_view(self, request, token):
        if not self.has_import_permission(request):
            raise PermissionDenied
        state = read_progress(token)
        return JsonResponse(state or {"stage": None}, status=200 if state else 404)

    def import_sample_view(self, request, extension):
        """The template: the accepted headers and two made-up rows, as CSV (UTF-8 with BOM) or XLSX."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        chosen = {"csv": SpreadsheetCSV, "xlsx": base_formats.XLSX}.get(extension)
        if chosen is None:
            raise Http404
        file_format = chosen()
        data = file_format.export_data(sample_dataset())
        if not file_format.is_binary():
            data = data.encode("utf-8-sig")
        response = HttpResponse(data, content_type=file_format.get_content_type())
        response["Content-Disposition"] = (f'attachment; filename="merchant-list-sample.{extension}"; '
                                           f"filename*=UTF-8''{quote(gettext('가맹점_명단_견본'))}.{extension}")
        return response
