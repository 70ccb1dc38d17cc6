"""Who reaches the merchant pages: members of the shop (owner, cashier), not strangers, not the
signed-out, and never another shop's data."""
import pytest
from django.urls import reverse

from tests.merchant_web.conftest import make_member, pay

MEMBER_PAGES = ["merchant:today", "merchant:take_payment", "merchant:lookup", "merchant:poster_pdf",
                "merchant:poster_svg", "merchant:staff"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_a_signed_out_visitor_is_sent_to_the_login_page_and_back(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_a_signed_in_account_that_is_no_merchants_is_told_so_in_korean(client, stranger, name):
    client.force_login(stranger)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "가맹점 계정이 아닙니다" in response.content.decode()


@pytest.mark.django_db
def test_a_switched_off_member_is_no_longer_a_member(client, merchant):
    gone = make_member(merchant, "cashier", active=False).user
    client.force_login(gone)
    assert client.get("/merchant/").status_code == 403


@pytest.mark.django_db
def test_the_polled_fragment_answers_403_not_a_login_page_to_the_signed_out(client, stranger):
    response = client.get("/merchant/today/fragment/")
    assert response.status_code == 403 and response["Content-Type"].startswith("text/plain")
    client.force_login(stranger)
    assert client.get("/merchant/today/fragment/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "cashier"])
def test_owner_and_cashier_reach_the_shared_pages(client, request, who, merchant):
    client.force_login(request.getfixturevalue(who))
    for name in MEMBER_PAGES[:-1]:
        assert client.get(reverse(name)).status_code == 200, name
    text = client.get("/merchant/").content.decode()
    assert merchant.name in text and merchant.code in text


@pytest.mark.django_db
def test_only_the_owner_sees_and_reaches_the_staff_page(as_cashier):
    assert "직원 계정" not in as_cashier.get("/merchant/").content.decode().split('class="vw-subnav mp-subnav"')[1] \
        .split("</nav>")[0]
    response = as_cashier.get("/merchant/staff/")
    assert response.status_code == 403
    assert "환불과 직원 계정 추가는 대표(점주) 계정만 할 수 있습니다." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_a_member_of_one_shop_never_sees_anything_of_another(client, merchant, other_merchant, cashier):
    ours = pay(merchant, 12_000)
    theirs = pay(other_merchant, 34_000)
    client.force_login(cashier)
    for url in ("/merchant/", "/merchant/today/fragment/"):
        text = client.get(url).content.decode()
        assert ours.approval_number in text and "12,000원" in text
        assert theirs.approval_number not in text and "34,000원" not in text and other_merchant.name not in text
    for url in (f"/merchant/payments/{theirs.approval_number}/", f"/merchant/payments/{theirs.pk}/",
                f"/merchant/payments/?number={theirs.approval_number}"):
        response = client.get(url)
        assert response.status_code == 404 and "34,000원" not in response.content.decode()
    svg = client.get("/merchant/poster.svg").content.decode()
    assert merchant.code in svg and other_merchant.code not in svg
