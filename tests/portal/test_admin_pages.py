"""Every admin page a clerk can reach renders (no 500) on the seeded demo data."""
import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse


@pytest.mark.django_db
def test_every_changelist_search_add_change_and_history_page_renders(client):
    call_command("seed_demo", stdout=io.StringIO())  # once: seeding is the slow part
    client.login(username="admin", password="jinju-demo-2021")
    failures, visited = [], 0
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        info = model._meta.app_label, model._meta.model_name
        urls = [reverse("admin:%s_%s_changelist" % info)]
        if model_admin.search_fields:
            urls.append(urls[0] + "?q=%EC%A7%84%EC%A3%BC+1")
        urls.append(reverse("admin:%s_%s_add" % info))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls += [reverse("admin:%s_%s_change" % info, args=[obj.pk]),
                     reverse("admin:%s_%s_history" % info, args=[obj.pk])]
        for url in urls:
            visited += 1
            status = client.get(url).status_code
            if status not in (200, 403):  # 403: an add page the admin deliberately has no form for
                failures.append((url, status))
    assert failures == []
    assert visited > 60


@pytest.mark.django_db
def test_clerk_reaches_the_admin_index_with_every_programme_that_has_an_admin(client):
    from django.contrib import admin

    programmes = {"vouchers": "진주사랑상품권", "delivery": "공공배달앱", "industrial": "상평산단 혁신지원·문화센터"}
    with_admin = {model._meta.app_label for model in admin.site._registry} & set(programmes)
    # delivery has no models yet; once it registers some, the clerk must see them too
    assert {"vouchers", "industrial"} <= with_admin
    call_command("seed_demo", stdout=io.StringIO())
    client.login(username="clerk", password="jinju-demo-2021")
    page = client.get("/admin/")
    assert page.status_code == 200
    body = page.content.decode()
    for app in with_admin:
        # the app's own section (its link and caption), not a word that could appear anywhere
        assert f'<a href="/admin/{app}/"' in body and programmes[app] in body, app


@pytest.mark.django_db
@pytest.mark.clock
def test_purchase_search_finds_by_number_and_by_recent_idempotency_key(client):
    from django.utils import timezone

    from vouchers.models import Purchase

    call_command("seed_demo", stdout=io.StringIO())
    client.login(username="admin", password="jinju-demo-2021")
    purchase = Purchase.objects.order_by("pk").first()
    url = "/admin/vouchers/purchase/"
    assert f"/{purchase.pk}/change/" in client.get(url, {"q": str(purchase.pk)}).content.decode()
    Purchase.objects.filter(pk=purchase.pk).update(idempotency_key="nh-7788", created_at=timezone.now())
    assert f"/{purchase.pk}/change/" in client.get(url, {"q": "nh-7788"}).content.decode()
    Purchase.objects.filter(pk=purchase.pk).update(created_at=timezone.now() - timezone.timedelta(days=91))
    assert f"/{purchase.pk}/change/" not in client.get(url, {"q": "nh-7788"}).content.decode()
