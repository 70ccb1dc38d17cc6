"""Every error code the delivery app answers, its HTTP status and its Korean message (as
vouchers/errors.py): the services raise them, the pages show them, the OpenAPI docs list them.

`refuse("store_not_active", status=…)` builds the exception a service raises.
"""
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from jinju_portal.errors import Catalogue, documented  # noqa: F401  (documented: re-exported)


class Code(StrEnum):
    # 400: the input itself is wrong
    INVALID = "invalid"
    INVALID_BUSINESS_NUMBER = "invalid_business_number"
    INVALID_STORE = "invalid_store"  # unknown, or without this operator's listing (API.md)
    INVALID_BRAND = "invalid_brand"
    INVALID_CATEGORY = "invalid_category"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_EXTERNAL_ID = "invalid_external_id"
    INVALID_PAYMENT_METHOD = "invalid_payment_method"
    INVALID_ORDERED_AT = "invalid_ordered_at"
    INVALID_MONTH = "invalid_month"
    INVALID_RATE = "invalid_rate"
    INVALID_CONTRACT = "invalid_contract"
    INVALID_REASON = "invalid_reason"
    INVALID_STORE_INFO = "invalid_store_info"  # name, address, phone of an application
    # 403
    PERMISSION_DENIED = "permission_denied"  # city staff only (approving stores, operators' status)
    # 404
    NOT_FOUND = "not_found"
    # 409: a business rule refuses it
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
    STORE_NOT_ACTIVE = "store_not_active"
    OPERATOR_NOT_ACTIVE = "operator_not_active"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    INVALID_PAY_CODE = "invalid_pay_code"
    STORE_NOT_VOUCHER_MERCHANT = "store_not_voucher_merchant"  # no approved mobile Jinju Love merchant behind it
    STORE_STATUS_CONFLICT = "store_status_conflict"
    OPERATOR_STATUS_CONFLICT = "operator_status_conflict"
    CONTRACT_IN_FORCE = "contract_in_force"  # a contract whose first day is past cannot be changed
    STORE_ALREADY_APPLIED = "store_already_applied"  # the owner's form: this business is already registered
    BUSY = "busy"
    STATEMENT_STATUS_CONFLICT = "statement_status_conflict"  # statements: only an issued, unpaid one is received


_400 = {Code.INVALID, Code.INVALID_BUSINESS_NUMBER, Code.INVALID_STORE, Code.INVALID_BRAND, Code.INVALID_CATEGORY,
        Code.INVALID_AMOUNT, Code.INVALID_EXTERNAL_ID, Code.INVALID_PAYMENT_METHOD, Code.INVALID_ORDERED_AT,
        Code.INVALID_MONTH, Code.INVALID_RATE, Code.INVALID_CONTRACT, Code.INVALID_REASON, Code.INVALID_STORE_INFO}
_403 = {Code.PERMISSION_DENIED}

STATUS = {code: 400 if code in _400 else 403 if code in _403 else 404 if code == Code.NOT_FOUND else 409
          for code in Code}

# One sentence per code (and per variant where the figures differ), as an operator's developer, a
# store owner or a clerk reads it.
MESSAGES = {
    "invalid": _("입력값이 올바르지 않습니다."),
    "invalid_business_number": _("사업자등록번호가 올바르지 않습니다 (XXX-XX-XXXXX, 검증번호 확인)."),
    "invalid_store": _("가맹점을 찾을 수 없습니다. 이 운영사에 입점한 가맹점의 id를 보내 주세요."),
    "invalid_brand": _("브랜드는 이 운영사가 운영하는 브랜드(%(brands)s) 중 하나여야 합니다."),
    "invalid_brand.none": _("이 운영사가 운영하는 브랜드가 없습니다. brand를 비워 보내 주세요."),
    "invalid_brand.text": _("브랜드 이름은 %(max)d자 이하의 문자여야 합니다."),
    "invalid_brand.filter": _("브랜드는 %(brands)s 중 하나여야 합니다."),
    "invalid_category": _("업종은 %(choices)s 중 하나여야 합니다."),
    "invalid_amount": _("금액은 0원 이상의 정수(원)여야 합니다."),
    "invalid_amount.food": _("음식값은 1원 이상의 정수(원)여야 합니다."),
    "invalid_external_id": _("주문번호(external_id)는 1–%(max)d자의 인쇄 가능한 문자여야 합니다."),
    "invalid_payment_method": _("결제 수단은 card, cash, jinju_love 중 하나여야 합니다."),
    "invalid_pay_code.required": _("진주사랑상품권 결제(jinju_love)에는 시민의 결제 코드(pay_code)가 필요합니다."),
    "invalid_pay_code.format": _("결제 코드(pay_code)는 QR 값 또는 6자리 숫자여야 합니다."),
    "invalid_pay_code.not_allowed": _("결제 코드(pay_code)는 진주사랑상품권 결제(jinju_love)에만 보냅니다."),
    "invalid_ordered_at": _("주문일시는 시간대를 포함한 ISO 8601 형식이어야 합니다 (예: 2026-12-01T12:30:00+09:00)."),
    "invalid_ordered_at.future": _("주문일시가 미래입니다."),
    "invalid_ordered_at.too_old": _("%(days)d일보다 오래된 주문은 보고할 수 없습니다."),
    "invalid_month": _("월은 YYYY-MM 형식이어야 합니다 (예: 2026-11)."),
    "invalid_month.future": _("아직 시작하지 않은 달(%(month)s)은 정산할 수 없습니다."),
    "invalid_rate": _("수수료율은 0 이상 1 미만의 소수여야 합니다 (예: 0.0200)."),
    "invalid_contract": _("수수료 계약이 올바르지 않습니다."),
    "invalid_contract.duplicate": _("이 운영사에는 %(day)s부터 적용되는 계약이 이미 있습니다."),
    "invalid_contract.day": _("적용 시작일은 YYYY-MM-DD 형식의 날짜여야 합니다."),
    "invalid_contract.waiver": _("월 수수료 면제 음식값은 0원 이상의 정수(원)여야 합니다."),
    "invalid_contract.note": _("비고는 %(max)d자 이하로 적어 주세요."),
    "invalid_contract.operator": _("운영 종료된 운영사에는 수수료 계약을 추가할 수 없습니다."),
    "invalid_contract.none": _("주문일(%(day)s)에 적용되는 이 운영사의 수수료 계약이 없습니다."),
    "invalid_reason": _("사유를 1–%(max)d자로 적어 주세요."),
    "invalid_store_info": _("가맹점 정보가 올바르지 않습니다."),
    "invalid_store_info.text": _("%(field)s을(를) 1–%(max)d자의 문자로 적어 주세요."),
    "invalid_store_info.phone": _("전화번호는 숫자와 '-'로 %(max)d자 이하로 적어 주세요 (예: 055-123-4567)."),
    "invalid_store_info.filter": _("검색 조건이 올바르지 않습니다 (%(field)s, %(max)d자 이하)."),
    "invalid_store_info.status": _("가맹점 상태는 %(choices)s 중 하나여야 합니다."),
    "not_found": _("찾을 수 없습니다."),
    "not_found.store": _("가맹점을 찾을 수 없습니다."),
    "not_found.order": _("주문을 찾을 수 없습니다."),
    "not_found.operator": _("운영사를 찾을 수 없습니다."),
    "permission_denied": _("시 담당자만 할 수 있는 처리입니다."),
    "permission_denied.operator_key": _("배달앱 운영사의 API 키로만 신청할 수 있습니다."),
    "duplicate_external_id": _("같은 주문번호(%(external_id)s)로 다른 내용의 주문이 이미 접수되었습니다."),
    "store_not_active": _("지금 주문을 받을 수 없는 가맹점입니다 (%(status)s)."),
    "operator_not_active": _("운영이 정지되었거나 종료된 운영사는 새 주문을 보고할 수 없습니다."),
    "operator_not_active.store": _("운영이 정지되었거나 종료된 운영사는 가맹점을 신청할 수 없습니다."),
    "insufficient_balance": _("지갑 잔액이 부족합니다."),
    "invalid_pay_code": _("결제 코드가 올바르지 않거나 이미 사용·만료되었습니다. 새 결제 코드를 받아 주세요."),
    "store_not_voucher_merchant": _("이 가맹점은 모바일 진주사랑상품권 가맹점으로 승인되지 않아 상품권 결제를 받을 수 없습니다."),
    "store_status_conflict": _("지금 상태(%(status)s)에서는 할 수 없는 처리입니다."),
    "operator_status_conflict": _("운영사의 지금 상태(%(status)s)에서는 할 수 없는 처리입니다."),
    "contract_in_force": _("이미 적용이 시작된 수수료 계약은 바꿀 수 없습니다. 새 적용 시작일로 계약을 추가해 주세요."),
    "store_already_applied": _("이 사업자등록번호로 이미 신청된 가맹점이 있습니다."),
    "operator_status_conflict.withdraw": _("운영 종료는 운영사 정리 절차(정산 마감)로만 할 수 있습니다."),
    "invalid.operator": _("운영사 정보가 올바르지 않습니다 (%(field)s)."),
    "busy": _("요청이 몰려 처리하지 못했습니다. 잠시 뒤 다시 시도해 주세요."),
    "statement_status_conflict": _("확정되었고 아직 수수료를 받지 않은 정산서만 수납 처리할 수 있습니다 (지금: %(status)s)."),
}


_CATALOGUE = Catalogue(Code, STATUS, MESSAGES)
message = _CATALOGUE.message  # the catalogue's sentence for "code" or "code.variant"
refuse = _CATALOGUE.refuse  # the exception a service raises: raise refuse("tranche_sold_out", …)
