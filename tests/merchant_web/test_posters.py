"""The printable QR poster: an A4 PDF and an SVG with the QR of <PUBLIC_BASE_URL>/pay/<code>/, the
shop's name, its code and the instructions; owner and cashier download it."""
import base64
import re
import xml.etree.ElementTree as ET
import zlib

import pytest
import segno

from vouchers import posters

SVG = "{http://www.w3.org/2000/svg}"


def pdf_strings(pdf: bytes) -> list[str]:
    """The strings the page draws: its content stream (ASCII85 + Flate, as reportlab writes it)
    decoded, each `(...) Tj` unescaped; the CID font's strings are UTF-16BE."""
    stream = re.search(rb"stream\r?\n(.*?)~>", pdf, re.S).group(1)
    content = zlib.decompress(base64.a85decode(stream))
    out = []
    for literal in re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", content, re.S):
        raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1).isdigit()
                     else m.group(1), literal)
        out.append(raw.decode("utf-16-be") if raw[:1] in (b"\x00",) or not raw.isascii() else raw.decode())
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "cashier"])
def test_owner_and_cashier_download_the_pdf_and_the_svg(client, request, who, merchant):
    client.force_login(request.getfixturevalue(who))
    pdf = client.get("/merchant/poster.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.content.rstrip().endswith(b"%%EOF")
    assert f'filename="poster-{merchant.code}.pdf"' in pdf["Content-Disposition"]
    svg = client.get("/merchant/poster.svg")
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
    ET.fromstring(svg.content)


@pytest.mark.django_db
def test_the_svg_carries_the_name_the_code_the_words_and_the_qr_of_the_pay_url(settings, merchant):
    settings.PUBLIC_BASE_URL = "https://portal.jinju.go.kr"
    root = ET.fromstring(posters.poster_svg(merchant).encode())
    assert root.tag == f"{SVG}svg" and root.get("width") == "210mm" and root.get("height") == "297mm"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "진주사랑상품권 가맹점" in texts and "진주 비빔밥" in texts and "QR을 찍고 금액을 입력하세요" in texts
    assert merchant.code in texts and f"https://portal.jinju.go.kr/pay/{merchant.code}/" in texts
    # the drawn modules are exactly segno's QR of that address (a regular QR, never a Micro QR)
    qr = segno.make_qr(f"https://portal.jinju.go.kr/pay/{merchant.code}/", error="m")
    path = next(root.iter(f"{SVG}path")).get("d")
    assert path == "".join(f"M{x},{y}h{n}v1h-{n}z" for x, y, n in posters._dark_runs(qr))
    assert not qr.is_micro
    dark = sum(sum(row) for row in qr.matrix_iter(scale=1, border=0))
    assert sum(int(part.split("v")[0]) for part in path.split("h")[1::2]) == dark


@pytest.mark.django_db
def test_the_svg_escapes_a_shop_name_with_markup(merchant):
    merchant.name = '진주 <b>&"식당"'
    root = ET.fromstring(posters.poster_svg(merchant).encode())
    assert '진주 <b>&"식당"' in ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.django_db
def test_the_pdf_is_one_a4_page_in_the_built_in_korean_font_and_the_same_bytes_each_time(merchant):
    pdf = posters.poster_pdf(merchant)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 1
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4
    assert b"HYGothic-Medium" in pdf and b"/UniKS-UCS2-H" in pdf  # reportlab's CID font: no font file embedded
    assert b"FontFile" not in pdf
    assert posters.poster_pdf(merchant) == pdf
    drawn = pdf_strings(pdf)
    assert {"진주사랑상품권 가맹점", "진주 비빔밥", "가맹점 코드", "QR을 찍고 금액을 입력하세요", merchant.code,
            posters.pay_url(merchant.code)} <= set(drawn)
    merchant.name = "아주 긴 이름의 진주시 가좌동 남강변 전통 한정식 비빔밥 전문점 본점"
    assert posters.poster_pdf(merchant).startswith(b"%PDF")


@pytest.mark.django_db
def test_the_poster_stays_korean_when_the_owner_reads_english(client, owner, merchant):
    client.force_login(owner)
    client.cookies["django_language"] = "en"
    svg = client.get("/merchant/poster.svg").content.decode()
    assert "진주사랑상품권 가맹점" in svg and "QR을 찍고 금액을 입력하세요" in svg


def test_the_posters_qr_opens_the_citizens_pay_page_of_this_shop(settings, client, merchant):
    from django.urls import resolve
    from urllib.parse import urlparse

    settings.PUBLIC_BASE_URL = "https://portal.jinju.go.kr"
    url = posters.pay_url(merchant.code)
    assert url == f"https://portal.jinju.go.kr/pay/{merchant.code}/"
    assert resolve(urlparse(url).path).url_name == "merchant_pay"
    answer = client.get(urlparse(url).path)  # a citizen not signed in is sent to sign in, then back here
    assert answer.status_code == 302 and answer["Location"].endswith(f"?next=/pay/{merchant.code}/")
