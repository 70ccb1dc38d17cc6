"""Forms of the citizen pages: they read what was typed; the services decide what may be bought."""
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from jinju_portal.money import MAX_KRW, format_krw
from vouchers.errors import message

_AMOUNT_NOISE = re.compile(r"[,\s원]")


class PurchaseForm(forms.Form):
    """Which open mobile tranche and how much face value. Units (1,000원) and limits are checked by
    services.reserve_purchase, whose refusals the view places on these fields."""

    tranche = forms.IntegerField(label=_("발행 회차"), min_value=1, widget=forms.Select,
                                 error_messages={"required": _("발행 회차를 골라 주세요."),
                                                 "invalid": _("판매 중인 발행 회차를 골라 주세요."),
                                                 "min_value": _("판매 중인 발행 회차를 골라 주세요.")})
    face_value = forms.CharField(label=_("구매 금액(액면가)"), max_length=30, strip=True,
                                 help_text=_("1,000원 단위. 예: 50,000"),
                                 error_messages={"required": _("구매할 금액을 입력해 주세요."),
                                                 "max_length": _("금액이 너무 큽니다.")},
                                 widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                                               "placeholder": "50,000"}))

    def __init__(self, *args, tranches=(), **kwargs):
        super().__init__(*args, **kwargs)
        # A tranche that closed between GET and POST is still a valid choice here, so the service
        # answers with its own reason (판매 기간 아님) instead of a generic "invalid choice".
        self.fields["tranche"].widget.choices = [("", _("회차를 고르세요"))] + [(t.pk, t.name) for t in tranches]
        if len(tranches) == 1 and not self.is_bound:
            self.initial.setdefault("tranche", tranches[0].pk)

    def clean_face_value(self):
        raw = _AMOUNT_NOISE.sub("", self.cleaned_data["face_value"])
        if not raw.isascii() or not raw.isdigit():
            raise forms.ValidationError(_("금액은 원 단위의 숫자로만 입력해 주세요. 예: 50,000"), code="invalid")
        value = int(raw)
        if value <= 0:
            raise forms.ValidationError(_("금액은 0원보다 커야 합니다."), code="invalid")
        if value > MAX_KRW:
            raise forms.ValidationError(_("금액이 너무 큽니다."), code="invalid")
        return value


class MerchantPaymentForm(forms.Form):
    """How much to pay a shop whose QR the citizen scanned (MPM): whole won, more than 0, at most
    what the wallet can spend. The service decides again when the citizen confirms."""

    amount = forms.CharField(label=_("결제 금액"), max_length=30, strip=True,
                             help_text=_("가게에서 알려 준 금액을 원 단위로 입력하세요. 예: 12,000"),
                             error_messages={"required": _("결제할 금액을 입력해 주세요."),
                                             "max_length": _("금액이 너무 큽니다.")},
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                                           "placeholder": "12,000", "enterkeyhint": "next"}))

    def __init__(self, *args, spendable: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.spendable = spendable

    def clean_amount(self):
        raw = _AMOUNT_NOISE.sub("", self.cleaned_data["amount"])
        digits = raw[1:] if raw[:1] in "+-" else raw
        if re.fullmatch(r"[0-9]*[.][0-9]+|[0-9]+[.][0-9]*", digits):
            raise forms.ValidationError(_("금액은 원 단위로, 소수점 없이 입력해 주세요. 예: 12,000"), code="invalid")
        if not digits.isascii() or not digits.isdigit():
            raise forms.ValidationError(_("금액은 숫자로만 입력해 주세요. 예: 12,000"), code="invalid")
        value = int(digits)
        if raw.startswith("-") or value <= 0:
            raise forms.ValidationError(_("금액은 1원 이상이어야 합니다."), code="invalid")
        if value > MAX_KRW:
            raise forms.ValidationError(_("금액이 너무 큽니다."), code="invalid")
        if value > self.spendable:
            raise forms.ValidationError(
                _("%(refusal)s 쓸 수 있는 잔액은 %(spendable)s입니다.")
                % {"refusal": message("insufficient_balance"), "spendable": format_krw(self.spendable)},
                code="insufficient_balance")
        return value


class MerchantSearchForm(forms.Form):
    """가맹점 찾기: what the citizen typed and picked. The view then reads the values with the
    directory's own cleaner (inputs.clean_directory_filters), as the API does: an unknown category
    is refused there, in the catalogue's words, so it is a plain field shown as a list."""

    q = forms.CharField(label=_("상호"), required=False, max_length=50, strip=True,
                        help_text=_("일부만 적거나 한 글자 틀려도 찾습니다. 예: 국밥, 진주싱당"),
                        error_messages={"max_length": _("상호는 %(limit_value)d자 이하로 입력해 주세요.")},
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                                      "placeholder": _("상호를 입력하세요")}))
    category = forms.CharField(label=_("업종"), required=False, max_length=100, widget=forms.Select)
    dong = forms.ChoiceField(label=_("읍면동"), required=False,
                             error_messages={"invalid_choice": _("가맹점이 없는 읍면동입니다. 목록에서 골라 주세요.")})
    accepts = forms.ChoiceField(label=_("상품권 종류"), required=False,
                                choices=[("", _("지류·모바일 모두")), ("paper", _("지류 상품권")),
                                         ("mobile", _("모바일 상품권"))],
                                error_messages={"invalid_choice": _("상품권 종류는 목록에서 골라 주세요.")})

    def __init__(self, *args, categories=(), dongs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.choices = [("", _("모든 업종"))] + list(categories)
        self.fields["dong"].choices = [("", _("모든 읍면동"))] + [(d, d) for d in dongs]

    def clean_q(self):
        q = self.cleaned_data["q"]
        if not q.isprintable():
            raise forms.ValidationError(_("상호에 쓸 수 없는 문자가 있습니다."), code="invalid")
        return q
