"""Public pages of the Sangpyeong innovation-support and culture centre (thin: forms + services)."""
from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from industrial import selectors, services
from industrial.choices import RegistrationStatus
from industrial.forms import RegistrationForm, SupportLookupForm, SupportRequestForm
from industrial.models import Club, Registration, SupportRequest
from jinju_portal.forms import add_service_error
from jinju_portal.api.throttling import PublicFormThrottle
from jinju_portal.errors import NotFound, ServiceError

SESSION_REQUEST = "industrial_support_request"
SESSION_REGISTRATION = "industrial_registration"


def _throttled(request):
    """Public page forms share the API's per-IP public-form rate (one budget per address)."""
    return not PublicFormThrottle().allow_request(request, None)


def _too_many(request, form):
    form.add_error(None, _("요청이 너무 많습니다. 잠시 뒤에 다시 시도해 주세요."))


def _chart_rows(figures):
    widest = max([f.amount for f in figures.funding] + [1])
    return [{"f": f, "bar": round(f.amount * 100 / widest, 2),
             "fill": round(f.spent * 100 / f.amount, 2) if f.amount else 0} for f in figures.funding]


def index(request):
    project = selectors.featured_project()
    figures = selectors.project_figures(project) if project else None
    return render(request, "industrial/index.html", {
        "figures": figures,
        "chart": _chart_rows(figures) if figures else [],
        "events": selectors.upcoming_events()[:3],
    })


@require_http_methods(["GET", "POST"])
def support_new(request):
    form = SupportRequestForm(request.POST or None)
    if request.method == "POST":
        if _throttled(request):
            _too_many(request, form)
        elif form.is_valid():
            try:
                created = services.submit_support_request(**form.cleaned_data, language=get_language())
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                request.session[SESSION_REQUEST] = created.pk
                return redirect("industrial:support_done")
    return render(request, "industrial/support_form.html", {"form": form, "sla": selectors.sla_table()},
                  status=400 if request.method == "POST" else 200)


def support_done(request):
    support_request = SupportRequest.objects.filter(pk=request.session.get(SESSION_REQUEST)).first()
    if support_request is None:
        return redirect("industrial:support_new")
    return render(request, "industrial/support_done.html", {"sr": support_request})


@require_http_methods(["GET", "POST"])
def support_lookup(request):
    form = SupportLookupForm(request.POST or None)
    found = None
    code = 200
    if request.method == "POST":
        if _throttled(request):
            _too_many(request, form)
            code = 429
        elif form.is_valid():
            found = selectors.lookup_support_request(**form.cleaned_data)
            if found is None:
                form.add_error(None, _("접수번호와 이메일이 일치하는 신청이 없습니다."))
                code = 404
        else:
            code = 400
    return render(request, "industrial/support_lookup.html", {"form": form, "found": found}, status=code)


def events(request):
    return render(request, "industrial/events.html", {"events": selectors.upcoming_events()})


@require_http_methods(["GET", "POST"])
def event_detail(request, event_id):
    event = selectors.upcoming_events().filter(pk=event_id).first()
    if event is None:
        raise Http404
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        if _throttled(request):
            _too_many(request, form)
        elif form.is_valid():
            try:
                registration, token = services.register_for_event(event_id=event.pk, **form.cleaned_data,
                                                                  language=get_language())
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                request.session[SESSION_REGISTRATION] = {"id": registration.pk, "token": token}
                return redirect("industrial:registration_done")
    return render(request, "industrial/event_detail.html", {"event": event, "form": form},
                  status=400 if request.method == "POST" else 200)


def registration_done(request):
    stored = request.session.get(SESSION_REGISTRATION) or {}
    registration = Registration.objects.select_related("event").filter(pk=stored.get("id")).first()
    if registration is None:
        return redirect("industrial:events")
    return render(request, "industrial/registration_done.html", {
        "registration": registration, "token": stored.get("token"),
        "position": selectors.waiting_position(registration),
    })


@require_http_methods(["GET", "POST"])
def registration_cancel(request, token):
    registration = selectors.registration_by_token(token)
    if registration is None:
        raise Http404
    if request.method == "POST" and registration.status != RegistrationStatus.CANCELLED:
        try:
            registration, _promoted = services.cancel_registration(token=token)
        except NotFound:
            raise Http404
        messages.success(request, _("참가 신청을 취소했습니다."))
    return render(request, "industrial/registration_cancel.html", {"registration": registration})


def library(request):
    return render(request, "industrial/library.html", {"books": selectors.books_with_availability()})


def clubs(request):
    return render(request, "industrial/clubs.html",
                  {"clubs": Club.objects.annotate(member_count=Count("members")).order_by("name")})


