"""The merchant's own pages (가맹점 페이지, /merchant/): today's payments (updating by themselves),
taking a payment (CPM), looking one up by 승인번호, refunds (owner), staff accounts (owner), the
daily settlements and the bank account they are paid to, masked (owner), the QR poster.

Thin, as the citizen pages: forms read input, `vouchers.services` decides, `vouchers.merchant_web`
gathers what a page shows and keeps a double submit to one payment or refund. Every page is scoped
to the signed-in account's own merchant (selectors.member_of): another merchant's payment is "not
found", never "not yours". Nothing about the citizen who paid (name, CI, wallet) is ever shown.
"""
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error
from jinju_portal.money import format_krw
from vouchers import merchant_web, posters, selectors, services
from vouchers.errors import message
from vouchers.merchant_forms import AddCashierForm, LookupForm, RefundForm, TakePaymentForm
from vouchers.models import MerchantMember

POLL_SECONDS = 5


def member_required(view):
    """Signed in (else the login page) with an active merchant account (else a Korean 403 page)."""
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = selectors.member_of(request.user)
        if member is None:
            return render(request, "vouchers/merchant/not_member.html", status=403)
        return view(request, member, *args, **kwargs)
    return wrapper


def owner_required(view):
    """As member_required, and the owner's: a cashier is told so (403), in Korean."""
    @member_required
    @wraps(view)
    def wrapper(request, member, *args, **kwargs):
        if not merchant_web.is_owner(member):
            return forbidden(request, member, message("not_merchant_owner"))
        return view(request, member, *args, **kwargs)
    return wrapper


def forbidden(request, member, text):
    return render(request, "vouchers/merchant/forbidden.html", _context(member, {"reason": text}), status=403)


def _context(member, extra=None) -> dict:
    return {"member": member, "merchant": member.merchant, "is_owner": merchant_web.is_owner(member),
            **(extra or {})}


def _payment_url(payment) -> str:
    return reverse("merchant:payment", args=[payment.approval_number])


# --- today's payments --------------------------------------------------------------------------------

def _day(member) -> dict:
    day = selectors.merchant_day(merchant_id=member.merchant_id, now=timezone.now())
    return {"day": day, "rows": [(p, merchant_web.method_label(p.method)) for p in day.payments]}


RECENT_SETTLEMENTS = 3
SETTLEMENTS_PER_PAGE = 31


def _settlement_rows(rows):
    return [{"s": s, "payments": format_krw(s.payments), "refunds": format_krw(s.refunds),
             "exchanged": format_krw(s.exchanged), "carried": format_krw(s.carried) if s.carried else "",
             "amount_due": format_krw(s.amount_due), "carry_out": format_krw(s.carry_out) if s.carry_out else ""}
            for s in rows]


@member_required
@require_GET
def today(request, member):
    recent = []
    if merchant_web.is_owner(member):
        recent = _settlement_rows(selectors.settlements_for(request.user)[:RECENT_SETTLEMENTS])
    return render(request, "vouchers/merchant/today.html", _context(member, {**_day(member),
                                                                              "poll_seconds": POLL_SECONDS,
                                                                              "recent_settlements": recent}))


@owner_required
@require_GET
def settlements(request, member):
    """The shop's daily settlements, newest day first, with the bank account they are paid to (masked)."""
    page = Paginator(selectors.settlements_for(request.user), SETTLEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    account = selectors.merchant_bank_account(member.merchant_id)
    return render(request, "vouchers/merchant/settlements.html", _context(member, {
        "page": page, "rows": _settlement_rows(page.object_list), "account": account}))


@never_cache
@require_GET
def today_fragment(request):
    """What the today page polls: the same list and totals as HTML. Not a redirect to the login page
    for a lapsed session (a fetch would show the login form inside the list): a plain 403."""
    member = selectors.member_of(request.user)
    if member is None:
        return HttpResponse(_("가맹점 계정이 아닙니다."), status=403, content_type="text/plain; charset=utf-8")
    return render(request, "vouchers/merchant/_today.html", _context(member, _day(member)))


# --- taking a payment (CPM) ---------------------------------------------------------------------------

@member_required
@require_http_methods(["GET", "POST"])
def take_payment(request, member):
    form = TakePaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            taken = merchant_web.take_payment(member=member, user=request.user,
                                              pay_code=form.cleaned_data["pay_code"],
                                              amount=form.cleaned_data["amount"], nonce=form.cleaned_data["nonce"])
        except ServiceError as exc:
            if exc.code == "invalid_pay_code" and not exc.fields:
                form.add_error("pay_code", exc.detail)
            else:
                add_service_error(form, exc)
        else:
            if taken.replayed:
                messages.info(request, _("이미 받은 결제입니다 (같은 결제를 두 번 보냈습니다)."))
            else:
                messages.success(request, _("결제를 받았습니다."))
            return redirect(_payment_url(taken.payment))
    return render(request, "vouchers/merchant/take_payment.html", _context(member, {
        "form": form, "nonce": merchant_web.new_nonce()}), status=400 if request.method == "POST" else 200)


# --- lookup by 승인번호, the payment, its refund ----------------------------------------------------------

@member_required
@require_GET
def lookup(request, member):
    form = LookupForm(request.GET or None)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            found = selectors.merchant_payment(merchant_id=member.merchant_id, payment_id=form.cleaned_data["number"])
            if found is not None:
                return redirect(_payment_url(found))
            form.add_error("number", message("not_found.payment"))  # unknown, or another merchant's: the same
            status = 404
    return render(request, "vouchers/merchant/lookup.html", _context(member, {"form": form}), status=status)


def _payment_not_found(request, member):
    """An unknown number and another merchant's are answered alike: 404, "결제 내역을 찾을 수 없습니다"."""
    return render(request, "vouchers/merchant/lookup.html", _context(member, {
        "form": LookupForm(), "not_found": message("not_found.payment")}), status=404)


def _payment_page(request, member, payment, *, form=None, status=200):
    left = payment.amount - payment.refunded
    if form is None and merchant_web.is_owner(member) and left > 0:
        form = RefundForm(initial={"amount": f"{left:,}"})
    return render(request, "vouchers/merchant/payment.html", _context(member, {
        "payment": payment, "method": merchant_web.method_label(payment.method), "left": left,
        "refunds": list(payment.refunds.order_by("created_at", "id")), "refund_form": form,
        "nonce": merchant_web.new_nonce(), "lookup_form": LookupForm()}), status=status)


@member_required
@require_GET
def payment(request, member, number):
    """The receipt: 승인번호, amount, time, status; the owner's refund form under it."""
    found = selectors.merchant_payment(merchant_id=member.merchant_id, payment_id=int(number))
    if found is None:
        return _payment_not_found(request, member)
    return _payment_page(request, member, found)


@member_required
@require_POST
def refund(request, member, number):
    """Two steps: the amount (checked against the rule), then a confirmation that calls the service.
    A cashier's POST is answered 403 here, and the service would refuse it too."""
    found = selectors.merchant_payment(merchant_id=member.merchant_id, payment_id=int(number))
    if found is None:
        return _payment_not_found(request, member)
    if not merchant_web.is_owner(member):
        return forbidden(request, member, message("not_merchant_owner"))
    form = RefundForm(request.POST)
    if not form.is_valid():
        return _payment_page(request, member, found, form=form, status=400)
    amount = form.cleaned_data["amount"]
    if not form.cleaned_data["confirm"]:
        refusal = merchant_web.refund_refusal_text(found, amount)
        if refusal:
            form.add_error("amount", refusal)
            return _payment_page(request, member, found, form=form, status=409)
        return render(request, "vouchers/merchant/refund_confirm.html", _context(member, {
            "payment": found, "amount": amount, "left_after": found.amount - found.refunded - amount,
            "nonce": form.cleaned_data["nonce"]}))
    try:
        done = merchant_web.refund(user=request.user, payment_id=found.pk, amount=amount,
                                   nonce=form.cleaned_data["nonce"])
    except ServiceError as exc:
        if exc.status == 403:
            return forbidden(request, member, exc.detail)
        retry = RefundForm({"amount": request.POST.get("amount", ""), "nonce": merchant_web.new_nonce()})
        retry.is_valid()
        retry.add_error("amount", exc.detail)
        found.refresh_from_db()
        return _payment_page(request, member, found, form=retry, status=exc.status)
    if done.replayed:
        messages.info(request, _("이미 처리된 환불입니다 (같은 환불을 두 번 보냈습니다)."))
    else:
        messages.success(request, _("%(amount)s을 환불했습니다. 손님의 모바일 지갑으로 돌아갑니다.")
                         % {"amount": format_krw(done.amount)})
    return redirect(_payment_url(found))


# --- staff accounts (owner only) --------------------------------------------------------------------

@owner_required
@require_http_methods(["GET", "POST"])
def staff(request, member):
    form = AddCashierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = services.add_member(merchant_id=member.merchant_id, username=form.cleaned_data["username"],
                                        password=form.cleaned_data["password"], actor=request.user)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("직원 계정 %(username)s을(를) 만들었습니다. 이 아이디와 비밀번호로 로그인하면 됩니다.")
                             % {"username": added.user.get_username()})
            return redirect("merchant:staff")
    members = (MerchantMember.objects.filter(merchant_id=member.merchant_id).select_related("user")
               .order_by("-active", "role", "id"))
    return render(request, "vouchers/merchant/staff.html", _context(member, {"form": form, "members": members}),
                  status=400 if request.method == "POST" else 200)


@owner_required
@require_POST
def deactivate(request, member, member_id):
    # another merchant's account is "not found", as the service says to a stranger
    if not MerchantMember.objects.filter(pk=member_id, merchant_id=member.merchant_id).exists():
        raise Http404
    try:
        gone = services.deactivate_member(member_id=member_id, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("직원 계정 %(username)s의 사용을 중지했습니다.") % {"username": gone.user.get_username()})
    return redirect("merchant:staff")


# --- the QR poster -----------------------------------------------------------------------------------

def _download(body, content_type, filename):
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required
@require_GET
def poster_pdf(request, member):
    return _download(posters.poster_pdf(member.merchant), "application/pdf", f"poster-{member.merchant.code}.pdf")


@member_required
@require_GET
def poster_svg(request, member):
    return _download(posters.poster_svg(member.merchant), "image/svg+xml; charset=utf-8",
                     f"poster-{member.merchant.code}.svg")

