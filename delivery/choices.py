"""Enumerations of the delivery app (statuses, payment methods, categories, event kinds)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class OperatorStatus(models.TextChoices):
    ACTIVE = "active", _("운영 중")
    SUSPENDED = "suspended", _("운영 정지")
    WITHDRAWN = "withdrawn", _("운영 종료")


# Forward-only, as the agreement allows: a suspended operator may be reinstated, a withdrawn one
# (wound down: no new orders, its statements closed out) never comes back.
OPERATOR_TRANSITIONS = {
    OperatorStatus.ACTIVE: {OperatorStatus.SUSPENDED, OperatorStatus.WITHDRAWN},
    OperatorStatus.SUSPENDED: {OperatorStatus.ACTIVE, OperatorStatus.WITHDRAWN},
    OperatorStatus.WITHDRAWN: set(),
}


class StoreStatus(models.TextChoices):
    PENDING = "pending", _("승인 대기")
    APPROVED = "approved", _("승인")
    SUSPENDED = "suspended", _("정지")
    WITHDRAWN = "withdrawn", _("탈퇴")


STORE_TRANSITIONS = {
    StoreStatus.PENDING: {StoreStatus.APPROVED, StoreStatus.WITHDRAWN},
    StoreStatus.APPROVED: {StoreStatus.SUSPENDED, StoreStatus.WITHDRAWN},
    StoreStatus.SUSPENDED: {StoreStatus.APPROVED, StoreStatus.WITHDRAWN},
    StoreStatus.WITHDRAWN: set(),
}


class StoreCategory(models.TextChoices):
    """What a store sells, as the apps' menus group it (the API takes the code or the Korean name)."""

    KOREAN = "korean", _("한식")
    CHINESE = "chinese", _("중식")
    JAPANESE = "japanese", _("일식·돈가스")
    WESTERN = "western", _("양식")
    CHICKEN = "chicken", _("치킨")
    PIZZA = "pizza", _("피자")
    SNACK = "snack", _("분식")
    JOKBAL = "jokbal", _("족발·보쌈")
    NIGHT = "night", _("야식")
    ASIAN = "asian", _("아시안")
    LUNCHBOX = "lunchbox", _("도시락")
    CAFE = "cafe", _("카페·디저트")
    OTHER = "other", _("기타")


class ListingSource(models.TextChoices):
    OPERATOR = "operator", _("운영사 신청")
    OWNER = "owner", _("점주 신청")
    CITY = "city", _("시 등록")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("카드")
    CASH = "cash", _("현금")
    JINJU_LOVE = "jinju_love", _("진주사랑상품권")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("주문 접수")
    CANCELLED = "cancelled", _("취소")


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("집계 중")  # the month is not over (or not closed yet): rebuilt freely
    ISSUED = "issued", _("확정")  # closed: its figures never change again


class EventKind(models.TextChoices):
    OPERATOR_REGISTERED = "operator_registered", _("운영사 등록")
    OPERATOR_STATUS_CHANGED = "operator_status_changed", _("운영사 상태 변경")
    OPERATOR_WOUND_DOWN = "operator_wound_down", _("운영사 운영 종료")
    CONTRACT_ADDED = "contract_added", _("수수료 계약 추가")
    STORE_APPLIED = "store_applied", _("가맹 신청")
    LISTING_ADDED = "listing_added", _("운영사 입점 추가")
    STORE_APPROVED = "store_approved", _("가맹 승인")
    STORE_STATUS_CHANGED = "store_status_changed", _("가맹점 상태 변경")
    STORE_CHANGED = "store_changed", _("가맹점 정보 변경")
    STORE_LINKED = "store_linked", _("상품권 가맹점 연결")
    ORDER_CANCELLED = "order_cancelled", _("주문 취소")
    STATEMENTS_BUILT = "statements_built", _("월 정산서 작성")
    MONTH_CLOSED = "month_closed", _("월 마감")
    COMMISSION_RECEIVED = "commission_received", _("수수료 수납 확인")
