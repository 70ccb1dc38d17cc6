"""seed_demo gives one demo merchant an owner and a cashier login, and serve_demo prints them."""
import io

import pytest
from django.core.management import call_command

from vouchers.models import MerchantMember


@pytest.mark.django_db
@pytest.mark.slow
def test_seed_demo_gives_a_demo_shop_an_owner_and_a_cashier_login(client):
    from jinju_portal.management.commands.serve_demo import banner
    from jinju_portal.seed import DEMO_PASSWORD

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "shop-owner" in out.getvalue()
    owner = MerchantMember.objects.get(user__username="shop-owner")
    cashier = MerchantMember.objects.get(user__username="shop-cashier")
    assert (owner.role, cashier.role, owner.merchant) == ("owner", "cashier", cashier.merchant)
    assert owner.merchant.status == "approved" and owner.merchant.accepts_mobile
    for username in ("shop-owner", "shop-cashier"):
        assert client.login(username=username, password=DEMO_PASSWORD)
        assert client.get("/merchant/").status_code == 200
        client.logout()
    text = banner("http://127.0.0.1:8000/")
    assert "shop-owner (merchant owner, http://127.0.0.1:8000/merchant/)" in text and "shop-cashier" in text
