"""Citizen pages for the public delivery app: the brands and how to order, the store directory, the
owner's sign-up and application, and the owner's application status. Thin: forms, one service or
selector, a template."""
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from delivery import charts, inputs, selectors, services
from delivery.choices import StoreStatus
from delivery.forms import DirectoryForm, OwnerSignUpForm, StoreApplicationForm
from delivery.models import Store
from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error
from vouchers import months


DIRECTORY_PAGE_SIZE = 20


def _percent(rate) -> str:
    """Decimal("0.0200") -> "2%", Decimal("0.0150") -> "1.5%"; None -> ""."""
    return "" if rate is None else f"{(rate * 100).normalize():f}%"


def index(request):
    """The two brands (from the registry), who runs them, the rate in force and how to order."""
    operators = selectors.operators_overview(day=months.seoul(timezone.now()).date())
    for o in operators:
        o["percent"] = _percent(o["commission_rate"])
    counts = selectors.brand_store_counts()
    brands = [{"name": name, "operator": o["name"], "rate": o["commission_rate"], "percent": o["percent"],
               "count": counts.get(name, 0)} for o in operators for name in o["brands"]]
    return render(request, "delivery/index.html", {
        "operators": operators, "brands": brands,
        "store_count": selectors.directory().count()})


def stores(request):
    """공공배달앱 가맹점 찾기: approved stores by brand, category and 동 (the API's cleaner and selector)."""
    brands = selectors.brand_names()
    form = DirectoryForm(request.GET or None, brands=brands, dongs=selectors.directory_dongs())
    context = {"form": form, "page": None}
    if form.is_bound and not form.is_valid():
        return render(request, "delivery/stores.html", context, status=400)
    try:
        filters = inputs.clean_directory_filters(form.cleaned_data if form.is_bound else {}, brands=brands)
    except ServiceError as exc:
        add_service_error(form, exc)
        return render(request, "delivery/stores.html", context, status=400)
    paginator = Paginator(selectors.directory(**filters), DIRECTORY_PAGE_SIZE)
    context.update(page=paginator.get_page(request.GET.get("page")), searched=bool(filters))
    return render(request, "delivery/stores.html", context)


@require_http_methods(["GET", "POST"])
def apply(request):
    """The owner's application: a new owner signs up and applies at once; a signed-in one applies."""
    signed_in = request.user.is_authenticated
    form_class = StoreApplicationForm if signed_in else OwnerSignUpForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("password_again", None)
        try:
            if signed_in:
                services.apply_as_owner(actor=request.user, **data)
            else:
                result = services.sign_up_owner(**data)
                login(request, result.store.owner, backend="django.contrib.auth.backends.ModelBackend")
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return redirect("delivery:my")
    return render(request, "delivery/apply.html", {"form": form, "signed_in": signed_in},
                  status=400 if request.method == "POST" else 200)


@login_required
def my(request):
    """The owner's stores: status (and its reason), the operators and brands each is listed with."""
    return render(request, "delivery/my.html", {"stores": list(selectors.owner_stores(request.user)),
                                                "pending": StoreStatus.PENDING})


# --- statements: what stores saved (public) and the owner's statements ---------------------------------

def savings(request):
    """Month by month, the commission stores paid on the public app against what 6 % and 12 %
    commercial apps would have charged on the same food (issued statements only), as a server-drawn
    SVG chart with the same figures in a table beside it."""
    rows = selectors.savings_by_month()
    totals = {name: sum(r[name] for r in rows) for name in ("order_count", "food_total", "commission",
                                                            "saved_low", "saved_high")}
    return render(request, "delivery/savings.html",
                  {"rows": rows, "totals": totals, "chart": charts.savings_chart(rows) if rows else None})


@login_required
def my_statements(request):
    """A signed-in store owner's statements: each month summed across operators, then per operator."""
    stores = [{"store": store, "months": selectors.store_totals_by_month(store.pk)}
              for store in Store.objects.filter(owner=request.user).order_by("name", "id")]
    return render(request, "delivery/my_statements.html", {"stores": stores})
