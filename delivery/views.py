"""Citizen pages for the public delivery app."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from delivery import charts, selectors
from delivery.models import Store


def index(request):
    return render(request, "delivery/index.html")


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
