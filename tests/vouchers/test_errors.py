"""One catalogue of error codes and messages (vouchers/errors.py), one declaration per setting."""
import re
from pathlib import Path

from vouchers.errors import MESSAGES, STATUS, Code, refuse

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for p in (ROOT / "vouchers").rglob("*.py") if "migrations" not in p.parts]


def test_every_refusal_raised_in_vouchers_is_in_the_catalogue():
    keys = {m for p in SOURCES for m in re.findall(r'refuse\(\s*"([a-z_.]+)"', p.read_text(encoding="utf-8"))}
    assert keys, "the scan found no refusals"
    assert sorted(keys - set(MESSAGES)) == []


def test_every_code_has_a_status_and_a_message_and_every_message_a_code():
    assert set(STATUS) == set(Code)
    assert {Code(key.split(".", 1)[0]) for key in MESSAGES} == set(Code)


def test_refuse_builds_the_exception_of_the_codes_status_with_its_figures():
    exc = refuse("tranche_sold_out", remaining="30,000원")
    assert (exc.status, exc.code, exc.detail) == (409, "tranche_sold_out",
                                                  "이 회차의 남은 발행 한도(30,000원)가 구매 금액보다 적습니다.")
    assert refuse("not_found.purchase").status == 404
    assert refuse("invalid_face_value.mobile_units", {"face_value": ["x"]}).fields == {"face_value": ["x"]}


def test_the_purchase_schema_documents_the_codes_the_sale_raises():
    from vouchers.api.views import PURCHASE_409

    assert set(PURCHASE_409.split(", ")) == {"tranche_not_open", "not_rotation_day", "monthly_limit_exceeded",
                                             "yearly_limit_exceeded", "tranche_sold_out", "busy"}


def test_every_vouchers_setting_read_in_code_is_declared_once_in_settings():
    from jinju_portal import settings as declared

    text = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    used = set(re.findall(r"\bVOUCHERS_[A-Z_]+\b", text))
    assert used and sorted(name for name in used if not hasattr(declared, name)) == []
    assert "getattr(settings, \"VOUCHERS_" not in text
    settings_text = (ROOT / "jinju_portal" / "settings.py").read_text(encoding="utf-8")
    for name in used:
        assert len(re.findall(rf"^{name} = ", settings_text, flags=re.M)) == 1, name


def test_refuse_on_puts_the_sentence_under_each_named_field():
    exc = refuse("tranche_on_sale", on=("discount_rate", "opens_at"), names="할인율")
    assert exc.fields == {"discount_rate": [exc.detail], "opens_at": [exc.detail]} and "할인율" in exc.detail
    quota = refuse("invalid_quota", {"other": ["x"]}, on="quota")
    assert quota.fields == {"other": ["x"], "quota": [quota.detail]}
