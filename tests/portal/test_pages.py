"""Citizen layout: Korean first, English available, sign-in/out, static files without a CDN."""
import re

import pytest
from django.contrib.auth import get_user_model


@pytest.mark.django_db
def test_home_is_korean_by_default_with_navigation_and_limit(client):
    body = client.get("/").content.decode()
    assert '<html lang="ko">' in body
    for label in ("상품권", "배달앱", "상평산단", "로그인"):
        assert label in body
    assert "300,000원" in body


@pytest.mark.django_db
def test_language_switch_to_english_and_back(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert "Vouchers" in body and "Sign in" in body
    body = client.post("/i18n/setlang/", {"language": "ko", "next": "/"}, follow=True).content.decode()
    assert "상품권" in body


@pytest.mark.django_db
def test_sign_in_and_out(client):
    get_user_model().objects.create_user("jinju", password="pw-123456-long", first_name="진주", last_name="김")
    page = client.post("/accounts/login/", {"username": "jinju", "password": "pw-123456-long"}, follow=True)
    assert "로그아웃" in page.content.decode()
    bad = client.post("/accounts/login/", {"username": "jinju", "password": "wrong"})
    assert bad.status_code == 200 and "올바른" in bad.content.decode()
    out = client.post("/accounts/logout/", follow=True)
    assert "로그인" in out.content.decode()


@pytest.mark.django_db
def test_pages_use_no_external_assets(client):
    for url in ("/", "/accounts/login/", "/vouchers/", "/delivery/", "/industrial/"):
        body = client.get(url).content.decode()
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', body)
        assert external == [], (url, external)


@pytest.mark.browser
def test_layout_fits_a_360px_phone_without_horizontal_scroll(live_server, page):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/")
    assert page.locator("nav.main-nav a").count() == 3
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.locator("link[rel=stylesheet]").evaluate("el => el.sheet.cssRules.length") > 10
    page.select_option("#lang-select", "en")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
