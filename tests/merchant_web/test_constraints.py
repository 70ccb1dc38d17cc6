"""What the database itself holds for the merchant pages (migration 0011)."""
import pytest
from django.db import IntegrityError, transaction

from tests.merchant_web.conftest import make_member, pay
from vouchers.models import MerchantMember, MerchantRefund, Payment


def _copy(payment, **changes):
    fields = {f.attname: getattr(payment, f.attname) for f in Payment._meta.concrete_fields if f.name not in ("id",)}
    return Payment(**{**fields, "pay_code_id": None, **changes})


@pytest.mark.django_db
def test_one_payment_per_account_and_nonce_but_none_for_empty_keys_or_api_rows(merchant, cashier):
    payment = pay(merchant, 1_000, actor=cashier)
    Payment.objects.filter(pk=payment.pk).update(idempotency_key="merchant-pay:k")
    with pytest.raises(IntegrityError), transaction.atomic():
        _copy(payment, idempotency_key="merchant-pay:k").save()
    _copy(payment, idempotency_key="").save()  # rows without a nonce are not held to it
    _copy(payment, idempotency_key="").save()
    _copy(payment, user_id=None, idempotency_key="merchant-pay:k").save()  # a partner's rows: no user
    _copy(payment, user_id=None, idempotency_key="merchant-pay:k").save()


@pytest.mark.django_db
def test_one_refund_per_account_and_nonce(merchant, owner):
    payment = pay(merchant, 5_000)
    MerchantRefund.objects.create(payment=payment, merchant=merchant, amount=1, user=owner, idempotency_key="r")
    with pytest.raises(IntegrityError), transaction.atomic():
        MerchantRefund.objects.create(payment=payment, merchant=merchant, amount=1, user=owner, idempotency_key="r")
    MerchantRefund.objects.create(payment=payment, merchant=merchant, amount=1, user=owner, idempotency_key="")
    MerchantRefund.objects.create(payment=payment, merchant=merchant, amount=1, user=owner, idempotency_key="")


@pytest.mark.django_db
def test_a_merchant_has_one_active_owner(merchant, other_merchant):
    first = make_member(merchant, "owner")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_member(merchant, "owner")
    make_member(other_merchant, "owner")  # per merchant
    make_member(merchant, "cashier")
    make_member(merchant, "cashier")
    MerchantMember.objects.filter(pk=first.pk).update(active=False)
    make_member(merchant, "owner")  # a switched-off owner makes room for the next
    assert MerchantMember.objects.filter(merchant=merchant, role="owner").count() == 2
