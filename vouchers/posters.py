"""The merchant's printable QR poster (MPM): A4 PDF (reportlab, Korean in its built-in CID font, no
font files) and SVG (segno), both carrying the same QR of `<PUBLIC_BASE_URL>/pay/<code>/`, the
shop's name, its code in large letters and what to do. Writes nothing.

The poster is always printed in Korean: it speaks to the shop's customers, whatever language the
owner reads the merchant pages in.
"""
import io
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

KOREAN_FONT = "HYGothic-Medium"  # one of reportlab's CID fonts: the PDF viewer supplies the glyphs
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules
POSTER_LANGUAGE = "ko"


def pay_url(merchant_code: str) -> str:
    """What the poster's QR opens: the citizen's MPM page of this shop. Built from PUBLIC_BASE_URL,
    not from the request, so a poster printed from an internal address still works outside."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("merchant_pay", args=[merchant_code])


def _qr(url: str):
    return segno.make_qr(url, error="m")  # never a Micro QR: phone cameras do not read those


def _dark_runs(qr):
    """(x, y, length) of each horizontal run of dark modules, quiet zone included in the coordinates."""
    for y, row in enumerate(qr.matrix_iter(scale=1, border=QR_BORDER)):
        x, width = 0, len(row)
        while x < width:
            if row[x]:
                start = x
                while x < width and row[x]:
                    x += 1
                yield start, y, x - start
            else:
                x += 1


def _texts(merchant) -> dict:
    with translation.override(POSTER_LANGUAGE):
        return {"title": _("진주사랑상품권 가맹점"), "how": _("QR을 찍고 금액을 입력하세요"),
                "code": _("가맹점 코드"), "name": merchant.name, "merchant_code": merchant.code}


def poster_svg(merchant) -> str:
    """An A4 SVG (millimetres): the title, the shop's name, the QR, the code large, the instructions."""
    url = pay_url(merchant.code)
    qr = _qr(url)
    modules = qr.symbol_size(scale=1, border=QR_BORDER)[0]
    side, top = 130.0, 62.0
    left = (210 - side) / 2
    path = "".join(f"M{x},{y}h{n}v1h-{n}z" for x, y, n in _dark_runs(qr))
    texts = {k: escape(v) for k, v in _texts(merchant).items()}
    name_size = min(16.0, 180.0 / max(len(merchant.name), 1))  # Hangul is about one em wide
    font = "'Noto Sans KR','Apple SD Gothic Neo','Malgun Gothic',sans-serif"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">'
        f'<title>{texts["title"]} · {texts["name"]}</title>'
        '<rect width="210" height="297" fill="#fff"/>'
        f'<rect x="0" y="0" width="210" height="34" fill="#0b5fa5"/>'
        f'<text x="105" y="22" text-anchor="middle" font-family="{font}" font-size="11" font-weight="700" '
        f'fill="#fff">{texts["title"]}</text>'
        f'<text x="105" y="52" text-anchor="middle" font-family="{font}" font-size="{name_size:.1f}" '
        f'font-weight="700" fill="#1d2433">{texts["name"]}</text>'
        f'<svg x="{left}" y="{top}" width="{side}" height="{side}" viewBox="0 0 {modules} {modules}" '
        f'shape-rendering="crispEdges"><rect width="{modules}" height="{modules}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
        f'<text x="105" y="214" text-anchor="middle" font-family="{font}" font-size="7" '
        f'fill="#5b6475">{texts["code"]}</text>'
        f'<text id="merchant-code" x="105" y="234" text-anchor="middle" font-family="monospace" font-size="22" '
        f'font-weight="700" letter-spacing="3" fill="#1d2433">{texts["merchant_code"]}</text>'
        f'<text x="105" y="258" text-anchor="middle" font-family="{font}" font-size="10" '
        f'fill="#1d2433">{texts["how"]}</text>'
        f'<text x="105" y="280" text-anchor="middle" font-family="monospace" font-size="4" '
        f'fill="#5b6475">{escape(url)}</text>'
        '</svg>\n'
    )


def poster_pdf(merchant) -> bytes:
    """The same poster as a one-page A4 PDF."""
    pdfmetrics.registerFont(UnicodeCIDFont(KOREAN_FONT))  # idempotent; registered on first use
    url = pay_url(merchant.code)
    qr = _qr(url)
    texts = _texts(merchant)
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)  # invariant: the same bytes for the same poster
    page.setTitle(f"{texts['title']} · {merchant.name}")
    width, height = A4
    centre = width / 2

    page.setFillColorRGB(0.043, 0.373, 0.647)
    page.rect(0, height - 34 * mm, width, 34 * mm, stroke=0, fill=1)
    page.setFillColorRGB(1, 1, 1)
    page.setFont(KOREAN_FONT, 30)
    page.drawCentredString(centre, height - 22 * mm, texts["title"])

    page.setFillColorRGB(0.11, 0.14, 0.2)
    size = 40.0
    fits = (width - 30 * mm) / max(pdfmetrics.stringWidth(merchant.name, KOREAN_FONT, size), 1)
    page.setFont(KOREAN_FONT, size * min(1.0, fits))
    page.drawCentredString(centre, height - 52 * mm, merchant.name)

    modules = qr.symbol_size(scale=1, border=QR_BORDER)[0]
    side = 130 * mm
    unit, left, top = side / modules, (width - side) / 2, height - 62 * mm
    path = page.beginPath()
    for x, y, n in _dark_runs(qr):
        path.rect(left + x * unit, top - (y + 1) * unit, n * unit, unit)
    page.setFillColorRGB(0, 0, 0)
    page.drawPath(path, stroke=0, fill=1)

    page.setFillColorRGB(0.36, 0.39, 0.46)
    page.setFont(KOREAN_FONT, 18)
    page.drawCentredString(centre, height - 214 * mm, texts["code"])
    page.setFillColorRGB(0.11, 0.14, 0.2)
    page.setFont("Courier-Bold", 60)
    page.drawCentredString(centre, height - 236 * mm, merchant.code, charSpace=8)
    page.setFont(KOREAN_FONT, 28)
    page.drawCentredString(centre, height - 258 * mm, texts["how"])
    page.setFillColorRGB(0.36, 0.39, 0.46)
    page.setFont("Courier", 10)
    page.drawCentredString(centre, height - 280 * mm, url)
    page.showPage()
    page.save()
    return out.getvalue()
