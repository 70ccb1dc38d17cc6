"""Public forms of the Sangpyeong centre (Korean labels and errors; the services re-check everything)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from industrial.choices import SupportCategory
from industrial.models import DESCRIPTION_MAX, TITLE_MAX
from jinju_portal.bizno import validate_business_number


class SupportRequestForm(forms.Form):
    company_name = forms.CharField(label=_("기업명"), max_length=200)
    business_number = forms.CharField(label=_("사업자등록번호"), max_length=20, validators=[validate_business_number],
                                      help_text=_("예: 220-81-62517"),
                                      widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    category = forms.ChoiceField(label=_("분야"), choices=SupportCategory.choices)
    title = forms.CharField(label=_("제목"), max_length=TITLE_MAX)
    description = forms.CharField(label=_("내용"), max_length=DESCRIPTION_MAX,
                                  widget=forms.Textarea(attrs={"rows": 6}),
                                  help_text=_("겪고 계신 어려움을 구체적으로 적어 주세요 (5,000자 이내)."))
    contact_name = forms.CharField(label=_("담당자 이름"), max_length=100, required=False)
    contact_email = forms.EmailField(label=_("이메일"), max_length=254,
                                     help_text=_("접수 확인과 처리 결과를 이 주소로 알려 드립니다."))
    contact_phone = forms.CharField(label=_("연락처"), max_length=30, required=False)


class SupportLookupForm(forms.Form):
    number = forms.CharField(label=_("접수번호"), max_length=20, help_text=_("예: SP-210218-ABCDE"))
    email = forms.EmailField(label=_("신청 때 적은 이메일"), max_length=254)


class RegistrationForm(forms.Form):
    name = forms.CharField(label=_("이름"), max_length=100)
    company = forms.CharField(label=_("회사"), max_length=200)
    email = forms.EmailField(label=_("이메일"), max_length=254)
