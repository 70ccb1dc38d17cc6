"""The city's merchant list (가맹점 명단) imported in the admin: the dry run previews every row and
names each bad one in Korean, the import writes the good rows through services.import_merchants and
skips the bad ones, a second import updates and never duplicates, XLSX and Korean Excel's CSV,
the page, the template, the progress, permissions, and a race with a clerk registering by hand."""
import csv
import io
import re

import openpyxl
import pytest
import tablib
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jinju_portal import bizno
from tests.races import race
from tests.vouchers.factories import MerchantCategoryFactory, MerchantFactory, staff_actor, valid_business_number
from vouchers import merchant_import, merchant_list, services
from vouchers.models import Merchant, VoucherEvent

pytestmark = [pytest.mark.django_db]
HEADERS = ["사업자등록번호", "상호", "업종", "주소", "동", "전화번호", "대표자", "연매출", "지류", "모바일"]
IMPORT = reverse("admin:vouchers_merchant_import")
PROCESS = reverse("admin:vouchers_merchant_process_import")
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture(autouse=True)
def categories(db):
    return {"restaurant": MerchantCategoryFactory(code="restaurant", name="일반음식점"),
            "cafe": MerchantCategoryFactory(code="cafe", name="카페·제과점")}


def number(n):
    return bizno.format_number(valid_business_number(n))


def row(n, **overrides):
    values = {"사업자등록번호": number(n), "상호": f"진주가게 {n}", "업종": "일반음식점", "주소": "경상남도 진주시 진주대로 1",
              "동": "가좌동", "전화번호": "055-741-0000", "대표자": "김진주", "연매출": "350,000,000", "지류": "O",
              "모바일": "O"}
    values.update(overrides)
    return [values[h] for h in HEADERS]


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, headers=HEADERS):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def dataset(rows, headers=HEADERS):
    return tablib.Dataset(*rows, headers=headers)


def dry_run(rows, headers=HEADERS):
    resource = merchant_import.MerchantListResource()
    return resource.import_data(dataset(rows, headers), dry_run=True, user=staff_actor(), file_name="명단.csv")


def upload(client, content, *, name="명단.csv", fmt=CSV_FORMAT, note="2031년 3월 시 명단"):
    return client.post(IMPORT, {"resource": "0", "format": fmt, "note": note,
                                "import_file": SimpleUploadedFile(name, content)})


def confirm(client, page):
    form = page.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    return client.post(PROCESS, data)


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


BAD_ROWS = {
    3: (row(2, 사업자등록번호="220-90-00025"), "사업자등록번호", "검증번호"),  # wrong check digit
    4: (row(3), "사업자등록번호", "같은 사업자등록번호가 파일의 4, 5행에 있습니다"),
    5: (row(3, 상호="진주가게 3 두번째"), "사업자등록번호", "같은 사업자등록번호가 파일의 4, 5행에 있습니다"),
    6: (row(4, 업종="오락실"), "업종", "없는 업종입니다: 오락실"),
    7: (row(5, 동=""), "동", "동이(가) 비어 있습니다"),
    8: (row(6, 연매출="삼억"), "연매출", "연매출은 원 단위 숫자로 적어 주세요"),
    9: (row(7, 지류="가끔"), "지류", "지류에는 예 또는 아니오"),
    10: (row(8, 지류="X", 모바일="X"), "모바일", "지류와 모바일 중 하나 이상은 받아야 합니다"),
}


def sheet_with_bad_rows():
    """Line 2 good, lines 3–10 bad (one reason each), line 11 blank, line 12 good (code instead of name)."""
    return [row(1)] + [BAD_ROWS[line][0] for line in range(3, 11)] + [[""] * 10] + [row(9, 업종="cafe")]


# --- the dry run ---------------------------------------------------------------------------------

def test_the_dry_run_previews_every_row_names_each_bad_one_in_korean_and_writes_nothing():
    result = dry_run(sheet_with_bad_rows())
    assert not result.has_errors() and not Merchant.objects.exists() and not VoucherEvent.objects.exists()
    preview = {r["line"]: r for r in merchant_import.preview_rows(result)}
    assert sorted(preview) == list(range(2, 13))  # every row, by its line in the sheet
    assert preview[2]["action"] == preview[12]["action"] == "create" and preview[11]["action"] == "blank"
    for line, (_values, column, reason) in BAD_ROWS.items():
        assert preview[line]["action"] == "refused", line
        cell = preview[line]["cells"][HEADERS.index(column)]
        assert any(reason in e for e in cell["errors"]), (line, cell)
    assert {r.number + 1 for r in result.invalid_rows} == set(BAD_ROWS)  # import-export's own row errors
    counts = merchant_import.summary(result)
    assert (counts["create"], counts["refused"], counts["blank"], counts["writable"]) == (2, 8, 1, 2)


def test_a_sheet_without_a_required_column_is_refused_whole_in_korean():
    result = dry_run([row(1)[:4] + row(1)[5:]], headers=HEADERS[:4] + HEADERS[5:])  # no 동
    assert result.has_errors() and "필요한 열이 없습니다: 동" in str(result.base_errors[0].error)


def test_other_spellings_of_the_headers_are_read():
    headers = ["사업자번호", "상호명", "업종코드", "소재지", "읍면동", "연락처", "대표자명", "연매출액", "지류 취급", "모바일 취급"]
    result = dry_run([row(1, 업종="restaurant")], headers=headers)
    assert [r.plan.action for r in result.rows] == ["create"]


# --- the admin: upload → preview → confirm ----------------------------------------------------------

def test_the_import_page_is_korean_lists_the_columns_and_offers_the_template(admin_client):
    page = admin_client.get(IMPORT)
    assert page.status_code == 200
    body = text(page)
    assert "가맹점 명단 가져오기" in body and "받는 열" in body
    for header in HEADERS:
        assert f"<strong>{header}</strong>" in body
    assert reverse("admin:vouchers_merchant_import_sample", args=["csv"]) in body
    assert 'id="import-progress"' in body and "merchant_import.js" in body
    assert reverse("admin:vouchers_merchant_import") in text(admin_client.get(
        reverse("admin:vouchers_merchant_changelist")))


def test_upload_previews_with_reasons_then_confirm_imports_the_good_rows_only(admin_client):
    page = upload(admin_client, csv_bytes(sheet_with_bad_rows()))
    assert page.status_code == 200 and not Merchant.objects.exists()
    body = text(page)
    assert "가져오지 않음" in body and "없는 업종입니다: 오락실" in body and "동이(가) 비어 있습니다" in body
    assert 'id="merchant-confirm-form"' in body and "2곳을 저장합니다" in body
    done = confirm(admin_client, page)
    assert done.status_code == 302 and done["Location"].endswith("?status__exact=pending")
    imported = Merchant.objects.order_by("business_number")
    assert [m.business_number for m in imported] == [valid_business_number(1), valid_business_number(9)]
    assert {m.status for m in imported} == {"pending"} and imported[1].category.code == "cafe"
    events = VoucherEvent.objects.filter(kind="merchant_registered")
    assert events.count() == 2
    assert {(e.actor, e.note) for e in events} == {("user:admin", "가맹점 명단 가져오기 (명단.csv): 2031년 3월 시 명단")}
    assert events.first().after["status"] == "pending" and events.first().after["code"]
    changelist = admin_client.get(done["Location"])
    shown = " ".join(str(m) for m in changelist.context["messages"])
    assert "새로 등록 2곳" in shown and "가져오지 않은 행 8행" in shown and "6행을 가져오지 않았습니다: 없는 업종입니다" in shown


def test_importing_the_list_again_updates_by_business_number_and_never_duplicates(admin_client):
    first = [row(1), row(2), row(3)]
    confirm(admin_client, upload(admin_client, csv_bytes(first)))
    assert Merchant.objects.count() == 3
    moved = [row(1), row(2, 주소="경상남도 진주시 평거로 7", 동="평거동"), row(3), row(4)]
    page = upload(admin_client, csv_bytes(moved), note="4월 명단")
    counts = page.context["summary"]
    assert (counts["create"], counts["update"], counts["unchanged"]) == (1, 1, 2)
    changed_cell = page.context["preview"][1]["cells"][HEADERS.index("주소")]
    assert changed_cell == {"text": "경상남도 진주시 평거로 7", "before": "경상남도 진주시 진주대로 1"}
    confirm(admin_client, page)
    assert Merchant.objects.count() == 4
    merchant = Merchant.objects.get(business_number=valid_business_number(2))
    assert (merchant.address, merchant.dong) == ("경상남도 진주시 평거로 7", "평거동")
    change = VoucherEvent.objects.get(kind="merchant_changed")
    assert change.merchant == merchant and change.actor == "user:admin" and "4월 명단" in change.note
    assert change.before == {"address": "경상남도 진주시 진주대로 1", "dong": "가좌동"}
    assert change.after == {"address": "경상남도 진주시 평거로 7", "dong": "평거동"}
    assert VoucherEvent.objects.filter(kind="merchant_registered").count() == 4


def test_an_update_never_touches_the_status_and_a_cancelled_merchant_registers_again_pending():
    clerk = staff_actor()
    approved = MerchantFactory(business_number=valid_business_number(1), name="옛 이름",
                               category_id=MerchantCategoryFactory(code="restaurant").pk)
    cancelled = MerchantFactory(business_number=valid_business_number(2), status="cancelled")
    services.import_merchants(rows=[dict(zip(_FIELDS, row(1))), dict(zip(_FIELDS, row(2)))], actor=clerk, note="x")
    approved.refresh_from_db(), cancelled.refresh_from_db()
    assert (approved.status, approved.name) == ("approved", "진주가게 1")
    assert (cancelled.status, cancelled.name) == ("pending", "진주가게 2")
    assert VoucherEvent.objects.get(merchant=cancelled).kind == "merchant_reregistered"


_FIELDS = [c.field for c in merchant_list.COLUMNS]


def test_a_merchant_cancelled_for_illegal_exchange_within_the_year_is_refused_on_its_row(frozen_clock):
    from django.utils import timezone

    MerchantFactory(business_number=valid_business_number(1), status="cancelled", cancelled_for_illegal_exchange=True,
                    illegal_exchange_cancelled_at=timezone.now())
    plans = services.import_merchants(rows=[dict(zip(_FIELDS, row(1))), dict(zip(_FIELDS, row(2)))],
                                      actor=staff_actor())
    assert [p.action for p in plans] == ["refused", "create"]
    assert "1년 동안 다시 등록할 수 없습니다" in plans[0].errors["business_number"][0]


def test_xlsx_with_numbers_stored_as_numbers_imports(admin_client):
    rows = [row(1, 사업자등록번호=int(valid_business_number(1)), 연매출=350000000, 전화번호=557410000, 지류=1, 모바일=0),
            row(2, 연매출=120000000.0, 지류=True, 모바일=True)]
    page = upload(admin_client, xlsx_bytes(rows), name="명단.xlsx", fmt=XLSX_FORMAT)
    assert page.context["summary"]["create"] == 2, text(page)[:3000]
    confirm(admin_client, page)
    first = Merchant.objects.get(business_number=valid_business_number(1))
    assert (first.annual_revenue, first.phone, first.accepts_paper, first.accepts_mobile) == (
        350_000_000, "0557410000", True, False)
    assert Merchant.objects.get(business_number=valid_business_number(2)).annual_revenue == 120_000_000


def test_a_csv_saved_by_korean_excel_in_cp949_imports(admin_client):
    page = upload(admin_client, csv_bytes([row(1)], encoding="cp949"))
    assert page.context["summary"]["create"] == 1
    confirm(admin_client, page)
    assert Merchant.objects.get().name == "진주가게 1"


def test_the_template_downloads_as_csv_and_xlsx_and_reads_back(admin_client):
    for extension, fmt in (("csv", CSV_FORMAT), ("xlsx", XLSX_FORMAT)):
        sample = admin_client.get(reverse("admin:vouchers_merchant_import_sample", args=[extension]))
        assert sample.status_code == 200 and f"merchant-list-sample.{extension}" in sample["Content-Disposition"]
        content = b"".join(sample.streaming_content) if sample.streaming else sample.content
        if extension == "csv":
            assert content.startswith(b"\xef\xbb\xbf") and "사업자등록번호,상호,업종" in content.decode("utf-8-sig")
        page = upload(admin_client, content, name=f"sample.{extension}", fmt=fmt)
        assert page.context["summary"]["create"] == 2, extension
    assert admin_client.get(reverse("admin:vouchers_merchant_import_sample", args=["pdf"])).status_code == 404


def test_the_export_writes_the_same_sheet_and_reads_back_unchanged(admin_client):
    confirm(admin_client, upload(admin_client, csv_bytes([row(1), row(2, 지류="X", 전화번호="")])))
    prefix = merchant_import.MerchantListResource.__name__.lower()
    fields_on = {f"{prefix}_{c.field}": "on" for c in merchant_list.COLUMNS}
    exported = admin_client.post(reverse("admin:vouchers_merchant_export"), {"format": CSV_FORMAT, "resource": "0",
                                                                              **fields_on})
    assert exported.status_code == 200, exported.content[:500]
    content = exported.content
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(HEADERS) and f"{number(2)},진주가게 2,일반음식점" in lines[2]
    again = upload(admin_client, content)
    assert again.context["summary"]["unchanged"] == 2 and "confirm_form" not in again.context


def test_the_preview_escapes_what_the_sheet_says(admin_client):
    page = upload(admin_client, csv_bytes([row(1, 상호="<b>가게</b>"), row(2, 업종="<img src=x>")]))
    body = page.content.decode()
    assert "&lt;b&gt;가게&lt;/b&gt;" in body and "<b>가게" not in body
    assert "&lt;img src=x&gt;" in body and "<img src=x>" not in body


def test_nothing_to_write_offers_no_confirm(admin_client):
    confirm(admin_client, upload(admin_client, csv_bytes([row(1)])))
    page = upload(admin_client, csv_bytes([row(1), row(2, 사업자등록번호="1234")]))
    assert "confirm_form" not in page.context and "저장할 변경이 없습니다" in text(page)


# --- progress and permissions ---------------------------------------------------------------------

def test_the_import_reports_its_progress_for_the_page_to_poll(admin_client):
    token = "ab" * 16
    resource = merchant_import.MerchantListResource()
    resource.import_data(dataset([row(n) for n in range(1, 1202)]), dry_run=False, user=staff_actor(),
                         progress_token=token)
    state = admin_client.get(reverse("admin:vouchers_merchant_import_progress", args=[token]))
    assert state.status_code == 200 and state.json()["stage"] == "done" and state.json()["total"] == 1201
    seen = []
    services.import_merchants(rows=[dict(zip(_FIELDS, row(n))) for n in range(2000, 3100)], actor=None,
                              progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert ("check", 1000, 1100) in seen and seen[-3:] == [("write", 0, 1100), ("write", 1000, 1100),
                                                           ("write", 1100, 1100)]
    assert merchant_import.read_progress("not-a-token") is None
    assert admin_client.get(reverse("admin:vouchers_merchant_import_progress", args=["cd" * 16])).status_code == 404


def test_a_citizen_cannot_reach_the_import_and_a_clerk_needs_the_merchant_permissions(client):
    citizen = get_user_model().objects.create_user("citizen", password="x")
    client.force_login(citizen)
    for url in (IMPORT, reverse("admin:vouchers_merchant_import_sample", args=["csv"]),
                reverse("admin:vouchers_merchant_import_progress", args=["ab" * 16])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert client.post(IMPORT, {"format": CSV_FORMAT, "import_file": SimpleUploadedFile("a.csv", csv_bytes([row(1)]))
                                }).status_code == 302
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_merchant"))
    client.force_login(viewer)
    assert client.get(IMPORT).status_code == 403
    assert client.get(reverse("admin:vouchers_merchant_import_progress", args=["ab" * 16])).status_code == 403
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["add_merchant", "change_merchant"]))
    client.force_login(get_user_model().objects.get(pk=viewer.pk))
    assert client.get(IMPORT).status_code == 200
    assert not Merchant.objects.exists()


# --- a race -----------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_import_and_a_clerk_registering_the_same_number_at_once_make_one_merchant():
    MerchantCategoryFactory(code="restaurant", name="일반음식점")
    for n in range(5):
        target = valid_business_number(300 + n)
        rows = [dict(zip(_FIELDS, row(300 + n))), dict(zip(_FIELDS, row(400 + n)))]
        results = race(lambda call: call(), [
            (lambda: services.import_merchants(rows=rows, actor=None, note="race"),),
            (lambda: services.register_merchant(business_number=target, name="손으로 등록", category="restaurant",
                                                address="진주시 1", dong="가좌동", representative="박", annual_revenue=1,
                                                accepts_paper=True, actor=None),),
        ])
        assert Merchant.objects.filter(business_number=target).count() == 1
        assert Merchant.objects.filter(business_number=valid_business_number(400 + n)).count() == 1
        merchant = Merchant.objects.get(business_number=target)
        kinds = sorted(VoucherEvent.objects.filter(merchant=merchant).values_list("kind", flat=True))
        assert results[0][0] == "ok", results
        action = results[0][1][0].action
        if results[1][0] == "ok":  # the clerk first: the import found it (update) or met it inserting (refused)
            assert action in ("update", "refused") and "merchant_registered" in kinds
            assert kinds == (["merchant_changed", "merchant_registered"] if action == "update"
                             else ["merchant_registered"])
        else:  # the import first: the clerk is told it is registered
            assert results[1] == ("err", "merchant_already_registered") and action == "create"
            assert kinds == ["merchant_registered"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_clerk_watches_the_progress_sees_the_bad_row_and_confirms(live_server, page, admin_user, tmp_path):
    MerchantCategoryFactory(code="restaurant", name="일반음식점")
    sheet = tmp_path / "명단.csv"
    sheet.write_bytes(csv_bytes([row(n) for n in range(1, 1500)] + [row(2, 사업자등록번호="220-90-00025")]))
    page.set_extra_http_headers({"Accept-Language": "ko-KR,ko"})  # the clerk's Korean browser
    page.goto(live_server.url + IMPORT)
    page.get_by_label("사용자 이름").fill("admin")
    page.get_by_label("비밀번호").fill("password")
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(re.compile(r".*/import/$"))

    def choose_file():
        page.get_by_label("가맹점 명단 파일 (CSV 또는 XLSX)").set_input_files(str(sheet))
        page.locator("#id_format").select_option("0")
        page.get_by_label("메모").fill("브라우저 시험")

    # First the page itself stays put (the answer goes to a frame), to watch the progress it shows:
    # the indicator at once, then the server's own stages, polled under the token the form sent.
    choose_file()
    page.evaluate("""() => { const sink = document.createElement('iframe'); sink.name = 'sink';
                             document.body.appendChild(sink);
                             document.getElementById('merchant-import-form').target = 'sink'; }""")
    with page.expect_request(re.compile(r".*/import/progress/[0-9a-f]{32}/$")) as poll:
        page.get_by_role("button", name="미리 보기 (아직 저장하지 않음)").click()
    progress = page.locator("#import-progress")
    assert progress.is_visible()
    token = page.locator("input[name=progress_token]").input_value()
    assert re.fullmatch(r"[0-9a-f]{32}", token) and poll.value.url.endswith(f"/{token}/")
    page.wait_for_function("() => document.querySelector('#import-progress').innerText.includes('끝났습니다')")
    assert not Merchant.objects.exists()  # a dry run (the frame shows nothing: the admin is X-Frame-Options DENY)

    page.goto(live_server.url + IMPORT)
    choose_file()
    page.get_by_role("button", name="미리 보기 (아직 저장하지 않음)").click()
    page.locator("#import-summary").wait_for()
    assert page.locator("#count-create").inner_text() == "1,499"
    bad = page.locator("#import-refused tr.refused")
    assert bad.count() == 1 and "검증번호" in bad.inner_text() and bad.get_attribute("data-line") == "1501"
    page.get_by_role("button", name="가져오기 확정").click()
    page.wait_for_url(re.compile(r".*/vouchers/merchant/\?status__exact=pending$"), timeout=30_000)
    assert "새로 등록 1,499곳" in page.locator("ul.messagelist").inner_text()
    assert Merchant.objects.filter(status="pending").count() == 1499
