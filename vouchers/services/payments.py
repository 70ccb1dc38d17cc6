"""Paying merchants with mobile vouchers, both ways Korean shops take them, and the merchant's refunds.

- CPM: the citizen shows a one-time pay code (`issue_pay_code`: QR value and 6 digits, valid 3
  minutes, single use, a new one voids the old); the merchant's POS submits it (`pay_with_code`).
- MPM: the citizen scans the shop's poster QR, which carries the merchant's code, and types the
  amount (`pay_merchant`), on the portal's page or in a wallet app.
- `refund_merchant_payment`: part or all of a payment back to the wallet, within 30 days.
- `refund_payment_in_full`: what is left of a payment back to the wallet when the sale behind it is
  undone elsewhere (a delivery order cancelled by its operator: delivery/services/orders.py), with
  no merchant window, inside the caller's transaction.

Each is one short transaction: the wallet is locked (lock 3, vouchers/locks.py), then the pay code
or the payment row. On PostgreSQL `pay_with_code` is ONE statement (vouchers/db/payments.py: the
POS's hot path, bench/payments.py), in the same order and with the same rules as its ORM twin
`_pay_with_code_orm` (SQLite in `make run`, the "orm" leg of its tests). The wallet moves with its ledger line; the payment row records the merchant,
and no running merchant balance is touched (invariant 4a: a busy merchant is never a hot row).
Credits are spent oldest first and credits past their validity are not spent: a payment first
expires what is left of them (services/wallet.expire_held_credit), as the daily job would.
Paying never gives back quota or month usage: only a cancel does.
"""
import secrets
from dataclasses import dataclass

from django.db import DataError, IntegrityError, connection, transaction

from jinju_portal import actors, clock
from jinju_portal.identity import hash_identity
from jinju_portal.money import format_krw
from vouchers import inputs, locks, rules, selectors
from vouchers.choices import EntryKind, EventKind, MemberRole, PayCodeStatus, PaymentMethod, PaymentStatus
from vouchers.db import payments as payment_sql
from vouchers.db import session
from vouchers.db.sql import REFUSED_MARK
from vouchers.errors import refuse
from vouchers.models import Citizen, Merchant, MerchantRefund, PayCode, Payment, Wallet
from vouchers.services import events
from vouchers.services.sales import AlreadyAnswered, claim_citizen
from vouchers.services.wallet import append, expire_held_credit

SHORT_CODE_DRAWS = 20  # a 6-digit draw meets a live code of another wallet about once in 10^6/live codes


def _citizen(*, buyer_ci=None, citizen_id=None, create=False, now=None) -> Citizen | None:
    if citizen_id is not None:
        return Citizen.objects.filter(pk=citizen_id).first()
    ci_hash = hash_identity(inputs.clean_buyer_ci(buyer_ci))
    if create:
        return claim_citizen(ci_hash=ci_hash, name="", birth_year=None, now=now)
    return Citizen.objects.filter(ci_hash=ci_hash).first()


@transaction.atomic
def issue_pay_code(*, actor, buyer_ci=None, citizen_id=None, now=None) -> PayCode:
    """A new one-time pay code for the buyer's wallet (created, with the buyer, if they have none
    yet: a wallet app's signed-in user may open it before the first purchase). The previous active
    code of the wallet is voided in the same transaction."""
    now = clock.now_or(now)
    citizen = _citizen(buyer_ci=buyer_ci, citizen_id=citizen_id, create=True, now=now)
    if citizen is None:
        raise refuse("not_found.buyer")
    wallet, _ = Wallet.objects.get_or_create(citizen=citizen, defaults={"updated_at": now})
    locks.wallet_by_pk(wallet.pk)  # one issuer at a time per wallet, and the payments' lock order
    PayCode.objects.filter(wallet=wallet, status=PayCodeStatus.ACTIVE).update(status=PayCodeStatus.VOIDED,
                                                                               used_at=now)
    client, user = actors.client_of(actor), actors.user_of(actor)
    for _ in range(SHORT_CODE_DRAWS):
        short = f"{secrets.randbelow(10 ** rules.SHORT_CODE_DIGITS):0{rules.SHORT_CODE_DIGITS}d}"
        # A short code is unique among active codes; one whose 3 minutes are over is marked lapsed
        # here, the moment its number is drawn again (no sweeping job needed).
        PayCode.objects.filter(short_code=short, status=PayCodeStatus.ACTIVE, expires_at__lte=now).update(
            status=PayCodeStatus.LAPSED, used_at=now)
        try:
            with transaction.atomic():
                return PayCode.objects.create(
                    wallet=wallet, token=secrets.token_urlsafe(24), short_code=short, api_client=client, user=user,
                    created_at=now, expires_at=now + rules.PAY_CODE_VALIDITY)
        except IntegrityError:
            continue  # that number is live for another wallet: draw again
    raise refuse("busy")


def _taking_merchant(actor, merchant_id, merchant_business_number=None) -> Merchant | None:
    """Who takes a CPM payment: the merchant a trusted caller names (delivery), a POS key's
    merchant, or the merchant whose page a member of it (owner or cashier) is signed in to."""
    if merchant_business_number is not None:
        return Merchant.objects.filter(business_number=merchant_business_number).first()
    if actors.client_of(actor) is not None:
        return selectors.pos_merchant(actor)
    member = selectors.member_of(actor, merchant_id=merchant_id) if merchant_id is not None else None
    if member is None:
        raise refuse("not_found.merchant")
    return member.merchant


def _check_merchant(merchant) -> None:
    refusal = rules.payment_refusal(merchant_status=merchant.status if merchant else None,
                                    accepts_mobile=bool(merchant and merchant.accepts_mobile))
    if refusal is not None:
        raise refuse(refusal)


def _debit(*, wallet: Wallet, merchant: Merchant, amount: int, method: str, now, actor, pay_code=None,
           idempotency_key="") -> Payment:
    """Under the wallet lock: first expire what is left of credits past validity (rare: one indexed
    EXISTS says whether there are any), then refuse what the wallet cannot pay, else debit and record."""
    if wallet.entries.filter(kind=EntryKind.PURCHASE, expires_at__lte=now).exists():
        expire_held_credit(wallet, now=now)
    if amount > wallet.balance:
        raise refuse("insufficient_balance")
    payment = Payment.objects.create(
        merchant=merchant, wallet=wallet, method=method, pay_code=pay_code, amount=amount, created_at=now,
        api_client=actors.client_of(actor), user=actors.user_of(actor), idempotency_key=idempotency_key,
        code_issuer_id=pay_code.api_client_id if pay_code is not None else None)
    append(wallet, amount=-amount, kind=EntryKind.PAYMENT, payment=payment, reference=f"payment:{payment.pk}", now=now)
    return payment


@dataclass(frozen=True)
class PaymentIdempotency:
    """An Idempotency-Key to settle inside the payment statement (db/payments.KEYED_ANSWER): the shared
    record's owner, key and request hash, and `created_at` exactly as the API answer shows it."""
    owner: str
    key: str
    request_hash: str
    created_at_text: str


class PaymentNotSettled(Exception):
    """The one statement could not take this keyed payment (its wallet holds a credit past its
    validity, which the ORM twin expires first): the caller settles the key the generic way, whose
    call of pay_with_code then takes the ORM twin."""


def pay_with_code(*, pay_code, amount, actor, merchant_id=None, idempotency_key="", now=None,
                  idempotency: PaymentIdempotency | None = None,
                  merchant_business_number: str | None = None) -> Payment:
    """CPM: the merchant's POS (`actor`, a merchant_pos key; or `merchant_id` for the merchant's own
    page) takes `amount` from the wallet the code is bound to. The code is spent by a conditional
    UPDATE under the wallet lock, so one code pays once however many tills submit it.

    `merchant_business_number`: a trusted caller in this process names the taking merchant itself
    (delivery's report of a jinju_love order, paid to the store's linked merchant; `actor` is then
    the operator's key and is only recorded). Never taken from a request: the API passes none.

    Not decorated: on PostgreSQL the payment is one autocommit statement, its own transaction (a
    savepoint inside a caller's); elsewhere `_pay_with_code_orm`, one transaction. Refusals, in
    order: invalid_amount / invalid_pay_code (shape), not_found.merchant (a member's page),
    merchant_not_active, merchant_not_mobile, invalid_pay_code (unknown, expired, used, voided),
    insufficient_balance. `idempotency` (PostgreSQL): store the API answer under that key in the
    same statement; a key already answered raises AlreadyAnswered (the caller replays it)."""
    now = clock.now_or(now)
    text = inputs.clean_pay_code(pay_code)
    amount = inputs.clean_amount(amount)
    if not session.fast_sql():
        return _pay_with_code_orm(text=text, amount=amount, actor=actor, merchant_id=merchant_id,
                                  idempotency_key=idempotency_key, now=now,
                                  merchant_business_number=merchant_business_number)
    business_number = (merchant_business_number if merchant_business_number is not None
                       else _taking_business_number(actor, merchant_id))
    client, user = actors.client_of(actor), actors.user_of(actor)
    params = {"bn": business_number, "code": text, "now": now, "x": amount, "api_client_id": getattr(client, "pk", None),
              "user_id": getattr(user, "pk", None), "ikey": idempotency_key or ""}
    if idempotency is not None:
        params.update(io=idempotency.owner, ik=idempotency.key, ih=idempotency.request_hash,
                      created_at_text=idempotency.created_at_text, ikey=idempotency.key)
    statement = (inputs.is_short_code(text), idempotency is not None)
    for _attempt in range(3):
        row = _run_payment(statement, params)
        if row["payment_id"] is not None:
            return _paid(row, amount=amount, client=client, user=user, idempotency_key=params["ikey"], now=now)
        # Nothing was written; name why from the statement's rows, in the ORM twin's order.
        _check_merchant_status(row["merchant_status"], row["accepts_mobile"])
        if row["pay_code_id"] is None:
            raise refuse("invalid_pay_code")
        if row["expired_credit"]:
            if idempotency is not None:
                raise PaymentNotSettled()
            return _pay_with_code_orm(text=text, amount=amount, actor=actor, merchant_id=merchant_id,
                                      idempotency_key=idempotency_key, now=now,
                                      merchant_business_number=merchant_business_number)
        # The code was active before the wallet lock; after it, the UPDATE found it used or voided
        # (a fresh read tells), or the wallet's latest balance was short.
        if not PayCode.objects.filter(pk=row["pay_code_id"], status=PayCodeStatus.ACTIVE, expires_at__gt=now).exists():
            raise refuse("invalid_pay_code")
        if amount > row["balance"]:
            raise refuse("insufficient_balance")
        # every rule passes now: whatever refused us a moment ago is gone, try again
    raise refuse("busy")


def _taking_business_number(actor, merchant_id) -> str:
    """Whose till: a POS key's merchant by its business number (looked up inside the statement, no
    round trip of its own), or the merchant whose page a member is signed in to ("" for a key
    without a merchant: the statement finds none, merchant_not_active)."""
    client = actors.client_of(actor)
    if client is not None:
        return client.merchant_business_number or ""
    return _taking_merchant(actor, merchant_id).business_number


def _run_payment(statement, params) -> dict:
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                return session.run(statement, params, payment_sql)
        return session.run(statement, params, payment_sql)
    except DataError as exc:
        if f"{REFUSED_MARK}:replay" in str(exc):
            raise AlreadyAnswered() from None
        raise


def _check_merchant_status(status, accepts_mobile) -> None:
    refusal = rules.payment_refusal(merchant_status=status, accepts_mobile=bool(accepts_mobile))
    if refusal is not None:
        raise refuse(refusal)


def _paid(row, *, amount, client, user, idempotency_key, now) -> Payment:
    """The Payment the statement inserted, as the ORM twin returns it, without reading it back (its
    merchant with the fields the answer shows)."""
    merchant = Merchant.from_db(connection.alias, ["id", "name", "accepts_mobile", "code", "status"],
                                [row["merchant_id"], row["merchant_name"], row["accepts_mobile"], row["merchant_code"],
                                 row["merchant_status"]])
    payment = Payment.from_db(
        connection.alias,
        ["id", "merchant_id", "wallet_id", "method", "pay_code_id", "api_client_id", "code_issuer_id", "user_id",
         "amount", "refunded", "status", "idempotency_key", "created_at"],
        [row["payment_id"], merchant.pk, row["wallet_id"], PaymentMethod.PAY_CODE, row["pay_code_id"],
         getattr(client, "pk", None), row["code_issuer_id"], getattr(user, "pk", None), amount, 0, PaymentStatus.PAID,
         idempotency_key, now])
    payment.merchant = merchant
    return payment


@transaction.atomic
def _pay_with_code_orm(*, text, amount, actor, merchant_id, idempotency_key, now,
                       merchant_business_number=None) -> Payment:
    """pay_with_code's ORM twin (its inputs already cleaned): the readable version of the statement."""
    merchant = _taking_merchant(actor, merchant_id, merchant_business_number)
    _check_merchant(merchant)
    lookup = {"short_code": text} if inputs.is_short_code(text) else {"token": text}
    code = PayCode.objects.filter(status=PayCodeStatus.ACTIVE, expires_at__gt=now, **lookup).first()
    if code is None:
        raise refuse("invalid_pay_code")
    wallet = locks.wallet_by_pk(code.wallet_id)
    taken = PayCode.objects.filter(pk=code.pk, status=PayCodeStatus.ACTIVE, expires_at__gt=now).update(
        status=PayCodeStatus.USED, used_at=now)  # the row lock after the wallet's (locks.py)
    if not taken:  # used or voided while we waited for the wallet
        raise refuse("invalid_pay_code")
    return _debit(wallet=wallet, merchant=merchant, amount=amount, method=PaymentMethod.PAY_CODE, now=now,
                  actor=actor, pay_code=code, idempotency_key=idempotency_key)


@transaction.atomic
def pay_merchant(*, merchant_code, amount, actor, buyer_ci=None, citizen_id=None, idempotency_key="",
                 now=None) -> Payment:
    """MPM: the citizen (`citizen_id`, signed in on the portal) or a wallet app for its user
    (`buyer_ci`) pays the merchant whose poster code was scanned. A buyer with no wallet has a
    balance of 0."""
    now = clock.now_or(now)
    code = inputs.clean_merchant_code(merchant_code)
    amount = inputs.clean_amount(amount)
    if citizen_id is None:
        inputs.clean_buyer_ci(buyer_ci)
    merchant = Merchant.objects.filter(code=code).first()
    if merchant is None:
        raise refuse("invalid_merchant.code", on="merchant_code")
    _check_merchant(merchant)
    citizen = _citizen(buyer_ci=buyer_ci, citizen_id=citizen_id)
    wallet = locks.wallet(citizen_id=citizen.pk) if citizen is not None else None
    if wallet is None:
        raise refuse("insufficient_balance")
    return _debit(wallet=wallet, merchant=merchant, amount=amount, method=PaymentMethod.MERCHANT_QR, now=now,
                  actor=actor, idempotency_key=idempotency_key)


def _may_refund(payment: Payment, actor) -> bool:
    """The payment's merchant, through its POS key or its owner's account; a cashier is told 403."""
    client = actors.client_of(actor)
    if client is not None:
        merchant = selectors.pos_merchant(client)
        return merchant is not None and merchant.pk == payment.merchant_id
    member = selectors.member_of(actor, merchant_id=payment.merchant_id)
    if member is None:
        return False
    if member.role != MemberRole.OWNER:
        raise refuse("not_merchant_owner")
    return True


@transaction.atomic
def refund_merchant_payment(*, payment_id, amount, actor, idempotency_key="", now=None) -> Payment:
    """Give `amount` of a payment back to its wallet, within 30 days of the payment, never more than
    is left of it (CHECK refunded <= amount backs the rule). Another merchant's payment is 404."""
    now = clock.now_or(now)
    amount = inputs.clean_amount(amount)
    found = Payment.objects.filter(pk=payment_id).only("id", "wallet_id", "merchant_id").first()
    if found is None or not _may_refund(found, actor):
        raise refuse("not_found.payment")
    wallet = locks.wallet_by_pk(found.wallet_id)
    payment = locks.payment(payment_id)
    refusal = rules.refund_refusal(paid_at=payment.created_at, amount=payment.amount, refunded=payment.refunded,
                                   x=amount, now=now)
    if refusal is not None:
        raise refuse(refusal, left=format_krw(payment.amount - payment.refunded))
    before = {"refunded": payment.refunded, "status": payment.status}
    payment.refunded += amount
    payment.status = rules.payment_status(amount=payment.amount, refunded=payment.refunded)
    payment.save(update_fields=["refunded", "status"])
    MerchantRefund.objects.create(payment=payment, merchant_id=payment.merchant_id, amount=amount,
                                  api_client=actors.client_of(actor), user=actors.user_of(actor),
                                  idempotency_key=idempotency_key, created_at=now)
    append(wallet, amount=amount, kind=EntryKind.REFUND, payment=payment, reference=f"payment-refund:{payment.pk}",
           now=now)
    events.record(EventKind.PAYMENT_REFUNDED, actor=actor, now=now, payment=payment, merchant=payment.merchant,
                  citizen_id=wallet.citizen_id, before=before,
                  after={"refunded": payment.refunded, "status": payment.status, "amount": amount})
    return payment


@transaction.atomic
def refund_payment_in_full(*, payment_id, actor, note="", now=None) -> Payment:
    """Give back to its wallet all that is left of a payment, because the sale it paid was undone
    elsewhere (a delivery order cancelled by its operator: the caller has decided that, holds its own
    locks and calls this inside its transaction). No merchant's 30-day window and no merchant key:
    the caller answers for it. The same wallet, ledger and MerchantRefund rows as a merchant's refund,
    and its event; a payment already refunded in full is left as it is (returns it unchanged)."""
    now = clock.now_or(now)
    found = Payment.objects.filter(pk=payment_id).only("id", "wallet_id").first()
    if found is None:
        raise refuse("not_found.payment")
    wallet = locks.wallet_by_pk(found.wallet_id)  # lock 3, then the payment (vouchers/locks.py)
    payment = locks.payment(payment_id)
    amount = payment.amount - payment.refunded
    if amount <= 0:
        return payment
    before = {"refunded": payment.refunded, "status": payment.status}
    payment.refunded += amount
    payment.status = rules.payment_status(amount=payment.amount, refunded=payment.refunded)
    payment.save(update_fields=["refunded", "status"])
    MerchantRefund.objects.create(payment=payment, merchant_id=payment.merchant_id, amount=amount,
                                  api_client=actors.client_of(actor), user=actors.user_of(actor), created_at=now)
    append(wallet, amount=amount, kind=EntryKind.REFUND, payment=payment, reference=f"payment-refund:{payment.pk}",
           now=now)
    events.record(EventKind.PAYMENT_REFUNDED, actor=actor, now=now, payment=payment, merchant=payment.merchant,
                  citizen_id=wallet.citizen_id, before=before, note=str(note)[:500],
                  after={"refunded": payment.refunded, "status": payment.status, "amount": amount})
    return payment
