"""The city's merchant list (가맹점 명단) as clerks receive it: a CSV or XLSX sheet with Korean
headers. Its columns (with the other spellings a city sheet uses), how a cell is read, and the
sample rows of the template the import page offers. Pure: no database, no writes.

services.import_merchants reads cells with these and then cleans the values with the shared
cleaners (vouchers.inputs), so a sheet and the admin's form are held to the same rules."""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from jinju_portal import bizno
from vouchers.errors import refuse


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool  # the column must be in the sheet (a cell may still be blank where allowed)
    aliases: tuple[str, ...]
    help: str


COLUMNS = (
    Column("business_number", "사업자등록번호", True, ("사업자번호", "사업자 등록번호"),
           _("XXX-XX-XXXXX 또는 숫자 10자리. 검증번호를 확인하고, 이미 있는 가맹점이면 그 가맹점의 정보를 고칩니다.")),
    Column("name", "상호", True, ("상호명", "가맹점명", "업소명"), _("100자 이하")),
    Column("category", "업종", True, ("업종명", "업종코드", "업종 코드"),
           _("업종 이름(예: 일반음식점) 또는 코드(예: restaurant)")),
    Column("address", "주소", True, ("소재지", "도로명주소", "사업장 주소"), _("200자 이하")),
    Column("dong", "동", True, ("읍면동", "행정동"), _("읍면동 (예: 평거동, 문산읍)")),
    Column("phone", "전화번호", False, ("전화", "연락처"), _("비워 둘 수 있습니다")),
    Column("representative", "대표자", True, ("대표자명", "대표"), _("50자 이하")),
    Column("annual_revenue", "연매출", True, ("연매출액", "연 매출액", "연간매출"),
           _("원 단위 숫자 (예: 350000000 또는 350,000,000원)")),
    Column("accepts_paper", "지류", True, ("지류 취급", "지류상품권"),
           _("예/아니오 (O/X, Y/N, 1/0도 됩니다; 비우면 아니오)")),
    Column("accepts_mobile", "모바일", True, ("모바일 취급", "모바일상품권"),
           _("예/아니오 (O/X, Y/N, 1/0도 됩니다; 비우면 아니오)")),
)
BY_FIELD = {c.field: c for c in COLUMNS}
HEADERS = [c.header for c in COLUMNS]


def _key(header) -> str:
    """A header as compared: no spaces, no required-marker star ('사업자등록번호*' is 사업자등록번호)."""
    return "".join(str(header).split()).rstrip("*") if header is not None else ""


_BY_HEADER = {_key(name): c.field for c in COLUMNS for name in (c.header, *c.aliases)}


def read_headers(headers) -> list[str | None]:
    """The field of each column of a sheet (None for a column the portal does not read). A missing
    required column, or one named twice, refuses the whole sheet (400 invalid_merchant)."""
    fields = [_BY_HEADER.get(_key(h)) for h in headers or ()]
    missing = [c.header for c in COLUMNS if c.required and c.field not in fields]
    if missing:
        raise refuse("invalid_merchant.headers", columns=", ".join(missing))
    twice = sorted({BY_FIELD[f].header for f in fields if f and fields.count(f) > 1}, key=HEADERS.index)
    if twice:
        raise refuse("invalid_merchant.headers_twice", columns=", ".join(twice))
    return fields


def is_blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def text(cell) -> str:
    """A cell as text: numbers a spreadsheet stored as numbers (6131000001, 6131000001.0) read as
    their digits; blank is ""."""
    if is_blank(cell):
        return ""
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def phone(cell) -> str:
    """A telephone number; one a spreadsheet stored as a number lost its leading 0 (557410000)."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool) and not is_blank(cell):
        digits = text(cell)
        return digits if digits.startswith("0") else "0" + digits
    return text(cell)


_REVENUE_NOISE = str.maketrans("", "", ", 원\u00a0")


def revenue(cell) -> int:
    """Annual revenue in won: 350000000, 350,000,000, '350,000,000원' or a spreadsheet number."""
    if is_blank(cell):
        raise refuse("invalid_merchant.missing", on="annual_revenue", field=BY_FIELD["annual_revenue"].header)
    if isinstance(cell, bool):
        raise refuse("invalid_merchant.revenue_cell", on="annual_revenue", value=cell)
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        if cell.is_integer():
            return int(cell)
        raise refuse("invalid_merchant.revenue_cell", on="annual_revenue", value=cell)
    digits = str(cell).strip().translate(_REVENUE_NOISE)
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise refuse("invalid_merchant.revenue_cell", on="annual_revenue", value=str(cell).strip()[:30])
    return int(digits)


YES = frozenset({"예", "네", "o", "○", "◯", "●", "y", "yes", "1", "true", "t", "v", "✓", "✔", "취급", "가능", "사용"})
NO = frozenset({"아니오", "아니요", "아니", "x", "×", "n", "no", "0", "false", "f", "-", "미취급", "불가", "미사용"})


def yes_no(cell, field: str) -> bool:
    """지류 / 모바일: yes or no in the ways a sheet writes it; a blank cell is no."""
    if is_blank(cell):
        return False
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, (int, float)) and cell in (0, 1):
        return bool(cell)
    value = text(cell).lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise refuse("invalid_merchant.yes_no", on=field, field=BY_FIELD[field].header, value=text(cell)[:20])


def shown(field: str, value) -> str:
    """A cleaned value as the sheet would write it (the preview, the sample, the export)."""
    if field == "business_number":
        return bizno.format_number(value)
    if field == "category":
        return getattr(value, "name", value)
    if field == "annual_revenue":
        return f"{value:,}" if isinstance(value, int) else str(value)
    if field in ("accepts_paper", "accepts_mobile"):
        return "O" if value else "X"
    return "" if value is None else str(value)


def _sample_number(serial: int) -> str:
    first_nine = f"61390{serial:04d}"  # 613 = 진주세무서, 90 = an individual exempt business
    return bizno.format_number(first_nine + str(bizno.check_digit(first_nine)))


# Two made-up shops (valid check digits, no real business) under the headers: the template's rows.
SAMPLE_ROWS = [
    [_sample_number(1), "진주비빔밥 본점", "일반음식점", "경상남도 진주시 중앙시장길 10", "중앙동", "055-741-0001", "김진주",
     "350,000,000", "O", "O"],
    [_sample_number(2), "남강카페", "카페·제과점", "경상남도 진주시 평거로 120", "평거동", "", "이남강", "85,000,000", "X", "O"],
]
