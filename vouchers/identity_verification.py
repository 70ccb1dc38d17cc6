"""Pluggable identity verification for web sign-up (DESIGN.md "Identity"): which verifier, and what it proves.

A verifier turns what the citizen went through (a PASS/NICE window, or the development form) into a
`VerifiedIdentity` (CI, name, birth year). The page then calls `services.link_citizen`, which keeps
only HMAC(CI) and links the web account to the citizen known by it, so a buyer who already bought at
a bank counter shares one monthly limit across channels. The CI itself is never stored.

settings.VOUCHERS_IDENTITY_VERIFIER names the class (dotted path); the default is the development
verifier, which works only while settings.DEV_IDENTITY_VERIFIER is true (default: DEBUG) and says so
on screen. With no usable verifier the pages say identity verification is unavailable.
"""
import logging
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

DEFAULT_VERIFIER = "vouchers.identity_verification.DevelopmentIdentityVerifier"


@dataclass(frozen=True)
class VerifiedIdentity:
    ci: str  # handed to services.link_citizen, which hashes it; never persisted as is
    name: str
    birth_year: int | None


class VerificationFailed(Exception):
    """The provider did not vouch for the person; `message` is shown on the page."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class IdentityVerifier:
    """Interface. A provider that redirects (PASS, NICE) implements `start_url` and `complete` with
    the callback's data; a verifier that asks on our own page sets `form_class` instead."""

    label = ""
    is_development = False
    form_class: type[forms.Form] | None = None

    @classmethod
    def is_enabled(cls) -> bool:
        return True

    def start_url(self, *, request, return_url: str) -> str:
        """Where to send the citizen to verify (a provider window); "" when `form_class` is used."""
        return ""

    def complete(self, *, request, data) -> VerifiedIdentity:
        """Check the provider's answer (or the form's data) and return who the person is."""
        raise NotImplementedError


class DevelopmentIdentityForm(forms.Form):
    name = forms.CharField(label=_("이름"), max_length=100, strip=True,
                           error_messages={"required": _("이름을 입력해 주세요.")})
    birth_year = forms.IntegerField(label=_("출생 연도"), error_messages={
        "required": _("출생 연도를 입력해 주세요."), "invalid": _("출생 연도는 네 자리 숫자로 입력해 주세요.")})
    ci = forms.CharField(label=_("테스트용 CI(연계정보)"), max_length=200, strip=True,
                         help_text=_("아무 문자열이나 됩니다. 은행 창구에서 같은 CI로 산 기록이 있으면 그 구매자와 연결됩니다."),
                         error_messages={"required": _("테스트용 CI를 입력해 주세요.")})

    def clean_birth_year(self):
        year = self.cleaned_data["birth_year"]
        if not 1900 <= year <= timezone.localdate().year:
            raise forms.ValidationError(_("출생 연도는 1900년부터 올해 사이여야 합니다."))
        return year

    def clean_ci(self):
        ci = self.cleaned_data["ci"]
        if not ci.isprintable():
            raise forms.ValidationError(_("CI에 쓸 수 없는 문자가 있습니다."))
        return ci


class DevelopmentIdentityVerifier(IdentityVerifier):
    """개발용 본인확인: believes whatever the form says. Never a real verification."""

    label = _("개발용 본인확인 — 실제 본인확인이 아닙니다")
    is_development = True
    form_class = DevelopmentIdentityForm

    @classmethod
    def is_enabled(cls) -> bool:
        return bool(getattr(settings, "DEV_IDENTITY_VERIFIER", settings.DEBUG))

    def complete(self, *, request, data) -> VerifiedIdentity:
        form = self.form_class(data)
        if not form.is_valid():
            raise VerificationFailed(_("입력한 본인확인 정보가 올바르지 않습니다."))
        return VerifiedIdentity(ci=form.cleaned_data["ci"], name=form.cleaned_data["name"],
                                birth_year=form.cleaned_data["birth_year"])


def get_verifier() -> IdentityVerifier | None:
    """The configured verifier, or None when none is usable (pages then say verification is
    unavailable instead of failing)."""
    path = settings.VOUCHERS_IDENTITY_VERIFIER or DEFAULT_VERIFIER
    try:
        cls = import_string(path)
    except ImportError:
        logger.error("VOUCHERS_IDENTITY_VERIFIER=%r cannot be imported; identity verification is off", path)
        return None
    if not cls.is_enabled():
        return None
    return cls()

