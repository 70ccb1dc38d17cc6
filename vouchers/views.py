"""Citizen pages for Jinju Love gift certificates: landing, identity check, web purchase, my vouchers,
the merchant directory (가맹점 찾기).

Thin: forms read input, `vouchers.services` decides, `vouchers.web` gathers what a page shows and
drives the payment round trip. Every POST redirects (POST/redirect/GET); refusals become Korean
messages on the page, never a 500.
"""
import logging
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jinju_portal.errors import ServiceError
from vouchers import identity_verification, inputs, payments, selectors, services, web
from vouchers.choices import Medium, ReservationStatus
from vouchers.forms import MerchantPaymentForm, MerchantSearchForm, PurchaseForm
from vouchers.models import Purchase, Reservation

logger = logging.getLogger(__name__)


def _citizen(request):
    return selectors.citizen_for_user(request.user)


def _to_verify(request, next_url=None):
    return redirect(reverse("vouchers:verify") + "?" + urlencode({"next": next_url or request.get_full_path()}))


def verified_citizen_required(view):
    """Signed in (else the login page) and identity-verified (else the verification page)."""
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        citizen = _citizen(request)
        if citizen is None:
            return _to_verify(request)
        return view(request, citizen, *args, **kwargs)
    return wrapper


def _common(request):
    verifier = identity_verification.get_verifier()
    return {"dev_verifier": verifier is not None and verifier.is_development}


def index(request):
    citizen = _citizen(request)
    now = timezone.now()  # one instant per page: rows and usage never straddle midnight or a month end
    return render(request, "vouchers/index.html", {
        **_common(request),
        "citizen": citizen,
        "rows": web.tranche_rows(citizen=citizen, now=now),
        "usage": web.month_summary(citizen=citizen, now=now) if citizen else None,
        "verification_available": identity_verification.get_verifier() is not None,
    })


# --- identity verification -------------------------------------------------------------------------

def _safe_next(request, default):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return default


@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    next_url = _safe_next(request, reverse("vouchers:buy"))
    if _citizen(request) is not None:
        messages.info(request, _("이미 본인확인을 마쳤습니다."))
        return redirect(next_url)
    verifier = identity_verification.get_verifier()
    if verifier is None:
        return render(request, "vouchers/verify_unavailable.html", {**_common(request)}, status=503)
    if verifier.form_class is None:  # a provider window (PASS, NICE): send the citizen there
        return redirect(verifier.start_url(request=request, return_url=request.build_absolute_uri(
            reverse("vouchers:verify_callback") + "?" + urlencode({"next": next_url}))))
    form = verifier.form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        error = _link(request, verifier, request.POST)
        if error is None:
            return redirect(next_url)
        form.add_error(None, error)
    return render(request, "vouchers/verify.html", {**_common(request), "form": form, "verifier": verifier,
                                                    "next": next_url},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def verify_callback(request):
    """Where a redirecting provider sends the citizen back with its signed answer."""
    verifier = identity_verification.get_verifier()
    if verifier is None or verifier.form_class is not None:
        raise Http404
    error = _link(request, verifier, request.POST if request.method == "POST" else request.GET)
    if error is not None:
        messages.error(request, error)
        return redirect("vouchers:index")
    return redirect(_safe_next(request, reverse("vouchers:buy")))


def _link(request, verifier, data):
    """Verify, then link the account to the citizen of that CI. Returns an error message or None."""
    try:
        identity = verifier.complete(request=request, data=data)
        services.link_citizen(actor=request.user, ci=identity.ci, name=identity.name, birth_year=identity.birth_year)
    except identity_verification.VerificationFailed as exc:
        return str(exc.message)
    except ServiceError as exc:
        return web.refusal_message(exc)
    messages.success(request, _("본인확인을 마쳤습니다. 이제 상품권을 살 수 있습니다."))
    return None


# --- purchase: reserve → pay → confirm ---------------------------------------------------------------

@verified_citizen_required
@require_http_methods(["GET", "POST"])
def buy(request, citizen):
    now = timezone.now()  # one instant per request: a refusal is explained for the day and month it was decided
    rows = web.tranche_rows(citizen=citizen, medium=Medium.MOBILE, now=now)
    form = PurchaseForm(request.POST or None, tranches=[r.tranche for r in rows])
    gateway = web.gateway()
    token = request.POST.get("form_token", "")
    if request.method == "POST" and (earlier := web.reservation_for_token(request.session, token)):
        return redirect("vouchers:reservation", reservation_id=earlier)  # the same form sent twice
    if request.method == "POST" and gateway is None:
        form.add_error(None, _("지금은 온라인 결제를 사용할 수 없어 구매할 수 없습니다."))
    elif request.method == "POST" and form.is_valid():
        tranche_id = form.cleaned_data["tranche"]
        try:
            reservation = services.reserve_purchase(tranche_id=tranche_id, citizen=citizen,
                                                    face_value=form.cleaned_data["face_value"], actor=request.user,
                                                    now=now)
        except ServiceError as exc:
            message = web.refusal_message(exc)
            field = "face_value" if exc.code == "invalid_face_value" else (
                "tranche" if exc.code == "invalid_tranche" else None)
            form.add_error(field, message)
        else:
            web.remember_token(request.session, token, reservation.pk)
            return redirect("vouchers:reservation", reservation_id=reservation.pk)
    return render(request, "vouchers/buy.html", {
        **_common(request), "form": form, "rows": rows, "usage": web.month_summary(citizen=citizen, now=now),
        "citizen": citizen, "payments_available": gateway is not None, "form_token": web.new_token(),
        "pending": web.pending_reservations(citizen=citizen, now=now),
    }, status=400 if request.method == "POST" else 200)


def _own_reservation(request, citizen, reservation_id) -> Reservation:
    reservation = (Reservation.objects.select_related("tranche", "purchase")
                   .filter(pk=reservation_id, citizen=citizen).first())
    if reservation is None:
        raise Http404
    return reservation


@verified_citizen_required
def reservation(request, citizen, reservation_id):
    """The hold (price, countdown, pay) and, once settled, its result."""
    held = _own_reservation(request, citizen, reservation_id)
    state = web.reservation_state(held)
    context = {**_common(request), "reservation": held, "state": state,
               "usage": web.month_summary(citizen=citizen), "payments_available": web.gateway() is not None}
    if state == "paid":
        context["wallet"] = selectors.wallet_statement(citizen=citizen, limit=0)
    return render(request, "vouchers/reservation.html", context)


@verified_citizen_required
@require_POST
def pay(request, citizen, reservation_id):
    held = _own_reservation(request, citizen, reservation_id)
    if web.reservation_state(held) != "pending":
        return redirect("vouchers:reservation", reservation_id=held.pk)
    gateway = web.gateway()
    if gateway is None:
        messages.error(request, _("지금은 온라인 결제를 사용할 수 없습니다."))
        return redirect("vouchers:reservation", reservation_id=held.pk)
    return_url = request.build_absolute_uri(reverse("vouchers:payment_return", args=[held.pk]))
    try:
        session = gateway.start(reservation=held, return_url=return_url)
    except Exception:  # a real gateway is a network service: its outage is a message, not a 500
        logger.exception("payment gateway could not start a payment for reservation %s", held.pk)
        messages.error(request, _("결제를 시작하지 못했습니다. 잠시 뒤 다시 시도해 주세요."))
        return redirect("vouchers:reservation", reservation_id=held.pk)
    web.remember_payment(request.session, held.pk, session.reference)
    if gateway.is_sandbox:
        return redirect(reverse("vouchers:sandbox", args=[held.pk]) + "?" + urlencode({"ref": session.reference}))
    return redirect(session.redirect_url)


@verified_citizen_required
def sandbox(request, citizen, reservation_id):
    """The sandbox gateway's page: a tester chooses 승인 or 실패. No money moves."""
    gateway = web.gateway()
    if gateway is None or not gateway.is_sandbox:
        raise Http404
    held = _own_reservation(request, citizen, reservation_id)
    reference = request.GET.get("ref", "")
    if not web.started_here(request.session, held.pk, reference):
        raise Http404
    return render(request, "vouchers/sandbox.html", {**_common(request), "reservation": held,
                                                     "reference": reference})


@verified_citizen_required
@require_POST
def payment_return(request, citizen, reservation_id):
    """The gateway's answer. Submitting it twice settles once (see web.finish_payment)."""
    held = _own_reservation(request, citizen, reservation_id)
    reference = request.POST.get("reference", "")
    if not web.started_here(request.session, held.pk, reference):
        messages.error(request, _("이 결제 정보를 확인할 수 없습니다. 예약 화면에서 다시 결제해 주세요."))
        return redirect("vouchers:reservation", reservation_id=held.pk)
    if web.gateway() is None:
        messages.error(request, _("지금은 온라인 결제를 사용할 수 없습니다."))
        return redirect("vouchers:reservation", reservation_id=held.pk)
    result = web.finish_payment(reservation=held, reference=reference, data=request.POST)
    if result.state == "paid":
        messages.success(request, _("결제가 끝나 모바일 지갑에 충전되었습니다."))
    elif result.state == "failed":
        messages.error(request, _("결제가 승인되지 않았습니다. 잡아 두었던 발행 한도와 이번 달 한도를 돌려놓았습니다."))
    else:
        messages.error(request, _("결제 기한(10분)이 지나 예약이 해제되었습니다.") + (
            " " + _("결제한 금액은 환불됩니다.") if result.refunded else ""))
    return redirect("vouchers:reservation", reservation_id=held.pk)


@verified_citizen_required
@require_POST
def give_up(request, citizen, reservation_id):
    """The citizen abandons the hold: give it back now rather than in ten minutes."""
    held = _own_reservation(request, citizen, reservation_id)
    if held.status != ReservationStatus.HELD:  # already paid, failed or released: nothing to give back
        return redirect("vouchers:reservation", reservation_id=held.pk)
    services.fail_reservation(reservation_id=held.pk, actor=request.user)
    messages.info(request, _("예약을 취소했습니다. 잡아 두었던 한도를 돌려놓았습니다."))
    return redirect("vouchers:buy")


def _notify_error(code, detail, status=400):
    return JsonResponse({"code": code, "detail": detail}, status=status)


@csrf_exempt  # the gateway's server calls this; the signature, not a cookie, proves who sent it
@require_POST
def payment_notify(request):
    """The gateway's server-to-server notification: settles the hold through the same service as the
    browser's return (services.settle_payment), idempotently. Anything untrustworthy or unreadable
    answers 400 with a JSON code and writes nothing."""
    gateway = web.gateway()
    if gateway is None:
        return _notify_error("payments_unavailable", "no payment gateway is configured", status=503)
    try:
        outcome = gateway.parse_notification(request)
    except payments.InvalidNotification as exc:
        return _notify_error(exc.code, exc.detail)
    except RequestDataTooBig:  # Django's own answer would be an HTML 400
        return _notify_error("malformed_notification", "body too large")
    if outcome is None:
        return _notify_error("invalid_signature", "the notification's signature does not verify")
    try:
        settled = services.settle_payment(reservation_id=outcome.reservation_id, payment_reference=outcome.reference,
                                          paid=outcome.paid, amount=outcome.amount)
    except ServiceError as exc:
        code = "unknown_reference" if exc.code == "not_found" else exc.code
        return _notify_error(code, str(exc.detail))
    return JsonResponse({"state": settled.state, "purchase": settled.purchase.pk if settled.purchase else None,
                         "refund": settled.refund.pk if settled.refund else None})


# --- 내 상품권 ----------------------------------------------------------------------------------------

@verified_citizen_required
def mine(request, citizen):
    statement = selectors.wallet_statement(citizen=citizen)
    purchases = selectors.purchases_of(citizen=citizen)
    return render(request, "vouchers/mine.html", {
        **_common(request), "citizen": citizen, "balance": statement["balance"], "spendable": statement["spendable"],
        "entries": [(e, web.entry_description(e)) for e in statement["entries"]],
        "usage": web.month_summary(citizen=citizen),
        "purchases": [(p, web.offers_cancel(p, user=request.user)) for p in purchases],
        "offers_balance_refund": web.offers_balance_refund(citizen=citizen),
    })


@verified_citizen_required
@require_http_methods(["GET", "POST"])
def cancel(request, citizen, purchase_id):
    """A confirmation step, then services.cancel_purchase (7 days, unused) decides."""
    purchase = Purchase.objects.select_related("tranche").filter(pk=purchase_id, citizen=citizen).first()
    if purchase is None:
        raise Http404
    if request.method == "POST":
        try:
            web.cancel_web_purchase(purchase=purchase, user=request.user)
        except ServiceError as exc:
            messages.error(request, web.refusal_message(exc) if exc.code != "not_found" else
                           _("이 구매는 누리집에서 취소할 수 없습니다. 구매한 곳(은행 창구·앱)에 문의해 주세요."))
        else:
            messages.success(request, _("구매를 취소했습니다. 지갑에서 %(amount)s을 차감하고 이번 달 한도를 돌려놓았습니다.")
                             % {"amount": f"{purchase.face_value:,}원"})
        return redirect("vouchers:mine")
    return render(request, "vouchers/cancel_confirm.html", {
        **_common(request), "purchase": purchase,
        "refusal": web.cancel_refusal_text(purchase, user=request.user)})


# --- 잔액 환불 ---------------------------------------------------------------------------------------------

@verified_citizen_required
@require_http_methods(["GET", "POST"])
def balance_refund(request, citizen):
    """잔액 환불: per purchase the used share and what would go back, with a confirmation form
    carrying a one-time key (GET writes nothing); the POST refunds once however often it is sent
    (web.refund_once → services.refund_web_balance), then the result page."""
    if request.method == "POST":
        ticket = web.read_refund_ticket(request.POST.get("ticket", ""), user=request.user)
        if ticket is None:
            messages.error(request, _("환불 확인 정보를 읽을 수 없습니다. 내용을 다시 확인해 주세요."))
            return redirect("vouchers:balance_refund")
        try:
            _refunds, replayed = web.refund_once(citizen=citizen, user=request.user, ticket=ticket)
        except web.TicketExpired:
            messages.error(request, _("환불 확인 시간(10분)이 지났습니다. 내용을 다시 확인해 주세요."))
            return redirect("vouchers:balance_refund")
        except ServiceError as exc:
            messages.error(request, web.refusal_message(exc))
            return redirect("vouchers:balance_refund")
        if replayed:
            messages.info(request, _("이미 처리한 요청입니다. 한 번만 환불되었습니다."))
        return redirect(reverse("vouchers:balance_refund_done") + "?" + urlencode({"key": ticket.key}))
    now = timezone.now()
    page = web.balance_refund_page(citizen=citizen, now=now)
    return render(request, "vouchers/balance_refund.html", {
        **_common(request), **page,
        "ticket": web.new_refund_ticket(user=request.user, now=now) if page["amount_paid_back"] else ""})


@verified_citizen_required
@require_GET
def balance_refund_done(request, citizen):
    """The refunds one confirm form ordered (this account's only; anything else is 404)."""
    refunds = selectors.web_balance_refunds(user=request.user, idempotency_key=request.GET.get("key", "")[:255])
    if not refunds:
        raise Http404
    return render(request, "vouchers/balance_refund_done.html", {
        **_common(request), "refunds": refunds,
        "face_value_returned": sum(r.face_value for r in refunds), "amount_paid_back": sum(r.amount for r in refunds)})


# --- paying a shop: the citizen shows a pay code (CPM) ---------------------------------------------

@verified_citizen_required
@require_http_methods(["GET", "POST"])
def pay_code(request, citizen):
    """결제하기: a GET shows the live code this account was given (or a button); only a POST issues
    one, voiding the previous (services.issue_pay_code), so a reload never voids a code silently."""
    if request.method == "POST":
        try:
            services.issue_pay_code(citizen_id=citizen.pk, actor=request.user)
        except ServiceError as exc:
            messages.error(request, web.refusal_message(exc))
        return redirect("vouchers:pay_code")
    now = timezone.now()
    statement = selectors.wallet_statement(citizen=citizen, limit=0, now=now)
    card = web.pay_code_card(selectors.latest_pay_code(citizen=citizen, user=request.user), now=now)
    return render(request, "vouchers/pay_code.html", {
        **_common(request), "card": card, "spendable": statement["spendable"], "balance": statement["balance"]})


@require_GET
def pay_code_status(request, code_id):
    """What the 결제하기 page polls: the state of one of the signed-in citizen's own codes (anyone
    else's code, or no verified citizen, is 404)."""
    citizen = _citizen(request)
    code = selectors.pay_code_of(citizen=citizen, code_id=code_id) if citizen is not None else None
    if code is None:
        return JsonResponse({"code": "not_found", "detail": _("찾을 수 없습니다.")}, status=404)
    response = JsonResponse(web.pay_code_status(code, citizen=citizen, now=timezone.now()))
    response["Cache-Control"] = "no-store"
    return response


# --- paying a shop: the citizen scans the shop's QR (MPM) ------------------------------------------

def _shop_page(view):
    """/pay/<code>/: an unknown or malformed shop code is a Korean 404 for anyone; then signed in
    (else the login page, and back) and verified (else the verification, and back)."""
    @wraps(view)
    def wrapper(request, merchant_code):
        merchant = web.merchant_for_page(merchant_code)
        if merchant is None:
            return render(request, "vouchers/merchant_not_found.html", {**_common(request)}, status=404)
        back = reverse("merchant_pay", args=[merchant.code])  # the shop page, also after a POST
        if not request.user.is_authenticated:
            return redirect_to_login(back)
        citizen = _citizen(request)
        if citizen is None:
            return _to_verify(request, back)
        return view(request, citizen, merchant)
    return wrapper


def _shop_context(request, citizen, merchant, now):
    statement = selectors.wallet_statement(citizen=citizen, limit=0, now=now)
    return {**_common(request), "merchant": merchant, "spendable": statement["spendable"],
            "refusal": web.merchant_refusal_text(merchant)}


@_shop_page
@require_http_methods(["GET", "POST"])
def merchant_pay(request, citizen, merchant):
    """The amount, then a confirmation step carrying a signed one-time ticket (nothing is paid yet)."""
    now = timezone.now()
    context = _shop_context(request, citizen, merchant, now)
    form = MerchantPaymentForm(request.POST if request.method == "POST" else None, spendable=context["spendable"])
    if request.method == "POST":
        valid = form.is_valid()
        if context["refusal"]:  # the shop's reason under the field, whatever was typed
            form.add_error("amount", context["refusal"])
        elif valid:
            amount = form.cleaned_data["amount"]
            return render(request, "vouchers/merchant_pay.html", {
                **context, "form": form, "amount": amount,
                "ticket": web.new_pay_ticket(user=request.user, merchant=merchant, amount=amount, now=now)})
    return render(request, "vouchers/merchant_pay.html", {**context, "form": form},
                  status=400 if request.method == "POST" else 200)


@_shop_page
@require_POST
def merchant_pay_confirm(request, citizen, merchant):
    """결제: services.pay_merchant through web.pay_at_merchant, once per confirm form, then the receipt."""
    ticket = web.read_pay_ticket(request.POST.get("ticket", ""), user=request.user, merchant=merchant)
    if ticket is None:
        messages.error(request, _("결제 확인 정보를 읽을 수 없습니다. 금액을 다시 입력해 주세요."))
        return redirect("merchant_pay", merchant_code=merchant.code)
    now = timezone.now()
    try:
        payment, replayed = web.pay_at_merchant(merchant=merchant, citizen=citizen, user=request.user,
                                                ticket=ticket, now=now)
    except web.TicketExpired:
        messages.error(request, _("결제 확인 시간(10분)이 지났습니다. 금액을 다시 입력해 주세요."))
        return redirect("merchant_pay", merchant_code=merchant.code)
    except ServiceError as exc:
        context = _shop_context(request, citizen, merchant, now)
        form = MerchantPaymentForm({"amount": f"{ticket.amount:,}"}, spendable=context["spendable"])
        form.is_valid()
        form.errors.pop("amount", None)  # the service's own sentence, not the form's second guess
        form.add_error("amount", web.refusal_message(exc))
        return render(request, "vouchers/merchant_pay.html", {**context, "form": form}, status=exc.status)
    if replayed:
        messages.info(request, _("이미 결제한 요청입니다. 한 번만 결제되었습니다."))
    return redirect("vouchers:payment", payment_id=payment.pk)


@verified_citizen_required
def payment_receipt(request, citizen, payment_id):
    """A payment from the citizen's own wallet: 승인번호, amount, shop, time, the balance after it."""
    payment = selectors.citizen_payment(citizen=citizen, payment_id=payment_id)
    if payment is None:
        raise Http404
    return render(request, "vouchers/payment_receipt.html", {
        **_common(request), "payment": payment, "balance_after": selectors.balance_after_payment(payment)})


# --- 가맹점 찾기 --------------------------------------------------------------------------------------

DIRECTORY_PAGE_SIZE = 20


def _directory_page(paginator, number):
    """(page, notice): the page asked for; a page number that is not one, or lies outside the
    results, shows the first or the last page and says so (never a 404 or a 500)."""
    try:
        return paginator.page(number or 1), None
    except PageNotAnInteger:
        return paginator.page(1), _("쪽 번호가 올바르지 않아 첫 쪽을 보여 드립니다.")
    except EmptyPage:
        if int(number) < 1:
            return paginator.page(1), _("쪽 번호가 올바르지 않아 첫 쪽을 보여 드립니다.")
        return paginator.page(paginator.num_pages), _("그 쪽은 없어 마지막 쪽을 보여 드립니다.")


def merchants(request):
    """가맹점 찾기: the public directory of approved merchants as a page, on the API's cleaner and
    selector (name search nearest first, typo-tolerant on PostgreSQL; filters by category, 읍면동 and
    medium), 20 to a page."""
    categories, dongs = selectors.directory_choices()
    form = MerchantSearchForm(request.GET or None, categories=categories, dongs=dongs)
    context = {**_common(request), "form": form, "page": None, "notice": None}
    if form.is_bound and not form.is_valid():
        return render(request, "vouchers/merchants.html", context, status=400)
    try:
        filters = inputs.clean_directory_filters(form.cleaned_data if form.is_bound else {})
    except ServiceError as exc:
        for name in exc.fields or {None: None}:
            form.add_error(name if name in form.fields else None, exc.detail)
        return render(request, "vouchers/merchants.html", context, status=400)
    with selectors.directory_search():  # the count and the page under the directory's pg_trgm thresholds
        paginator = Paginator(selectors.merchant_directory(**filters), DIRECTORY_PAGE_SIZE)
        page, context["notice"] = _directory_page(paginator, request.GET.get("page", ""))
        page.object_list = list(page.object_list)
    context.update(page=page, searched=bool(filters))
    return render(request, "vouchers/merchants.html", context)
