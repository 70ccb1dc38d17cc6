"""Forms of the merchant's own pages: they read what was typed (or what a barcode scanner typed);
the services decide. Amounts are whole won, typed as 12,000 or 12000원."""
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from jinju_portal.money import MAX_KRW
from vouchers import merchant_web
from vouchers.errors import message

_AMOUNT_NOISE = re.compile(r"[,\s원]")


class AmountField(forms.CharField):
    """Whole won; a wrong amount is told with the catalogue's own sentence (invalid_amount), the one
    the service would give."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                                           "placeholder": "12,000"}))
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        raw = _AMOUNT_NOISE.sub("", text or "")
        if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_KRW:
            raise forms.ValidationError(message("invalid_amount"), code="invalid_amount")
        return int(raw)


class NonceForm(forms.Form):
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_nonce(self):
        nonce = self.cleaned_data["nonce"]
        if not merchant_web.valid_nonce(nonce):
            raise forms.ValidationError(_("입력 화면이 오래되었습니다. 다시 입력해 주세요."), code="nonce")
        return nonce

    def clean(self):
        data = super().clean()
        if "nonce" in self.errors:  # a hidden field: say it above the form
            self.add_error(None, self.errors.pop("nonce")[0])
        return data


class TakePaymentForm(NonceForm):
    """The amount first, then the pay code: a scanner types the code and presses Enter, which sends
    the form with the amount already in."""

    amount = AmountField(label=_("결제 금액"), error_messages={"required": _("받을 금액을 입력해 주세요.")},
                         help_text=_("원 단위. 예: 12,000"))
    pay_code = forms.CharField(label=_("결제 코드"), max_length=100,
                               error_messages={"required": _("손님의 결제 QR을 스캔하거나 6자리 번호를 입력해 주세요.")},
                               help_text=_("손님 휴대폰의 QR을 스캔하거나 6자리 번호를 입력합니다."),
                               widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off",
                                                             "spellcheck": "false", "enterkeyhint": "go"}))

    field_order = ["amount", "pay_code", "nonce"]

    def clean_pay_code(self):
        return merchant_web.normalise_pay_code(self.cleaned_data["pay_code"])


class RefundForm(NonceForm):
    amount = AmountField(label=_("환불 금액"), error_messages={"required": _("환불할 금액을 입력해 주세요.")},
                         help_text=_("남은 금액 전부 또는 일부"))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class LookupForm(forms.Form):
    number = forms.CharField(label=_("승인번호"), max_length=30,
                             error_messages={"required": _("승인번호를 입력해 주세요.")},
                             help_text=_("10자리 숫자 (앞의 0은 빼도 됩니다)"),
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                                           "placeholder": "0000000042"}))

    def clean_number(self):
        number = merchant_web.parse_approval_number(self.cleaned_data["number"])
        if number is None:
            raise forms.ValidationError(_("승인번호는 10자리까지의 숫자입니다."), code="invalid")
        return number


class AddCashierForm(forms.Form):
    """The owner sets the cashier's username and first password (Django's password rules apply, in
    the service); the cashier signs in with them at the usual login page."""

    username = forms.CharField(label=_("아이디"), max_length=150,
                               error_messages={"required": _("아이디를 정해 주세요.")},
                               widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off",
                                                             "spellcheck": "false"}))
    password = forms.CharField(label=_("비밀번호"), strip=False,
                               error_messages={"required": _("비밀번호를 정해 주세요.")},
                               help_text=_("8자 이상, 흔하거나 숫자만인 비밀번호는 쓸 수 없습니다."),
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(label=_("비밀번호 확인"), strip=False,
                                     error_messages={"required": _("비밀번호를 한 번 더 입력해 주세요.")},
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", _("두 비밀번호가 같지 않습니다."))
        return data
