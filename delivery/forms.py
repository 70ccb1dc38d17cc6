"""Forms of the delivery pages: the directory's filters and the owner's sign-up and application.
They check shapes only; the services and the shared cleaners (delivery/inputs.py) decide, and their
refusals are placed on these fields (jinju_portal.forms.add_service_error)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from delivery import rules
from delivery.choices import StoreCategory


class DirectoryForm(forms.Form):
    """공공배달앱 가맹점 찾기: brand, category and 동 from lists, and part of the name."""

    q = forms.CharField(label=_("상호"), required=False, max_length=rules.MAX_QUERY, strip=True,
                        error_messages={"max_length": _("상호는 %(limit_value)d자 이하로 입력해 주세요.")},
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                                      "placeholder": _("상호를 입력하세요")}))
    brand = forms.ChoiceField(label=_("브랜드"), required=False,
                              error_messages={"invalid_choice": _("목록에 있는 브랜드를 골라 주세요.")})
    category = forms.ChoiceField(label=_("업종"), required=False,
                                 choices=[("", _("모든 업종"))] + list(StoreCategory.choices),
                                 error_messages={"invalid_choice": _("목록에 있는 업종을 골라 주세요.")})
    dong = forms.ChoiceField(label=_("읍면동"), required=False,
                             error_messages={"invalid_choice": _("가맹점이 없는 읍면동입니다. 목록에서 골라 주세요.")})

    def __init__(self, *args, brands=(), dongs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [("", _("모든 브랜드"))] + [(b, b) for b in brands]
        self.fields["dong"].choices = [("", _("모든 읍면동"))] + [(d, d) for d in dongs]


class StoreApplicationForm(forms.Form):
    """The store's part of the owner's application."""

    business_number = forms.CharField(label=_("사업자등록번호"), max_length=20, strip=True,
                                      help_text=_("예: 220-81-62517"),
                                      widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    name = forms.CharField(label=_("상호"), max_length=rules.MAX_NAME, strip=True)
    category = forms.ChoiceField(label=_("업종"), choices=[("", _("업종을 고르세요"))] + list(StoreCategory.choices))
    address = forms.CharField(label=_("주소"), max_length=rules.MAX_ADDRESS, strip=True,
                              help_text=_("도로명 주소와 읍면동. 예: 경상남도 진주시 평거로 12 (평거동)"))
    phone = forms.CharField(label=_("가게 전화번호"), max_length=rules.MAX_PHONE, strip=True,
                            help_text=_("예: 055-741-1234"), widget=forms.TextInput(attrs={"inputmode": "tel"}))


class OwnerSignUpForm(StoreApplicationForm):
    """A new owner: the account (a sign-in for /delivery/my/) and the store at once."""

    username = forms.CharField(label=_("아이디"), max_length=150, strip=True,
                               widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(label=_("비밀번호"), strip=False,
                               help_text=_("8자 이상, 아이디와 비슷하지 않고 숫자로만 되지 않은 비밀번호"),
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(label=_("비밀번호 확인"), strip=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    field_order = ["username", "password", "password_again", "business_number", "name", "category", "address",
                   "phone"]

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", _("두 비밀번호가 같지 않습니다."))
        return data
